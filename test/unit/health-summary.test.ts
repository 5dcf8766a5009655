import { describe, expect, it } from 'vitest';
import {
  bucketKey,
  dailyRollups,
  foldCycles,
  statusOf,
  windowCounts,
  type CatalogEntry,
  type CycleInput,
  type HealthSummary,
  type ResultTuple,
  type SummaryBuckets,
} from '../../functions/src/health/domain/summary';
import { MIN, HOUR, DAY } from '../support/time';

const T0 = Date.parse('2026-11-29T00:00:00Z');

const ok = (ms = 100): ResultTuple => [1, ms, 200, '', 0];
const fail = (ms = 900): ResultTuple => [0, ms, 500, 'status in [200]', 0];
const inMaint = (okFlag: 0 | 1, ms = 50): ResultTuple => [okFlag, ms, okFlag ? 200 : 0, '', 1];

const catalog: Record<string, CatalogEntry> = {
  api: { name: 'API', tags: ['public', 'core'], sloTarget: 99 },
  web: { name: 'Web', tags: [], sloTarget: 99.9 },
};

const cycle = (region: string, minuteMs: number, r: Record<string, ResultTuple>): CycleInput => ({
  region,
  minuteMs,
  r,
});

describe('foldCycles', () => {
  const cycles = [
    cycle('eu', T0, { api: ok(), web: ok() }),
    cycle('af', T0, { api: ok() }),
    cycle('eu', T0 + MIN, { api: fail() }),
    cycle('eu', T0 + 2 * MIN, { api: inMaint(0) }), // in maintenance: neither good nor bad
    cycle('eu', T0 + 12 * MIN, { api: ok(), gone: ok() }), // `gone` is not in the catalog
    cycle('eu', T0 + 15 * MIN, { api: fail() }), // at throughMs: not folded yet
  ];

  it('counts every region result once per granularity, maintenance apart, aligned to UTC', () => {
    const s = foldCycles(undefined, cycles, catalog, T0 + 15 * MIN, T0 + 16 * MIN);
    expect(s.throughMs).toBe(T0 + 15 * MIN);
    expect(s.updatedAtMs).toBe(T0 + 16 * MIN);
    expect(Object.keys(s.checks)).toEqual(['api', 'web']);
    expect(s.checks.api).toEqual({
      name: 'API',
      tags: ['public', 'core'],
      sloTarget: 99,
      tenMinutes: { '2026-11-29T00:00Z': [3, 2, 1], '2026-11-29T00:10Z': [1, 1, 0] },
      hours: { '2026-11-29T00:00Z': [4, 3, 1] },
      days: { '2026-11-29T00:00Z': [4, 3, 1] },
    });
    expect(s.checks.web!.tenMinutes).toEqual({ '2026-11-29T00:00Z': [1, 1, 0] });
  });

  it('never folds a minute twice and never moves back', () => {
    const first = foldCycles(undefined, cycles, catalog, T0 + 15 * MIN);
    // The same cycles read again, plus the one at 00:15 now settled.
    const second = foldCycles(first, cycles, catalog, T0 + 20 * MIN);
    expect(second.checks.api!.tenMinutes).toEqual({
      '2026-11-29T00:00Z': [3, 2, 1],
      '2026-11-29T00:10Z': [2, 1, 0],
    });
    expect(second.checks.api!.days).toEqual({ '2026-11-29T00:00Z': [5, 3, 1] });
    expect(first.checks.api!.tenMinutes['2026-11-29T00:10Z']).toEqual([1, 1, 0]); // input not mutated
    expect(() => foldCycles(second, [], catalog, T0 + 19 * MIN)).toThrow(RangeError);
  });

  it('keeps the newest 36 / 24 / 30 slots, counted back from the last folded minute, and drops removed checks', () => {
    const tenMinutes: SummaryBuckets = {};
    for (let t = T0; t < T0 + 7 * HOUR; t += 10 * MIN) tenMinutes[bucketKey(t)] = [1, 1, 0];
    const days: SummaryBuckets = {};
    for (let d = 0; d < 40; d += 1) days[bucketKey(T0 - d * DAY)] = [1, 1, 0];
    const prev: HealthSummary = {
      updatedAtMs: 0,
      throughMs: T0 + 7 * HOUR,
      checks: {
        api: { name: 'old name', tags: ['old'], sloTarget: 99.5, tenMinutes, hours: {}, days },
        removed: { name: 'Removed', tags: [], sloTarget: 99, tenMinutes: {}, hours: {}, days: {} },
      },
    };
    const s = foldCycles(prev, [], { api: catalog.api! }, T0 + 7 * HOUR);
    expect(Object.keys(s.checks)).toEqual(['api']);
    expect(s.checks.api!.name).toBe('API'); // the catalog wins
    const ten = Object.keys(s.checks.api!.tenMinutes);
    // Newest slot 06:50 (holds 06:59, the last folded minute); 36 slots back reach 01:00.
    expect(ten).toHaveLength(36);
    expect(ten[0]).toBe('2026-11-29T01:00Z');
    expect(ten.at(-1)).toBe('2026-11-29T06:50Z');
    const kept = Object.keys(s.checks.api!.days);
    expect(kept).toHaveLength(30);
    expect(kept[0]).toBe('2026-10-31T00:00Z'); // 29 days before the 29th
    expect(kept.at(-1)).toBe('2026-11-29T00:00Z');
    // A slot that is empty still counts as a slot: one day later, the oldest kept day ages out.
    const later = foldCycles(s, [], { api: catalog.api! }, T0 + DAY + HOUR);
    expect(Object.keys(later.checks.api!.days)).toHaveLength(29);
    expect(Object.keys(later.checks.api!.tenMinutes)).toHaveLength(0);
  });
});

