// The health scale-out against the Firestore emulator (issue 14): the per-instance catalog cache following
// `healthCatalog/{id}` by delta and count, a cycle fanned out into shards run in this process, the carry-forward
// of counters and states across a change of the shard plan, and stale shard messages dropped.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { db } from '../../functions/src/platform/firestore';
import {
  runProbeCycle,
  runProbeShard,
  type HealthDeps,
  type ShardMessage,
} from '../../functions/src/health/engine';
import { CatalogCache, FULL_SPAN } from '../../functions/src/health/catalog-cache';
import { catalogEntry } from '../../functions/src/health/catalog';
import { healthCheckSchema } from '../../functions/src/health/schema';
import { probeAll } from '../../functions/src/health/probe';
import { bucketOf, spanOf } from '../../functions/src/health/domain/shards';
import { HEALTH_CATALOG } from '../../functions/src/platform/collections';
import { rest } from '../support/emulators';

const MINUTE = 60_000;
let server: Server;
let base = '';

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"UP"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

beforeEach(async () => {
  await rest.clear();
  await db()
    .doc('settings/health')
    .set({ allowTargets: ['127.0.0.1'] });
});

function definition(extra: Record<string, unknown> = {}) {
  return healthCheckSchema.parse({
    name: 'Bvester API',
    type: 'http',
    target: `${base}/health`,
    conditions: ['status == 200'],
    failureThreshold: 2,
    successThreshold: 2,
    regions: ['europe-west1'],
    ...extra,
  });
}

async function put(id: string, extra: Record<string, unknown> = {}): Promise<void> {
  await db()
    .collection(HEALTH_CATALOG)
    .doc(id)
    .set(catalogEntry(id, definition(extra)));
}

describe('the catalog cache', () => {
  it('follows edits, tombstones and a wiped collection with a few reads once warm', async () => {
    await put('alpha');
    await put('beta');
    const cache = new CatalogCache();
    const now = Date.now();
    const cold = await cache.read(FULL_SPAN, now);
    expect([...cold.checks.keys()].sort()).toEqual(['alpha', 'beta']);
    expect(cold).toMatchObject({ reads: 2, reloaded: true });

    // Warm and unchanged: the delta query (nothing: billed 1) and the count (1).
    expect(await cache.read(FULL_SPAN, now)).toMatchObject({ reads: 2, reloaded: false });

    // An edit and a deletion (a tombstone, as onHealthCheckWritten writes it) arrive through the delta.
    await put('alpha', { name: 'Renamed' });
    await db().collection(HEALTH_CATALOG).doc('beta').set(catalogEntry('beta', null));
    const warm = await cache.read(FULL_SPAN, now);
    expect(warm).toMatchObject({ reads: 2 + 1, reloaded: false });
    expect([...warm.checks.keys()]).toEqual(['alpha']);
    expect(warm.checks.get('alpha')!.check.name).toBe('Renamed');

    // A document removed without a tombstone (a wiped or restored database, a tombstone's TTL passed unseen): the
    // count no longer matches and the cache reloads.
    await db().collection(HEALTH_CATALOG).doc('beta').delete();
    await put('gamma');
    const reloaded = await cache.read(FULL_SPAN, now);
    expect(reloaded.reloaded).toBe(true);
    expect([...reloaded.checks.keys()].sort()).toEqual(['alpha', 'gamma']);
  });

  it('reads a shard span only, and sees a change in another span without keeping it', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `span-${i}`);
    for (const id of ids) await put(id);
    const span = spanOf(0, 2);
    const mine = ids.filter((id) => bucketOf(id) < span.hi);
    const cache = new CatalogCache();
    const cold = await cache.read(span, Date.now());
    expect([...cold.checks.keys()].sort()).toEqual(mine.sort());
    expect(cold.reads).toBe(mine.length);
    const other = ids.find((id) => bucketOf(id) >= span.hi)!;
    await put(other, { name: 'elsewhere' });
    const warm = await cache.read(span, Date.now());
    expect(warm.reloaded).toBe(false);
    expect(warm.checks.has(other)).toBe(false);
  });
});

