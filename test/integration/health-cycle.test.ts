// The probe cycle end to end: runProbeCycle in this process, with the real prober against a local server, the real
// Firestore emulator and Pub/Sub (alerts), and onHealthCheckWritten running in the Functions emulator for the
// definition tests. Regions are played by calling the cycle once per region per minute; the server answers each
// region as the test says, so "failing in r1 only" is a real failure seen only by r1's probes.
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { db } from '../../functions/src/platform/firestore';
import { PROBE_BUDGET_MS, runProbeCycle, type HealthDeps } from '../../functions/src/health/engine';
import { bucketOf, planShards } from '../../functions/src/health/domain/shards';
import { HEALTH_STREAM, HEALTH_STREAM_SHARDS, cycleDocId } from '../../functions/src/health/docs';
import { streamShards } from '../../functions/src/platform/domain/audit-chain';
import { HEALTH_CATALOG } from '../../functions/src/platform/collections';
import { probeAll } from '../../functions/src/health/probe';
import { healthCheckSchema } from '../../functions/src/health/schema';
import { catalogEntry, handleHealthCheckWrite } from '../../functions/src/health/catalog';
import { countFirestoreWrites } from '../bench/firestore-writes.mjs';
import { PROJECT_ID, collectAlertsForFile, rest, waitFor } from '../support/emulators';
import { findScheduledFunctions, scheduledRequest } from '../../emulators/scheduler.mjs';
import { fnRequire } from '../support/functions-require';
import { scaled } from '../support/time-factor';

const MINUTE = 60_000;
/** The `health` audit stream's shards (health/docs.ts HEALTH_STREAM_SHARDS). */
const HEALTH_STREAMS = streamShards(HEALTH_STREAM, HEALTH_STREAM_SHARDS);
const ROOT = path.resolve(import.meta.dirname, '..', '..');
// The bench's write counter (every set, create, update and delete of the functions' Firestore client), installed
// once for this file: reset before a cycle, read after it.
const firestoreWrites = countFirestoreWrites(fnRequire);
let server: Server;
let base = '';
let currentRegion = '';
const failingIn = new Set<string>();
let hits = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    hits += 1;
    if (req.url === '/hang') return; // never answers (closed in afterAll)
    if (failingIn.has(currentRegion)) res.writeHead(503).end('down for maintenance');
    else res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"UP"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const alerts = collectAlertsForFile();

beforeEach(async () => {
  await rest.clear();
  failingIn.clear();
  await db()
    .doc('settings/health')
    .set({ allowTargets: ['127.0.0.1'], reminderMinutes: 5 });
});

let seq = 0;
function uniqueId(prefix: string): string {
  seq += 1;
  return `${prefix}-${Date.now().toString(36)}-${seq}`;
}

/** Writes the catalog directly (what onHealthCheckWritten keeps), from definitions validated by the real schema. */
async function catalog(checks: Record<string, Record<string, unknown>>): Promise<void> {
  const batch = db().batch();
  for (const [id, c] of Object.entries(checks))
    batch.set(db().collection(HEALTH_CATALOG).doc(id), catalogEntry(id, healthCheckSchema.parse(c)));
  await batch.commit();
}

function check(extra: Record<string, unknown> = {}) {
  return {
    name: 'Bvester API',
    type: 'http',
    target: `${base}/health`,
    conditions: ['status == 200', 'json $.status == "UP"'],
    failureThreshold: 3,
    successThreshold: 2,
    timeoutMs: 2_000,
    ...extra,
  };
}

interface TestClock {
  t: number;
  nowMs(): number;
}

function deps(clock: TestClock, regions: string[]): HealthDeps {
  return {
    clock,
    regions,
    concurrency: 10,
    allowCeiling: ['127.0.0.0/8', '::1'], // PROBE_ALLOW_TARGETS in functions/.env.demo-fireops
    probeAll,
    secretValue: () => Promise.reject(new Error('no secrets here')),
  };
}

/** A minute far from other tests' minutes (cycle ids are region + minute). */
function startMinute(): number {
  seq += 1;
  return Math.floor(Date.now() / MINUTE) * MINUTE - (1000 + seq * 200) * MINUTE;
}