describe('statusOf', () => {
  it('1 h uptime, 1 h burn rate and 30-day budget from the folded cycles, maintenance excluded', () => {
    const s = foldCycles(
      undefined,
      [
        cycle('eu', T0, { api: ok() }),
        cycle('af', T0, { api: ok() }),
        cycle('eu', T0 + MIN, { api: fail() }),
        cycle('eu', T0 + 2 * MIN, { api: inMaint(0) }),
        cycle('eu', T0 + 3 * MIN, { api: inMaint(1) }),
        cycle('eu', T0 + 12 * MIN, { api: ok() }),
      ],
      catalog,
      T0 + 15 * MIN,
    );
    const out = statusOf(s, T0 + 20 * MIN, { api: 'degraded' });
    expect(out.generatedAtMs).toBe(T0 + 20 * MIN);
    expect(out.throughMs).toBe(T0 + 15 * MIN);
    // good 3 of total 4 (two maintenance samples excluded); SLO 99 %: allowed 4 x 0.01 = 0.04 bad, 1 bad.
    expect(out.checks[0]).toEqual({
      id: 'api',
      name: 'API',
      tags: ['public', 'core'],
      state: 'degraded',
      uptime: { '1h': 0.75, '24h': 0.75, '7d': 0.75, '30d': 0.75 },
      sloTarget: 99,
      errorBudget30d: { remaining: -24, exhausted: true, allowedBad: 0.04, bad: 1 },
      burnRate: { '1h': 25, '6h': 25 }, // (1/4) / 0.01
    });
    // No sample: null figures, an untouched budget, and no state key when the state is unknown.
    expect(out.checks[1]).toEqual({
      id: 'web',
      name: 'Web',
      tags: [],
      uptime: { '1h': null, '24h': null, '7d': null, '30d': null },
      sloTarget: 99.9,
      errorBudget30d: { remaining: 1, exhausted: false, allowedBad: 0, bad: 0 },
      burnRate: { '1h': null, '6h': null },
    });
  });

  it('30-day budget over exactly the newest 30 daily slots, 7 d over 7', () => {
    const days: SummaryBuckets = {};
    // Days 0..29 back: 1,440 samples each, one failure on each of the newest 10 days, 60 maintenance samples on
    // day 3. Day 30 back (outside the window) failed all day.
    for (let d = 0; d <= 30; d += 1) {
      days[bucketKey(T0 - d * DAY)] =
        d === 30 ? [1440, 0, 0] : [1440, d < 10 ? 1439 : 1440, d === 3 ? 60 : 0];
    }
    const s: HealthSummary = {
      updatedAtMs: T0 + DAY,
      throughMs: T0 + DAY, // the 29th complete
      checks: { web: { name: 'Web', tags: [], sloTarget: 99.9, tenMinutes: {}, hours: {}, days } },
    };
    const [web] = statusOf(s, T0 + DAY).checks;
    // 30 x 1,440 = 43,200 samples, 43.2 allowed bad at 99.9 %, 10 bad: 1 - 10 / 43.2 = 0.768518518...
    expect(web!.errorBudget30d).toEqual({
      remaining: 0.768518519,
      exhausted: false,
      allowedBad: 43.2,
      bad: 10,
    });
    expect(web!.uptime['30d']).toBe(43190 / 43200);
    expect(web!.uptime['7d']).toBe((7 * 1440 - 7) / (7 * 1440));
    expect(web!.uptime['1h']).toBeNull();
    expect(windowCounts(days, 'days', 30, s.throughMs)).toEqual({
      total: 43200,
      good: 43190,
      maintenance: 60,
    });
  });

  it('1 h is the newest 6 ten-minute slots and 6 h the newest 36, the newest one partial', () => {
    const tenMinutes: SummaryBuckets = {
      [bucketKey(T0 - 6 * HOUR)]: [10, 0, 0], // outside 6 h
      [bucketKey(T0 - 50 * MIN)]: [10, 0, 0], // outside 1 h: 7th slot back
      [bucketKey(T0 - 40 * MIN)]: [10, 9, 0],
      [bucketKey(T0)]: [10, 10, 0],
      [bucketKey(T0 + 10 * MIN)]: [3, 3, 2], // partial: through 00:13
    };
    const s: HealthSummary = {
      updatedAtMs: 0,
      throughMs: T0 + 13 * MIN,
      checks: { api: { ...catalog.api!, tags: [], tenMinutes, hours: {}, days: {} } },
    };
    const [api] = statusOf(s, T0 + 20 * MIN).checks;
    expect(api!.uptime['1h']).toBe(22 / 23);
    expect(api!.burnRate['1h']).toBe(4.347826087); // (1/23) / 0.01, rounded to 1e-9
    expect(api!.burnRate['6h']).toBe(33.333333333); // (11/33) / 0.01
  });

  it('publishes public fields only', () => {
    const s = foldCycles(undefined, [cycle('eu', T0, { api: fail() })], catalog, T0 + MIN);
    const json = JSON.stringify(statusOf(s, T0 + MIN, { api: 'down' }));
    expect(json).not.toContain('status in');
    expect(json).not.toContain('eu');
    for (const c of statusOf(s, T0 + MIN).checks) {
      expect(Object.keys(c).sort()).toEqual(
        ['burnRate', 'errorBudget30d', 'id', 'name', 'sloTarget', 'tags', 'uptime'].sort(),
      );
    }
  });
});

