// Health-check decisions, as pure functions: when a check is due, how one region's consecutive counters move, what
// a check's state is from its regions' counters, what to do about its incident, whether an instant lies in a
// maintenance window, the uptime / error-budget / burn-rate arithmetic, and the sample comparison the canary judge
// uses. The runner gathers results and documents; these functions decide, so every rule is tested without I/O.
//
// Rules (issue 6):
// - Scheduling (`checkDue`): a check of interval N seconds runs in the minutes whose index since the epoch is a
//   multiple of ceil(N / 60) (at least 1), so every region probes it in the same minutes and the regions' counters
//   advance together. Intervals are whole minutes because the runner ticks once a minute; a 90 s interval runs
//   every 2 minutes, never more often than asked.
// - Counters (`nextCounters`): per check and region, `cf` consecutive failures and `cs` consecutive successes; a
//   result resets the other counter, so at most one of them is non-zero.
// - State (`judgeCheck`), from the counters of the expected regions only (a region dropped from the check's list no
//   longer votes). A region's counters are fresh when `nowMs - lastAtMs <= staleMs`; stale or missing regions vote
//   neither failing nor succeeding and are named in `why`. majority = floor(expected / 2) + 1. In order:
//   1. unknown  - no expected region has fresh data (or the check has no expected region);
//   2. down     - at least `majority` fresh regions have cf >= failureThreshold;
//   3. up       - at least `majority` fresh regions have cs >= successThreshold and no fresh region is failing;
//   4. degraded - everything else: some region failing (cf >= 1) short of a majority at the threshold, or not yet
//                 `successThreshold` successes in a majority (recovering after a failure, or a new check warming
//                 up), or too few fresh regions to vouch for the target (probes dead in a majority of regions).
//   One region's network trouble therefore degrades a check; it never takes it down.
// - Incident (`decideIncident`), evaluated every cycle with the check's state:
//   - none open: open when state is down and the check is not in maintenance (also when maintenance ends with the
//     check still down, or when a previous cycle's open was lost: opening is decided from state, not transition);
//   - open: resolve when a majority of regions reached `successThreshold` consecutive successes (`majorityRecovered`
//     from judgeCheck), in maintenance or not, durationMs = now - openedAt; otherwise remind when `reminderMs` has
//     passed since the last reminder (the caller sets lastReminderAtMs = openedAtMs on open). Reminders are held
//     during maintenance (the people paged are the people doing the maintenance) and the first cycle after the
//     window sends the overdue one.
// - Maintenance windows (`inMaintenance`): `start` is wall-clock time in `timeZone`; a window covers
//   [start, start + durationMinutes) in elapsed time. `every` repeats it on each local day (daily) or every 7th local
//   day (weekly) from the start date, at the same wall-clock time. Wall time to instant follows Temporal's
//   `disambiguation: 'compatible'` (and java.time): a time skipped by a spring-forward gap is shifted later by the
//   gap (02:30 on a day the clock jumps 02:00 -> 03:00 starts at 03:30 local, keeping its full duration); a time
//   that occurs twice at a fall-back takes the earlier occurrence. A recurring window at least as long as its period
//   is treated as continuous from the first start.
// - SLO (`uptime`, `errorBudget`, `burnRate`): samples taken in maintenance count neither good nor bad.
//   `sloTarget` is a percentage (99.9). allowedBad = total x (100 - sloTarget) / 100, rounded to 1e-9 so that
//   99.9 % of 1000 allows exactly 1 (binary floating point would otherwise make it 0.99999...).
// - Canary comparison (`compareSamples`): success rate over all samples; latency percentiles over successful
//   samples only (a fast 500 must not make a canary look quick; failures are the success rate's business),
//   nearest-rank; p99Ratio treats timings under 1 ms as 1 ms (probe timings are whole milliseconds).
// - Mann-Whitney U (`mannWhitneyU`): normal approximation with tie correction and continuity correction, the
//   method of scipy.stats.mannwhitneyu(method='asymptotic'); p is undefined below 8 samples per side, where the
//   approximation is not to be trusted (use exact tables there).

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------------------------
// Scheduling and counters

