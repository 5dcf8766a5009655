// Canary analysis, as pure functions: judge one analysis interval of a canary against its baseline, either by
// Flagger-style ranges (`judgeThreshold`) or by a Kayenta-style Mann-Whitney comparison (`judgeMannWhitney`), and
// turn the metric windows services write into the figures and samples those judges take (`aggregateWindows`,
// `windowSamples`). The controller gathers the numbers and applies the verdict; these functions decide (issue 7).
//
// Rules:
// - `direction` names the change that hurts: 'increase' for latency and error rate (a canary higher than its
//   baseline is bad), 'decrease' for success rate or throughput, 'either' when any change is suspect.
// - Threshold judge: a metric passes when the canary's value lies in [min, max] (either bound optional, both
//   inclusive), fails outside, and is inconclusive when the value is missing or not finite, or when neither bound is
//   set (a range-less metric cannot be judged this way; the policy schema should refuse it). `direction` is unused.
// - Mann-Whitney judge, per metric (both sides' non-finite values dropped):
//   - inconclusive below max(minSamples, MANN_WHITNEY_MIN_N) samples on either side (p is not trustworthy there);
//   - p: one-sided in the harmful direction for 'increase' / 'decrease' (we only ask "is the canary worse?";
//     a two-sided test would halve the false alarm rate the confidence promises and lose power for nothing),
//     two-sided for 'either'. Significant when p < (1 - confidence) / k, k the number of metrics with enough
//     samples (Bonferroni): since any failing metric fails the analysis, testing each of k metrics at
//     1 - confidence would make an unchanged canary fail up to k times as often as the confidence promises
//     (measured: 4.8 % instead of 2 % with two metrics at n = 30, npm run bench:judge).
//   - effect: Hodges-Lehmann shift of canary over baseline (median of all pairwise differences, the estimator that
//     goes with the U test; Kayenta reports the same) relative to the baseline median, signed: +0.2 = canary 20 %
//     higher. When the baseline median is 0 any non-zero shift is an infinite relative effect (an error rate of 0
//     per minute has no scale: give such metrics enough traffic per minute, or judge them by threshold).
//   - fails when significant AND the effect in the harmful direction exceeds `tolerance` (|effect| for 'either'):
//     significance alone flags differences too small to matter once samples are many; the tolerance alone
//     flags noise when they are few. Otherwise passes.
// - The analysis, for both judges, in order:
//   1. fail          - any metric fails (a critical one named first). Failing takes precedence over missing data.
//   2. inconclusive  - a critical metric is inconclusive: the canary is not vouched for without it;
//   3. inconclusive  - no metric is conclusive at all (also: no metrics);
//   4. pass          - otherwise. Non-critical metrics without data are left out of the judgement and named in
//                      `why`; `critical` therefore means "required to pass", not merely "weighs more".
//   Any failing metric fails the analysis (Kayenta with its default 95 pass score does the same below 20 metrics);
//   with the Bonferroni split above an unchanged canary fails at most 1 - confidence of its analyses under the
//   Mann-Whitney judge, and the controller's `threshold` of failed analyses before rollback keeps one unlucky
//   interval from rolling back. The threshold judge has no such bound: its false alarms depend on how far the
//   ranges sit from the baseline's spread.
//
// Metric windows (`metrics` source). Services write, per minute and cohort, one document
//
//   metrics/{service}/windows/{minuteMs}_{cohort}
//   {
//     service: 'payments-api',               // as in the path
//     cohort: 'baseline' | 'canary',         // which revision served the requests
//     minuteMs: 1764597900000,               // start of the minute, epoch ms (floor(nowMs / 60000) * 60000)
//     shards: {
//       '<shard>': {                         // the writer's shard key, e.g. a random 0..15 chosen per instance
//         requests: 1234,                    // all requests
//         errors: 12,                        // of which failed (5xx, timeouts: what the service calls an error)
//         latencyMs: { '25': 3, '50': 700, '100': 500, 'inf': 19 },
//       },                                   // successful requests only, by bucket: key = integer upper bound
//     },                                     // in ms (latency <= bound, above the previous bound), 'inf' above
//   }                                        // the highest; any bounds, DEFAULT_LATENCY_BOUNDS_MS suggested
//
// written with `set({service, cohort, minuteMs, shards: {[shard]: {requests: FieldValue.increment(n), ...}}},
// {merge: true})`: no read, no transaction, and the counters of many instances add up. Increments to one document
// still serialize, and Firestore sustains about one write per second per document
// (https://firebase.google.com/docs/firestore/best-practices#high_read_write_and_delete_rates), so an instance
// accumulates a few seconds in memory and flushes once into its own shard; a service needing more spreads a
// window over several documents `{minuteMs}_{cohort}_{k}`: the readers group by the `cohort` and `minuteMs`
// fields, never by the id. Latency counts only successful requests, as in compareSamples: a fast 500 must not make
// a canary look quick. Counts that are not finite non-negative numbers count as 0.
// - `aggregateWindows`: per cohort, the sums over minutes and shards, errorRate = errors / requests, successRate =
//   1 - errorRate, requestRate = requests per second over the minutes that have a document, and latency
//   percentiles (p50, p90, p95, p99) estimated from the summed histogram as Prometheus' histogram_quantile does: rank q x count, linear
//   within the bucket holding it (the first bucket from 0); a rank in 'inf' gives the highest finite bound.
// - `windowSamples`: one sample per minute (per cohort, minutes ascending) of each WindowMetric, for the
//   Mann-Whitney judge; a minute with fewer than `minRequests` requests gives no error or success rate, and one
//   without a successful request gives no latency. The WindowMetric names are the `metrics` source's metric names.