/** Runs one minute: each region's cycle in turn, as the server answers that region. */
async function minute(clock: TestClock, minuteMs: number, regions: string[], all: string[] = regions) {
  const outcomes = [];
  for (const region of regions) {
    currentRegion = region;
    clock.t = minuteMs + 2_000;
    outcomes.push(
      await runProbeCycle({ region, scheduleTime: new Date(minuteMs).toISOString() }, deps(clock, all)),
    );
  }
  return outcomes;
}

async function status(id: string) {
  return (await db().collection('healthStatus').doc(id).get()).data();
}

async function incidents(checkId: string) {
  const snap = await db().collection('incidents').where('checkId', '==', checkId).get();
  return snap.docs.map((d) => d.data());
}

/** A check created and then refused: both audited in stream health, and the refusal alerted. */
async function expectCreatedThenRefused(id: string): Promise<void> {
  const audit = await db()
    .collection('auditLog')
    .where('stream', 'in', HEALTH_STREAMS)
    .where('target', '==', `healthChecks/${id}`)
    .get();
  expect(audit.docs.map((d) => d.get('action') as string).sort()).toEqual(['check.created', 'check.refused']);
  await waitFor(
    () =>
      alerts.messages.find((a) => a.data.kind === 'check.refused' && a.data.target === `healthChecks/${id}`),
    { what: 'the refusal alert' },
  );
}

/** One region-minute's cycle document, as stored. */
async function cycleDoc(region: string, minuteMs: number): Promise<Record<string, any> | undefined> {
  return (await db().collection('healthCycles').doc(cycleDocId(region, minuteMs)).get()).data();
}

