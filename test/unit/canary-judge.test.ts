import { describe, expect, it } from 'vitest';
import {
  aggregateWindows,
  judgeMannWhitney,
  judgeThreshold,
  latencyBucket,
  windowSamples,
  type JudgeConfig,
  type MetricSpec,
  type WindowDoc,
} from '../../functions/src/canary/domain/judge';
import { hodgesLehmann } from '../../functions/src/platform/domain/stats';

const latency: MetricSpec = { name: 'latencyMs', source: 'health', direction: 'increase', critical: false };
const errors: MetricSpec = { name: 'errorRate', source: 'metrics', direction: 'increase', critical: false };
const MW: JudgeConfig = { kind: 'mann-whitney', confidence: 0.98, tolerance: 0.1, minSamples: 20 };

/** Deterministic spread: 100 x (1 + i / n) shuffled by a fixed stride, so samples are distinct but reproducible. */
function spread(n: number, scale = 1, offset = 0): number[] {
  return Array.from({ length: n }, (_, i) => offset + scale * (100 + (((i * 37) % n) * 50) / n));
}

describe('judgeThreshold', () => {
  const specs: MetricSpec[] = [
    { ...latency, max: 500 },
    { ...errors, min: 0, max: 0.01 },
    { name: 'successRate', source: 'health', direction: 'decrease', critical: false, min: 0.99 },
  ];

  it.each([
    ['all within (bounds inclusive)', { latencyMs: 500, errorRate: 0, successRate: 0.99 }, 'pass'],
    ['above a max', { latencyMs: 501, errorRate: 0, successRate: 1 }, 'fail'],
    ['below a min', { latencyMs: 100, errorRate: 0, successRate: 0.98 }, 'fail'],
    ['one non-critical missing, rest pass', { latencyMs: 100, successRate: 1 }, 'pass'],
    ['a failure with another missing', { latencyMs: 900, successRate: 1 }, 'fail'],
    ['all missing', {}, 'inconclusive'],
    ['not finite', { latencyMs: NaN, errorRate: Infinity, successRate: undefined }, 'inconclusive'],
  ] as const)('%s -> %s', (_, values, verdict) => {
    expect(judgeThreshold(specs, values).verdict).toBe(verdict);
  });

  it('says which metric is out of range and by how much', () => {
    const a = judgeThreshold(specs, { latencyMs: 612, errorRate: 0.002, successRate: 1 });
    expect(a.why).toContain('latencyMs 612 outside [-inf, 500]');
    expect(a.metrics.map((m) => m.verdict)).toEqual(['fail', 'pass', 'pass']);
    expect(a.metrics[0]!.value).toBe(612);
  });

  it('a critical metric without a value makes the analysis inconclusive', () => {
    const a = judgeThreshold(
      [
        { ...latency, max: 500, critical: true },
        { ...errors, max: 0.01 },
      ],
      {
        errorRate: 0,
      },
    );
    expect(a.verdict).toBe('inconclusive');
    expect(a.why).toContain('critical metric inconclusive: latencyMs: no value');
  });

  it('a metric without min or max cannot pass', () => {
    const a = judgeThreshold([{ ...latency, critical: true }], { latencyMs: 1 });
    expect(a.verdict).toBe('inconclusive');
    expect(a.metrics[0]!.why).toContain('no min or max');
  });

  it('no metrics: inconclusive', () => {
    expect(judgeThreshold([], {}).verdict).toBe('inconclusive');
  });
});