import {
  MANN_WHITNEY_MIN_N,
  histogramQuantile,
  hodgesLehmann,
  mannWhitneyU,
  percentile,
} from '../../platform/domain/stats';

// ---------------------------------------------------------------------------------------------------------------
// Types

export type MetricSource = 'health' | 'metrics';

/** Which change of the canary's value is harmful; see the rules at the top of this file. */
export type MetricDirection = 'increase' | 'decrease' | 'either';

export interface MetricSpec {
  name: string;
  source: MetricSource;
  /** Threshold judge: lowest acceptable canary value, inclusive. */
  min?: number | undefined;
  /** Threshold judge: highest acceptable canary value, inclusive. */
  max?: number | undefined;
  direction: MetricDirection;
  /** Must be conclusive and pass for the analysis to pass. */
  critical: boolean;
}

export interface MetricSamples {
  baseline: readonly number[];
  canary: readonly number[];
}

export interface JudgeConfig {
  kind: 'threshold' | 'mann-whitney';
  /** 0.98: a difference is significant at p < 0.02. */
  confidence: number;
  /** Relative effect in the harmful direction tolerated even when significant: 0.1 = 10 %. */
  tolerance: number;
  /** Per side; raised to MANN_WHITNEY_MIN_N. */
  minSamples: number;
}

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface SampleSummary {
  n: number;
  /** Nearest-rank percentiles; undefined without samples. */
  median: number | undefined;
  p95: number | undefined;
}

export interface MetricVerdict {
  name: string;
  critical: boolean;
  verdict: Verdict;
  /** Threshold judge: the canary's value. */
  value?: number | undefined;
  baseline?: SampleSummary | undefined;
  canary?: SampleSummary | undefined;
  /** Mann-Whitney judge: one-sided in the harmful direction, two-sided for 'either'. */
  p?: number | undefined;
  /** Mann-Whitney judge: Hodges-Lehmann shift / baseline median, signed (+0.2 = canary 20 % higher). */
  effect?: number | undefined;
  why: string;
}

export interface Analysis {
  verdict: Verdict;
  why: string;
  metrics: MetricVerdict[];
}

// ---------------------------------------------------------------------------------------------------------------
// Judges

/** Flagger-style: each metric's canary value within its [min, max]. */
export function judgeThreshold(
  specs: readonly MetricSpec[],
  values: Readonly<Record<string, number | undefined>>,
): Analysis {
  const metrics = specs.map((spec): MetricVerdict => {
    const base = { name: spec.name, critical: spec.critical };
    const value = Object.hasOwn(values, spec.name) ? values[spec.name] : undefined;
    const range = `[${spec.min ?? '-inf'}, ${spec.max ?? 'inf'}]`;
    if (spec.min === undefined && spec.max === undefined) {
      return { ...base, verdict: 'inconclusive', value, why: `${spec.name}: no min or max to judge against` };
    }
    if (value === undefined || !Number.isFinite(value)) {
      return { ...base, verdict: 'inconclusive', value: undefined, why: `${spec.name}: no value` };
    }
    const inside =
      (spec.min === undefined || value >= spec.min) && (spec.max === undefined || value <= spec.max);
    return {
      ...base,
      verdict: inside ? 'pass' : 'fail',
      value,
      why: `${spec.name} ${fmt(value)} ${inside ? 'within' : 'outside'} ${range}`,
    };
  });
  return combine(metrics);
}

