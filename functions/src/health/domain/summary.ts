// The health summary, as pure functions: folding probe cycles into bucketed counts (`foldCycles`), the daily
// rollups of a completed UTC day (`dailyRollups`), and the public status JSON (`statusOf`). The rollup adapter reads
// and writes; these decide, so every figure is checked by hand in unit tests.
//
// Rules (issue 6, "Uptime and error budget"):
// - Every probe result in a cycle document is one sample: ok from the tuple, maintenance from the tuple. Samples
//   taken in maintenance count neither good nor bad (`addSample`): they only raise the bucket's maintenance count.
//   Results of every region count: two regions probing a check every minute give it 120 samples an hour.
// - Buckets are aligned to UTC: 10 minutes, 1 hour, 1 day. A bucket is keyed by its start as `2026-11-29T00:10Z`
//   (the minute format of cycle document ids) and holds [total, good, maintenance]. Only the newest 36 / 24 / 30
//   bucket SLOTS are kept, counted back from the slot holding the last folded minute (`throughMs - 1`), empty slots
//   included: a check that stopped being probed ages out instead of keeping old buckets forever.
// - Folding is idempotent by time: only cycles with `summary.throughMs <= minuteMs < throughMs` are folded, so a
//   cycle read twice (an overlapping run, a re-read window) is never counted twice. `throughMs` never moves back.
// - Checks no longer in the catalog are dropped; name, tags and sloTarget always come from the catalog.
// - Windows in `statusOf` end at the summary's `throughMs` (the data's end, not the request's time: the rollup
//   runs every 10 minutes, so the slot holding "now" is usually not folded yet). A window is the newest N slots of
//   one granularity, the newest of which is partial, so it covers between N - 1 and N slot lengths of data:
//     1h  = newest 6 ten-minute slots (50-60 min)   6h (burn rate) = newest 36 ten-minute slots (5 h 50 - 6 h)
//     24h = newest 24 hourly slots (23-24 h)         7d = newest 7 daily slots      30d = newest 30 daily slots
//   The 30-day error budget and the 30-day uptime use the same 30 daily slots.
// - Public output: id, name, tags, state (when known), uptime ratios (0..1, null without a counted sample), the SLO
//   target, the 30-day error budget and the 1 h / 6 h burn rates (null without a counted sample). Never targets,
//   URLs, headers, failed conditions, regions or reasons.
// - Daily rollups (`dailyRollups`): per check, the counts of the day's samples and the nearest-rank p50 / p95 of
//   `ms` over its ok samples outside maintenance (like uptime, maintenance counts for nothing), null without one.
//   A check without any sample that day gets no document.
import {
  addSample,
  burnRate,
  EMPTY_COUNTS,
  errorBudget,
  uptimeOf,
  type ErrorBudget,
  type HealthState,
  type UptimeCounts,
} from './health';
import { percentile } from '../../platform/domain/stats';

export const MINUTE_MS = 60_000;
export const TEN_MINUTES_MS = 600_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Slots kept per granularity: 6 h of 10 minutes, 24 h of hours, 30 days of days. */
export const GRANULARITIES = {
  tenMinutes: { sizeMs: TEN_MINUTES_MS, keep: 36 },
  hours: { sizeMs: HOUR_MS, keep: 24 },
  days: { sizeMs: DAY_MS, keep: 30 },
} as const;
export type Granularity = keyof typeof GRANULARITIES;

/** Counts of one bucket: [total, good, maintenance] (UptimeCounts as a tuple, to keep the summary small). */
export type SummaryBucket = [total: number, good: number, maintenance: number];
/** Buckets keyed by their UTC start, `2026-11-29T00:10Z`. A map of tuples: Firestore refuses nested arrays. */
export type SummaryBuckets = Record<string, SummaryBucket>;

export interface SummaryCheck {
  name: string;
  tags: string[];
  sloTarget: number;
  tenMinutes: SummaryBuckets;
  hours: SummaryBuckets;
  days: SummaryBuckets;
}

export interface HealthSummary {
  updatedAtMs: number;
  /** End (exclusive) of the last minute folded in. */
  throughMs: number;
  checks: Record<string, SummaryCheck>;
}

/** What the summary needs of a check definition (public fields only). */
export interface CatalogEntry {
  name: string;
  tags: readonly string[];
  sloTarget: number;
  /** Shown on the public status page under this name (not kept in the summary). */
  public?: { name: string; group?: string | undefined } | undefined;
}

/** One probe result as cycle documents hold it: [ok, ms, status, failed, maintenance]. */
export type ResultTuple = readonly [
  ok: 0 | 1,
  ms: number,
  status: number,
  failed: string,
  maintenance: 0 | 1,
];

