// Grandfather-father-son retention for Firestore export backups: which exports to keep and which to delete. Pure;
// the retention trigger lists `backups/*`, calls `planRetention`, deletes the `delete` prefixes and audits the plan.
//
// Rules, in the order they apply:
// - `deleted` backups are ignored entirely (in neither list). Every other backup lands in exactly one of `keep`
//   (with at least one reason) or `delete`.
// - Only `verified` backups are kept by the calendar rules; a failed or running export restores nothing.
//   - daily: the newest `daily` verified backups, by count, not one per day (the issue: "keep the newest `daily`
//     verified exports"), so a retried export on the same day counts twice.
//   - weekly: for each of the `weekly` most recent ISO weeks (Monday start, in policy.timeZone) holding at least one
//     verified backup, its newest verified backup. A week without a backup does not use up the allowance (restic
//     and borg `--keep-weekly`): an outage of a week must not shorten how far back the weeklies reach.
//   - monthly: the same per calendar month in policy.timeZone.
//   A backup kept by several rules lists every reason. 0 keeps none by that rule.
// - Safety, because a bad export must never cost the last good one:
//   - if the newest non-deleted backup is not verified (running or failed), or no backup is verified, nothing is
//     deleted and `blocked` says why (the issue: "Never delete anything while the newest export is not verified");
//     a backup that would otherwise be deleted is kept with reason 'blocked';
//   - the newest verified backup is always kept ('newest-verified'), even with daily = 0;
//   - every running backup is kept ('running'): its objects are still being written;
//   - anything newer than the newest verified is kept ('newer-than-newest-verified'). Unreachable unless blocked,
//     and then kept anyway; the rule stays so that a change to the blocking logic cannot make it delete one.
// - What remains (older verified backups no rule selected, failed backups older than the newest verified) is
//   deleted only if its prefix is exactly one fireops writes for this bucket and database (`isFireopsPrefix`);
//   otherwise it is kept ('outside-prefix'): a bad or foreign `outputUriPrefix` in a document an admin can edit
//   must not turn into a recursive delete of somebody else's objects.
// - Order: both lists newest first by startedAt, ties broken by id (descending, so one total order on
//   (startedAt, id) decides both "newest" and the output order, and the same input always gives the same plan).
//
// Calendar days come from Intl.DateTimeFormat with the policy's time zone, so DST and offsets are the platform's
// tz database's business, not ours; weeks and months are computed from that local calendar date alone.

export type BackupState = 'running' | 'verified' | 'failed' | 'deleted';

export interface RetentionBackup {
  id: string;
  state: BackupState;
  /** Epoch ms: when the export started, i.e. the point in time it captures. */
  startedAt: number;
  /** gs://bucket/{database}/{yyyy}/{mm}/{dd}/{HHmmss} */
  outputUriPrefix: string;
}

/** Counts are taken as given: the 7/4/12 defaults are applied by the caller's schema. */
export interface RetentionPolicy {
  daily: number;
  weekly: number;
  monthly: number;
  /** IANA time zone that days, weeks and months are counted in. */
  timeZone: string;
}

export type KeepReason =
  | 'daily'
  | 'weekly'
  | 'monthly'
  | 'newest-verified'
  | 'running'
  | 'newer-than-newest-verified'
  | 'outside-prefix'
  | 'blocked';

export interface RetentionPlan {
  keep: { id: string; reasons: KeepReason[] }[];
  delete: { id: string; outputUriPrefix: string; why: string }[];
  /** Set when nothing may be deleted, with the reason. */
  blocked?: string;
}

export interface RetentionScope {
  bucket: string;
  database: string;
}

const REASON_ORDER: readonly KeepReason[] = [
  'newest-verified',
  'daily',
  'weekly',
  'monthly',
  'running',
  'newer-than-newest-verified',
  'outside-prefix',
  'blocked',
];

export function planRetention(
  backups: readonly RetentionBackup[],
  policy: RetentionPolicy,
  scope: RetentionScope,
): RetentionPlan {
  const calendar = localCalendar(policy);
  const seen = new Set<string>();
  for (const b of backups) {
    // Two documents with one id would make "keep X" and "delete X" ambiguous for whoever applies the plan.
    if (seen.has(b.id)) throw new Error(`backups: duplicate id '${b.id}'`);
    seen.add(b.id);
    if (!Number.isFinite(b.startedAt))
      throw new Error(`backups['${b.id}'].startedAt must be a finite number`);
  }

  const live = backups.filter((b) => b.state !== 'deleted').sort(newestFirst);
  const verified = live.filter((b) => b.state === 'verified');
  const newest = live[0];
  const newestVerified = verified[0];

  let blocked: string | undefined;
  if (!newestVerified) {
    blocked =
      live.length === 0 ? 'no backups: nothing to keep or delete' : 'no verified backup: deleting nothing';
  } else if (newest && newest.state !== 'verified') {
    blocked = `newest backup ${newest.id} (${new Date(newest.startedAt).toISOString()}) is ${newest.state}, not verified: deleting nothing`;
  }

  const reasons = new Map<string, Set<KeepReason>>();
  const add = (id: string, reason: KeepReason) => {
    const set = reasons.get(id) ?? new Set<KeepReason>();
    set.add(reason);
    reasons.set(id, set);
  };

  const weekOf = (b: RetentionBackup) => calendar(b.startedAt).week;
  const monthOf = (b: RetentionBackup) => calendar(b.startedAt).month;
  for (const b of verified.slice(0, policy.daily)) add(b.id, 'daily');
  for (const b of newestPerBucket(verified, policy.weekly, weekOf)) add(b.id, 'weekly');
  for (const b of newestPerBucket(verified, policy.monthly, monthOf)) add(b.id, 'monthly');
  if (newestVerified) add(newestVerified.id, 'newest-verified');
  for (const b of live) {
    if (b.state === 'running') add(b.id, 'running');
    if (newestVerified && newestFirst(b, newestVerified) < 0) add(b.id, 'newer-than-newest-verified');
  }

  const plan: RetentionPlan = { keep: [], delete: [] };
  for (const b of live) {
    const kept = reasons.get(b.id);
    if (kept) {
      plan.keep.push({ id: b.id, reasons: REASON_ORDER.filter((r) => kept.has(r)) });
    } else if (blocked !== undefined) {
      plan.keep.push({ id: b.id, reasons: ['blocked'] });
    } else if (!isFireopsPrefix(b.outputUriPrefix, scope)) {
      plan.keep.push({ id: b.id, reasons: ['outside-prefix'] });
    } else {
      plan.delete.push({
        id: b.id,
        outputUriPrefix: b.outputUriPrefix,
        why: whyDelete(b, newestVerified, policy),
      });
    }
  }
  if (blocked !== undefined) plan.blocked = blocked;
  return plan;
}

