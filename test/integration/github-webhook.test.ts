// githubWebhook and onOpsEvent through the Functions emulator, with GitHub's own example payloads, real HMAC
// signatures, the Secret Manager emulator holding the webhook secret, and the Pub/Sub emulator.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { db } from '../../functions/src/platform/firestore';
import { checkSignature } from '../../functions/src/webhooks/signature';
import { secretManager, secretName, versionName } from '../../functions/src/platform/secret-manager';
import { PREVIOUS_EXPIRES_ANNOTATION } from '../../functions/src/webhooks/webhook-secrets';
import { collectTopic, rest, waitFor } from '../support/emulators';
import {
  WEBHOOK_SECRET_ID,
  WEBHOOK_SECRET_V1,
  deliver,
  example,
  resetWebhookSecret,
  sign,
  writeGithubSettings,
} from '../support/github';

let events: Awaited<ReturnType<typeof collectTopic>>;

beforeAll(async () => {
  events = await collectTopic('ops-events');
  await resetWebhookSecret();
});
afterAll(async () => {
  await events.close();
});
beforeEach(async () => {
  await rest.clear();
  await writeGithubSettings();
  events.messages.length = 0;
});

async function count(collection: string): Promise<number> {
  // processedEvents is shared with every deployed function (an onFlagWritten firing late after a clear adds
  // its keys): only delivery keys are githubWebhook's.
  const ref = db().collection(collection);
  const query = collection === 'processedEvents' ? ref.where('kind', '==', 'github-delivery') : ref;
  return (await query.count().get()).data().count;
}

/** Audit actions for `target`, once the relay (onDeliveryRecorded) has appended at least one. */
async function auditActions(target: string): Promise<string[]> {
  const read = async () =>
    (await db().collection('auditLog').where('target', '==', target).get()).docs
      .map((d) => d.get('action') as string)
      .sort();
  await waitFor(async () => (await read()).length > 0, { what: `an audit entry for ${target}` });
  await new Promise((r) => setTimeout(r, 500)); // a second entry, if any, would have landed by now
  return read();
}

/** No message arrives on ops-events within `ms` (used after refusals). */
async function quiet(ms = 1500) {
  await new Promise((r) => setTimeout(r, ms));
}

describe('signature verification', () => {
  it("matches GitHub's documented test vector", async () => {
    const signature = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    expect(sign("It's a Secret to Everybody", 'Hello, World!')).toBe(signature);
    const source = {
      candidates: () =>
        Promise.resolve([{ version: '1', role: 'current' as const, value: "It's a Secret to Everybody" }]),
      refreshAfterMiss: () => Promise.resolve(undefined),
    };
    await expect(checkSignature(Buffer.from('Hello, World!'), signature, source)).resolves.toEqual({
      ok: true,
      version: '1',
      role: 'current',
    });
    await expect(checkSignature(Buffer.from('Hello, World?'), signature, source)).resolves.toMatchObject({
      ok: false,
    });
  });
});

