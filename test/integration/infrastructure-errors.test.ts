// Issue 12.4: PERMISSION_DENIED and other infrastructure errors are transient (retried, alerted once), never a
// 400, and a public endpoint never echoes an internal resource name or error text. The Secret Manager stand-in
// answers PERMISSION_DENIED on one RPC (what a function whose account holds secretAccessor but not
// `secrets.get` gets from GetSecret).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { db } from '../../functions/src/platform/firestore';
import { DEAD_LETTERS, PROCESSED_EVENTS } from '../../functions/src/platform/collections';
import { eventMeta, runEventHandler } from '../../functions/src/platform/error-mapping';
import { logger } from '../../functions/src/platform/logger';
import { TransientError, ValidationError } from '../../functions/src/platform/domain/errors';
import { readWebhookSecretCandidates } from '../../functions/src/webhooks/webhook-secrets';
import { collectTopic, rest, waitFor } from '../support/emulators';
import {
  WEBHOOK_SECRET_ID,
  deliver,
  example,
  resetWebhookSecret,
  writeGithubSettings,
} from '../support/github';
import { clearSecretFaults, injectSecretFault } from '../support/secret-manager';

let alerts: Awaited<ReturnType<typeof collectTopic>>;

beforeAll(async () => {
  alerts = await collectTopic('ops-alerts');
  await resetWebhookSecret();
});
afterAll(async () => {
  await clearSecretFaults();
  await alerts.close();
});
beforeEach(async () => {
  await clearSecretFaults();
  await rest.clear();
  await writeGithubSettings();
  alerts.messages.length = 0;
});
afterEach(async () => {
  await clearSecretFaults();
});

const infraAlerts = (target: string) =>
  alerts.messages.filter((m) => m.data.kind === 'infrastructure.failure' && m.data.target === target);

async function infraKeys(fn: string): Promise<string[]> {
  const snap = await db().collection(PROCESSED_EVENTS).where('kind', '==', 'infra-alert').get();
  return snap.docs.filter((d) => d.get('fn') === fn).map((d) => d.id);
}

describe('githubWebhook: Secret Manager refuses the function', () => {
  const payload = () => example('push', () => true);

  it.each(['GetSecret', 'AccessSecretVersion'])(
    'PERMISSION_DENIED on %s: 503 with a generic body, nothing stored, one alert for several deliveries',
    async (method) => {
      await injectSecretFault({ method, secret: WEBHOOK_SECRET_ID, code: 7 });
      // The instance may hold the secret in its cache (3 s locally): the fault shows once it re-reads.
      const first = await waitFor(
        async () => {
          const r = await deliver({ event: 'push', payload: payload() });
          return r.status === 503 ? r : undefined;
        },
        { what: 'a 503 once the cache is re-read', timeoutMs: 20_000, intervalMs: 1000 },
      );
      const more = [
        await deliver({ event: 'push', payload: payload() }),
        await deliver({ event: 'push', payload: payload() }),
      ];
      for (const r of [first, ...more]) {
        expect(r.status).toBe(503);
        expect(r.body).toEqual({ error: 'temporarily unavailable, retry later' });
        const text = JSON.stringify(r.body);
        expect(text).not.toMatch(
          /projects\/|secrets\/|github-webhook-secret|PERMISSION|denied|Secret Manager/i,
        );
        expect((await db().collection('deliveries').doc(r.guid).get()).exists).toBe(false);
      }
      // Alerted once per (function, cause) and hour, not per delivery.
      const alert = await waitFor(() => infraAlerts('webhooks.githubWebhook')[0], {
        what: 'the infra alert',
      });
      expect(alert.data).toMatchObject({
        severity: 'critical',
        title: 'webhooks.githubWebhook: PERMISSION_DENIED',
      });
      expect(alert.data.text).toMatch(/fireops doctor/);
      await new Promise((r) => setTimeout(r, 1000)); // a second alert, if any, would have landed by now
      expect(infraAlerts('webhooks.githubWebhook')).toHaveLength(1);
      expect(await infraKeys('webhooks.githubWebhook')).toHaveLength(1);

      // The grant fixed: GitHub's redelivery (same GUID) is accepted.
      await clearSecretFaults();
      const redelivered = await waitFor(
        async () => {
          const r = await deliver({ event: 'push', payload: payload(), guid: first.guid });
          return r.status === 202 ? r : undefined;
        },
        { what: 'the redelivery accepted', timeoutMs: 20_000, intervalMs: 1000 },
      );
      expect(redelivered.body).toMatchObject({ accepted: true, deliveryId: first.guid });
    },
  );
});