describe('judgeMannWhitney', () => {
  it('identical samples pass with p 0.5 and no effect', () => {
    const s = spread(50);
    const a = judgeMannWhitney([latency], { latencyMs: { baseline: s, canary: [...s] } }, MW);
    expect(a.verdict).toBe('pass');
    expect(a.metrics[0]).toMatchObject({ verdict: 'pass', effect: 0 });
    expect(a.metrics[0]!.p).toBeCloseTo(0.5, 2);
    expect(a.metrics[0]!.baseline).toEqual({ n: 50, median: a.metrics[0]!.canary!.median, p95: 147 });
  });

  it('a clearly slower canary fails with its effect size', () => {
    const a = judgeMannWhitney(
      [latency],
      { latencyMs: { baseline: spread(50), canary: spread(50, 1.5) } },
      MW,
    );
    expect(a.verdict).toBe('fail');
    expect(a.metrics[0]!.p).toBeLessThan(1e-6);
    expect(a.metrics[0]!.effect).toBeCloseTo(0.5, 1);
    expect(a.why).toContain('latencyMs worse beyond tolerance');
  });

  it('a clearly faster canary passes: one-sided in the harmful direction', () => {
    const a = judgeMannWhitney(
      [latency],
      { latencyMs: { baseline: spread(50), canary: spread(50, 0.5) } },
      MW,
    );
    expect(a.verdict).toBe('pass');
    expect(a.metrics[0]!.p).toBeGreaterThan(0.99);
    expect(a.metrics[0]!.effect).toBeLessThan(-0.4);
  });

  it("'decrease' fails on a drop, 'either' on any change", () => {
    const throughput: MetricSpec = { name: 'rps', source: 'metrics', direction: 'decrease', critical: false };
    const lower = { rps: { baseline: spread(40), canary: spread(40, 0.6) } };
    const higher = { rps: { baseline: spread(40), canary: spread(40, 1.6) } };
    expect(judgeMannWhitney([throughput], lower, MW).verdict).toBe('fail');
    expect(judgeMannWhitney([throughput], higher, MW).verdict).toBe('pass');
    const either = { ...throughput, direction: 'either' as const };
    expect(judgeMannWhitney([either], lower, MW).verdict).toBe('fail');
    expect(judgeMannWhitney([either], higher, MW).verdict).toBe('fail');
  });

  it('tolerance suppresses a tiny but significant difference', () => {
    // 2,000 samples a side 3 % slower: overwhelmingly significant, well within a 10 % tolerance.
    const samples = { latencyMs: { baseline: spread(2000), canary: spread(2000, 1.03) } };
    const a = judgeMannWhitney([latency], samples, MW);
    expect(a.metrics[0]!.p).toBeLessThan(1e-6);
    expect(a.metrics[0]!.effect).toBeCloseTo(0.03, 2);
    expect(a.verdict).toBe('pass');
    expect(a.why).toContain('1 of 1 metrics passed');
    expect(a.metrics[0]!.why).toContain('worse, within tolerance');
    // Without the tolerance the same samples fail.
    expect(judgeMannWhitney([latency], samples, { ...MW, tolerance: 0.01 }).verdict).toBe('fail');
  });

  it('a large effect that is not significant passes', () => {
    // 10 noisy samples a side, canary median 20 % higher but the ranks interleave.
    const baseline = [50, 300, 80, 250, 100, 200, 120, 180, 150, 90];
    const canary = [60, 310, 90, 260, 120, 240, 140, 190, 180, 110];
    const a = judgeMannWhitney([latency], { latencyMs: { baseline, canary } }, { ...MW, minSamples: 8 });
    expect(a.metrics[0]!.p).toBeGreaterThan(0.02);
    expect(a.verdict).toBe('pass');
    expect(a.metrics[0]!.why).toContain('no significant difference');
  });

  it('splits 1 - confidence over the metrics tested (Bonferroni)', () => {
    const baseline = [50, 300, 80, 250, 100, 200, 120, 180, 150, 90];
    const canary = baseline.map((x) => Math.round(x * 1.9));
    const cfg = { ...MW, minSamples: 8 };
    const alone = judgeMannWhitney([latency], { latencyMs: { baseline, canary } }, cfg);
    expect(alone.metrics[0]!.p).toBeCloseTo(0.0156, 4);
    expect(alone.verdict).toBe('fail');
    expect(alone.why).toContain('< 0.02');
    // A second metric with enough samples halves each metric's share: p 0.0156 is no longer below 0.01.
    const two = judgeMannWhitney(
      [latency, errors],
      { latencyMs: { baseline, canary }, errorRate: { baseline: spread(10), canary: spread(10) } },
      cfg,
    );
    expect(two.verdict).toBe('pass');
    expect(two.metrics[0]!.why).toContain('>= 0.01');
    // One without enough samples is not tested and takes no share.
    const untested = judgeMannWhitney(
      [latency, errors],
      { latencyMs: { baseline, canary }, errorRate: { baseline: spread(3), canary: spread(3) } },
      cfg,
    );
    expect(untested.verdict).toBe('fail');
  });

  it('a failing critical metric fails the analysis and is named first', () => {
    const specs = [errors, { ...latency, critical: true }];
    const a = judgeMannWhitney(
      specs,
      {
        errorRate: { baseline: spread(30, 0.001), canary: spread(30, 0.002) },
        latencyMs: { baseline: spread(30), canary: spread(30, 2) },
      },
      MW,
    );
    expect(a.verdict).toBe('fail');
    expect(a.why).toMatch(/^1 critical metric failed: latencyMs worse beyond tolerance.*; errorRate worse/);
  });

  it('a failing non-critical metric fails the analysis too', () => {
    const a = judgeMannWhitney(
      [errors, { ...latency, critical: true }],
      {
        errorRate: { baseline: spread(30, 0.001), canary: spread(30, 0.002) },
        latencyMs: { baseline: spread(30), canary: spread(30) },
      },
      MW,
    );
    expect(a.verdict).toBe('fail');
    expect(a.why).toMatch(/^metric failed: errorRate/);
  });

  it('too few samples on either side is inconclusive, and minSamples is raised to 8', () => {
    const few = { latencyMs: { baseline: spread(19), canary: spread(100, 3) } };
    const a = judgeMannWhitney([{ ...latency, critical: true }], few, MW);
    expect(a.verdict).toBe('inconclusive');
    expect(a.metrics[0]!.why).toBe('latencyMs: 19 baseline and 100 canary samples, 20 needed on each side');
    const seven = { latencyMs: { baseline: spread(7), canary: spread(7, 3) } };
    const b = judgeMannWhitney([latency], seven, { ...MW, minSamples: 1 });
    expect(b.metrics[0]!.why).toContain('8 needed on each side');
    expect(b.verdict).toBe('inconclusive');
    expect(judgeMannWhitney([latency], {}, MW).why).toContain('no metric conclusive');
  });

  it('a non-critical metric without data is left out; a critical one is not', () => {
    const samples = { latencyMs: { baseline: spread(30), canary: spread(30) } };
    const pass = judgeMannWhitney([errors, { ...latency, critical: true }], samples, MW);
    expect(pass.verdict).toBe('pass');
    expect(pass.why).toContain('1 of 2 metrics passed; left out (non-critical): errorRate: 0 baseline');
    const held = judgeMannWhitney([{ ...errors, critical: true }, latency], samples, MW);
    expect(held.verdict).toBe('inconclusive');
  });

  it('a zero baseline median makes any harmful shift infinite', () => {
    const baseline = Array.from({ length: 30 }, (_, i) => (i % 10 === 0 ? 0.01 : 0));
    const canary = Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? 0 : 0.02));
    const a = judgeMannWhitney([errors], { errorRate: { baseline, canary } }, MW);
    expect(a.metrics[0]!.effect).toBe(Infinity);
    expect(a.verdict).toBe('fail');
  });

  it('non-finite samples are dropped', () => {
    const a = judgeMannWhitney(
      [latency],
      { latencyMs: { baseline: [...spread(20), NaN, Infinity], canary: spread(20) } },
      MW,
    );
    expect(a.metrics[0]!.baseline!.n).toBe(20);
  });

  it('rejects a confidence outside (0, 1) and a negative tolerance', () => {
    expect(() => judgeMannWhitney([], {}, { ...MW, confidence: 98 })).toThrow(RangeError);
    expect(() => judgeMannWhitney([], {}, { ...MW, tolerance: -1 })).toThrow(RangeError);
  });
});

