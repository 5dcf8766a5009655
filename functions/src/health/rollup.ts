// The health rollup: folds the probe cycles written since the last run into the summary (`healthSummary/current`
// and its parts: what the status endpoint serves) and writes `healthDaily/{checkId}_{date}` for each UTC day it
// completes. Decisions in health/domain/summary.ts; this reads and writes.
//
// Cost, per run (every 10 minutes, R regions, S shards, N checks, P summary parts ~ N / 190):
// - reads: summary 1 + P; the catalog through the instance cache (2 + N / 1,000 warm, N cold); the new cycles
//   (10 x R x S; a query that returns nothing is billed 1) and, once a day, the completed day's earlier cycles again
//   (1,440 x R x S) for exact daily percentiles. The first run finds the oldest cycle of the last 30 days (1 read)
//   and folds from its UTC day. The model at 200, 1,000 and 10,000 checks: docs/capabilities/health.md.
// - writes: 1 + P (a new generation of the summary) + P deletes (the previous one) + N once a day (daily rollups).
//
// Window: from the summary's `throughMs` to the current minute less SETTLE_MS, at most MAX_WINDOW_MS (24 h of
// cycles, 1,440 x R documents) per run, so a first run or a long outage catches up a day per run instead of
// reading 30 days at once. SETTLE_MS leaves room for a late cycle: a cycle document is written when its cycle
// ends (up to a minute after its minute starts), and a minute once folded is never read again.
//
// Concurrency: runs under the `healthRollup` lease; the summary's head is written with a precondition on the version
// it was folded from (update with lastUpdateTime, or create), so a run that outlived its lease cannot overwrite a
// newer summary: it reports `superseded`, and the parts it wrote are orphans no head names (removed by their TTL).
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
import { randomBytes } from 'node:crypto';
import { db as defaultDb, firestoreModule } from '../platform/firestore';
import { type HealthDailyDoc, type HealthSummaryDoc } from './docs';
import {
  HEALTH_CATALOG,
  HEALTH_CYCLES,
  HEALTH_DAILY,
  HEALTH_PUBLIC_STATUS,
  HEALTH_SUMMARY,
} from '../platform/collections';
import type { PublicStatusDoc } from './domain/status-page';
import { withLease } from '../platform/leases';
import { FULL_SPAN, instanceCatalog, type CatalogCache } from './catalog-cache';
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
  /** The catalog as this instance sees it (default: the instance's cache, catalog-cache.ts); tests make their own. */
  catalog?: CatalogCache;
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
  /** Of which the catalog's (catalog-cache.ts: 2 plus the count's when warm, every document when cold). */
  catalogReads: number;
  summaryWrites: number;
  dailyWrites: number;
  /** UTC days completed in this window, `yyyy-mm-dd`. */
  days: string[];
}

/**
 * The summary is stored in parts: `healthSummary/current` (the head) holds `updatedAtMs`, `throughMs`, `gen` and
 * `parts`, and `healthSummary/{gen}-0` .. `{gen}-{parts-1}` hold the checks, each part under SUMMARY_PART_BYTES (a
 * check's 90 buckets take ~3-4 KiB, so one document would pass Firestore's 1 MiB near 250 checks). A run writes a
 * new generation of parts first (batches under Firestore's 10 MiB per commit), then the head with its
 * precondition, then deletes the previous generation: a reader following the head always sees one whole run.
 * Parts of a run that lost the race or crashed are orphans, removed by the TTL on `expireAt` (a day; the parts
 * in use are never older than one rollup period).
 */
export const SUMMARY_PART_BYTES = 512 * 1024;
/** Part bytes per commit: under the 10 MiB request limit with room for encoding. */
const SUMMARY_BATCH_BYTES = 6 * 1024 * 1024;

const summaryPartRef = (db: Firestore, gen: string, k: number) =>
  db.collection(HEALTH_SUMMARY.split('/')[0]!).doc(`${gen}-${k}`);

export interface StoredSummary {
  summary: HealthSummaryDoc;
  snap: DocumentSnapshot;
  gen: string;
  parts: number;
  reads: number;
}

/**
 * The summary, its parts merged and validated; undefined when no rollup has run yet. Given the `previous` read, a
 * summary whose head has not moved since is that one again, for the head's one read (the status endpoint's cache).
 */