/** Kayenta-style: Mann-Whitney U of canary versus baseline samples, with an effect-size tolerance. */
export function judgeMannWhitney(
  specs: readonly MetricSpec[],
  samples: Readonly<Record<string, MetricSamples | undefined>>,
  cfg: JudgeConfig,
): Analysis {
  if (!(cfg.confidence > 0 && cfg.confidence < 1)) {
    throw new RangeError(`confidence must be in (0, 1), got ${cfg.confidence}`);
  }
  if (!(cfg.tolerance >= 0)) throw new RangeError(`tolerance must be >= 0, got ${cfg.tolerance}`);
  const minN = Math.max(MANN_WHITNEY_MIN_N, Math.ceil(cfg.minSamples) || 0);
  const prepared = specs.map((spec) => {
    const s = Object.hasOwn(samples, spec.name) ? samples[spec.name] : undefined;
    const b = (s?.baseline ?? []).filter(Number.isFinite).sort((x, y) => x - y);
    const c = (s?.canary ?? []).filter(Number.isFinite).sort((x, y) => x - y);
    return { spec, b, c, tested: b.length >= minN && c.length >= minN };
  });
  // Bonferroni over the metrics tested, so that `confidence` holds for the analysis, not for each metric.
  const tested = prepared.filter((m) => m.tested).length;
  const alpha = (1 - cfg.confidence) / Math.max(1, tested);
  return combine(prepared.map(({ spec, b, c }) => judgeOne(spec, b, c, alpha, minN, cfg)));
}

function judgeOne(
  spec: MetricSpec,
  b: readonly number[],
  c: readonly number[],
  alpha: number,
  minN: number,
  cfg: JudgeConfig,
): MetricVerdict {
  const out = { name: spec.name, critical: spec.critical, baseline: summary(b), canary: summary(c) };
  if (b.length < minN || c.length < minN) {
    return {
      ...out,
      verdict: 'inconclusive',
      why: `${spec.name}: ${b.length} baseline and ${c.length} canary samples, ${minN} needed on each side`,
    };
  }
  const mw = mannWhitneyU(b, c);
  // a = baseline, so z > 0 means the baseline tends larger; zc > 0 means the canary does.
  const zc = -(mw.z ?? 0);
  const pTwo = mw.pTwoSided ?? 1;
  let p: number;
  if (spec.direction === 'either') p = pTwo;
  else {
    const worse = spec.direction === 'increase' ? zc > 0 : zc < 0;
    p = worse ? pTwo / 2 : 1 - pTwo / 2;
  }
  const medianB = out.baseline.median ?? 0;
  const shift = hodgesLehmann(b, c);
  const effect = medianB === 0 ? (shift === 0 ? 0 : Math.sign(shift) * Infinity) : shift / Math.abs(medianB);
  const harmful =
    spec.direction === 'increase' ? effect : spec.direction === 'decrease' ? -effect : Math.abs(effect);
  const significant = p < alpha;
  const fails = significant && harmful > cfg.tolerance;
  const medians = `canary median ${fmt(out.canary.median)} vs baseline ${fmt(medianB)}`;
  const figures = `shift ${pct(effect)} (tolerance ${(cfg.tolerance * 100).toFixed(1)} %), p ${fmtP(p)} ${significant ? '<' : '>='} ${fmtP(alpha)}`;
  let verdictWhy: string;
  if (fails) verdictWhy = `worse beyond tolerance`;
  else if (significant) verdictWhy = harmful > 0 ? 'worse, within tolerance' : 'not worse';
  else verdictWhy = 'no significant difference';
  return {
    ...out,
    verdict: fails ? 'fail' : 'pass',
    p,
    effect,
    why: `${spec.name} ${verdictWhy}: ${medians}, ${figures}`,
  };
}