describe('dailyRollups', () => {
  it('counts the UTC day and takes nearest-rank p50 / p95 over ok samples outside maintenance', () => {
    const cycles: CycleInput[] = [];
    for (let i = 1; i <= 20; i += 1)
      cycles.push(cycle(i % 2 ? 'eu' : 'af', T0 + i * MIN, { api: ok(i * 10) }));
    cycles.push(cycle('eu', T0 + 30 * MIN, { api: fail(5000) })); // failed: not in the percentiles
    cycles.push(cycle('eu', T0 + 31 * MIN, { api: inMaint(1, 1) })); // maintenance: counted apart only
    cycles.push(cycle('eu', T0 - MIN, { api: ok(1) })); // the day before
    cycles.push(cycle('eu', T0 + DAY, { api: ok(1) })); // the day after
    cycles.push(cycle('eu', T0 + 40 * MIN, { gone: ok(1) }));
    expect(dailyRollups(cycles, ['api', 'web'], T0)).toEqual([
      // 20 ok timings 10..200: p50 rank 10 -> 100, p95 rank 19 -> 190.
      { checkId: 'api', date: '2026-11-29', total: 21, good: 20, maintenance: 1, p50Ms: 100, p95Ms: 190 },
    ]);
    expect(dailyRollups([cycle('eu', T0, { web: fail() })], ['web'], T0)).toEqual([
      { checkId: 'web', date: '2026-11-29', total: 1, good: 0, maintenance: 0, p50Ms: null, p95Ms: null },
    ]);
    expect(() => dailyRollups([], ['api'], T0 + HOUR)).toThrow(RangeError);
  });
});