describe('event triggers: an infrastructure error is rethrown (retried), not acknowledged', () => {
  it('PERMISSION_DENIED from GetSecret is a TransientError; runEventHandler rethrows and alerts once', async () => {
    await injectSecretFault({ method: 'GetSecret', secret: WEBHOOK_SECRET_ID, code: 7 });
    const fn = 'test.eventTrigger';
    const log = logger({ function: fn });
    for (let attempt = 0; attempt < 3; attempt++) {
      const run = runEventHandler(
        log,
        () => readWebhookSecretCandidates(WEBHOOK_SECRET_ID).then(() => undefined),
        {
          fn,
        },
      );
      await expect(run).rejects.toBeInstanceOf(TransientError);
    }
    const alert = await waitFor(() => infraAlerts(fn)[0], { what: 'the infra alert' });
    expect(alert.data.title).toBe(`${fn}: PERMISSION_DENIED`);
    await new Promise((r) => setTimeout(r, 1000));
    expect(infraAlerts(fn)).toHaveLength(1);
    expect(await infraKeys(fn)).toHaveLength(1);
  });

  it.each([
    [14, 'UNAVAILABLE'],
    [16, 'UNAUTHENTICATED'],
    [8, 'RESOURCE_EXHAUSTED'],
  ])('gRPC %i (%s) from Secret Manager is retried too', async (code, name) => {
    await injectSecretFault({ method: 'GetSecret', secret: WEBHOOK_SECRET_ID, code });
    const fn = `test.eventTrigger${name}`;
    await expect(
      runEventHandler(logger(), () => readWebhookSecretCandidates(WEBHOOK_SECRET_ID).then(() => undefined), {
        fn,
      }),
    ).rejects.toBeInstanceOf(TransientError);
    await waitFor(() => infraAlerts(fn)[0], { what: `the ${name} alert` });
  });

  it('a missing version stays permanent: NOT_FOUND on one alias is skipped, not retried', async () => {
    await injectSecretFault({ method: 'AccessSecretVersion', secret: WEBHOOK_SECRET_ID, code: 5, count: 1 });
    await expect(readWebhookSecretCandidates(WEBHOOK_SECRET_ID)).resolves.toEqual([]);
  });
});

describe('event triggers: no silent give-up at the end of the 24-hour retry window', () => {
  const givingUp = (fn: string) =>
    alerts.messages.filter((m) => m.data.kind === 'event.giving-up' && m.data.target === fn);

  it('an event failing in its last hour raises one event.giving-up alert and a dead letter, and is still retried', async () => {
    const fn = 'test.lastChance';
    const event = {
      id: `evt-${Date.now()}`,
      time: new Date(Date.now() - 23.5 * 3600_000).toISOString(),
      type: 'google.cloud.firestore.document.v1.written',
      subject: 'documents/secretPolicies/fireops-db-password',
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      await expect(
        runEventHandler(
          logger(),
          () => Promise.reject(new Error('the callback origin refused the connection')),
          { fn, event: eventMeta(event) },
        ),
      ).rejects.toThrow('refused the connection'); // rethrown: the remaining retries still happen
    }
    const alert = await waitFor(() => givingUp(fn)[0], { what: 'the event.giving-up alert' });
    expect(alert.data).toMatchObject({ severity: 'critical', correlationId: event.id });
    expect(alert.data.text).toContain(event.subject);
    await new Promise((r) => setTimeout(r, 1000)); // a second one, if any, would have arrived by now
    expect(givingUp(fn)).toHaveLength(1);
    const letter = await db().collection(DEAD_LETTERS).doc(`${fn}:${event.id}`).get();
    expect(letter.data()).toMatchObject({
      fn,
      eventId: event.id,
      subject: event.subject,
      type: event.type,
      eventTime: event.time,
    });
  });

  it('a younger event, or a refused one (ValidationError), raises nothing', async () => {
    const fn = 'test.notYet';
    const young = { id: `evt-young-${Date.now()}`, time: new Date(Date.now() - 3600_000).toISOString() };
    await expect(
      runEventHandler(logger(), () => Promise.reject(new Error('down')), { fn, event: young }),
    ).rejects.toThrow('down');
    const old = { id: `evt-old-${Date.now()}`, time: new Date(Date.now() - 23.9 * 3600_000).toISOString() };
    await runEventHandler(logger(), () => Promise.reject(new ValidationError('bad edit', 'x')), {
      fn,
      event: old,
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(givingUp(fn)).toEqual([]);
    expect((await db().collection(DEAD_LETTERS).where('fn', '==', fn).get()).size).toBe(0);
  });
});
