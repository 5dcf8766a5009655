// The health rollup: folds the probe cycles written since the last run into `healthSummary/current` (what the
// status endpoint serves in one read) and writes `healthDaily/{checkId}_{date}` for each UTC day it completes.
// Decisions in health/domain/summary.ts; this reads and writes.
//
// Cost, per run (every 10 minutes, R regions, N checks):
// - reads: summary 1 + catalog 1 + the new cycles (10 x R; a query that returns nothing is billed 1) and, once a
//   day, the completed day's earlier cycles again (1,440 x R) for exact daily percentiles. 2 regions: ~5,800
//   reads a day. The first run finds the oldest cycle of the last 30 days (1 read) and folds from its UTC day.
// - writes: 1 (the summary) + N once a day (the daily rollups).
//
// Window: from the summary's `throughMs` to the current minute less SETTLE_MS, at most MAX_WINDOW_MS (24 h of
// cycles, 1,440 x R documents) per run, so a first run or a long outage catches up a day per run instead of
// reading 30 days at once. SETTLE_MS leaves room for a late cycle: a cycle document is written when its cycle
// ends (up to a minute after its minute starts), and a minute once folded is never read again.
//
// Concurrency: runs under the `healthRollup` lease; the summary is written with a precondition on the version it
// was folded from (update with lastUpdateTime, or create), so a run that outlived its lease cannot overwrite a
// newer summary: it reports `superseded` and writes nothing.
import type { DocumentSnapshot, Firestore, WriteBatch } from 'firebase-admin/firestore';
import {
  DAY_MS,
  MINUTE_MS,
  dailyRollups,
  foldCycles,
  utcDate,
  type CatalogEntry,
  type CycleInput,
  type HealthSummary,
} from './domain/summary';
import { db as defaultDb } from '../platform/firestore';
import { type HealthDailyDoc, type HealthSummaryDoc } from './docs';
import { HEALTH_CATALOG, HEALTH_CYCLES, HEALTH_DAILY, HEALTH_SUMMARY } from '../platform/collections';
import { withLease } from '../platform/leases';
import { logger } from '../platform/logger';

export const HEALTH_ROLLUP_LEASE = 'healthRollup';
export const SETTLE_MS = 2 * MINUTE_MS;
export const MAX_WINDOW_MS = DAY_MS;
/** Days kept in the summary, today included: a first run starts this many days back (UTC midnight). */
export const SUMMARY_DAYS = 30;
const LEASE_TTL_MS = 9 * MINUTE_MS;
/** Firestore batches hold at most 500 writes. */
const BATCH_WRITES = 500;

export interface HealthRollupDeps {
  db?: () => Firestore;
  settleMs?: number;
  maxWindowMs?: number;
  /** Tests: a smaller part size, to see a summary of a few checks cut into parts. */
  summaryPartBytes?: number;
}

export interface HealthRollupResult {
  outcome: 'folded' | 'nothing-new' | 'yielded' | 'superseded';
  /** Window folded: [fromMs, throughMs). */
  fromMs: number;
  throughMs: number;
  /** Cycle documents of the window. */
  cyclesRead: number;
  /** Earlier cycle documents of a completed day, re-read for its daily rollup. */
  dayCyclesRead: number;
  /** Billed document reads (a query returning nothing counts 1), lease transactions excluded. */
  documentReads: number;
  summaryWrites: number;
  dailyWrites: number;
  /** UTC days completed in this window, `yyyy-mm-dd`. */
  days: string[];
}

/**
 * The summary is stored in parts: `healthSummary/current` holds `updatedAtMs`, `throughMs` and `parts`, and
 * `healthSummary/part-0` .. `part-{parts-1}` hold the checks, each part under SUMMARY_PART_BYTES (a check's 90
 * buckets take ~4 KiB, so one document would pass Firestore's 1 MiB near 250 checks). All of them are written in
 * one batch, so a reader never mixes two runs (a batch commits atomically).
 */
export const SUMMARY_PART_BYTES = 512 * 1024;

const summaryPartRef = (db: Firestore, k: number) =>
  db.collection(HEALTH_SUMMARY.split('/')[0]!).doc(`part-${k}`);

