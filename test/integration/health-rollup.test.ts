// healthRollup against the Firestore emulator (runHealthRollup in this process, over synthetic cycle documents of
// two regions), and the deployed `status` function in the Functions emulator over HTTP.
import { beforeEach, describe, expect, it } from 'vitest';
import { db, firestoreModule } from '../../functions/src/platform/firestore';
import { cycleDocId, type CycleResult, type HealthCycleDoc } from '../../functions/src/health/docs';
import { HEALTH_CATALOG, HEALTH_CYCLES, HEALTH_SUMMARY } from '../../functions/src/platform/collections';
import { catalogEntry } from '../../functions/src/health/catalog';
import type { HealthCheck } from '../../functions/src/health/schema';
import { readSummary, runHealthRollup } from '../../functions/src/health/rollup';
import { FUNCTIONS_URL, rest } from '../support/emulators';
import { MIN, HOUR, DAY } from '../support/time';

const REGIONS = ['europe-west1', 'africa-south1'];
/** Today's UTC midnight: the cycles span yesterday 21:00 .. today 03:00. */
const TODAY = Math.floor(Date.now() / DAY) * DAY;
const START = TODAY - 3 * HOUR;
const END = TODAY + 3 * HOUR;

const definitions = {
  api: {
    name: 'Public API',
    enabled: true,
    type: 'http',
    target: 'https://api.internal.example/health',
    headers: { 'x-probe': 'fireops' },
    conditions: ['status in [200]'],
    tags: ['public'],
    sloTarget: 99,
  },
  web: {
    name: 'Web',
    enabled: true,
    type: 'http',
    target: 'https://web.internal.example/',
    conditions: ['status in [200]'],
    tags: [],
    sloTarget: 99.9,
  },
};

/** Writes the catalog documents (one per check, what onHealthCheckWritten keeps); `only` limits which. */
async function seedCatalog(only: (keyof typeof definitions)[] = ['api', 'web']): Promise<void> {
  const col = db().collection(HEALTH_CATALOG);
  for (const id of Object.keys(definitions) as (keyof typeof definitions)[]) {
    if (only.includes(id)) await col.doc(id).set(catalogEntry(id, definitions[id] as unknown as HealthCheck));
    else await col.doc(id).set(catalogEntry(id, null));
  }
}

/**
 * api fails in europe-west1 every minute of the hour from 23:00 yesterday, and is in maintenance (failing) from
 * 01:00 to 01:30 in both regions; web passes everywhere, taking 100 + minute-of-hour ms.
 */
function results(region: string, minuteMs: number): Record<string, CycleResult> {
  const sinceMidnight = minuteMs - TODAY;
  const maintenance = sinceMidnight >= HOUR && sinceMidnight < HOUR + 30 * MIN;
  const apiFails = region === 'europe-west1' && sinceMidnight >= -HOUR && sinceMidnight < 0;
  const minuteOfHour = new Date(minuteMs).getUTCMinutes();
  return {
    api: maintenance
      ? [0, 10_000, 0, 'timeout after 10000 ms', 1]
      : apiFails
        ? [0, 800, 503, 'status in [200]', 0]
        : [1, 200, 200, '', 0],
    web: [1, 100 + minuteOfHour, 200, '', 0],
  };
}

async function writeCycles(fromMs: number, toMs: number): Promise<void> {
  const { Timestamp } = firestoreModule();
  const writer = db().bulkWriter();
  for (let m = fromMs; m < toMs; m += MIN) {
    for (const region of REGIONS) {
      const doc: HealthCycleDoc = {
        region,
        minuteMs: m,
        startedAtMs: m + 1_000,
        durationMs: 2_000,
        r: results(region, m),
        c: {},
        s: {},
        i: {},
        expireAt: Timestamp.fromMillis(m + 35 * DAY),
      };
      void writer.set(db().collection(HEALTH_CYCLES).doc(cycleDocId(region, m)), doc);
    }
  }
  await writer.close();
}

async function summary(): Promise<any> {
  return (await readSummary())?.summary;
}