function combine(metrics: MetricVerdict[]): Analysis {
  const failed = [...metrics.filter((m) => m.verdict === 'fail')].sort(
    (x, y) => Number(y.critical) - Number(x.critical),
  );
  const inconclusive = metrics.filter((m) => m.verdict === 'inconclusive');
  const list = (ms: MetricVerdict[]) => ms.map((m) => m.why).join('; ');
  if (failed.length) {
    const critical = failed.filter((m) => m.critical).length;
    const lead = critical ? `${critical} critical metric${critical > 1 ? 's' : ''} failed` : 'metric failed';
    return { verdict: 'fail', why: `${lead}: ${list(failed)}`, metrics };
  }
  const criticalMissing = inconclusive.filter((m) => m.critical);
  if (criticalMissing.length) {
    return {
      verdict: 'inconclusive',
      why: `critical metric inconclusive: ${list(criticalMissing)}`,
      metrics,
    };
  }
  if (inconclusive.length === metrics.length) {
    return {
      verdict: 'inconclusive',
      why: metrics.length ? `no metric conclusive: ${list(inconclusive)}` : 'no metrics to judge',
      metrics,
    };
  }
  const passed = metrics.length - inconclusive.length;
  const skipped = inconclusive.length ? `; left out (non-critical): ${list(inconclusive)}` : '';
  return { verdict: 'pass', why: `${passed} of ${metrics.length} metrics passed${skipped}`, metrics };
}

function summary(sortedAsc: readonly number[]): SampleSummary {
  return { n: sortedAsc.length, median: percentile(sortedAsc, 50), p95: percentile(sortedAsc, 95) };
}

// ---------------------------------------------------------------------------------------------------------------
// Metric windows

export type Cohort = 'baseline' | 'canary';

export interface WindowShard {
  requests?: number;
  errors?: number;
  /** Successful requests by latency bucket: integer upper bound in ms, or 'inf'. */
  latencyMs?: Readonly<Record<string, number>>;
}

export interface WindowDoc {
  service: string;
  cohort: string;
  minuteMs: number;
  shards?: Readonly<Record<string, WindowShard>>;
}

/** Suggested bucket upper bounds (ms) for writers: Prometheus' default seconds buckets, in milliseconds. */
export const DEFAULT_LATENCY_BOUNDS_MS: readonly number[] = [
  5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
];

/** The `latencyMs` key a successful request of `ms` counts under: the smallest bound >= ms, else 'inf'. */
export function latencyBucket(ms: number, boundsMs: readonly number[] = DEFAULT_LATENCY_BOUNDS_MS): string {
  for (const bound of boundsMs) if (ms <= bound) return String(bound);
  return 'inf';
}

export const WINDOW_METRICS = [
  'successRate',
  'errorRate',
  'requestRate',
  'latencyP50Ms',
  'latencyP90Ms',
  'latencyP95Ms',
  'latencyP99Ms',
] as const;
export type WindowMetric = (typeof WINDOW_METRICS)[number];

export interface WindowAggregate extends Record<WindowMetric, number | undefined> {
  /** Distinct minutes seen. */
  minutes: number;
  requests: number;
  errors: number;
  /** errors / requests, and 1 - that; undefined without requests. */
  errorRate: number | undefined;
  successRate: number | undefined;
  /** Requests per second over the minutes seen; undefined without a minute. */
  requestRate: number | undefined;
  /** Summed successful-request counts per bucket key (ascending bounds, 'inf' last). */
  latencyHistogram: Record<string, number>;
  /** Estimated from the histogram; undefined without a successful request. */
  latencyP50Ms: number | undefined;
  latencyP90Ms: number | undefined;
  latencyP95Ms: number | undefined;
  latencyP99Ms: number | undefined;
}

interface Totals {
  requests: number;
  errors: number;
  buckets: Map<number, number>; // upper bound (Infinity for 'inf') -> count
}

const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);

function bucketBound(key: string): number | undefined {
  if (key === 'inf') return Infinity;
  const bound = Number(key);
  return key.trim() !== '' && Number.isFinite(bound) && bound >= 0 ? bound : undefined;
}