/** Whether a check with this interval runs in the minute holding `minuteEpochMs` (any instant within it). */
export function checkDue(intervalSeconds: number, minuteEpochMs: number): boolean {
  if (!Number.isFinite(intervalSeconds) || intervalSeconds <= 0) {
    throw new RangeError(`intervalSeconds must be a positive number, got ${String(intervalSeconds)}`);
  }
  const everyMinutes = Math.max(1, Math.ceil(intervalSeconds / 60));
  const minuteIndex = Math.floor(minuteEpochMs / MINUTE_MS);
  // ((x % m) + m) % m: instants before 1970 still align (JavaScript's % keeps the dividend's sign).
  return ((minuteIndex % everyMinutes) + everyMinutes) % everyMinutes === 0;
}

/** Consecutive failures (cf) and successes (cs) of one check in one region. */
export interface Counters {
  cf: number;
  cs: number;
}

/** The counters after one more result; a region never seen starts from zero. */
export function nextCounters(prev: Counters | undefined, ok: boolean): Counters {
  const { cf, cs } = prev ?? { cf: 0, cs: 0 };
  return ok ? { cf: 0, cs: cs + 1 } : { cf: cf + 1, cs: 0 };
}

// ---------------------------------------------------------------------------------------------------------------
// State of a check

export type HealthState = 'up' | 'degraded' | 'down' | 'unknown';

export interface RegionCounters extends Counters {
  /** When the region last produced a result for this check. */
  lastAtMs: number;
}

export interface JudgeInput {
  regions: Readonly<Record<string, RegionCounters | undefined>>;
  expectedRegions: readonly string[];
  failureThreshold: number;
  successThreshold: number;
  nowMs: number;
  /** Older than this, a region's counters are stale. Suggested: 2 x interval + 60 s, so one late cycle is no gap. */
  staleMs: number;
}

export interface CheckJudgement {
  state: HealthState;
  /** Expected regions with fresh data whose last result failed (cf >= 1), in expectedRegions order. */
  failingRegions: string[];
  /** A majority of expected regions have fresh cs >= successThreshold: what resolves an incident. */
  majorityRecovered: boolean;
  why: string;
}