const key = (ms: number) => `${new Date(ms).toISOString().slice(0, 16)}Z`;

beforeEach(async () => {
  await rest.clear();
});

describe('healthRollup', () => {
  it('folds two regions into buckets, writes the completed day once, and then reads only new cycles', async () => {
    await seedCatalog();
    await writeCycles(START, END);

    // First run at 03:05: starts at the UTC day of the oldest cycle (yesterday 00:00), at most 24 h of cycles per
    // run, so it folds yesterday (21:00 .. 24:00 holds cycles) and completes it.
    const first = await runHealthRollup({ nowMs: END + 5 * MIN, correlationId: 'test-1' });
    expect(first).toMatchObject({
      outcome: 'folded',
      fromMs: TODAY - DAY,
      throughMs: TODAY,
      cyclesRead: 3 * 60 * 2,
      dayCyclesRead: 0,
      summaryWrites: 2, // the head and its one part
      dailyWrites: 2,
      days: [new Date(TODAY - DAY).toISOString().slice(0, 10)],
    });
    // summary (absent: 1) + catalog (catalog-cache.ts: its documents when cold, 2-3 when warm) + the first-cycle
    // probe + the window's 360 cycles.
    expect(first.catalogReads).toBeGreaterThanOrEqual(2);
    expect(first.documentReads).toBe(1 + first.catalogReads + 1 + 1 + 360); // + healthSummary/public
    const yesterday = new Date(TODAY - DAY).toISOString().slice(0, 10);
    const apiDay = (await db().doc(`healthDaily/api_${yesterday}`).get()).data();
    // 180 minutes x 2 regions; europe-west1 failed the last 60.
    expect(apiDay).toEqual({
      checkId: 'api',
      date: yesterday,
      total: 360,
      good: 300,
      maintenance: 0,
      p50Ms: 200,
      p95Ms: 200,
    });
    const webDay = (await db().doc(`healthDaily/web_${yesterday}`).get()).data();
    // web: 100 + minute of hour, 6 samples per minute-of-hour value: p50 rank 180 -> 129, p95 rank 342 -> 156.
    expect(webDay).toMatchObject({ total: 360, good: 360, maintenance: 0, p50Ms: 129, p95Ms: 156 });

    // Second run, same time: catches up today until 03:03 (settle: 2 minutes before the current minute).
    const second = await runHealthRollup({ nowMs: END + 5 * MIN, correlationId: 'test-2' });
    expect(second).toMatchObject({
      outcome: 'folded',
      fromMs: TODAY,
      throughMs: END + 3 * MIN,
      cyclesRead: 180 * 2, // today's cycles only: yesterday's are not read again
      dayCyclesRead: 0,
      dailyWrites: 0,
      days: [],
    });
    const s = await summary();
    expect(s.throughMs).toBe(END + 3 * MIN);
    const api = s.checks.api;
    // Yesterday 23:00-24:00: 120 samples, 60 failed. Today 01:00-01:30: 60 samples in maintenance.
    expect(api.hours[key(TODAY - HOUR)]).toEqual([120, 60, 0]);
    expect(api.hours[key(TODAY + HOUR)]).toEqual([60, 60, 60]);
    expect(api.tenMinutes[key(TODAY + HOUR)]).toEqual([0, 0, 20]);
    expect(api.days[key(TODAY - DAY)]).toEqual([360, 300, 0]);
    expect(api.days[key(TODAY)]).toEqual([300, 300, 60]);
    // The newest 36 slots run from yesterday 21:10 to 03:00: 17 + 18 of them hold samples.
    expect(Object.keys(api.tenMinutes)).toHaveLength(35);
    expect(Object.keys(api.hours)).toHaveLength(6);
    expect(s.checks.web.name).toBe('Web');
    expect(JSON.stringify(s)).not.toContain('internal.example');

    // Third run a few minutes later: only the cycles written since are read.
    await writeCycles(END, END + 5 * MIN);
    const third = await runHealthRollup({ nowMs: END + 7 * MIN, correlationId: 'test-3' });
    expect(third).toMatchObject({
      outcome: 'folded',
      fromMs: END + 3 * MIN,
      throughMs: END + 5 * MIN,
      cyclesRead: 2 * 2,
    });
    // summary head and part, the catalog (warm now: the delta query and the count, 2, plus any catalog document
    // changed since, such as another file's tombstones), the cycles
    expect(third.catalogReads).toBeGreaterThanOrEqual(2);
    expect(third.catalogReads).toBeLessThan(10);
    expect(third.documentReads).toBe(2 + third.catalogReads + 1 + 4);
    expect((await summary()).checks.api.days[key(TODAY)]).toEqual([304, 304, 60]);
    // Nothing new within the same minute: no query, no write.
    const fourth = await runHealthRollup({ nowMs: END + 7 * MIN + 30_000, correlationId: 'test-4' });
    expect(fourth).toMatchObject({
      outcome: 'nothing-new',
      cyclesRead: 0,
      summaryWrites: 0,
    });
    expect(fourth.documentReads).toBe(2 + fourth.catalogReads + 1); // summary head and part, catalog, public
  });

  it('re-reads a completed day once for exact daily percentiles, and drops checks removed from the catalog', async () => {
    await seedCatalog();
    await writeCycles(TODAY - 30 * MIN, TODAY + 10 * MIN);
    const first = await runHealthRollup({ nowMs: TODAY - 10 * MIN, correlationId: 'test-a' }); // through 23:48
    expect(first).toMatchObject({ fromMs: TODAY - DAY, throughMs: TODAY - 12 * MIN, dailyWrites: 0 });

    await seedCatalog(['web']);
    const second = await runHealthRollup({ nowMs: TODAY + 7 * MIN, correlationId: 'test-b' }); // through 00:05
    expect(second).toMatchObject({
      fromMs: TODAY - 12 * MIN,
      throughMs: TODAY + 5 * MIN,
      cyclesRead: 17 * 2,
      dayCyclesRead: 18 * 2, // 23:30 .. 23:48 of the completed day, read again once
      dailyWrites: 1, // web only: api left the catalog
    });
    const yesterday = new Date(TODAY - DAY).toISOString().slice(0, 10);
    expect((await db().doc(`healthDaily/web_${yesterday}`).get()).data()).toMatchObject({
      total: 60,
      good: 60,
      // 100 + minutes 30..59, twice: p50 rank 30 -> 144, p95 rank 57 -> 158.
      p50Ms: 144,
      p95Ms: 158,
    });
    expect((await db().doc(`healthDaily/api_${yesterday}`).get()).exists).toBe(false);
    expect(Object.keys((await summary()).checks)).toEqual(['web']);
  });
});

