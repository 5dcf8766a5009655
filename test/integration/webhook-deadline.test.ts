// githubWebhook answers within GitHub's 10 s whatever its dependencies do (issue 16.4). The handler runs in this
// process against the real Firestore and Secret Manager emulators; a slow dependency is a slow implementation of
// the dependency parameter (WebhookDeps), the house way of substituting one, not a module mock.
import { randomUUID } from 'node:crypto';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { db } from '../../functions/src/platform/firestore';
import { cachedValidatedDoc } from '../../functions/src/platform/settings';
import { CachedSecretSource, type SecretSource } from '../../functions/src/webhooks/webhook-secrets';
import { githubSettingsSchema } from '../../functions/src/webhooks/schema';
import { systemClock } from '../../functions/src/platform/domain/clock';
import {
  handleGithubWebhook,
  type WebhookDeps,
  type WebhookRequest,
} from '../../functions/src/webhooks/receive';
import { rest, waitFor } from '../support/emulators';
import {
  WEBHOOK_SECRET_ID,
  WEBHOOK_SECRET_V1,
  example,
  resetWebhookSecret,
  sign,
  writeGithubSettings,
} from '../support/github';

/** GitHub records a delivery as failed when no answer came within 10 s. */
const GITHUB_GIVES_UP_MS = 10_000;

function realDeps(extra: Partial<WebhookDeps> = {}): WebhookDeps {
  return {
    secrets: new CachedSecretSource(WEBHOOK_SECRET_ID, { ttlMs: 3_000 }),
    maxBytes: 25 * 1024 * 1024,
    clock: systemClock,
    settings: cachedValidatedDoc('settings/github', () => Promise.resolve(githubSettingsSchema), 1_000),
    ...extra,
  };
}

/** A delivery as GitHub sends it, signed with the test secret. */
function request(guid: string): WebhookRequest {
  const payload = example('deployment', (p) => p.deployment.environment === 'production');
  const body = Buffer.from(JSON.stringify(payload));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': 'deployment',
    'x-github-delivery': guid,
    'x-hub-signature-256': sign(WEBHOOK_SECRET_V1, body),
  };
  return { method: 'POST', rawBody: body, get: ((name: string) => headers[name.toLowerCase()]) as never };
}

/** Calls the handler as the platform would; resolves with the answer and how long it took to come. */
function call(req: WebhookRequest, deps: WebhookDeps): Promise<{ status: number; body: any; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    let status = 200;
    const res = {
      status(n: number) {
        status = n;
        return res;
      },
      set: () => res,
      json(body: unknown) {
        resolve({ status, body, ms: performance.now() - t0 });
        return res;
      },
    };
    handleGithubWebhook(req, res as never, deps).then(
      () => undefined,
      (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
    );
  });
}

/** A dependency that answers only after `ms` (or never): the slow machine, the stuck emulator. */
const after = <T>(ms: number, value: () => Promise<T>) =>
  new Promise<T>((r) => setTimeout(() => r(value()), ms).unref());

const deliveryCount = async () => (await db().collection('deliveries').count().get()).data().count;
/**
 * Whether this delivery was recorded. By id, not by counting: a 503 does not cancel the work, so a delivery an
 * earlier test answered 503 on a loaded machine may still be written after the next test's clear.
 */
const recorded = async (guid: string) => (await db().collection('deliveries').doc(guid).get()).exists;

beforeAll(async () => {
  await resetWebhookSecret();
});
beforeEach(async () => {
  await rest.clear();
  await writeGithubSettings();
});

describe('githubWebhook answers within its deadline (issue 16.4)', () => {
  it('10 concurrent deliveries of one GUID: all answered in time, one accepted, one delivery recorded', async () => {
    const deps = realDeps();
    const guid = randomUUID();
    const answers = await Promise.all(Array.from({ length: 10 }, () => call(request(guid), deps)));
    for (const a of answers) expect(a.ms).toBeLessThan(GITHUB_GIVES_UP_MS);
    const statuses = answers.map((a) => a.status);
    expect(statuses.every((s) => s === 202 || s === 200 || s === 503)).toBe(true);
    // Never two acceptances; exactly one unless a 503 (deadline passed on a loaded machine) answered the
    // delivery whose write landed after it.
    const accepted = statuses.filter((s) => s === 202).length;
    expect(accepted).toBe(statuses.includes(503) ? Math.min(accepted, 1) : 1);
    // A write answered 503 still lands (the work is not cancelled): wait for it, then exactly one.
    await waitFor(() => recorded(guid), { what: 'the delivery to be recorded' });
    expect(await deliveryCount()).toBe(1);
  });

  it('a webhook secret that does not come answers 503 by the deadline, nothing recorded', async () => {
    const real = new CachedSecretSource(WEBHOOK_SECRET_ID, { ttlMs: 3_000 });
    const slow: SecretSource = {
      candidates: () => after(60_000, () => real.candidates()),
      refreshAfterMiss: () => after(60_000, () => real.refreshAfterMiss()),
    };
    const guid = randomUUID();
    const a = await call(request(guid), realDeps({ secrets: slow, deadlineMs: 2_000 }));
    expect(a).toMatchObject({ status: 503, body: { error: 'temporarily unavailable, retry later' } });
    expect(a.ms).toBeGreaterThanOrEqual(1_900);
    expect(a.ms).toBeLessThan(3_000);
    expect(await recorded(guid)).toBe(false);
  });

  it('settings/github that do not come answer 503 by the deadline, nothing recorded', async () => {
    const real = realDeps().settings;
    const guid = randomUUID();
    const a = await call(request(guid), realDeps({ settings: () => after(60_000, real), deadlineMs: 2_000 }));
    expect(a.status).toBe(503);
    expect(a.ms).toBeLessThan(3_000);
    expect(await recorded(guid)).toBe(false);
  });
});
