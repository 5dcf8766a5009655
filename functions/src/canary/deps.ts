// Production dependencies of the canary controller, built on first use.
import type { CanaryDeps } from './controller';
import { GITHUB_TOKEN_SECRET_ID } from '../platform/params';
import { systemClock } from '../platform/domain/clock';
import { OctokitGithubApi, type GithubApi } from '../platform/github-api';

let github: GithubApi | undefined;
export function canaryDeps(overrides: Partial<CanaryDeps> = {}): CanaryDeps {
  github ??= new OctokitGithubApi(GITHUB_TOKEN_SECRET_ID.value());
  return { clock: systemClock, github, ...overrides };
}