function addShards(into: Totals, doc: WindowDoc): void {
  for (const shard of Object.values(doc.shards ?? {})) {
    into.requests += count(shard.requests);
    into.errors += count(shard.errors);
    for (const [key, n] of Object.entries(shard.latencyMs ?? {})) {
      const bound = bucketBound(key);
      if (bound === undefined) continue; // not a bucket this schema defines
      into.buckets.set(bound, (into.buckets.get(bound) ?? 0) + count(n));
    }
  }
}

const emptyTotals = (): Totals => ({ requests: 0, errors: 0, buckets: new Map() });

function aggregateOf(t: Totals, minutes: number): WindowAggregate {
  const keys = [...t.buckets.keys()].sort((a, b) => a - b);
  const latencyHistogram: Record<string, number> = {};
  for (const k of keys) latencyHistogram[k === Infinity ? 'inf' : String(k)] = t.buckets.get(k)!;
  return {
    minutes,
    requests: t.requests,
    errors: t.errors,
    errorRate: t.requests > 0 ? t.errors / t.requests : undefined,
    successRate: t.requests > 0 ? 1 - t.errors / t.requests : undefined,
    requestRate: minutes > 0 ? t.requests / (minutes * 60) : undefined,
    latencyHistogram,
    latencyP50Ms: histogramQuantile(t.buckets, 0.5),
    latencyP90Ms: histogramQuantile(t.buckets, 0.9),
    latencyP95Ms: histogramQuantile(t.buckets, 0.95),
    latencyP99Ms: histogramQuantile(t.buckets, 0.99),
  };
}

/** Per cohort (as written in the documents), the window's totals and estimated latency percentiles. */
export function aggregateWindows(docs: readonly WindowDoc[]): Record<string, WindowAggregate> {
  const totals = new Map<string, { t: Totals; minutes: Set<number> }>();
  for (const doc of docs) {
    let entry = totals.get(doc.cohort);
    if (entry === undefined) totals.set(doc.cohort, (entry = { t: emptyTotals(), minutes: new Set() }));
    entry.minutes.add(doc.minuteMs);
    addShards(entry.t, doc);
  }
  const out: Record<string, WindowAggregate> = {};
  for (const [cohort, { t, minutes }] of totals) out[cohort] = aggregateOf(t, minutes.size);
  return out;
}

/** One sample per minute of each WindowMetric, baseline and canary, for judgeMannWhitney. */
export function windowSamples(
  docs: readonly WindowDoc[],
  { minRequests = 1 }: { minRequests?: number } = {},
): Record<WindowMetric, MetricSamples> {
  const perMinute = new Map<string, Totals>(); // `${cohort}/${minuteMs}`
  for (const doc of docs) {
    if (doc.cohort !== 'baseline' && doc.cohort !== 'canary') continue;
    const key = `${doc.cohort}/${doc.minuteMs}`;
    let t = perMinute.get(key);
    if (t === undefined) perMinute.set(key, (t = emptyTotals()));
    addShards(t, doc);
  }
  const out = Object.fromEntries(
    WINDOW_METRICS.map((m) => [m, { baseline: [], canary: [] }]),
  ) as unknown as Record<WindowMetric, { baseline: number[]; canary: number[] }>;
  const ordered = [...perMinute.entries()]
    .map(([key, t]) => {
      const slash = key.indexOf('/');
      return { cohort: key.slice(0, slash) as Cohort, minuteMs: Number(key.slice(slash + 1)), t };
    })
    .sort((x, y) => x.minuteMs - y.minuteMs);
  for (const { cohort, t } of ordered) {
    const agg = aggregateOf(t, 1);
    for (const m of WINDOW_METRICS) {
      const rate = m === 'errorRate' || m === 'successRate';
      if (rate && t.requests < Math.max(1, minRequests)) continue;
      const v = agg[m];
      if (v !== undefined) out[m][cohort].push(v);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Formatting for `why`

function fmt(v: number | undefined): string {
  if (v === undefined) return 'n/a';
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 100 ? String(Math.round(v)) : String(Number(v.toPrecision(3)));
}

function pct(v: number): string {
  if (!Number.isFinite(v)) return v > 0 ? '+inf %' : '-inf %';
  return `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)} %`;
}

function fmtP(p: number): string {
  return p < 1e-4 ? p.toExponential(1) : String(Number(p.toPrecision(2)));
}