describe('a fanned-out cycle', () => {
  // Concurrency 1 and 30 s timeouts: a shard holds 40 s of worst-case probing, so one check per shard, and three
  // checks fan out into as many shards as it takes to separate their buckets.
  function deps(clock: { nowMs(): number }, cache: CatalogCache, dispatched: ShardMessage[][]): HealthDeps {
    return {
      clock,
      regions: ['europe-west1'],
      concurrency: 1,
      allowCeiling: ['127.0.0.0/8'],
      probeAll,
      secretValue: () => Promise.reject(new Error('no secrets here')),
      catalog: cache,
      dispatchShards: (_region, messages) => {
        dispatched.push(messages);
        return Promise.resolve();
      },
    };
  }

  it('probes every check in exactly one shard, and carries counters and states across a change of plan', async () => {
    const clock = { t: 0, nowMs: () => clock.t };
    const cache = new CatalogCache();
    const dispatched: ShardMessage[][] = [];
    const d = deps(clock, cache, dispatched);
    const m0 = Math.floor(Date.now() / MINUTE) * MINUTE - 500 * MINUTE;
    await put('solo', { timeoutMs: 30_000 });

    // Minutes 0 and 1: one check, one shard, run by the cycle itself: degraded, then up.
    for (const k of [0, 1]) {
      clock.t = m0 + k * MINUTE + 1_000;
      const run = await runProbeCycle(
        { region: 'europe-west1', scheduleTime: new Date(m0 + k * MINUTE).toISOString() },
        d,
      );
      expect(run.outcome).toBe('ran');
    }
    expect((await db().doc('healthStatus/solo').get()).get('state')).toBe('up');

    // Minute 2: two more checks; the plan changes to several shards, handed out (and run here).
    await put('duo', { timeoutMs: 30_000 });
    await put('trio', { timeoutMs: 30_000 });
    const m2 = m0 + 2 * MINUTE;
    clock.t = m2 + 1_000;
    const fan = await runProbeCycle({ region: 'europe-west1', scheduleTime: new Date(m2).toISOString() }, d);
    expect(fan.outcome).toBe('fanned-out');
    const messages = dispatched.at(-1)!;
    const shards = messages[0]!.shards;
    expect(shards).toBeGreaterThan(1);
    expect(messages.map((m) => m.shard)).toEqual(Array.from({ length: shards }, (_, k) => k));
    const outcomes = [];
    for (const msg of messages) outcomes.push(await runProbeShard(msg, d));
    expect(outcomes.every((o) => o.outcome === 'ran')).toBe(true);

    const docs = (
      await db()
        .collection('healthCycles')
        .where('region', '==', 'europe-west1')
        .where('minuteMs', '==', m2)
        .get()
    ).docs.map((doc) => doc.data());
    expect(docs).toHaveLength(shards);
    const probed = docs.flatMap((doc) => Object.keys(doc.r as object)).sort();
    expect(probed).toEqual(['duo', 'solo', 'trio']);
    // solo's counters continued from minute 1's single document (3 successes), and no transition was recorded
    // for it: the plan change is invisible to a check's state.
    const soloDoc = docs.find((doc) => 'solo' in (doc.r as object))!;
    expect((soloDoc.c as Record<string, number[]>).solo!.slice(0, 2)).toEqual([0, 3]);
    expect((soloDoc.s as Record<string, string>).solo).toBe('up');
    const transitions = outcomes.flatMap((o) => (o.outcome === 'ran' ? o.transitions : []));
    expect(transitions.map((t) => t.checkId).sort()).toEqual(['duo', 'trio']);

    // Minute 3: same plan; each shard finds its own document of minute 2 (the span query), solo still up.
    const m3 = m0 + 3 * MINUTE;
    clock.t = m3 + 1_000;
    await runProbeCycle({ region: 'europe-west1', scheduleTime: new Date(m3).toISOString() }, d);
    for (const msg of dispatched.at(-1)!) await runProbeShard(msg, d);
    const states = await Promise.all(
      ['solo', 'duo', 'trio'].map(
        async (id) => (await db().doc(`healthStatus/${id}`).get()).get('state') as string,
      ),
    );
    expect(states).toEqual(['up', 'up', 'up']);
  });

  it('drops a shard handed out more than 2 minutes ago, and a second delivery of a shard writes nothing', async () => {
    const cache = new CatalogCache();
    await put('late', { timeoutMs: 30_000 });
    const clock = { t: 0, nowMs: () => clock.t };
    const d = deps(clock, cache, []);
    const m = Math.floor(Date.now() / MINUTE) * MINUTE - 700 * MINUTE;
    const msg: ShardMessage = {
      region: 'europe-west1',
      minuteMs: m,
      shard: 1,
      shards: 2,
      sentAtMs: m + 1_000,
    };
    clock.t = m + 1_000 + 2 * MINUTE + 1;
    expect(await runProbeShard(msg, d)).toMatchObject({ outcome: 'stale' });
    expect((await db().collection('healthCycles').where('minuteMs', '==', m).get()).size).toBe(0);
    clock.t = m + 5_000;
    expect((await runProbeShard(msg, d)).outcome).toBe('ran');
    expect(await runProbeShard(msg, d)).toMatchObject({ outcome: 'duplicate' });
    expect((await db().collection('healthCycles').where('minuteMs', '==', m).get()).size).toBe(1);
  });
});