describe('hodgesLehmann', () => {
  function bruteForce(b: number[], c: number[]): number {
    const d = c.flatMap((x) => b.map((y) => x - y)).sort((x, y) => x - y);
    const h = Math.floor(d.length / 2);
    return d.length % 2 ? d[h]! : (d[h - 1]! + d[h]!) / 2;
  }

  it.each([
    [
      [1, 2, 3],
      [2, 4, 6],
    ],
    [[1, 2, 3, 4], [10]],
    [
      [5, 5, 5],
      [5, 5],
    ],
    [
      [0.1, 0.7, 0.3, 0.9],
      [0.2, 0.25, 1.5, -3],
    ],
    [spread(37), spread(41, 1.3, -7)],
  ])('matches the median of all pairwise differences (%#)', (b, c) => {
    const sb = [...b].sort((x, y) => x - y);
    const sc = [...c].sort((x, y) => x - y);
    expect(hodgesLehmann(sb, sc)).toBe(bruteForce(sb, sc));
  });
});

describe('metric windows', () => {
  const M0 = Date.parse('2026-12-01T14:05:00Z');
  const MIN = 60_000;
  const doc = (minuteMs: number, cohort: string, shards: WindowDoc['shards']): WindowDoc => ({
    service: 'payments-api',
    cohort,
    minuteMs,
    shards,
  });
  const docs: WindowDoc[] = [
    doc(M0, 'baseline', {
      '3': { requests: 60, errors: 1, latencyMs: { '50': 40, '100': 19 } },
      '11': { requests: 40, errors: 1, latencyMs: { '50': 20, '100': 17, '250': 1 } },
    }),
    // A second document for the same minute and cohort (`{minuteMs}_baseline_1`) adds up with the first.
    doc(M0, 'baseline', { '0': { requests: 100, errors: 0, latencyMs: { '100': 80, '250': 19, inf: 1 } } }),
    doc(M0 + MIN, 'baseline', { '3': { requests: 100, errors: 2, latencyMs: { '50': 98 } } }),
    doc(M0, 'canary', { '7': { requests: 10, errors: 5, latencyMs: { '250': 5 } } }),
    doc(M0 + MIN, 'canary', { '7': { requests: 0, errors: 0 } }),
  ];

  it('aggregates shards and documents per cohort', () => {
    const agg = aggregateWindows(docs);
    expect(Object.keys(agg).sort()).toEqual(['baseline', 'canary']);
    expect(agg.baseline).toMatchObject({ minutes: 2, requests: 300, errors: 4, requestRate: 300 / 120 });
    expect(agg.baseline!.errorRate).toBeCloseTo(4 / 300, 12);
    expect(agg.baseline!.successRate).toBeCloseTo(296 / 300, 12);
    expect(agg.baseline!.latencyHistogram).toEqual({ '50': 158, '100': 116, '250': 20, inf: 1 });
    expect(Object.keys(agg.baseline!.latencyHistogram)).toEqual(['50', '100', '250', 'inf']);
    expect(agg.canary).toMatchObject({ minutes: 2, requests: 10, errors: 5, errorRate: 0.5 });
  });

  it('estimates percentiles from buckets like histogram_quantile', () => {
    const b = aggregateWindows(docs).baseline!;
    // 295 successful: p50 rank 147.5 in (0, 50] -> 50 x 147.5 / 158.
    expect(b.latencyP50Ms).toBeCloseTo((50 * 147.5) / 158, 9);
    // p90 rank 265.5: 158 below, in (50, 100] holding 116.
    expect(b.latencyP90Ms).toBeCloseTo(50 + (50 * 107.5) / 116, 9);
    // p95 rank 280.25: 274 below, in (100, 250] holding 20 -> 100 + 150 x 6.25 / 20.
    expect(b.latencyP95Ms).toBeCloseTo(100 + (150 * 6.25) / 20, 9);
    // p99 rank 292.05: still in (100, 250].
    expect(b.latencyP99Ms).toBeCloseTo(100 + (150 * 18.05) / 20, 9);
    const c = aggregateWindows(docs).canary!;
    // One bucket (250) and no other bound known: interpolated from 0.
    expect(c.latencyP50Ms).toBe(125);
  });

  it("a rank in 'inf' gives the highest finite bound; no latency gives undefined", () => {
    const agg = aggregateWindows([
      doc(M0, 'canary', { '0': { requests: 10, latencyMs: { '100': 1, inf: 9 } } }),
      doc(M0, 'baseline', { '0': { requests: 0 } }),
    ]);
    expect(agg.canary!.latencyP95Ms).toBe(100);
    expect(agg.baseline).toMatchObject({
      errorRate: undefined,
      latencyP50Ms: undefined,
      latencyHistogram: {},
    });
  });

  it('ignores counts that are not finite non-negative numbers and keys that are not buckets', () => {
    const agg = aggregateWindows([
      doc(M0, 'canary', {
        a: { requests: -5, errors: NaN, latencyMs: { '100': 2, '1e9x': 4, wat: 1, '': 3 } },
        b: { requests: 4, errors: 1 },
        c: 'junk' as never,
      }),
    ]);
    expect(agg.canary).toMatchObject({ requests: 4, errors: 1, latencyHistogram: { '100': 2 } });
  });

  it('gives one sample per minute per cohort for the Mann-Whitney judge', () => {
    const s = windowSamples(docs);
    expect(s.errorRate.baseline).toEqual([2 / 200, 2 / 100]);
    expect(s.errorRate.canary).toEqual([0.5]); // minute 2 had no requests
    expect(s.successRate.baseline).toEqual([1 - 2 / 200, 1 - 2 / 100]);
    expect(s.requestRate.baseline).toEqual([200 / 60, 100 / 60]);
    expect(s.requestRate.canary).toEqual([10 / 60, 0]);
    expect(s.latencyP95Ms.baseline).toHaveLength(2);
    expect(s.latencyP95Ms.baseline[1]).toBeCloseTo((50 * 0.95 * 98) / 98, 9);
    expect(s.latencyP50Ms.canary).toEqual([125]);
    expect(windowSamples(docs, { minRequests: 150 }).errorRate.baseline).toEqual([0.01]);
  });

  it('windows feed the judge end to end', () => {
    const minutes = Array.from({ length: 30 }, (_, i) => M0 + i * MIN);
    const window = (cohort: string, slow: boolean) =>
      minutes.map((m, i) =>
        doc(m, cohort, {
          '0': {
            requests: 200,
            errors: i % 5 === 0 ? 1 : 0,
            latencyMs: slow
              ? { '100': 150 + (i % 7), '250': 49 - (i % 7) }
              : { '50': 100 + (i % 7), '100': 99 - (i % 7) },
          },
        }),
      );
    const spec: MetricSpec = {
      name: 'latencyP95Ms',
      source: 'metrics',
      direction: 'increase',
      critical: true,
    };
    const fast = windowSamples([...window('baseline', false), ...window('canary', false)]);
    expect(judgeMannWhitney([spec, errors], fast, MW).verdict).toBe('pass');
    const slow = windowSamples([...window('baseline', false), ...window('canary', true)]);
    const a = judgeMannWhitney([spec, errors], slow, MW);
    expect(a.verdict).toBe('fail');
    expect(a.metrics.map((m) => m.verdict)).toEqual(['fail', 'pass']);
  });

  it('latencyBucket picks the smallest bound at or above', () => {
    expect([0, 5, 5.1, 999, 1000, 10_000, 10_001].map((ms) => latencyBucket(ms))).toEqual([
      '5',
      '5',
      '10',
      '1000',
      '1000',
      '10000',
      'inf',
    ]);
    expect(latencyBucket(30, [20, 40])).toBe('40');
  });
});