describe('probe cycle: thresholds, incidents, storage', () => {
  it('moves a check through its states exactly per the thresholds and writes status only on change', async () => {
    const id = uniqueId('api');
    await catalog({ [id]: check({ regions: ['europe-west1'] }) });
    const clock = { t: 0, nowMs: () => clock.t };
    let m = startMinute();
    const states: (string | undefined)[] = [];
    const step = async () => {
      await minute(clock, m, ['europe-west1']);
      states.push((await status(id))?.state);
      m += MINUTE;
    };
    await step(); // ok 1: cs 1 < successThreshold 2
    await step(); // ok 2: up
    const upSince = (await status(id))!.updatedAtMs;
    await step(); // ok 3: no change, no write
    expect((await status(id))!.updatedAtMs).toBe(upSince);
    failingIn.add('europe-west1');
    await step(); // fail 1: degraded
    await step(); // fail 2: degraded
    expect(await incidents(id)).toEqual([]);
    await step(); // fail 3: down, incident opened
    const opened = await incidents(id);
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ state: 'open', checkId: id, failingRegions: ['europe-west1'] });
    failingIn.clear();
    await step(); // ok 1: still down (cs 1)... the incident stays open
    expect((await incidents(id))[0]!.state).toBe('open');
    await step(); // ok 2: up, resolved
    // A new check warms up as degraded; one success after an outage is not yet `up` (successThreshold 2).
    expect(states).toEqual(['degraded', 'up', 'up', 'degraded', 'degraded', 'down', 'degraded', 'up']);
    const resolved = (await incidents(id))[0]!;
    // Every change is audited: one entry per cycle that changed something, listing each check's transition.
    const audited = (
      await db()
        .collection('auditLog')
        .where('stream', 'in', HEALTH_STREAMS)
        .where('action', '==', 'health.transitions')
        .get()
    ).docs.flatMap((d) =>
      (d.get('details') as { checkId: string; to: string; incidentAction: string | null }[]).filter(
        (t) => t.checkId === id,
      ),
    );
    expect(audited.map((t) => [t.to, t.incidentAction])).toEqual([
      ['degraded', null],
      ['up', null],
      ['degraded', null],
      ['down', 'opened'],
      ['degraded', null],
      ['up', 'resolved'],
    ]);
    expect(resolved).toMatchObject({ state: 'resolved', durationMs: 2 * MINUTE });
    await waitFor(() => alerts.messages.some((a) => a.data.alertId === `incident-resolved:${resolved.id}`), {
      what: 'the resolution alert',
    });
    expect(alerts.messages.filter((a) => a.data.alertId === `incident-opened:${resolved.id}`)).toHaveLength(
      1,
    );
    // One cycle document per minute, each holding the result and the counters.
    const cycles = await db().collection('healthCycles').where('region', '==', 'europe-west1').get();
    const mine = cycles.docs.filter((d) => d.get(`c.${id}`) !== undefined);
    expect(mine).toHaveLength(8);
    const last = mine.map((d) => d.data()).sort((a, b) => a.minuteMs - b.minuteMs)[7]!;
    expect(last.r[id]).toEqual([1, expect.any(Number), 200, '', 0]);
    expect(last.c[id]).toEqual([0, 2, expect.any(Number)]);
  });

  it('opens an incident only when a majority of regions fail', async () => {
    const id = uniqueId('majority');
    const regions = ['europe-west1', 'africa-south1', 'us-central1'];
    await catalog({ [id]: check({ failureThreshold: 2 }) });
    const clock = { t: 0, nowMs: () => clock.t };
    let m = startMinute();
    failingIn.add('europe-west1'); // one region's network trouble
    for (let k = 0; k < 4; k += 1, m += MINUTE) await minute(clock, m, regions);
    expect((await status(id))!.state).toBe('degraded');
    expect(await incidents(id)).toEqual([]);
    failingIn.add('africa-south1'); // now two of three
    await minute(clock, m, regions);
    m += MINUTE;
    expect(await incidents(id)).toEqual([]); // r2 has failed once: below the threshold
    await minute(clock, m, regions);
    expect((await status(id))!.state).toBe('down');
    const opened = await incidents(id);
    expect(opened).toHaveLength(1);
    expect(opened[0]!.failingRegions).toEqual(['europe-west1', 'africa-south1']);
  });

  it("judges with the other regions' results of the same minute", async () => {
    const id = uniqueId('fresh');
    const regions = ['europe-west1', 'africa-south1'];
    await catalog({ [id]: check() });
    const clock = { t: 0, nowMs: () => clock.t };
    const m = startMinute();
    await minute(clock, m, regions);
    await minute(clock, m + MINUTE, regions);
    // Both regions have 2 successes after this minute: the second region to run sees the first one's results.
    expect((await status(id))!.state).toBe('up');
  });

  it('does not open an incident during a maintenance window, and marks the results', async () => {
    const id = uniqueId('maint');
    const m0 = startMinute();
    const startLocal = new Date(m0 - 5 * MINUTE).toISOString().slice(0, 16); // UTC wall clock
    await catalog({
      [id]: check({
        regions: ['europe-west1'],
        failureThreshold: 1,
        maintenance: [{ start: startLocal, durationMinutes: 60, timeZone: 'UTC' }],
      }),
    });
    const clock = { t: 0, nowMs: () => clock.t };
    failingIn.add('europe-west1');
    for (let k = 0; k < 3; k += 1) await minute(clock, m0 + k * MINUTE, ['europe-west1']);
    expect((await status(id))!.state).toBe('down');
    expect(await incidents(id)).toEqual([]);
    const cycle = (await cycleDoc('europe-west1', m0))!;
    expect(cycle.r[id]).toEqual([0, expect.any(Number), 503, expect.stringContaining('503'), 1]);
  });

  it('commits within its probe budget when targets hang: the unanswered check is a failed timeout', async () => {
    const [hang, ok] = [uniqueId('hang'), uniqueId('ok')];
    await catalog({
      [hang]: check({ target: `${base}/hang`, timeoutMs: 30_000, regions: ['europe-west1'] }),
      [ok]: check({ regions: ['europe-west1'] }),
    });
    const clock = { t: 0, nowMs: () => clock.t };
    const m = startMinute();
    currentRegion = 'europe-west1';
    clock.t = m + 1_000;
    const t0 = performance.now();
    const run = await runProbeCycle(
      { region: 'europe-west1', scheduleTime: new Date(m).toISOString() },
      { ...deps(clock, ['europe-west1']), probeBudgetMs: 1_500 },
    );
    expect(performance.now() - t0).toBeLessThan(scaled(15_000)); // not the check's 30 s
    expect(run.outcome).toBe('ran');
    const doc = await cycleDoc('europe-west1', m);
    expect(doc!.r[hang][0]).toBe(0);
    expect(doc!.r[hang][3]).toMatch(/^timeout/);
    expect(doc!.r[ok][0]).toBe(1);
  }, 60_000);

  it(
    'fault: 400 hanging targets at production timings; the deployed probeCycle fans out and every shard commits every check as down',
    async () => {
      // The real triggers in the Functions emulator (55 s timeouts, the 40 s PROBE_BUDGET_MS, concurrency 50, the
      // schema's 10 s default timeout), fired as Cloud Scheduler does. 400 x 10 s / 50 = 80 s of probing would
      // outlive one function; the cycle sizes shards for every target hanging (domain/shards.ts), hands them to
      // probeShardEuropeWest1 over Pub/Sub, and each shard finishes inside its budget: every check is a timeout of
      // its own probe, none is cut short by the budget.
      const ids = Array.from({ length: 400 }, (_, i) => uniqueId(`storm${i}`));
      const definition = check({ target: `${base}/hang`, regions: ['europe-west1'] });
      delete (definition as { timeoutMs?: number }).timeoutMs; // the default, 10 s
      await catalog(Object.fromEntries(ids.map((id) => [id, definition])));
      const plan = planShards({
        checks: ids.map((id) => ({ bucket: bucketOf(id) })),
        concurrency: 50,
        budgetMs: PROBE_BUDGET_MS,
      });
      expect(plan.shards).toBeGreaterThan(1);
      const m = startMinute();
      const indexJs = path.join(ROOT, 'functions', 'lib', 'index.js');
      const fn = findScheduledFunctions(indexJs).find((f) => f.id === 'health-probeCycleEuropeWest1')!;
      const { url, headers, body } = scheduledRequest(fn, {
        baseUrl: process.env.FIREOPS_FUNCTIONS_URL ?? 'http://127.0.0.1:5001',
        project: PROJECT_ID,
        region: 'europe-west1',
        scheduleTime: m,
      });
      const res = await fetch(url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(scaled(120_000)),
      });
      expect(res.status).toBe(200);
      const docs = await waitFor(
        async () => {
          const snap = await db()
            .collection('healthCycles')
            .where('region', '==', 'europe-west1')
            .where('minuteMs', '==', m)
            .get();
          return snap.size === plan.shards ? snap.docs.map((d) => d.data()) : undefined;
        },
        // Shards run in parallel in production; the emulator may run them one after another (20 s each).
        { timeoutMs: scaled(150_000), what: `the ${plan.shards} shard cycle documents` },
      );
      expect(docs.map((d) => d.shard as number).sort((a, b) => a - b)).toEqual(
        Array.from({ length: plan.shards }, (_, k) => k),
      );
      expect(new Set(docs.map((d) => d.shards as number))).toEqual(new Set([plan.shards]));
      const r: Record<string, [number, number, number, string]> = Object.assign(
        {},
        ...docs.map((d) => d.r as Record<string, [number, number, number, string]>),
      );
      const results = ids.map((id) => r[id]!);
      expect(results.filter((x) => x?.[0] === 0 && /^timeout after 10000 ms/.test(x[3]))).toHaveLength(400);
      expect(results.some((x) => x[3].includes('within the cycle'))).toBe(false);
      // Every check is in exactly one shard: the shards' results do not overlap.
      expect(docs.reduce((n, d) => n + Object.keys(d.r as object).length, 0)).toBe(400);
    },
    scaled(300_000),
  );

  it("does not count the prober's own failures against a check: one alert, the counters untouched", async () => {
    const [secret, plain] = [uniqueId('secret'), uniqueId('plain')];
    await catalog({
      [secret]: check({ regions: ['europe-west1'], headerSecrets: { 'X-Api-Key': 'fireops-probe-key' } }),
      [plain]: check({ regions: ['europe-west1'] }),
    });
    const clock = { t: 0, nowMs: () => clock.t };
    const m = startMinute();
    currentRegion = 'europe-west1';
    const raised: { fn: string; cause: string; message: string }[] = [];
    const alerter = (f: { fn: string; cause: string; message: string }) => {
      raised.push(f);
      return Promise.resolve();
    };
    for (let k = 0; k < 4; k++) {
      clock.t = m + k * MINUTE + 1_000;
      const run = await runProbeCycle(
        { region: 'europe-west1', scheduleTime: new Date(m + k * MINUTE).toISOString() },
        { ...deps(clock, ['europe-west1']), alerter }, // deps' secretValue always rejects (Secret Manager down)
      );
      expect(run.outcome).toBe('ran');
      const doc = await cycleDoc('europe-west1', m + k * MINUTE);
      expect(doc!.r[secret]).toBeUndefined(); // no result recorded: neither a failure nor a success
      expect(doc!.c[secret]).toBeUndefined();
      expect(doc!.r[plain][0]).toBe(1);
    }
    expect(await status(secret)).toBeUndefined(); // never judged down: no incident paged
    expect(raised.map((f) => [f.fn, f.cause])).toEqual(
      Array.from({ length: 4 }, () => ['health.probeCycle:europe-west1', 'PROBER_ERROR']),
    ); // the alerter keeps one per hour (infra-alert.ts); the cycle reports each minute
    expect(raised[0]!.message).toContain(`${secret}: secret fireops-probe-key unavailable`);
  });

  it('writes one cycle document for two overlapping runs of one region and minute', async () => {
    const id = uniqueId('overlap');
    await catalog({ [id]: check({ regions: ['europe-west1'] }) });
    const clock = { t: 0, nowMs: () => clock.t };
    const m = startMinute();
    currentRegion = 'europe-west1';
    clock.t = m + 1_000;
    const before = hits;
    const runs = await Promise.all([
      runProbeCycle(
        { region: 'europe-west1', scheduleTime: new Date(m).toISOString() },
        deps(clock, ['europe-west1']),
      ),
      runProbeCycle(
        { region: 'europe-west1', scheduleTime: new Date(m).toISOString() },
        deps(clock, ['europe-west1']),
      ),
    ]);
    expect(runs.map((r) => r.outcome).sort()).toEqual(['duplicate', 'ran']);
    expect(hits - before).toBeLessThanOrEqual(2); // both may probe (no lease: it would cost 2 writes a minute)
    const again = await runProbeCycle(
      { region: 'europe-west1', scheduleTime: new Date(m).toISOString() },
      deps(clock, ['europe-west1']),
    );
    expect(again.outcome).toBe('duplicate');
    expect((await db().collection('healthCycles').doc(cycleDocId('europe-west1', m)).get()).exists).toBe(
      true,
    );
  });

  it('publishes the outbox of a cycle that crashed before publishing when the minute runs again', async () => {
    const m = startMinute();
    const alertId = `incident-opened:${uniqueId('crashed')}`;
    // What a run leaves when it dies between its commit and publishing: the cycle document with its outbox.
    await db()
      .collection('healthCycles')
      .doc(cycleDocId('europe-west1', m))
      .set({
        region: 'europe-west1',
        minuteMs: m,
        startedAtMs: m + 1_000,
        durationMs: 500,
        r: {},
        c: {},
        s: {},
        i: {},
        o: [
          {
            alertId,
            severity: 'critical',
            kind: 'incident.opened',
            title: 'x is down',
            text: 'failing',
            target: 'incidents/x',
            correlationId: 'probeCycle:test',
            atMs: m + 1_500,
          },
        ],
      });
    const clock = { t: m + 1_600, nowMs: () => clock.t };
    const run = () =>
      runProbeCycle(
        { region: 'europe-west1', scheduleTime: new Date(m).toISOString() },
        deps(clock, ['europe-west1']),
      );
    expect((await run()).outcome).toBe('duplicate'); // its own run may still be publishing: not yet
    clock.t = m + 10_000;
    expect((await run()).outcome).toBe('duplicate');
    await waitFor(() => alerts.messages.find((a) => a.data.alertId === alertId), { what: 'the alert' });
    expect(alerts.messages.filter((a) => a.data.alertId === alertId)).toHaveLength(1);
  });

  it('probes a check only in the minutes its interval makes due, carrying its counters between them', async () => {
    const id = uniqueId('every5');
    await catalog({ [id]: check({ regions: ['europe-west1'], intervalSeconds: 300 }) });
    const clock = { t: 0, nowMs: () => clock.t };
    const m0 = Math.floor(startMinute() / (5 * MINUTE)) * 5 * MINUTE;
    const before = hits;
    for (let k = 0; k < 6; k += 1) await minute(clock, m0 + k * MINUTE, ['europe-west1']);
    expect(hits - before).toBe(2); // minutes 0 and 5
    const mid = (await cycleDoc('europe-west1', m0 + 2 * MINUTE))!;
    expect(mid.r[id]).toBeUndefined();
    expect(mid.c[id]).toEqual([0, 1, expect.any(Number)]);
  });

  it('refuses targets the SSRF guard does not allow, recording the reason as the failure', async () => {
    const id = uniqueId('ssrf');
    await db().doc('settings/health').set({ allowTargets: [] });
    await catalog({
      [id]: check({ regions: ['europe-west1'], target: 'http://169.254.169.254/computeMetadata/v1/' }),
    });
    const clock = { t: 0, nowMs: () => clock.t };
    const m = startMinute();
    await minute(clock, m, ['europe-west1']);
    const cycle = (await cycleDoc('europe-west1', m))!;
    expect(cycle.r[id][0]).toBe(0);
    expect(cycle.r[id][3]).toMatch(/^refused: 169\.254\.169\.254/);
  });

  it('refuses a settings/health whose allowTargets reach outside PROBE_ALLOW_TARGETS: whole, alerted, safe defaults', async () => {
    const id = uniqueId('ceiling');
    // The local target is 127.0.0.1 (inside the ceiling), but the edit also widens to a private block the
    // deployment never allowed: the whole document is refused, so not even 127.0.0.1 is let through.
    await db()
      .doc('settings/health')
      .set({ allowTargets: ['127.0.0.1', '10.0.0.0/8'], reminderMinutes: 5 });
    await catalog({ [id]: check({ regions: ['europe-west1'] }) });
    const clock = { t: 0, nowMs: () => clock.t };
    const raised: { fn: string; cause: string; message: string }[] = [];
    const alerter = (f: { fn: string; cause: string; message: string }) => {
      raised.push(f);
      return Promise.resolve();
    };
    const m = startMinute();
    currentRegion = 'europe-west1';
    clock.t = m + 1_000;
    const run = await runProbeCycle(
      { region: 'europe-west1', scheduleTime: new Date(m).toISOString() },
      { ...deps(clock, ['europe-west1']), alerter },
    );
    expect(run.outcome).toBe('ran');
    const cycle = (await cycleDoc('europe-west1', m))!;
    expect(cycle.r[id][0]).toBe(0);
    expect(cycle.r[id][3]).toMatch(/^refused: 127\.0\.0\.1 is a loopback address/);
    expect(raised.map((f) => [f.fn, f.cause])).toEqual([['health.probeCycle', 'SETTINGS_INVALID']]);
    expect(raised[0]!.message).toBe(
      "settings/health: allowTargets lists '10.0.0.0/8', outside what this deployment allows " +
        '(PROBE_ALLOW_TARGETS: 127.0.0.0/8, ::1). The SSRF allowlist is widened at deploy time, not in the document',
    );
  });
});

