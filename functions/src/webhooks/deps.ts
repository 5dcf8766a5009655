// Production dependencies of the webhook functions, built on first use: one place to see what githubWebhook and
// the redelivery sweep talk to (tests pass their own).
import { GITHUB_SETTINGS } from '../platform/collections';
import { systemClock } from '../platform/domain/clock';
import { OctokitGithubApi, type GithubApi } from '../platform/github-api';
import {
  GITHUB_SETTINGS_CACHE_SECONDS,
  GITHUB_TOKEN_SECRET_ID,
  REDELIVERY_MAX_PER_RUN,
  WEBHOOK_MAX_BYTES,
  WEBHOOK_SECRET_CACHE_SECONDS,
  WEBHOOK_SECRET_ID,
} from '../platform/params';
import { cachedValidatedDoc } from '../platform/settings';
import type { WebhookDeps } from './receive';
import type { RedeliveryDeps } from './redeliver';
import { CachedSecretSource } from './webhook-secrets';

let defaultDeps: WebhookDeps | undefined;

/** githubWebhook's production dependencies, built once per instance (the secret and settings caches live here). */
export function webhookDeps(): WebhookDeps {
  defaultDeps ??= {
    secrets: new CachedSecretSource(WEBHOOK_SECRET_ID.value(), {
      ttlMs: WEBHOOK_SECRET_CACHE_SECONDS.value() * 1000,
    }),
    maxBytes: WEBHOOK_MAX_BYTES.value(),
    clock: systemClock,
    settings: cachedValidatedDoc(
      GITHUB_SETTINGS,
      async () => (await import('./schema.js')).githubSettingsSchema,
      GITHUB_SETTINGS_CACHE_SECONDS.value() * 1000,
    ),
  };
  return defaultDeps;
}

let api: GithubApi | undefined;
/** redeliverFailedWebhooks' production dependencies, built on first use. */
export function redeliveryDeps(): RedeliveryDeps {
  api ??= new OctokitGithubApi(GITHUB_TOKEN_SECRET_ID.value());
  return { api, clock: systemClock, maxPerRun: REDELIVERY_MAX_PER_RUN.value() };
}