export interface CycleInput {
  region: string;
  minuteMs: number;
  r: Readonly<Record<string, ResultTuple>>;
}

/** `2026-11-29T00:10Z`: the key of the bucket starting at `startMs`. */
export function bucketKey(startMs: number): string {
  return `${new Date(startMs).toISOString().slice(0, 16)}Z`;
}

const floorTo = (ms: number, sizeMs: number) => Math.floor(ms / sizeMs) * sizeMs;

/** Start of the slot holding the last folded minute. */
function newestSlot(throughMs: number, sizeMs: number): number {
  return floorTo(throughMs - 1, sizeMs);
}

function emptyCheck(entry: CatalogEntry): SummaryCheck {
  return { ...publicFields(entry), tenMinutes: {}, hours: {}, days: {} };
}

function publicFields(entry: CatalogEntry): Pick<SummaryCheck, 'name' | 'tags' | 'sloTarget'> {
  return { name: entry.name, tags: [...entry.tags], sloTarget: entry.sloTarget };
}

function copyBuckets(buckets: SummaryBuckets): SummaryBuckets {
  const out: SummaryBuckets = {};
  for (const [key, [total, good, maintenance]] of Object.entries(buckets))
    out[key] = [total, good, maintenance];
  return out;
}

function addTo(buckets: SummaryBuckets, key: string, sample: { ok: boolean; maintenance: boolean }): void {
  const [total, good, maintenance] = buckets[key] ?? [0, 0, 0];
  const next = addSample({ total, good, maintenance }, sample);
  buckets[key] = [next.total, next.good, next.maintenance];
}

function trim(buckets: SummaryBuckets, g: Granularity, throughMs: number): SummaryBuckets {
  const { sizeMs, keep } = GRANULARITIES[g];
  const newest = newestSlot(throughMs, sizeMs);
  const oldest = newest - (keep - 1) * sizeMs;
  const entries = Object.entries(buckets)
    .map(([key, bucket]) => [Date.parse(key), key, bucket] as const)
    .filter(([start]) => start >= oldest && start <= newest)
    .sort(([a], [b]) => a - b);
  return Object.fromEntries(entries.map(([, key, bucket]) => [key, bucket]));
}

/**
 * The summary after folding `cycles` up to `throughMs` (exclusive); see the rules at the top of this file.
 * `nowMs` only stamps `updatedAtMs`.
 */
export function foldCycles(
  summary: HealthSummary | undefined,
  cycles: readonly CycleInput[],
  catalog: Readonly<Record<string, CatalogEntry>>,
  throughMs: number,
  nowMs: number = throughMs,
): HealthSummary {
  const fromMs = summary?.throughMs ?? Number.NEGATIVE_INFINITY;
  if (throughMs < fromMs) {
    throw new RangeError(`throughMs must not move back: ${throughMs} < ${fromMs}`);
  }
  const checks: Record<string, SummaryCheck> = {};
  for (const [id, entry] of Object.entries(catalog)) {
    const prev = summary?.checks[id];
    checks[id] = prev
      ? {
          ...publicFields(entry),
          tenMinutes: copyBuckets(prev.tenMinutes),
          hours: copyBuckets(prev.hours),
          days: copyBuckets(prev.days),
        }
      : emptyCheck(entry);
  }
  const grains = Object.entries(GRANULARITIES) as [Granularity, (typeof GRANULARITIES)[Granularity]][];
  for (const cycle of cycles) {
    if (!(cycle.minuteMs >= fromMs && cycle.minuteMs < throughMs)) continue;
    const keys = grains.map(([g, { sizeMs }]) => [g, bucketKey(floorTo(cycle.minuteMs, sizeMs))] as const);
    for (const [id, result] of Object.entries(cycle.r)) {
      const check = checks[id];
      if (!check) continue;
      const sample = { ok: result[0] === 1, maintenance: result[4] === 1 };
      for (const [g, key] of keys) addTo(check[g], key, sample);
    }
  }
  for (const check of Object.values(checks)) {
    for (const [g] of grains) check[g] = trim(check[g], g, throughMs);
  }
  return { updatedAtMs: nowMs, throughMs, checks };
}

// ---------------------------------------------------------------------------------------------------------------
// Daily rollups

export interface DailyRollup extends UptimeCounts {
  checkId: string;
  /** UTC day, `2026-11-29`. */
  date: string;
  p50Ms: number | null;
  p95Ms: number | null;
}