describe('healthRollup: a summary in parts', () => {
  it('cuts the summary into parts under the size limit, a new generation per run behind the head, and reads it back whole', async () => {
    await seedCatalog();
    await writeCycles(TODAY - 30 * MIN, TODAY + 10 * MIN);
    // Parts of 300 bytes: each check's buckets take 200-300 bytes here, so two checks never share a part.
    const first = await runHealthRollup(
      { nowMs: TODAY + 7 * MIN, correlationId: 'parts-1' },
      { summaryPartBytes: 300 },
    );
    expect(first).toMatchObject({ outcome: 'folded', summaryWrites: 3 });
    const head = (await db().doc(HEALTH_SUMMARY).get()).data()!;
    expect(head).toMatchObject({ parts: 2, checks: {}, gen: expect.any(String) });
    const partOf = async (gen: string, k: number) => await db().doc(`healthSummary/${gen}-${k}`).get();
    const part0 = (await partOf(head.gen, 0)).get('checks') as Record<string, unknown>;
    const part1 = (await partOf(head.gen, 1)).get('checks') as Record<string, unknown>;
    expect([Object.keys(part0), Object.keys(part1)]).toEqual([['api'], ['web']]);
    for (const p of [part0, part1]) expect(JSON.stringify(p).length).toBeLessThan(300);
    expect(Object.keys((await summary()).checks).sort()).toEqual(['api', 'web']);

    // Back to the default size: a new generation of one part, then the head, then the old two parts deleted.
    await writeCycles(TODAY + 10 * MIN, TODAY + 12 * MIN);
    const second = await runHealthRollup({ nowMs: TODAY + 12 * MIN, correlationId: 'parts-2' });
    expect(second).toMatchObject({ outcome: 'folded', summaryWrites: 1 + 1 + 2 });
    const head2 = (await db().doc(HEALTH_SUMMARY).get()).data()!;
    expect(head2.parts).toBe(1);
    expect(head2.gen).not.toBe(head.gen);
    expect((await partOf(head.gen, 0)).exists).toBe(false);
    expect((await partOf(head.gen, 1)).exists).toBe(false);
    expect((await partOf(head2.gen, 0)).get('expireAt')).toBeDefined();
    const merged = (await summary()).checks;
    expect(Object.keys(merged).sort()).toEqual(['api', 'web']);
    expect(merged.web.days[key(TODAY)][0]).toBeGreaterThan(0);
  });
});