describe('probe cycle: write cost, maintenanceMode', () => {
  it('costs 1 write + state changes + incidents touched (+ the audit entry and head when anything changed)', async () => {
    const id = uniqueId('cost');
    const regions = ['europe-west1', 'africa-south1'];
    await catalog({ [id]: check({ regions, failureThreshold: 1, successThreshold: 1 }) });
    const clock = { t: 0, nowMs: () => clock.t };
    const m0 = startMinute();
    const writesOf = async (region: string, minuteMs: number) => {
      currentRegion = region;
      clock.t = minuteMs + 2_000;
      firestoreWrites.writes = 0;
      const outcome = await runProbeCycle(
        { region, scheduleTime: new Date(minuteMs).toISOString() },
        deps(clock, regions),
      );
      expect(outcome.outcome).toBe('ran');
      return firestoreWrites.writes;
    };
    // Both regions up: europe-west1 alone has no majority yet (degraded: a state change), africa-south1 makes it up.
    expect(await writesOf('europe-west1', m0)).toBe(1 + 1 + 2);
    expect(await writesOf('africa-south1', m0)).toBe(1 + 1 + 2);
    // europe-west1 only learns that africa-south1 moved the state: its cycle document, nothing else.
    expect(await writesOf('europe-west1', m0 + MINUTE)).toBe(1);
    expect(await writesOf('africa-south1', m0 + MINUTE)).toBe(1); // steady
    failingIn.add('europe-west1');
    failingIn.add('africa-south1');
    expect(await writesOf('europe-west1', m0 + 2 * MINUTE)).toBe(1 + 1 + 2); // up -> degraded
    // down with an incident opened: cycle + status + incident + audit entry + audit head; the alert rides on the
    // cycle document (no idempotency key, no outbox to clear).
    expect(await writesOf('africa-south1', m0 + 2 * MINUTE)).toBe(1 + 1 + 1 + 2);
    const cycle = (await cycleDoc('africa-south1', m0 + 2 * MINUTE))!;
    expect(cycle.o).toEqual([expect.objectContaining({ kind: 'incident.opened' })]);
    expect(await writesOf('europe-west1', m0 + 3 * MINUTE)).toBe(1); // learns the incident
    await waitFor(
      () =>
        alerts.messages.some((a) => a.data.kind === 'incident.opened' && String(a.data.target).includes(id)),
      { what: 'the incident alert' },
    );
  });

  it('treats flags/maintenanceMode as planned downtime: no incident, results marked as maintenance', async () => {
    const id = uniqueId('mmode');
    await catalog({ [id]: check({ regions: ['europe-west1'], failureThreshold: 1 }) });
    await db()
      .doc('flags/maintenanceMode')
      .set({ enabled: true, rolloutPercent: 0, description: 'planned downtime' });
    const clock = { t: 0, nowMs: () => clock.t };
    const m0 = startMinute();
    failingIn.add('europe-west1');
    for (let k = 0; k < 3; k += 1) await minute(clock, m0 + k * MINUTE, ['europe-west1']);
    expect((await status(id))!.state).toBe('down');
    expect(await incidents(id)).toEqual([]);
    const cycle = (await cycleDoc('europe-west1', m0))!;
    expect(cycle.r[id]).toEqual([0, expect.any(Number), 503, expect.stringContaining('503'), 1]);
    // Lifted: the check, still down, opens its incident.
    await db().doc('flags/maintenanceMode').update({ enabled: false });
    await minute(clock, m0 + 3 * MINUTE, ['europe-west1']);
    expect(await incidents(id)).toEqual([expect.objectContaining({ state: 'open' })]);
    const after = (await cycleDoc('europe-west1', m0 + 3 * MINUTE))!;
    expect(after.r[id][4]).toBe(0);
  });
});