/** The UTC day `yyyy-mm-dd` holding `ms`. */
export function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Rollups of the UTC day starting at `dayStartMs`, from the cycles of that day (others are ignored). */
export function dailyRollups(
  cycles: readonly CycleInput[],
  checkIds: Iterable<string>,
  dayStartMs: number,
): DailyRollup[] {
  if (dayStartMs % DAY_MS !== 0) throw new RangeError(`dayStartMs must be a UTC midnight, got ${dayStartMs}`);
  const acc = new Map<string, { counts: UptimeCounts; okMs: number[] }>();
  for (const id of checkIds) acc.set(id, { counts: { ...EMPTY_COUNTS }, okMs: [] });
  for (const cycle of cycles) {
    if (!(cycle.minuteMs >= dayStartMs && cycle.minuteMs < dayStartMs + DAY_MS)) continue;
    for (const [id, [ok, ms, , , maintenance]] of Object.entries(cycle.r)) {
      const a = acc.get(id);
      if (!a) continue;
      a.counts = addSample(a.counts, { ok: ok === 1, maintenance: maintenance === 1 });
      if (ok === 1 && maintenance === 0) a.okMs.push(ms);
    }
  }
  const date = utcDate(dayStartMs);
  const out: DailyRollup[] = [];
  for (const [checkId, { counts, okMs }] of [...acc].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (counts.total + counts.maintenance === 0) continue;
    okMs.sort((x, y) => x - y);
    out.push({
      checkId,
      date,
      ...counts,
      p50Ms: percentile(okMs, 50) ?? null,
      p95Ms: percentile(okMs, 95) ?? null,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Public status

export interface PublicCheckStatus {
  id: string;
  name: string;
  tags: string[];
  state?: HealthState;
  uptime: { '1h': number | null; '24h': number | null; '7d': number | null; '30d': number | null };
  sloTarget: number;
  errorBudget30d: Pick<ErrorBudget, 'remaining' | 'exhausted' | 'allowedBad' | 'bad'>;
  burnRate: { '1h': number | null; '6h': number | null };
}

export interface PublicStatus {
  generatedAtMs: number;
  /** Data up to here (exclusive): the end of the last folded minute. */
  throughMs: number;
  checks: PublicCheckStatus[];
}

/** Sum of the newest `slots` slots of one granularity, ending with the slot holding `throughMs - 1`. */
export function windowCounts(
  buckets: SummaryBuckets,
  g: Granularity,
  slots: number,
  throughMs: number,
): UptimeCounts {
  const { sizeMs } = GRANULARITIES[g];
  const newest = newestSlot(throughMs, sizeMs);
  const oldest = newest - (slots - 1) * sizeMs;
  const sum = { ...EMPTY_COUNTS };
  for (const [key, [total, good, maintenance]] of Object.entries(buckets)) {
    const start = Date.parse(key);
    if (start < oldest || start > newest) continue;
    sum.total += total;
    sum.good += good;
    sum.maintenance += maintenance;
  }
  return sum;
}

const orNull = (x: number | undefined): number | null => (x === undefined ? null : x);

/** The public JSON for every check in the summary, ordered by id; see the rules at the top of this file. */
export function statusOf(
  summary: HealthSummary,
  nowMs: number,
  states: Readonly<Record<string, HealthState>> = {},
): PublicStatus {
  const t = summary.throughMs;
  const ids = Object.keys(summary.checks).sort();
  return {
    generatedAtMs: nowMs,
    throughMs: t,
    checks: ids.map((id) => {
      const c = summary.checks[id]!;
      const h1 = windowCounts(c.tenMinutes, 'tenMinutes', 6, t);
      const h6 = windowCounts(c.tenMinutes, 'tenMinutes', 36, t);
      const d30 = windowCounts(c.days, 'days', 30, t);
      const budget = errorBudget({ sloTarget: c.sloTarget, good: d30.good, total: d30.total });
      const state = states[id];
      return {
        id,
        name: c.name,
        tags: [...c.tags],
        ...(state ? { state } : {}),
        uptime: {
          '1h': orNull(uptimeOf(h1)),
          '24h': orNull(uptimeOf(windowCounts(c.hours, 'hours', 24, t))),
          '7d': orNull(uptimeOf(windowCounts(c.days, 'days', 7, t))),
          '30d': orNull(uptimeOf(d30)),
        },
        sloTarget: c.sloTarget,
        errorBudget30d: {
          remaining: budget.remaining,
          exhausted: budget.exhausted,
          allowedBad: budget.allowedBad,
          bad: budget.bad,
        },
        burnRate: {
          '1h': orNull(burnRate({ sloTarget: c.sloTarget, good: h1.good, total: h1.total })),
          '6h': orNull(burnRate({ sloTarget: c.sloTarget, good: h6.good, total: h6.total })),
        },
      };
    }),
  };
}