/** The summary, its parts merged and validated; undefined when no rollup has run yet. */
export async function readSummary(
  db: Firestore = defaultDb(),
): Promise<{ summary: HealthSummaryDoc; snap: DocumentSnapshot; parts: number; reads: number } | undefined> {
  const snap = await db.doc(HEALTH_SUMMARY).get();
  if (!snap.exists) return undefined;
  const parts = Number(snap.get('parts') ?? 0);
  const checks: Record<string, unknown> = { ...((snap.get('checks') as Record<string, unknown>) ?? {}) };
  let reads = 1;
  if (parts > 0) {
    const partSnaps = await db.getAll(...Array.from({ length: parts }, (_, k) => summaryPartRef(db, k)));
    reads += parts;
    for (const p of partSnaps) Object.assign(checks, (p.get('checks') as Record<string, unknown>) ?? {});
  }
  const { healthSummaryDocSchema, parseOrThrow } = await import('./schema.js');
  const summary = parseOrThrow(
    healthSummaryDocSchema,
    { updatedAtMs: snap.get('updatedAtMs'), throughMs: snap.get('throughMs'), checks },
    HEALTH_SUMMARY,
  );
  return { summary, snap, parts, reads };
}

/** Splits the checks (in id order) into parts under SUMMARY_PART_BYTES each (JSON size, close to Firestore's). */
export function summaryParts(
  checks: HealthSummary['checks'],
  maxBytes = SUMMARY_PART_BYTES,
): HealthSummary['checks'][] {
  const parts: HealthSummary['checks'][] = [];
  let current: HealthSummary['checks'] = {};
  let bytes = 0;
  for (const id of Object.keys(checks).sort()) {
    const size = Buffer.byteLength(id) + Buffer.byteLength(JSON.stringify(checks[id]));
    if (bytes > 0 && bytes + size > maxBytes) {
      parts.push(current);
      current = {};
      bytes = 0;
    }
    current[id] = checks[id]!;
    bytes += size;
  }
  if (bytes > 0 || parts.length === 0) parts.push(current);
  return parts;
}

const floorTo = (ms: number, sizeMs: number) => Math.floor(ms / sizeMs) * sizeMs;

function toCycle(snap: DocumentSnapshot): CycleInput {
  const d = snap.data() ?? {};
  return {
    region: String(d.region),
    minuteMs: Number(d.minuteMs),
    r: (d.r ?? {}) as CycleInput['r'],
  };
}

/** Folds the cycles written since the last run; see the top of this file. */
export async function runHealthRollup(
  { nowMs, correlationId }: { nowMs: number; correlationId: string },
  deps: HealthRollupDeps = {},
): Promise<HealthRollupResult> {
  const run = await withLease(
    HEALTH_ROLLUP_LEASE,
    { ttlMs: LEASE_TTL_MS, actor: { type: 'scheduler', id: 'healthRollup' }, correlationId },
    () => rollup(nowMs, correlationId, deps),
  );
  if (run.ran) return run.value;
  return {
    outcome: 'yielded',
    fromMs: 0,
    throughMs: 0,
    cyclesRead: 0,
    dayCyclesRead: 0,
    documentReads: 0,
    summaryWrites: 0,
    dailyWrites: 0,
    days: [],
  };
}