describe('onHealthCheckWritten: regions', () => {
  it('refuses a region probeCycle is not deployed to, naming the field and the allowed regions; the previous definition keeps running', async () => {
    const id = uniqueId('regions');
    const clock = { nowMs: () => Date.now() };
    const write = (n: number, after: Record<string, unknown>) =>
      handleHealthCheckWrite(
        { id: `${id}-ev${n}`, checkId: id, authType: 'system', after, sourceTimeMs: Date.now() + n },
        clock,
        ['europe-west1', 'africa-south1'],
      );
    expect((await write(1, check({ regions: ['europe-west1'] }))).outcome).toBe('updated');
    const first = (await db().collection(HEALTH_CATALOG).doc(id).get()).get('check') as unknown;
    const refused = await write(2, check({ regions: ['europe-west1', 'europe-wset1'] }));
    expect(refused).toEqual({
      outcome: 'refused',
      reason:
        "field 'regions[1]' must be one of the deployed probe regions (europe-west1, africa-south1): 'europe-wset1' is not",
    });
    const catalogDoc = await db().collection(HEALTH_CATALOG).doc(id).get();
    expect(catalogDoc.get('check')).toEqual(first);
    expect(catalogDoc.get('refused')).toMatchObject({ field: 'regions[1]' });
    await expectCreatedThenRefused(id);
  });
});

describe('onHealthCheckWritten (Functions emulator)', () => {
  it('puts a valid definition in the catalog, and keeps it running when an invalid edit is refused', async () => {
    const id = uniqueId('edit');
    await rest.set(`healthChecks/${id}`, check({ regions: ['europe-west1'] }));
    const first = await waitFor(
      async () =>
        ((await db().collection(HEALTH_CATALOG).doc(id).get()).get('check') as Record<string, unknown>) ??
        undefined,
      { what: 'the catalog entry' },
    );
    expect(first).toMatchObject({ name: 'Bvester API', failureThreshold: 3, enabled: true });
    await rest.set(
      `healthChecks/${id}`,
      check({ regions: ['europe-west1'], failureThreshold: 0, conditions: ['status >< 2'] }),
    );
    const refused = await waitFor(
      async () =>
        ((await db().collection(HEALTH_CATALOG).doc(id).get()).get('refused') as { field: string } | null) ??
        undefined,
      { what: 'the refusal' },
    );
    expect(refused.field).toMatch(/conditions\[0\]|failureThreshold/);
    expect((await db().collection(HEALTH_CATALOG).doc(id).get()).get('check')).toEqual(first);
    await expectCreatedThenRefused(id);
  });
});