describe('githubWebhook: refusals store and publish nothing', () => {
  const release = () => example('release', (p) => p.action === 'published');
  const cases: [string, Parameters<typeof deliver>[0], number, RegExp][] = [
    ['GET', { event: 'release', payload: {}, method: 'GET' }, 405, /method/],
    ['PUT', { event: 'release', payload: {}, method: 'PUT' }, 405, /method/],
    [
      'form-encoded body',
      {
        event: 'release',
        body: 'payload=%7B%7D',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
      415,
      /application\/json/,
    ],
    [
      'no X-GitHub-Event',
      { event: 'release', payload: {}, headers: { 'x-github-event': undefined } },
      400,
      /X-GitHub-Event/,
    ],
    [
      'no X-GitHub-Delivery',
      { event: 'release', payload: {}, headers: { 'x-github-delivery': undefined } },
      400,
      /X-GitHub-Delivery/,
    ],
    [
      'no signature',
      { event: 'release', payload: {}, headers: { 'x-hub-signature-256': undefined } },
      400,
      /X-Hub-Signature-256/,
    ],
    ['wrong secret', { event: 'release', payload: {}, secret: 'not-the-secret' }, 401, /does not match/],
    [
      'sha1 signature',
      { event: 'release', payload: {}, headers: { 'x-hub-signature-256': `sha1=${'a'.repeat(40)}` } },
      401,
      /sha256=/,
    ],
    [
      'short signature',
      { event: 'release', payload: {}, headers: { 'x-hub-signature-256': `sha256=${'a'.repeat(63)}` } },
      401,
      /64/,
    ],
    [
      'non-hex signature',
      { event: 'release', payload: {}, headers: { 'x-hub-signature-256': `sha256=${'z'.repeat(64)}` } },
      401,
      /hex/,
    ],
  ];

  it.each(cases)('%s', async (_name, d, status, message) => {
    const res = await deliver({ ...d, payload: d.payload === undefined ? undefined : release() });
    expect(res.status).toBe(status);
    expect(res.body.error).toMatch(message);
    await quiet(300);
    expect(await count('deliveries')).toBe(0);
    expect(await count('processedEvents')).toBe(0);
    expect(await count('rolloutRequests')).toBe(0);
    expect(events.messages).toEqual([]);
  });

  it('a body over WEBHOOK_MAX_BYTES: 413 before parsing', async () => {
    const body = JSON.stringify({ ...release(), padding: 'x'.repeat(5 * 1024 * 1024) });
    const res = await deliver({ event: 'release', body });
    expect(res.status).toBe(413);
    expect(await count('deliveries')).toBe(0);
  });

  it('a payload tampered with after signing: 401', async () => {
    const body = JSON.stringify(release());
    const res = await deliver({
      event: 'release',
      body: body.replace('0.0.1', '9.9.9'),
      headers: { 'x-hub-signature-256': sign(WEBHOOK_SECRET_V1, body) },
    });
    expect(res.status).toBe(401);
    expect(await count('deliveries')).toBe(0);
  });
});

describe('githubWebhook: invalid payloads are recorded as rejected, without the payload', () => {
  it('a body that is not JSON: 400 from the Functions Framework body parser, before fireops runs; nothing stored', async () => {
    // Cloud Functions parses application/json bodies before the handler and answers 400 itself on a syntax
    // error, so such a delivery cannot be recorded (its signature was never checked either). README says so.
    const res = await deliver({ event: 'release', body: '{"action": "published", ' });
    expect(res.status).toBe(400);
    await quiet(300);
    expect(await count('deliveries')).toBe(0);
    expect(events.messages).toEqual([]);
  });

  it('an empty body, even signed: 400 before the signature is checked; nothing stored', async () => {
    // A delivery always has a JSON body; an empty one (a proxy that dropped it, a probe) used to answer 500.
    for (const headers of [{}, { 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` }]) {
      const res = await deliver({ event: 'release', body: '', headers }); // signed over '' unless overridden
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toContain('empty body');
    }
    await quiet(300);
    expect(await count('deliveries')).toBe(0);
    expect(events.messages).toEqual([]);
  });

  it.each([
    ['release without tag_name', 'release', JSON.stringify({ ...example('release'), release: { id: 1 } })],
    ['push without ref', 'push', JSON.stringify({ ...example('push'), ref: undefined })],
  ])('%s: 400, delivery rejected and audited, nothing published', async (_name, event, body) => {
    const res = await deliver({ event, body });
    expect(res.status).toBe(400);
    const doc = (await db().collection('deliveries').doc(res.guid).get()).data();
    expect(doc).toMatchObject({ outcome: 'rejected', event });
    // Expires through the TTL policy on deliveries.expireAt, 90 days on.
    const ttlDays = (doc!.expireAt.toMillis() - doc!.receivedAt.toMillis()) / 86_400_000;
    expect(ttlDays).toBeCloseTo(90, 3);
    expect(doc).not.toHaveProperty('payload');
    expect(JSON.stringify(doc)).not.toContain('Hello-World');
    expect(await auditActions(`deliveries/${res.guid}`)).toEqual(['delivery.rejected']);
    await quiet(500);
    expect(events.messages).toEqual([]);
    expect(await count('rolloutRequests')).toBe(0);
  });

  it('names the field in the error', async () => {
    const res = await deliver({
      event: 'release',
      body: JSON.stringify({ ...example('release'), release: { id: 1 } }),
    });
    expect(res.body.error).toContain("field 'release.tag_name' is required");
  });
});

describe('githubWebhook + onOpsEvent: every handled event, real payloads', () => {
  it.each([
    ['release published', 'release', (p: any) => p.action === 'published', 'rollout-request'],
    ['release created', 'release', (p: any) => p.action === 'created', 'ignore'],
    [
      'deployment to production',
      'deployment',
      (p: any) => p.deployment.environment === 'production',
      'rollout-request',
    ],
    [
      'deployment to github-pages (not listed)',
      'deployment',
      (p: any) => p.deployment.environment === 'github-pages',
      'ignore',
    ],
    ['deployment_status', 'deployment_status', () => true, 'record'],
    ['push to the default branch', 'push', (p: any) => p.ref === 'refs/heads/master', 'record'],
    ['push of a tag', 'push', (p: any) => p.ref === 'refs/tags/simple-tag', 'ignore'],
    ['workflow_run completed', 'workflow_run', (p: any) => p.action === 'completed', 'record'],
    ['workflow_run requested', 'workflow_run', (p: any) => p.action === 'requested', 'ignore'],
    ['ping', 'ping', (p: any) => Boolean(p.repository), 'record'],
    ['issues opened (not acted on)', 'issues', (p: any) => p.action === 'opened', 'ignore'],
  ])('%s', async (_name, event, pick, decision) => {
    const payload = example(event, pick);
    const res = await deliver({ event, payload });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: true, deliveryId: res.guid });
    const routed = await waitFor(
      async () =>
        (await db().collection('deliveries').doc(res.guid).get()).get('routing') as
          { decision: string } | undefined,
      {
        what: 'routing',
      },
    );
    expect(routed.decision).toBe(decision);
    // The test's own subscription may hear the announcement after onOpsEvent's has routed it: wait for it.
    const message = await waitFor(() => events.messages.find((m) => m.data.deliveryId === res.guid), {
      what: 'the ops-events message',
    });
    expect(message.attributes).toMatchObject({ event, deliveryId: res.guid });
    const delivery = (await db().collection('deliveries').doc(res.guid).get()).data()!;
    expect(delivery).toMatchObject({ event, outcome: 'accepted', secretVersion: '1' });
    expect(delivery.payloadSha256).toMatch(/^[0-9a-f]{64}$/);

    const requests = await db().collection('rolloutRequests').get();
    if (decision === 'rollout-request') {
      expect(requests.size).toBe(1);
      const request = requests.docs[0]!.data();
      expect(request).toMatchObject({
        repo: payload.repository.full_name,
        service: 'Hello-World',
        status: 'pending',
      });
      if (event === 'deployment') {
        expect(request).toMatchObject({
          environment: 'production',
          githubDeploymentId: payload.deployment.id,
          sha: payload.deployment.sha,
        });
      } else {
        expect(request).toMatchObject({
          environment: 'production',
          version: payload.release.tag_name,
          githubDeploymentId: null,
        });
      }
    } else {
      expect(requests.size).toBe(0);
    }
    if (event === 'ping') {
      const hook = (await db().collection('githubHooks').doc(String(payload.hook_id)).get()).data();
      expect(hook).toMatchObject({ repo: payload.repository.full_name, active: true });
      expect(JSON.stringify(hook)).not.toMatch(/secret/i);
    }
  });

  it('a repository not in settings/github.allowedRepos: 202, recorded as ignored, audited, not published', async () => {
    await writeGithubSettings({ allowedRepos: ['someone/else'] });
    const res = await deliver({
      event: 'release',
      payload: example('release', (p) => p.action === 'published'),
    });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ ignored: true });
    expect((await db().collection('deliveries').doc(res.guid).get()).get('outcome')).toBe('ignored');
    expect(await auditActions(`deliveries/${res.guid}`)).toEqual(['delivery.ignored']);
    await quiet();
    expect(events.messages).toEqual([]);
  });

  it('invalid settings/github: 503 naming the field (GitHub records a failure the recovery job redelivers)', async () => {
    await db().doc('settings/github').set({ allowedRepos: 'Codertocat/Hello-World' });
    const res = await deliver({
      event: 'release',
      payload: example('release', (p) => p.action === 'published'),
    });
    expect(res.status).toBe(503);
    expect(res.body.error).toContain("field 'allowedRepos' must be an array");
    expect(await count('deliveries')).toBe(0);
  });
});

describe('githubWebhook: one GUID, one effect', () => {
  it('10 sequential and 10 concurrent deliveries of one GUID: one delivery, event, rollout request, audit entry', async () => {
    const payload = example('deployment', (p) => p.deployment.environment === 'production');
    const guid = randomUUID();
    const sequential = [];
    for (let i = 0; i < 10; i++) sequential.push(await deliver({ event: 'deployment', payload, guid }));
    const concurrent = await Promise.all(
      Array.from({ length: 10 }, () => deliver({ event: 'deployment', payload, guid })),
    );
    const statuses = [...sequential, ...concurrent].map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(sequential.slice(1).map((r) => r.status)).toEqual(Array(9).fill(200));
    expect(sequential[1]!.body).toEqual({ duplicate: true, deliveryId: guid });
    // Concurrent duplicates contend on one document: on a loaded machine one may outlast githubWebhook's answer
    // deadline and get 503 (GitHub redelivers it), never a second acceptance. Its redelivery is a duplicate.
    expect(concurrent.every((r) => r.status === 200 || r.status === 503)).toBe(true);
    const unanswered = concurrent.filter((r) => r.status === 503).length;
    for (let k = 0; k < unanswered; k += 1) {
      expect((await deliver({ event: 'deployment', payload, guid })).status).toBe(200);
    }

    await waitFor(async () => (await count('rolloutRequests')) === 1, { what: 'the rollout request' });
    await waitFor(() => events.messages.some((m) => m.data.deliveryId === guid), {
      what: 'the ops-events message',
    });
    await quiet();
    expect(await count('deliveries')).toBe(1);
    expect(await count('rolloutRequests')).toBe(1);
    expect(events.messages.filter((m) => m.data.deliveryId === guid)).toHaveLength(1);
    expect(await auditActions(`deliveries/${guid}`)).toEqual(['delivery.accepted']);
  });

  it('a concurrent burst with a fresh GUID each time is that many deliveries (dedupe is by GUID only)', async () => {
    const payload = example('push', (p) => p.ref === 'refs/heads/master');
    const results = await Promise.all(Array.from({ length: 6 }, () => deliver({ event: 'push', payload })));
    expect(results.map((r) => r.status)).toEqual(Array(6).fill(202));
    expect(await count('deliveries')).toBe(6);
  });
});

describe('githubWebhook: secret rotation without redeploy', () => {
  afterAll(async () => {
    await resetWebhookSecret();
    await new Promise((r) => setTimeout(r, 3500)); // the function's cache (3 s locally) forgets the rotated secret
  });

  it('accepts the new and the previous secret during the grace period, and refuses the old one after', async () => {
    const client = secretManager();
    const name = secretName(WEBHOOK_SECRET_ID);
    const v2 = 'test-webhook-secret-version-two';
    const [added] = await client.addSecretVersion({ parent: name, payload: { data: Buffer.from(v2) } });
    const newVersion = Number(added.name!.split('/').pop());
    await client.updateSecret({
      secret: { name, versionAliases: { current: newVersion, previous: 1 } },
      updateMask: { paths: ['version_aliases'] },
    });
    const payload = example('push', (p) => p.ref === 'refs/heads/master');

    // The new secret works as soon as the function re-reads after a miss (at most every few seconds).
    const withNew = await waitFor(
      async () => {
        const r = await deliver({ event: 'push', payload, secret: v2 });
        return r.status === 202 ? r : undefined;
      },
      { what: 'the new secret accepted', timeoutMs: 20_000, intervalMs: 1000 },
    );
    expect((await db().collection('deliveries').doc(withNew.guid).get()).get('secretVersion')).toBe(
      String(newVersion),
    );
    expect((await deliver({ event: 'push', payload, secret: WEBHOOK_SECRET_V1 })).status).toBe(202);

    // Grace over: the rotation machine disables `previous`; within the cache time the old secret is refused.
    await client.disableSecretVersion({ name: versionName(WEBHOOK_SECRET_ID, 1) });
    await waitFor(
      async () => (await deliver({ event: 'push', payload, secret: WEBHOOK_SECRET_V1 })).status === 401,
      {
        what: 'the old secret refused',
        timeoutMs: 20_000,
        intervalMs: 1000,
      },
    );
    expect((await deliver({ event: 'push', payload, secret: v2 })).status).toBe(202);
  });

  it('refuses `previous` once the grace annotation has passed, even while the version is enabled', async () => {
    const client = secretManager();
    const name = secretName(WEBHOOK_SECRET_ID);
    await resetWebhookSecret([WEBHOOK_SECRET_V1, 'test-webhook-secret-version-three']);
    await client.updateSecret({
      secret: {
        name,
        versionAliases: { current: 2, previous: 1 },
        annotations: { [PREVIOUS_EXPIRES_ANNOTATION]: new Date(Date.now() - 1000).toISOString() },
      },
      updateMask: { paths: ['version_aliases', 'annotations'] },
    });
    const payload = example('push', (p) => p.ref === 'refs/heads/master');
    await waitFor(
      async () =>
        (await deliver({ event: 'push', payload, secret: 'test-webhook-secret-version-three' })).status ===
        202,
      { what: 'v3 accepted', timeoutMs: 20_000, intervalMs: 1000 },
    );
    expect((await deliver({ event: 'push', payload, secret: WEBHOOK_SECRET_V1 })).status).toBe(401);
  });
});