export async function readSummary(
  db: Firestore = defaultDb(),
  previous?: StoredSummary,
): Promise<StoredSummary | undefined> {
  const snap = await db.doc(HEALTH_SUMMARY).get();
  if (!snap.exists) return undefined;
  if (previous && snap.updateTime && previous.snap.updateTime?.isEqual(snap.updateTime))
    return { ...previous, snap, reads: 1 };
  const parts = Number(snap.get('parts') ?? 0);
  const gen = String(snap.get('gen') ?? '');
  const checks: Record<string, unknown> = { ...((snap.get('checks') as Record<string, unknown>) ?? {}) };
  let reads = 1;
  if (parts > 0) {
    const partSnaps = await db.getAll(...Array.from({ length: parts }, (_, k) => summaryPartRef(db, gen, k)));
    reads += parts;
    for (const p of partSnaps) Object.assign(checks, (p.get('checks') as Record<string, unknown>) ?? {});
  }
  const { healthSummaryDocSchema, parseOrThrow } = await import('./schema.js');
  const summary = parseOrThrow(
    healthSummaryDocSchema,
    { updatedAtMs: snap.get('updatedAtMs') as unknown, throughMs: snap.get('throughMs') as unknown, checks },
    HEALTH_SUMMARY,
  );
  return { summary, snap, gen, parts, reads };
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
    catalogReads: 0,
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

  // The catalog through the instance's cache, as the probe cycles read it: a warm run pays a few reads, not one
  // per check.
  const [stored, catalogRead, publicSnap] = await Promise.all([
    readSummary(db),
    (deps.catalog ?? instanceCatalog()).read(FULL_SPAN, nowMs),
    db.doc(HEALTH_PUBLIC_STATUS).get(),
  ]);
  const catalogReads = catalogRead.reads;
  let documentReads = (stored?.reads ?? 1) + catalogReads + 1;
  const summary = stored?.summary;
  const { healthCatalogPublicSchema, parseOrThrow } = await import('./schema.js');
  const catalog: Record<string, CatalogEntry> = parseOrThrow(
    healthCatalogPublicSchema,
    { checks: Object.fromEntries([...catalogRead.checks].map(([id, { check }]) => [id, check])) },
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
    catalogReads,
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
  // The new generation of parts, in batches under the request size limit; the head (with its precondition) last.
  const parts = summaryParts(next.checks, deps.summaryPartBytes);
  const gen = `${next.throughMs}-${randomBytes(4).toString('hex')}`;
  const { Timestamp } = firestoreModule();
  const expireAt = Timestamp.fromMillis(nowMs + DAY_MS);
  let partBatch = db.batch();
  let partBytes = 0;
  let partWrites = 0;
  batches.push(partBatch);
  parts.forEach((checks, k) => {
    const size = Buffer.byteLength(JSON.stringify(checks));
    if (partWrites > 0 && (partBytes + size > SUMMARY_BATCH_BYTES || partWrites >= BATCH_WRITES)) {
      partBatch = db.batch();
      batches.push(partBatch);
      partBytes = 0;
      partWrites = 0;
    }
    partBatch.set(summaryPartRef(db, gen, k), { checks, expireAt });
    partBytes += size;
    partWrites += 1;
  });
  const last = db.batch();
  batches.push(last);
  const head = {
    updatedAtMs: next.updatedAtMs,
    throughMs: next.throughMs,
    gen,
    parts: parts.length,
    checks: {},
  };
  if (stored) last.update(summaryRef, head, { lastUpdateTime: stored.snap.updateTime! });
  else last.create(summaryRef, head);
  // The public status page's document: 90 days of the checks marked public (domain/status-page.ts), same batch.
  const publics = Object.fromEntries(
    Object.entries(catalog).flatMap(([id, e]) => (e.public ? [[id, e.public] as const] : [])),
  );
  let publicWrites = 0;
  if (Object.keys(publics).length || publicSnap.exists) {
    const { foldPublicDays } = await import('./domain/status-page.js');
    last.set(
      db.doc(HEALTH_PUBLIC_STATUS),
      foldPublicDays(publicSnap.data() as PublicStatusDoc | undefined, next, publics, nowMs),
    );
    publicWrites = 1;
  }
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
  // The previous generation, now unreferenced (the TTL would remove it within a day otherwise).
  if (stored && stored.parts > 0) {
    const cleanup = db.batch();
    for (let k = 0; k < stored.parts; k += 1) cleanup.delete(summaryPartRef(db, stored.gen, k));
    await cleanup.commit();
  }
  const result: HealthRollupResult = {
    outcome: 'folded',
    fromMs,
    throughMs,
    cyclesRead: window.length,
    dayCyclesRead,
    documentReads,
    catalogReads,
    summaryWrites: 1 + parts.length + (stored?.parts ?? 0) + publicWrites,
    dailyWrites: daily.length,
    days,
  };
  log.info('health rollup folded', { ...result, checks: Object.keys(next.checks).length });
  return result;
}