/**
 * True only for exactly `gs://{bucket}/{database}/{yyyy}/{mm}/{dd}/{HHmmss}` as fireops writes it: the prefix is
 * deleted recursively, so anything looser (a trailing slash, `..`, an extra segment, another bucket or database)
 * could reach objects fireops did not write.
 */
export function isFireopsPrefix(outputUriPrefix: string, scope: RetentionScope): boolean {
  const { bucket, database } = scope;
  for (const part of [bucket, database]) {
    if (part === '' || part.includes('/') || part.includes('..')) return false;
  }
  // Digits only after the database, and no '..' in bucket or database, so the pattern admits no '..' anywhere.
  const pattern = new RegExp(
    `^gs://${escapeRegExp(bucket)}/${escapeRegExp(database)}` +
      String.raw`/\d{4}/(0[1-9]|1[0-2])/(0[1-9]|[12]\d|3[01])/([01]\d|2[0-3])[0-5]\d[0-5]\d$`,
  );
  return pattern.test(outputUriPrefix);
}

// ---------------------------------------------------------------------------------------------------------------

/** Newest first by startedAt, then by id descending: one total order, so ties resolve the same way every run. */
function newestFirst(a: RetentionBackup, b: RetentionBackup): number {
  if (a.startedAt !== b.startedAt) return b.startedAt - a.startedAt;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** The newest backup of each of the `count` most recent buckets that hold one; `sorted` is newest first. */
function newestPerBucket(
  sorted: readonly RetentionBackup[],
  count: number,
  bucketOf: (b: RetentionBackup) => string,
): RetentionBackup[] {
  const picked: RetentionBackup[] = [];
  const buckets = new Set<string>();
  for (const b of sorted) {
    if (picked.length >= count) break;
    const key = bucketOf(b);
    if (buckets.has(key)) continue;
    buckets.add(key);
    picked.push(b);
  }
  return picked;
}

function whyDelete(
  b: RetentionBackup,
  newestVerified: RetentionBackup | undefined,
  policy: RetentionPolicy,
): string {
  const than = newestVerified ? ` older than the newest verified backup ${newestVerified.id}` : '';
  if (b.state === 'failed') return `failed export${than}`;
  return `verified,${than}, not among the newest ${policy.daily} daily, ${policy.weekly} weekly or ${policy.monthly} monthly`;
}

interface LocalCalendar {
  /** The Monday (yyyy-mm-dd) starting the ISO week the day falls in. */
  week: string;
  /** yyyy-mm in the time zone. */
  month: string;
}

/** Validates the policy and returns a function from an instant to its local ISO week and month. */
function localCalendar(policy: RetentionPolicy): (ms: number) => LocalCalendar {
  for (const field of ['daily', 'weekly', 'monthly'] as const) {
    const n = policy[field];
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new Error(`policy.${field} must be a non-negative integer, got ${String(n)}`);
    }
  }
  // An undefined timeZone would silently mean the runtime's zone; reject it like an unknown name.
  if (typeof policy.timeZone !== 'string' || policy.timeZone === '') {
    throw new Error(`policy.timeZone must be an IANA time zone name, got ${String(policy.timeZone)}`);
  }
  let format: Intl.DateTimeFormat;
  try {
    // en-US with the Gregorian calendar and Latin digits, so the parts are plain numbers whatever the default locale.
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: policy.timeZone,
      calendar: 'gregory',
      numberingSystem: 'latn',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
  } catch {
    throw new Error(`policy.timeZone must be an IANA time zone name, got '${policy.timeZone}'`);
  }

  return (ms) => {
    const parts = format.formatToParts(ms);
    const part = (type: 'year' | 'month' | 'day') => {
      const value = parts.find((p) => p.type === type)?.value;
      if (value === undefined) throw new Error(`Intl.DateTimeFormat gave no ${type} for ${ms}`);
      return Number(value);
    };
    const [y, m, d] = [part('year'), part('month'), part('day')];
    // Calendar arithmetic on the local date in UTC, where every day is 24 h: DST cannot move the Monday.
    const localMidnight = Date.UTC(y, m - 1, d);
    const isoWeekday = new Date(localMidnight).getUTCDay() || 7; // Monday 1 ... Sunday 7
    const monday = new Date(localMidnight - (isoWeekday - 1) * 86_400_000);
    return {
      week: `${pad(monday.getUTCFullYear(), 4)}-${pad(monday.getUTCMonth() + 1, 2)}-${pad(monday.getUTCDate(), 2)}`,
      month: `${pad(y, 4)}-${pad(m, 2)}`,
    };
  };
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