describe('status (Functions emulator)', () => {
  const url = `${FUNCTIONS_URL}/health-status`;

  it('answers 503 before the first rollup and 405 to anything but GET', async () => {
    const none = await fetch(url);
    expect(none.status).toBe(503);
    expect(await none.json()).toEqual({ error: expect.any(String) });
    const post = await fetch(url, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });

  it('serves uptime, budget, burn rate and state, public fields only, cacheable, CORS open', async () => {
    await seedCatalog();
    await writeCycles(START, END);
    await runHealthRollup({ nowMs: END + 5 * MIN, correlationId: 'test-s1' });
    await runHealthRollup({ nowMs: END + 5 * MIN, correlationId: 'test-s2' });
    await db()
      .doc('healthStatus/api')
      .set({
        checkId: 'api',
        name: 'Public API',
        state: 'degraded',
        sinceMs: END,
        why: 'degraded: failing in europe-west1 1x, short of 2 of 2 at 3x',
        failingRegions: ['europe-west1'],
        incident: null,
        updatedAtMs: END,
      });

    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('cache-control')).toBe('public, max-age=30');
    const body: any = await res.json();
    expect(body.throughMs).toBe(END + 3 * MIN);
    expect(body.checks.map((c: { id: string }) => c.id)).toEqual(['api', 'web']);
    const [api, web] = body.checks;
    // Through 03:03. 1 h = slots 02:10 .. 03:00: all good. 24 h = hourly slots from yesterday 04:00, 30 d = daily
    // slots: yesterday 21:00-24:00 (360 samples, 60 bad) and today 00:00-03:00 (360, 60 in maintenance).
    expect(api.uptime['1h']).toBe(1);
    expect(api.uptime['24h']).toBe(600 / 660);
    expect(api.uptime['7d']).toBe(600 / 660);
    expect(api.uptime['30d']).toBe(600 / 660);
    expect(api.errorBudget30d).toEqual({
      allowedBad: 6.6, // 660 x 1 %
      bad: 60,
      remaining: -8.090909091, // 1 - 60 / 6.6
      exhausted: true,
    });
    // 6 h = slots 21:10 yesterday .. 03:00: 340 + 300 samples, 60 bad: (60 / 640) / 1 % = 9.375.
    expect(api.burnRate).toEqual({ '1h': 0, '6h': 9.375 });
    expect(api.state).toBe('degraded');
    expect(web.state).toBeUndefined();
    expect(web.uptime).toEqual({ '1h': 1, '24h': 1, '7d': 1, '30d': 1 });
    const text = JSON.stringify(body);
    for (const secret of ['internal.example', 'x-probe', 'status in', 'europe-west1', 'failing']) {
      expect(text).not.toContain(secret);
    }
    expect(Object.keys(api).sort()).toEqual(
      ['burnRate', 'errorBudget30d', 'id', 'name', 'sloTarget', 'state', 'tags', 'uptime'].sort(),
    );
  });
});