function positiveInteger(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer, got ${n}`);
}

/** The state of one check from its regions' counters; see the rules at the top of this file. */
export function judgeCheck(input: JudgeInput): CheckJudgement {
  positiveInteger('failureThreshold', input.failureThreshold);
  positiveInteger('successThreshold', input.successThreshold);
  const expected = [...new Set(input.expectedRegions)];
  const n = expected.length;
  const majority = Math.floor(n / 2) + 1;

  const fresh: [string, RegionCounters][] = [];
  const stale: string[] = [];
  for (const region of expected) {
    const c = input.regions[region];
    if (c !== undefined && input.nowMs - c.lastAtMs <= input.staleMs) fresh.push([region, c]);
    else stale.push(region);
  }
  const failingRegions = fresh.filter(([, c]) => c.cf >= 1).map(([r]) => r);
  const atFailure = fresh.filter(([, c]) => c.cf >= input.failureThreshold);
  const atSuccess = fresh.filter(([, c]) => c.cs >= input.successThreshold);
  const majorityRecovered = n > 0 && atSuccess.length >= majority;
  const staleNote = stale.length ? `; no fresh result from ${stale.join(', ')}` : '';

  if (fresh.length === 0) {
    return {
      state: 'unknown',
      failingRegions,
      majorityRecovered,
      why: n
        ? `unknown: no result newer than ${Math.round(input.staleMs / 1000)} s from any of ${expected.join(', ')}`
        : 'unknown: the check has no regions',
    };
  }
  if (atFailure.length >= majority) {
    const list = atFailure.map(([r, c]) => `${r} ${c.cf}x`).join(', ');
    return {
      state: 'down',
      failingRegions,
      majorityRecovered,
      why: `down: ${atFailure.length} of ${n} regions failed ${input.failureThreshold}+ times in a row (${list})${staleNote}`,
    };
  }
  if (majorityRecovered && failingRegions.length === 0) {
    return {
      state: 'up',
      failingRegions,
      majorityRecovered,
      why: `up: ${atSuccess.length} of ${n} regions passed ${input.successThreshold}+ times in a row${staleNote}`,
    };
  }
  const reasons: string[] = [];
  if (failingRegions.length) {
    const list = fresh
      .filter(([, c]) => c.cf >= 1)
      .map(([r, c]) => `${r} ${c.cf}x`)
      .join(', ');
    reasons.push(`failing in ${list}, short of ${majority} of ${n} at ${input.failureThreshold}x`);
  }
  const recovering = fresh.filter(([, c]) => c.cs >= 1 && c.cs < input.successThreshold);
  if (recovering.length) {
    const list = recovering.map(([r, c]) => `${r} ${c.cs}/${input.successThreshold}`).join(', ');
    reasons.push(`recovering in ${list}`);
  }
  if (!majorityRecovered && !failingRegions.length && !recovering.length) {
    reasons.push(`${fresh.length} of ${n} regions reporting, ${majority} needed`);
  }
  return {
    state: 'degraded',
    failingRegions,
    majorityRecovered,
    why: `degraded: ${reasons.join('; ')}${staleNote}`,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Incidents

export interface OpenIncident {
  id: string;
  openedAtMs: number;
  lastReminderAtMs: number;
}

export interface IncidentInput {
  state: HealthState;
  previousState: HealthState | undefined;
  open: OpenIncident | undefined;
  inMaintenance: boolean;
  majorityRecovered: boolean;
  nowMs: number;
  /** Interval between reminders of an open incident; Infinity sends none. */
  reminderMs: number;
}

export type IncidentDecision =
  | { kind: 'none'; why: string }
  | { kind: 'open'; why: string }
  | { kind: 'remind'; why: string }
  | { kind: 'resolve'; durationMs: number; why: string };

/** What to do about a check's incident this cycle; see the rules at the top of this file. */
export function decideIncident(input: IncidentInput): IncidentDecision {
  if (!(input.reminderMs > 0)) throw new RangeError(`reminderMs must be positive, got ${input.reminderMs}`);
  const { state, open, nowMs } = input;
  const was = input.previousState === undefined ? '' : ` (was ${input.previousState})`;
  if (open === undefined) {
    if (state !== 'down') return { kind: 'none', why: `${state}${was}: no incident` };
    if (input.inMaintenance)
      return { kind: 'none', why: `down${was} in a maintenance window: no incident opened` };
    return { kind: 'open', why: `down${was}: incident opened` };
  }
  if (input.majorityRecovered) {
    const durationMs = Math.max(0, nowMs - open.openedAtMs);
    return { kind: 'resolve', durationMs, why: `${state}${was}: a majority of regions recovered` };
  }
  if (input.inMaintenance)
    return { kind: 'none', why: `${state}: incident open, reminders held in maintenance` };
  const sinceMs = nowMs - open.lastReminderAtMs;
  if (sinceMs >= input.reminderMs) {
    return {
      kind: 'remind',
      why: `${state}: incident open ${Math.round((nowMs - open.openedAtMs) / MINUTE_MS)} min`,
    };
  }
  return {
    kind: 'none',
    why: `${state}: incident open, next reminder in ${Math.ceil((input.reminderMs - sinceMs) / 1000)} s`,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Maintenance windows

export interface MaintenanceWindow {
  /** Local wall-clock time in timeZone: `2026-12-01T02:00` (seconds optional). */
  start: string;
  durationMinutes: number;
  every?: 'daily' | 'weekly' | undefined;
  /** IANA time zone name. */
  timeZone: string;
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** en-US, Gregorian, Latin digits, h23: plain numbers whatever the runtime's default locale. Cached per zone. */
function zoneFormat(timeZone: string): Intl.DateTimeFormat {
  let format = formats.get(timeZone);
  if (format === undefined) {
    if (typeof timeZone !== 'string' || timeZone === '') {
      throw new RangeError(`timeZone must be an IANA time zone name, got ${String(timeZone)}`);
    }
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone,
        calendar: 'gregory',
        numberingSystem: 'latn',
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
    } catch {
      throw new RangeError(`timeZone must be an IANA time zone name, got '${timeZone}'`);
    }
    formats.set(timeZone, format);
  }
  return format;
}

/** The wall clock in the zone at `ms`, as the epoch ms the same reading would have in UTC (whole seconds). */
function wallClock(format: Intl.DateTimeFormat, ms: number): number {
  const parts = format.formatToParts(ms);
  const get = (type: Intl.DateTimeFormatPartTypes) => {
    const value = parts.find((p) => p.type === type)?.value;
    if (value === undefined) throw new Error(`Intl.DateTimeFormat gave no ${type} for ${ms}`);
    return Number(value);
  };
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
}

/** The zone's offset from UTC at an instant, in ms (Lagos +3,600,000). */
function offsetAt(format: Intl.DateTimeFormat, ms: number): number {
  const whole = Math.floor(ms / 1000) * 1000;
  return wallClock(format, whole) - whole;
}

/**
 * The instant a wall-clock reading (as UTC epoch ms) occurs in the zone, Temporal 'compatible': the earlier of two
 * at a fall-back, shifted later by the gap at a spring-forward. Offsets a day either side bracket any one
 * transition, and no zone changes offset twice within two days.
 */
function instantOf(format: Intl.DateTimeFormat, wall: number): number {
  const before = offsetAt(format, wall - DAY_MS);
  const after = offsetAt(format, wall + DAY_MS);
  const candidates = [wall - before, wall - after].filter((t) => wallClock(format, t) === wall);
  if (candidates.length) return Math.min(...candidates);
  // In the gap: read the wall time with the offset in force before the jump, which lands the gap's length later.
  return wall - before;
}

const START = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

function parseStart(start: string): { day: number; timeMs: number } {
  const m = START.exec(start);
  if (!m) throw new RangeError(`maintenance start must look like 2026-12-01T02:00, got '${start}'`);
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(utc);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    throw new RangeError(`maintenance start is not a valid date and time: '${start}'`);
  }
  const day = Math.floor(utc / DAY_MS);
  return { day, timeMs: utc - day * DAY_MS };
}

/** Whether `atMs` lies in one of the windows; see the rules at the top of this file. */
export function inMaintenance(windows: readonly MaintenanceWindow[], atMs: number): boolean {
  return windows.some((w) => inWindow(w, atMs));
}

function inWindow(w: MaintenanceWindow, atMs: number): boolean {
  if (!Number.isFinite(w.durationMinutes) || w.durationMinutes <= 0) {
    throw new RangeError(`maintenance durationMinutes must be positive, got ${w.durationMinutes}`);
  }
  const format = zoneFormat(w.timeZone);
  const { day: startDay, timeMs } = parseStart(w.start);
  const durationMs = w.durationMinutes * MINUTE_MS;
  const firstStart = instantOf(format, startDay * DAY_MS + timeMs);
  if (atMs < firstStart) return false;
  if (w.every === undefined) return atMs < firstStart + durationMs;

  const periodDays = w.every === 'daily' ? 1 : 7;
  if (durationMs >= periodDays * DAY_MS) return true;
  // Occurrences that could cover atMs start on its local day or up to periodDays + 1 local days before (duration
  // < period, plus a day of slack for an offset change); walk back over occurrence days only.
  const today = Math.floor(wallClock(format, atMs) / DAY_MS);
  const sinceStart = today + 1 - startDay;
  let day = today + 1 - (((sinceStart % periodDays) + periodDays) % periodDays);
  for (; day >= startDay && day >= today - periodDays - 1; day -= periodDays) {
    const begins = instantOf(format, day * DAY_MS + timeMs);
    if (begins <= atMs && atMs < begins + durationMs) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// Uptime, error budget, burn rate

export interface HealthSample {
  atMs: number;
  ok: boolean;
  maintenance: boolean;
}

/**
 * What daily rollups store. `total` and `good` count samples outside maintenance only (so uptime = good / total);
 * `maintenance` counts the samples taken inside a window, which count neither way.
 */
export interface UptimeCounts {
  total: number;
  good: number;
  maintenance: number;
}

export const EMPTY_COUNTS: Readonly<UptimeCounts> = Object.freeze({ total: 0, good: 0, maintenance: 0 });

/** The counts after one more sample. */
export function addSample(counts: UptimeCounts, sample: { ok: boolean; maintenance: boolean }): UptimeCounts {
  if (sample.maintenance) return { ...counts, maintenance: counts.maintenance + 1 };
  return {
    total: counts.total + 1,
    good: counts.good + (sample.ok ? 1 : 0),
    maintenance: counts.maintenance,
  };
}

/** Sum of counts, e.g. 30 daily rollups into one 30-day figure. */
export function addCounts(...counts: readonly UptimeCounts[]): UptimeCounts {
  return counts.reduce<UptimeCounts>(
    (sum, c) => ({
      total: sum.total + c.total,
      good: sum.good + c.good,
      maintenance: sum.maintenance + c.maintenance,
    }),
    { ...EMPTY_COUNTS },
  );
}

/** Counts of the samples taken in [fromMs, toMs). */
export function countSamples(samples: readonly HealthSample[], fromMs: number, toMs: number): UptimeCounts {
  let counts: UptimeCounts = { ...EMPTY_COUNTS };
  for (const s of samples) if (s.atMs >= fromMs && s.atMs < toMs) counts = addSample(counts, s);
  return counts;
}

/** good / total, undefined when nothing outside maintenance was measured. */
export function uptimeOf(counts: UptimeCounts): number | undefined {
  return counts.total > 0 ? counts.good / counts.total : undefined;
}

/** Uptime over [fromMs, toMs), maintenance excluded; undefined when no sample counts. */
export function uptime(samples: readonly HealthSample[], fromMs: number, toMs: number): number | undefined {
  return uptimeOf(countSamples(samples, fromMs, toMs));
}

export interface SloInput {
  /** Percent, e.g. 99.9. */
  sloTarget: number;
  good: number;
  total: number;
}

export interface ErrorBudget {
  allowedBad: number;
  bad: number;
  /** Fraction of the budget left: 1 untouched, 0 spent, negative overspent (-Infinity: any failure at a 100 % SLO). */
  remaining: number;
  exhausted: boolean;
}

const round9 = (x: number) => Math.round(x * 1e9) / 1e9;

function allowedErrorRate(sloTarget: number): number {
  if (!(sloTarget > 0 && sloTarget <= 100))
    throw new RangeError(`sloTarget must be in (0, 100], got ${sloTarget}`);
  return (100 - sloTarget) / 100;
}

function badOf({ good, total }: SloInput): number {
  if (!(good >= 0 && total >= good))
    throw new RangeError(`need 0 <= good <= total, got good ${good}, total ${total}`);
  return total - good;
}

/** How much of the error budget the window's failures used; no samples leaves the budget whole. */
export function errorBudget(input: SloInput): ErrorBudget {
  const rate = allowedErrorRate(input.sloTarget);
  const bad = badOf(input);
  const allowedBad = round9(input.total * rate);
  let remaining: number;
  if (bad === 0) remaining = 1;
  else if (allowedBad === 0) remaining = -Infinity;
  else remaining = round9(1 - bad / allowedBad);
  return { allowedBad, bad, remaining, exhausted: remaining <= 0 };
}

/**
 * Observed error rate over the allowed one: 1 spends the budget exactly over the SLO period, 14.4 over an hour
 * spends 2 % of a 30-day budget (Google SRE workbook, "Alerting on SLOs"). Undefined without samples; Infinity for
 * any failure at a 100 % SLO.
 */
export function burnRate(input: SloInput): number | undefined {
  const rate = allowedErrorRate(input.sloTarget);
  const bad = badOf(input);
  if (input.total === 0) return undefined;
  if (bad === 0) return 0;
  if (rate === 0) return Infinity;
  return round9(bad / input.total / rate);
}
