// Issue 13.A: metric windows arrive through `canary-metrics` (Pub/Sub), validated by canary-ingestMetrics in the
// Functions emulator, and land where the canary reads them: a valid window is judged by the canary's analysis, an
// invalid one is refused (audited, alerted, logged) and never lands, a redelivered message id changes nothing.
import { describe, expect, it } from 'vitest';
import { analyse } from '../../functions/src/canary/analysis';
import { ingestMetricWindow } from '../../functions/src/canary/metrics-intake';
import { canaryPolicySchema } from '../../functions/src/canary/schema';
import { db } from '../../functions/src/platform/firestore';
import { collectAlertsForFile, pubsubClient, waitFor } from '../support/emulators';

const alerts = collectAlertsForFile();
const MIN = 60_000;

let seq = 0;
const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++seq}`;

/** The start of the minute before the current one: complete, fresh. */
const lastMinute = () => Math.floor(Date.now() / MIN) * MIN - MIN;

async function publish(body: unknown, attributes: Record<string, string> = {}): Promise<string> {
  const topic = pubsubClient().topic('canary-metrics');
  const [exists] = await topic.exists();
  if (!exists) await topic.create().catch(() => undefined);
  const data = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return topic.publishMessage({ data, attributes });
}

const windowRef = (service: string, minuteMs: number, cohort: string) =>
  db().doc(`metrics/${service}/windows/${minuteMs}_${cohort}`);

async function refusals(messageId: string) {
  const snap = await db().collection('auditLog').where('correlationId', '==', messageId).get();
  return snap.docs.map((d) => d.data()).filter((e) => e.action === 'metrics.window-refused');
}

const policy = canaryPolicySchema.parse({
  steps: [50, 100],
  intervalMinutes: 1,
  threshold: 1,
  progressDeadlineMinutes: 10,
  judge: { kind: 'threshold' },
  metrics: [{ name: 'errorRate', source: 'metrics', max: 0.01, direction: 'increase', critical: true }],
  minSamples: 1,
  router: { kind: 'firestore-flag', flag: 'metricsTestCanary' },
  targets: { baseline: { cohort: 'baseline' }, canary: { cohort: 'canary' } },
});

describe('canary-metrics', () => {
  it('a valid window lands where the canary reads it, and the canary judges it', async () => {
    const service = unique('svc');
    const minuteMs = lastMinute();
    const shard = (cohort: string, errors: number) => ({
      service,
      cohort,
      minuteMs,
      shard: 'i0',
      requests: 1000,
      errors,
      latencyMs: { '100': 900 - errors, '250': 100 },
    });
    const ids = await Promise.all([
      publish(shard('baseline', 0), { writer: 'payments@example.iam.gserviceaccount.com' }),
      publish(shard('canary', 80)),
    ]);
    const canary = await waitFor(
      async () => {
        const snap = await windowRef(service, minuteMs, 'canary').get();
        return snap.exists ? snap.data() : undefined;
      },
      { timeoutMs: 30_000, what: 'the canary window' },
    );
    expect(canary).toMatchObject({
      service,
      cohort: 'canary',
      minuteMs,
      shards: { i0: { requests: 1000, errors: 80, messageId: ids[1] } },
    });
    const baseline = await waitFor(
      async () => (await windowRef(service, minuteMs, 'baseline').get()).data(),
      {
        timeoutMs: 30_000,
        what: 'the baseline window',
      },
    );
    expect(baseline.shards.i0.writer).toBe('payments@example.iam.gserviceaccount.com');

    const analysis = await analyse(service, policy, minuteMs, minuteMs + MIN);
    expect(analysis.verdict).toBe('fail');
    expect(analysis.metrics.find((m) => m.name === 'errorRate')?.canary).toBeCloseTo(0.08);
  });

  it.each<[string, (service: string, minuteMs: number) => unknown, string]>([
    ['not JSON', () => '{"service": "x", oops', 'not JSON'],
    [
      'a bad service id',
      (_s, m) => ({
        service: '../auditLog',
        cohort: 'canary',
        minuteMs: m,
        shard: 'i0',
        requests: 1,
        errors: 0,
      }),
      'service',
    ],
    [
      'negative counts',
      (s, m) => ({ service: s, cohort: 'canary', minuteMs: m, shard: 'i0', requests: -5, errors: 0 }),
      'requests',
    ],
    [
      'more errors than requests',
      (s, m) => ({ service: s, cohort: 'canary', minuteMs: m, shard: 'i0', requests: 1, errors: 2 }),
      'errors',
    ],
    [
      'a minute in the future',
      (s, m) => ({
        service: s,
        cohort: 'canary',
        minuteMs: m + 10 * MIN,
        shard: 'i0',
        requests: 1,
        errors: 0,
      }),
      'future',
    ],
    [
      'a minute two days old',
      (s, m) => ({
        service: s,
        cohort: 'canary',
        minuteMs: m - 2 * 24 * 60 * MIN,
        shard: 'i0',
        requests: 1,
        errors: 0,
      }),
      'older',
    ],
    [
      'not a whole minute',
      (s, m) => ({ service: s, cohort: 'canary', minuteMs: m + 1, shard: 'i0', requests: 1, errors: 0 }),
      'minute',
    ],
    [
      'more latency than successes',
      (s, m) => ({
        service: s,
        cohort: 'canary',
        minuteMs: m,
        shard: 'i0',
        requests: 2,
        errors: 1,
        latencyMs: { '100': 5 },
      }),
      'latencyMs',
    ],
    [
      'a bad bucket',
      (s, m) => ({
        service: s,
        cohort: 'canary',
        minuteMs: m,
        shard: 'i0',
        requests: 2,
        errors: 0,
        latencyMs: { '-1': 1 },
      }),
      'latencyMs',
    ],
    [
      'an unknown field',
      (s, m) => ({
        service: s,
        cohort: 'canary',
        minuteMs: m,
        shard: 'i0',
        requests: 1,
        errors: 0,
        auditLog: {},
      }),
      'auditLog',
    ],
    [
      'an oversized body',
      (s, m) => ({
        service: s,
        cohort: 'canary',
        minuteMs: m,
        shard: 'i0',
        requests: 1,
        errors: 0,
        pad: 'x'.repeat(9000),
      }),
      'bytes',
    ],
  ])('refuses %s: audited and alerted, nothing lands', async (_label, build, reason) => {
    const service = unique('bad');
    const minuteMs = lastMinute();
    const id = await publish(build(service, minuteMs));
    const [entry] = await waitFor(async () => ((await refusals(id)).length ? refusals(id) : undefined), {
      timeoutMs: 30_000,
      what: `the refusal of ${id}`,
    });
    expect(String(entry!.reason)).toContain(reason);
    const alert = await waitFor(
      () =>
        alerts.messages.find((m) => m.data.kind === 'metrics.window-refused' && m.data.correlationId === id),
      { timeoutMs: 30_000, what: 'the refusal alert' },
    );
    expect(alert.data.severity).toBe('warning');
    const windows = await db().collection(`metrics/${service}/windows`).get();
    expect(windows.empty).toBe(true);
  });

  it('a message id seen before changes nothing, even with other content', async () => {
    const service = unique('dup');
    const minuteMs = lastMinute();
    const body = { service, cohort: 'canary', minuteMs, shard: 'i0', requests: 10, errors: 1 };
    const msg = (b: unknown, messageId: string) => ({
      messageId,
      publishTimeMs: Date.now(),
      data: Buffer.from(JSON.stringify(b)),
      attributes: {},
    });
    const messageId = unique('m');
    expect((await ingestMetricWindow(msg(body, messageId))).outcome).toBe('stored');
    const first = (await windowRef(service, minuteMs, 'canary').get()).data();
    expect((await ingestMetricWindow(msg(body, messageId))).outcome).toBe('duplicate');
    expect((await ingestMetricWindow(msg({ ...body, errors: 9 }, messageId))).outcome).toBe('duplicate');
    expect((await windowRef(service, minuteMs, 'canary').get()).data()).toEqual(first);
    // Counts are the shard's totals so far: a newer message (more requests) replaces it, an older one is stale.
    const newer = { ...body, requests: 20, errors: 2, latencyMs: { '100': 18 } };
    expect((await ingestMetricWindow(msg(newer, unique('m')))).outcome).toBe('stored');
    expect((await ingestMetricWindow(msg({ ...body, requests: 15 }, unique('m')))).outcome).toBe('stale');
    const shard = (await windowRef(service, minuteMs, 'canary').get()).get('shards')?.i0;
    expect(shard).toMatchObject({ requests: 20, errors: 2, latencyMs: { '100': 18 } });
  });
});