async function rollup(
  nowMs: number,
  correlationId: string,
  deps: HealthRollupDeps,
): Promise<HealthRollupResult> {
  const db = (deps.db ?? defaultDb)();
  const log = logger({ function: 'healthRollup', correlationId });
  const settleMs = deps.settleMs ?? SETTLE_MS;
  const maxWindowMs = deps.maxWindowMs ?? MAX_WINDOW_MS;
  const cycles = db.collection(HEALTH_CYCLES);
  const summaryRef = db.doc(HEALTH_SUMMARY);

  // The catalog's live definitions, public fields only (select): one read per check and run.
  const [stored, catalogSnap] = await Promise.all([
    readSummary(db),
    db
      .collection(HEALTH_CATALOG)
      .where('live', '==', true)
      .select('check.name', 'check.tags', 'check.sloTarget')
      .get(),
  ]);
  let documentReads = (stored?.reads ?? 1) + Math.max(1, catalogSnap.size);
  const summary = stored?.summary;
  const { healthCatalogPublicSchema, parseOrThrow } = await import('./schema.js');
  const catalog: Record<string, CatalogEntry> = parseOrThrow(
    healthCatalogPublicSchema,
    {
      checks: Object.fromEntries(
        catalogSnap.docs.filter((d) => d.get('check')).map((d) => [d.id, d.get('check') as unknown]),
      ),
    },
    HEALTH_CATALOG,
  ).checks;

  const latestMs = floorTo(nowMs, MINUTE_MS) - settleMs;
  const oldestMs = floorTo(latestMs, DAY_MS) - (SUMMARY_DAYS - 1) * DAY_MS;
  let fromMs: number;
  if (summary) {
    fromMs = Math.max(summary.throughMs, oldestMs);
  } else {
    // First run: start at the UTC day of the oldest cycle kept (so no day is folded in part), or now if none.
    const first = await cycles.where('minuteMs', '>=', oldestMs).orderBy('minuteMs').limit(1).get();
    documentReads += 1;
    const firstMs = first.docs[0] ? Number(first.docs[0].get('minuteMs')) : undefined;
    fromMs = firstMs === undefined ? latestMs : Math.min(floorTo(firstMs, DAY_MS), latestMs);
  }
  const throughMs = Math.max(fromMs, Math.min(latestMs, fromMs + maxWindowMs));
  const base = {
    fromMs,
    throughMs,
    dayCyclesRead: 0,
    summaryWrites: 0,
    dailyWrites: 0,
    days: [] as string[],
  };
  if (summary && throughMs <= summary.throughMs) {
    return { ...base, outcome: 'nothing-new', cyclesRead: 0, documentReads };
  }

  let window: CycleInput[] = [];
  if (throughMs > fromMs) {
    const snap = await cycles
      .where('minuteMs', '>=', fromMs)
      .where('minuteMs', '<', throughMs)
      .select('region', 'minuteMs', 'r')
      .get();
    documentReads += Math.max(1, snap.size);
    window = snap.docs.map(toCycle);
  }
  const next = foldCycles(summary, window, catalog, throughMs, nowMs);

  // Days whose end this window reached: [dayStart, dayStart + 1 d) with fromMs < dayEnd <= throughMs.
  const daily: HealthDailyDoc[] = [];
  const days: string[] = [];
  let dayCyclesRead = 0;
  for (let dayEnd = floorTo(fromMs, DAY_MS) + DAY_MS; dayEnd <= throughMs; dayEnd += DAY_MS) {
    const dayStart = dayEnd - DAY_MS;
    let dayCycles = window;
    if (dayStart < fromMs) {
      const earlier = await cycles
        .where('minuteMs', '>=', dayStart)
        .where('minuteMs', '<', fromMs)
        .select('region', 'minuteMs', 'r')
        .get();
      documentReads += Math.max(1, earlier.size);
      dayCyclesRead += earlier.size;
      dayCycles = [...earlier.docs.map(toCycle), ...window];
    }
    days.push(utcDate(dayStart));
    daily.push(...dailyRollups(dayCycles, Object.keys(catalog), dayStart));
  }

  // Daily rollups first, the summary in the last batch: a run that fails half-way has not advanced throughMs, and
  // the next one writes the same daily documents again.
  const batches: WriteBatch[] = [db.batch()];
  let inBatch = 0;
  for (const doc of daily) {
    if (inBatch === BATCH_WRITES - 1) {
      batches.push(db.batch());
      inBatch = 0;
    }
    batches.at(-1)!.set(db.collection(HEALTH_DAILY).doc(`${doc.checkId}_${doc.date}`), doc);
    inBatch += 1;
  }
  // The summary and all its parts in one batch of their own (atomic), the head with a precondition.
  const parts = summaryParts(next.checks, deps.summaryPartBytes);
  if (parts.length + 1 > BATCH_WRITES) throw new Error(`health summary needs ${parts.length} parts: over a batch`);
  const last = db.batch();
  batches.push(last);
  const head = { updatedAtMs: next.updatedAtMs, throughMs: next.throughMs, parts: parts.length, checks: {} };
  if (stored) last.update(summaryRef, head, { lastUpdateTime: stored.snap.updateTime! });
  else last.create(summaryRef, head);
  parts.forEach((checks, k) => last.set(summaryPartRef(db, k), { checks }));
  for (let k = parts.length; k < (stored?.parts ?? 0); k += 1) last.delete(summaryPartRef(db, k));
  try {
    for (const batch of batches) await batch.commit();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    // 9 FAILED_PRECONDITION (summary changed since read), 6 ALREADY_EXISTS (created since read).
    if (code === 9 || code === 6) {
      log.warn('summary changed while folding: another run got there first, nothing written by this one', {
        fromMs,
        throughMs,
      });
      return { ...base, outcome: 'superseded', cyclesRead: window.length, dayCyclesRead, documentReads };
    }
    throw err;
  }
  const result: HealthRollupResult = {
    outcome: 'folded',
    fromMs,
    throughMs,
    cyclesRead: window.length,
    dayCyclesRead,
    documentReads,
    summaryWrites: 1 + parts.length,
    dailyWrites: daily.length,
    days,
  };
  log.info('health rollup folded', { ...result, checks: Object.keys(next.checks).length });
  return result;
}
