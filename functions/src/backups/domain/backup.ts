// Decisions about Firestore exports, as pure functions: where an export goes, when a running export has failed or
// stalled, whether a finished one holds enough documents to be called verified, and whether a restore drill
// reproduced what the export promised. The adapters gather the facts (operation metadata, counts, digests); these
// functions judge them, so every rule is tested without a Firestore.

/** `gs://{bucket}/{database}/{yyyy}/{mm}/{dd}/{HHmmss}`, in UTC: unambiguous, and sorts by time. */
export function exportPrefix(bucket: string, database: string, startedAtMs: number): string {
  const d = new Date(startedAtMs);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `gs://${bucket}/${database}/${p(d.getUTCFullYear(), 4)}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`
  );
}

/** The backup id of an export: its start instant in UTC (`20261128T020000Z`), one per schedule time. */
export function backupId(startedAtMs: number): string {
  return new Date(startedAtMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** What a poll of the long-running export operation says. */
export interface OperationStatus {
  done: boolean;
  error?: { code: number; message: string } | undefined;
  progressDocuments: number;
  progressBytes: number;
  startTimeMs?: number | undefined;
  endTimeMs?: number | undefined;
}

/** The last progress fireops saw, and when it first saw it. */
export interface ProgressMark {
  documents: number;
  bytes: number;
  atMs: number;
}

export type ProgressVerdict =
  | { kind: 'running'; progressed: boolean }
  | { kind: 'finished' } // done without error: the counts decide (judgeCounts)
  | { kind: 'failed'; reason: 'error' | 'stalled'; message: string };

/**
 * A running export has stalled when neither its document nor its byte progress moved for `stallMs`. Progress is
 * compared with the last mark fireops recorded, so a monitor that runs every 10 minutes sees a stall after at most
 * `stallMs` + 10 minutes.
 */
export function judgeProgress(
  op: OperationStatus,
  last: ProgressMark,
  nowMs: number,
  stallMs: number,
): ProgressVerdict {
  if (op.done && op.error) {
    return {
      kind: 'failed',
      reason: 'error',
      message: `export failed: ${op.error.message} (code ${op.error.code})`,
    };
  }
  if (op.done) return { kind: 'finished' };
  const progressed = op.progressDocuments !== last.documents || op.progressBytes !== last.bytes;
  if (!progressed && nowMs - last.atMs >= stallMs) {
    const minutes = Math.round((nowMs - last.atMs) / 60_000);
    return {
      kind: 'failed',
      reason: 'stalled',
      message: `export made no progress for ${minutes} min (${op.progressDocuments} documents, ${op.progressBytes} bytes)`,
    };
  }
  return { kind: 'running', progressed };
}

export type CountVerdict =
  | { kind: 'verified'; exported: number; floor: number }
  | { kind: 'shortfall'; exported: number; floor: number; message: string };

/**
 * The tolerance rule. An export is a snapshot taken somewhere between its start and its end, so each collection
 * held, at that instant, at least the smaller of its counts at start and at end, unless documents were deleted and
 * others created in between. The floor is therefore the sum over collections of min(start, end), less
 * `toleranceDocuments` (settings/backups, default 0) for platforms that delete and recreate documents while an
 * export runs. Exporting more than the floor is fine (documents created meanwhile, subcollections).
 */
export function judgeCounts(
  exported: number,
  countsAtStart: Readonly<Record<string, number>>,
  countsAtEnd: Readonly<Record<string, number>>,
  toleranceDocuments: number,
): CountVerdict {
  let floor = 0;
  for (const [collection, start] of Object.entries(countsAtStart)) {
    floor += Math.min(start, countsAtEnd[collection] ?? 0);
  }
  floor = Math.max(0, floor - toleranceDocuments);
  if (exported >= floor) return { kind: 'verified', exported, floor };
  return {
    kind: 'shortfall',
    exported,
    floor,
    message: `export holds ${exported} documents, expected at least ${floor} (${floor - exported} missing)`,
  };
}

/** A sampled document: its path and the SHA-256 of its canonical content, never the content itself. */
export interface SampledDoc {
  path: string;
  digest: string;
}

/**
 * Of the documents sampled when the export started, those whose update time is still the same when the export is
 * verified were unchanged through the whole export window, so the export holds exactly that content: they are
 * the drill's expectations. Documents changed or deleted meanwhile are dropped from the sample (counted).
 */
export function stableSample(
  atStart: readonly (SampledDoc & { updateTimeMs: number })[],
  atVerify: ReadonlyMap<string, number | undefined>,
): { sample: SampledDoc[]; dropped: number } {
  const sample: SampledDoc[] = [];
  for (const doc of atStart) {
    if (atVerify.get(doc.path) === doc.updateTimeMs) sample.push({ path: doc.path, digest: doc.digest });
  }
  return { sample, dropped: atStart.length - sample.length };
}

export interface DrillExpectations {
  countsAtStart: Readonly<Record<string, number>>;
  countsAtEnd: Readonly<Record<string, number>>;
  toleranceDocuments: number;
  sample: readonly SampledDoc[];
}

export interface DrillMismatch {
  kind: 'count' | 'missing' | 'digest';
  target: string; // collection id or document path
  expected: string;
  actual: string;
}

export interface DrillVerdict {
  ok: boolean;
  mismatches: DrillMismatch[];
  summary: string;
}

/**
 * A drill passes when each restored collection's count lies between its counts at the export's start and end
 * (widened by the tolerance), and every sampled document came back with the same digest.
 */
export function judgeDrill(
  expected: DrillExpectations,
  restoredCounts: Readonly<Record<string, number>>,
  restoredDigests: ReadonlyMap<string, string | undefined>,
): DrillVerdict {
  const mismatches: DrillMismatch[] = [];
  for (const [collection, start] of Object.entries(expected.countsAtStart)) {
    const end = expected.countsAtEnd[collection] ?? start;
    const low = Math.max(0, Math.min(start, end) - expected.toleranceDocuments);
    const high = Math.max(start, end) + expected.toleranceDocuments;
    const actual = restoredCounts[collection] ?? 0;
    if (actual < low || actual > high) {
      mismatches.push({
        kind: 'count',
        target: collection,
        expected: low === high ? String(low) : `${low}..${high}`,
        actual: String(actual),
      });
    }
  }
  for (const doc of expected.sample) {
    const actual = restoredDigests.get(doc.path);
    if (actual === undefined) {
      mismatches.push({ kind: 'missing', target: doc.path, expected: doc.digest, actual: 'absent' });
    } else if (actual !== doc.digest) {
      mismatches.push({ kind: 'digest', target: doc.path, expected: doc.digest, actual });
    }
  }
  const collections = Object.keys(expected.countsAtStart).length;
  const summary = mismatches.length
    ? `${mismatches.length} mismatch(es): ${mismatches
        .slice(0, 5)
        .map((m) => `${m.kind} ${m.target} expected ${m.expected} got ${m.actual}`)
        .join('; ')}`
    : `${collections} collection count(s) and ${expected.sample.length} sampled document(s) match`;
  return { ok: mismatches.length === 0, mismatches, summary };
}

/**
 * Whether a drill is due: drills enabled, a verified backup, `everyDays` since the last drill, and a backup not
 * already proven by a passed drill (a failed drill's backup is tried again: the failure may have been the drill's).
 */
export function drillDue(
  drill: { enabled: boolean; everyDays: number; requestedAtMs?: number | undefined },
  lastDrill: { startedAtMs: number; backupId: string; passed: boolean } | undefined,
  newestVerified: { id: string } | undefined,
  nowMs: number,
): { due: boolean; why: string } {
  if (!drill.enabled) return { due: false, why: 'drills disabled in settings/backups' };
  if (!newestVerified) return { due: false, why: 'no verified backup to restore' };
  if (!lastDrill) return { due: true, why: 'no drill on record' };
  // An admin's request is met by the first drill started after it.
  if (drill.requestedAtMs !== undefined && drill.requestedAtMs > lastDrill.startedAtMs)
    return { due: true, why: `requested at ${new Date(drill.requestedAtMs).toISOString()}` };
  const ageDays = (nowMs - lastDrill.startedAtMs) / 86_400_000;
  if (ageDays < drill.everyDays) {
    return { due: false, why: `last drill ${ageDays.toFixed(1)} day(s) ago, every ${drill.everyDays}` };
  }
  if (lastDrill.backupId === newestVerified.id && lastDrill.passed) {
    return {
      due: false,
      why: `backup ${newestVerified.id} already drilled; waiting for a newer verified one`,
    };
  }
  return { due: true, why: `last drill ${ageDays.toFixed(1)} day(s) ago, every ${drill.everyDays}` };
}
