import { describe, expect, it } from 'vitest';
import {
  FIREOPS_DEPLOYMENT_TASK,
  routeEvent,
  serviceFor,
  type OpsEvent,
} from '../../functions/src/webhooks/domain/routing';
import { normalizeEvent } from '../../functions/src/webhooks/domain/normalize';
import { planRedeliveries } from '../../functions/src/webhooks/domain/redelivery';

const settings = {
  environments: ['production'],
  releaseEnvironment: 'production',
  services: { 'acme/api': 'api-svc' },
};
const repository = { id: 7, full_name: 'acme/web', default_branch: 'main' };
const sender = { login: 'octocat' };
const norm = (event: string, p: Record<string, unknown>) =>
  normalizeEvent(event, 'g-1', { repository, sender, ...p }, 1000);

describe('routeEvent', () => {
  it.each<[string, OpsEvent, string]>([
    ['push to main', norm('push', { ref: 'refs/heads/main', after: 'a'.repeat(40) }), 'record'],
    ['push to a branch', norm('push', { ref: 'refs/heads/feature', after: 'b'.repeat(40) }), 'ignore'],
    ['push of a tag', norm('push', { ref: 'refs/tags/v1', after: 'c'.repeat(40) }), 'ignore'],
    [
      'workflow completed',
      norm('workflow_run', {
        action: 'completed',
        workflow_run: {
          id: 1,
          name: 'ci',
          head_branch: 'main',
          head_sha: 'd',
          status: 'completed',
          conclusion: 'success',
        },
      }),
      'record',
    ],
    [
      'workflow requested',
      norm('workflow_run', {
        action: 'requested',
        workflow_run: {
          id: 1,
          name: 'ci',
          head_branch: 'main',
          head_sha: 'd',
          status: 'queued',
          conclusion: null,
        },
      }),
      'ignore',
    ],
    [
      'release published',
      norm('release', {
        action: 'published',
        release: { id: 9, tag_name: 'v2.0.0', name: 'v2', target_commitish: 'main', prerelease: false },
      }),
      'rollout-request',
    ],
    [
      'release edited',
      norm('release', {
        action: 'edited',
        release: { id: 9, tag_name: 'v2.0.0', name: 'v2', target_commitish: 'main', prerelease: false },
      }),
      'ignore',
    ],
    [
      'deployment to production',
      norm('deployment', {
        action: 'created',
        deployment: {
          id: 5,
          sha: 'e'.repeat(40),
          ref: 'main',
          task: 'deploy',
          environment: 'production',
          payload: { version: '1.2.3' },
        },
      }),
      'rollout-request',
    ],
    [
      'deployment to staging',
      norm('deployment', {
        action: 'created',
        deployment: { id: 5, sha: 'e'.repeat(40), ref: 'main', task: 'deploy', environment: 'staging' },
      }),
      'ignore',
    ],
    [
      'deployment status',
      norm('deployment_status', {
        action: 'created',
        deployment_status: { id: 3, state: 'success' },
        deployment: { id: 5, sha: 'e', ref: 'main', environment: 'production' },
      }),
      'record',
    ],
    [
      'ping',
      norm('ping', { hook: { id: 11, type: 'Repository', active: true, events: ['*'], config: {} } }),
      'record',
    ],
    ['issues', norm('issues', { action: 'opened' }), 'ignore'],
  ])('%s -> %s', (_name, event, kind) => {
    expect(routeEvent(event, settings).kind).toBe(kind);
  });

  it('a published release asks for a rollout of the tag in the release environment', () => {
    const d = routeEvent(
      norm('release', {
        action: 'published',
        release: {
          id: 9,
          tag_name: 'v2.0.0',
          name: 'v2',
          target_commitish: 'f'.repeat(40),
          prerelease: false,
        },
      }),
      settings,
    );
    expect(d).toMatchObject({
      kind: 'rollout-request',
      request: {
        id: 'release-7-9',
        service: 'web',
        version: 'v2.0.0',
        sha: 'f'.repeat(40),
        environment: 'production',
        githubDeploymentId: null,
        requestedBy: 'octocat',
      },
    });
  });

  it('a deployment uses its payload version and keeps the GitHub deployment id', () => {
    const d = routeEvent(
      norm('deployment', {
        action: 'created',
        deployment: {
          id: 5,
          sha: 'e'.repeat(40),
          ref: 'main',
          task: 'deploy',
          environment: 'production',
          payload: { version: '1.2.3' },
        },
      }),
      settings,
    );
    expect(d).toMatchObject({
      kind: 'rollout-request',
      request: { id: 'deployment-7-5', version: '1.2.3', githubDeploymentId: 5, sha: 'e'.repeat(40) },
    });
  });

  it('ignores the deployment fireops created for a release (its own task), so it starts no second rollout', () => {
    const d = routeEvent(
      norm('deployment', {
        action: 'created',
        deployment: {
          id: 9,
          sha: 'e'.repeat(40),
          ref: 'v1.1.0',
          task: FIREOPS_DEPLOYMENT_TASK,
          environment: 'production',
          payload: { rollout: 'release-7-1', version: 'v1.1.0' },
        },
      }),
      settings,
    );
    expect(d).toEqual({ kind: 'ignore', reason: 'deployment 9 was created by fireops for a release' });
  });

  it('maps services from settings, else the repository name', () => {
    expect(serviceFor('acme/api', settings)).toBe('api-svc');
    expect(serviceFor('acme/web', settings)).toBe('web');
  });
});

describe('planRedeliveries', () => {
  const a = (id: number, guid: string, at: number, code: number) => ({
    id,
    guid,
    deliveredAtMs: at,
    statusCode: code,
  });
  it('redelivers failed, unrecorded GUIDs once each, oldest first, newest attempt id, within the budget', () => {
    const plan = planRedeliveries(
      [
        a(1, 'x', 100, 500),
        a(2, 'x', 200, 502),
        a(3, 'y', 50, 0),
        a(4, 'z', 10, 500),
        a(5, 'z', 20, 200),
        a(6, 'w', 5, 401),
        a(7, 'v', 1, 500),
      ],
      new Set(['w']),
      new Map([['v', 3]]),
      1,
    );
    expect(plan.redeliver).toEqual([{ guid: 'y', deliveryId: 3, firstFailedAtMs: 50, attemptsSoFar: 0 }]);
    expect(plan.skipped).toEqual({ delivered: 1, recorded: 1, gaveUp: 1, overLimit: 1 });
    expect(plan.gaveUp).toEqual(['v']);
  });
});
