// The Firestore documents of health checks, in one place: the probe cycle writes them, the rollup and the status
// endpoint read them. Compact on purpose: one cycle document per region and minute carries every result and the
// counters, so a cycle costs one write plus state changes plus incidents touched (plus the audit entry and its
// head when anything changed).
import type { Alert } from '../platform/schema';
import type { HealthCheck } from './schema';
import type { HealthState, UptimeCounts } from './domain/health';
import type { HealthSummary } from './domain/summary';

export const HEALTH_STREAM = 'health';
/**
 * The `health` audit stream is cut into `health-0` .. `health-7` (platform/domain/audit-chain.ts shardedStream):
 * catalog edits by check id, cycle transitions by shard span, so shard cycles committing in the same second do not
 * queue on one stream head.
 */
export const HEALTH_STREAM_SHARDS = 8;

/**
 * `healthCatalog/{checkId}`: one check's last VALID definition, kept by onHealthCheckWritten (one document per check:
 * a check may carry a 64 KiB body and 240 KiB of headers, so a catalog in one document would hit 1 MiB at a few
 * checks). An invalid edit is refused (audited, alerted) and leaves the previous definition here, so it keeps
 * running. Probe cycles read it through a per-instance cache (catalog-cache.ts) that follows `updatedAt`.
 */
export interface HealthCatalogEntryDoc {
  checkId: string;
  /** bucketOf(checkId) (domain/shards.ts): which shard of a cycle probes it. */
  bucket: number;
  /** The definition the cycle runs; null once deleted, or while no edit of it has been valid. */
  check: HealthCheck | null;
  /** `check !== null`, indexed (the `check` map is not): the rollup reads live definitions only. */
  live: boolean;
  /** Set while the latest edit is refused: the reason, the field, when. */
  refused: { reason: string; field: string; atMs: number } | null;
  /** Update time of the `healthChecks` document this reflects: an older event never overwrites a newer one. */
  sourceTimeMs: number;
  updatedAtMs: number;
  /** Server time of the commit that wrote this (FieldValue.serverTimestamp()): what catalog caches follow. */
  updatedAt: FirebaseFirestore.Timestamp;
  /** Tombstones only (the check was deleted): Firestore TTL, 30 days. */
  expireAt?: FirebaseFirestore.Timestamp;
}

/** One probe's result, compact: [ok 0|1, ms, HTTP status or 0, failed condition or error or '', maintenance 0|1]. */
export type CycleResult = [ok: 0 | 1, ms: number, status: number, failed: string, maintenance: 0 | 1];

/** Consecutive failures and successes of a check in this region, and when it was last probed. */
export type CycleCounters = [cf: number, cs: number, lastAtMs: number];

/** An open incident as the cycle knows it: [incidentId, openedAtMs, lastReminderAtMs]. */
export type CycleIncident = [id: string, openedAtMs: number, lastReminderAtMs: number];

/**
 * `healthCycles/{region}_{minute ISO, e.g. 2026-11-29T00:07Z}` (a cycle of one shard) or
 * `healthCycles/{region}_{minute ISO}_{span}` (one shard of several): everything one region's cycle did in one
 * minute for the checks of its span.
 */
export interface HealthCycleDoc {
  region: string;
  minuteMs: number;
  /**
   * The bucket range this document covers (domain/shards.ts `spanKey`, e.g. `0-1024` for a cycle of one shard),
   * and the shard plan it belongs to: shard `shard` of `shards`. Absent on documents of earlier versions (one per
   * region and minute, the whole catalog).
   */
  span?: string;
  shard?: number;
  shards?: number;
  startedAtMs: number;
  durationMs: number;
  /** Results of the checks probed in this cycle (checks not due this minute are absent). */
  r: Record<string, CycleResult>;
  /** Counters of every check assigned to this region, carried forward when not probed. */
  c: Record<string, CycleCounters>;
  /** Last known global state of each check (healthStatus), carried forward. */
  s: Record<string, HealthState>;
  /** Open incidents known to this region, carried forward. */
  i: Record<string, CycleIncident>;
  /**
   * The alerts this cycle decided (its outbox), only when it decided some: published after the commit and kept
   * (clearing it would cost a write), so a later run of the same minute can publish them again after a crash.
   */
  o?: Alert[];
  /** Firestore TTL field (`settings/health.cycleTtlDays`, default 35). */
  expireAt: FirebaseFirestore.Timestamp;
}

/** `healthStatus/{checkId}`: written only when the check's state changes or its incident is touched. */
export interface HealthStatusDoc {
  checkId: string;
  name: string;
  state: HealthState;
  sinceMs: number;
  why: string;
  failingRegions: string[];
  incident: { id: string; openedAtMs: number; lastReminderAtMs: number; reminders: number } | null;
  updatedAtMs: number;
}

/** `incidents/{checkId}_{openedAt ISO}`. */
export interface IncidentDoc {
  id: string;
  checkId: string;
  name: string;
  state: 'open' | 'resolved';
  openedAtMs: number;
  resolvedAtMs: number | null;
  durationMs: number | null;
  failingRegions: string[];
  why: string;
  reminders: number;
  lastReminderAtMs: number;
}

/** `healthDaily/{checkId}_{yyyy-mm-dd}` (UTC day): uptime history beyond the summary's 30 days. */
export interface HealthDailyDoc extends UptimeCounts {
  checkId: string;
  date: string;
  p50Ms: number | null;
  p95Ms: number | null;
}

/**
 * `healthSummary/current`: what the `status` endpoint serves, kept by healthRollup (every 10 minutes) so a status
 * request costs one read: per check, 10-minute buckets for 6 h, hourly for 24 h, daily for 30 days. Buckets are
 * maps from their UTC start (`2026-11-29T00:10Z`) to [total, good, maintenance]: Firestore refuses arrays inside
 * arrays, so a list of [startMs, ...] tuples cannot be stored. Defined in health/domain/summary.ts, which folds it.
 */
export type HealthSummaryDoc = HealthSummary;
export type { SummaryBucket, SummaryBuckets, SummaryCheck } from './domain/summary';

/** The cycle document of a region and minute; with `span` (a shard of several), one per shard. */
export function cycleDocId(region: string, minuteMs: number, span?: string): string {
  return `${region}_${new Date(minuteMs).toISOString().slice(0, 16)}Z${span ? `_${span}` : ''}`;
}
