// The backup loop: start an export (scheduledExport), track it to a verdict (backupMonitor), prune by retention,
// and prove the newest verified export restorable (restoreDrill). Decisions are the pure functions of
// backups/domain/backup.ts and backups/domain/retention.ts; this file gathers facts, writes state and audits.
//
// Every state change of a backup or drill is one transaction that checks the state it moves from, appends the
// audit entry and, for failures, queues the alert in the same commit (runOnce outbox): a crash anywhere leaves a
// state the next run continues from, and never a second alert.
import type { DocumentData, Firestore } from 'firebase-admin/firestore';
import type { BackupSettings } from './schema';
import type { Actor } from '../platform/domain/audit-chain';
import {
  backupId,
  drillDue,
  exportPrefix,
  judgeCounts,
  judgeDrill,
  judgeProgress,
  stableSample,
  type OperationStatus,
  type ProgressMark,
  type SampledDoc,
} from './domain/backup';
import { planRetention, type BackupState, type RetentionBackup } from './domain/retention';
import type { Clock } from '../platform/domain/clock';
import { ValidationError, isValidationError } from '../platform/domain/errors';
import { BACKUP_MONITOR_TOPIC } from '../platform/topics';
import { loadSchemas } from '../platform/load-schemas';
import type { Alert } from '../platform/schema';
import { alertPublish } from '../platform/alerts';
import { openAudit, appendAudit } from '../platform/audit-log';
import {
  clearDatabase,
  collectionsOf,
  countCollections,
  digestsByPath,
  drillDb,
  sampleDocuments,
  sourceDb,
  type DigestedDoc,
} from './data';
import type { ObjectStore } from './storage-client';
import type { ExportApi } from './firestore-admin-client';
import { db, firestoreModule } from '../platform/firestore';
import { runOnce } from '../platform/idempotency';
import { withLease } from '../platform/leases';
import { logger } from '../platform/logger';
import type { Publish } from '../platform/pubsub';
import { runScheduledOnce, type Schedule } from '../platform/scheduled-run';

export const BACKUPS = 'backups';
export const DRILLS = 'drills';
export const BACKUP_SETTINGS = 'settings/backups';
const STREAM = 'backups';
/** A backup stuck in `starting` this long never got its operation (the start crashed and nothing adopted it). */
const STARTING_TIMEOUT_MS = 15 * 60_000;

export interface BackupDeps {
  clock: Clock;
  admin: ExportApi;
  storage: ObjectStore;
  /** No progress for this long: the export (or drill import) is failed as stalled. */
  stallMs: number;
  /** Time zone of retention's weeks and months. */
  timeZone: string;
  /** Scratch database of restore drills. */
  drillDatabase: string;
  /** How long one run waits for a drill's import (or, when kicked, an export) to finish before leaving it. */
  waitMs: number;
  /** Pause between polls while waiting. */
  pollMs: number;
  random?: () => number;
}

export type SettingsRead =
  | { ok: true; settings: BackupSettings }
  | { ok: false; reason: string; field?: string | undefined; missing?: boolean };

/** settings/backups, validated; invalid or missing is a reason, never defaults. */
export async function readBackupSettings(): Promise<SettingsRead> {
  const snap = await db().doc(BACKUP_SETTINGS).get();
  if (!snap.exists) return { ok: false, reason: `${BACKUP_SETTINGS} does not exist`, missing: true };
  const { parseOrThrow, backupSettingsSchema } = await loadSchemas();
  try {
    return { ok: true, settings: parseOrThrow(backupSettingsSchema, snap.data(), BACKUP_SETTINGS) };
  } catch (err) {
    if (err instanceof ValidationError) return { ok: false, reason: err.message, field: err.field };
    throw err;
  }
}

function alert(partial: Omit<Alert, 'atMs' | 'alertId'> & { alertId: string }, clock: Clock): Publish {
  return alertPublish({ ...partial, atMs: clock.nowMs() });
}

// ---------------------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------------------

export type ExportOutcome =
  | { outcome: 'started'; backupId: string; operationName: string }
  | { outcome: 'adopted'; backupId: string; operationName: string }
  | { outcome: 'exists'; backupId: string }
  | { outcome: 'refused' | 'disabled' | 'unconfigured'; reason: string }
  | { outcome: 'duplicate' | 'yielded'; reason: string };

export async function handleScheduledExport(schedule: Schedule, deps: BackupDeps): Promise<ExportOutcome> {
  const run = await runScheduledOnce(
    'scheduledExport',
    schedule,
    { ttlMs: 9 * 60_000, clock: deps.clock },
    async ({ correlationId, actor }) => startExport(schedule, deps, correlationId, actor),
  );
  if (run.kind === 'yielded') return { outcome: 'yielded', reason: `lease held by ${run.heldBy}` };
  if (run.kind === 'duplicate') return { outcome: 'duplicate', reason: 'this schedule time already ran' };
  return run.value;
}

async function startExport(
  schedule: Schedule,
  deps: BackupDeps,
  correlationId: string,
  actor: Actor,
): Promise<ExportOutcome> {
  const log = logger({ function: 'scheduledExport', correlationId });
  const read = await readBackupSettings();
  if (!read.ok) {
    await runOnce('transition', `export-refused:${correlationId}`, async ({ tx }) => {
      const audit = await openAudit(tx, [STREAM], deps.clock);
      audit.append(STREAM, {
        actor,
        action: 'backup.refused',
        target: BACKUP_SETTINGS,
        reason: read.reason,
        correlationId,
        details: { field: read.field ?? null },
      });
      return {
        value: true,
        publishes: [
          alert(
            {
              alertId: `backup-refused:${correlationId}`,
              severity: read.missing ? 'warning' : 'critical',
              kind: 'backup.refused',
              title: 'No Firestore export started: settings/backups is invalid',
              text: `${read.reason}. Fix the document in the Firestore console; the next scheduled run will export.`,
              target: BACKUP_SETTINGS,
              correlationId,
            },
            deps.clock,
          ),
        ],
      };
    });
    log.warn('export refused', { reason: read.reason, field: read.field });
    return { outcome: read.missing ? 'unconfigured' : 'refused', reason: read.reason };
  }
  const settings = read.settings;
  if (!settings.enabled) {
    await appendAudit(
      STREAM,
      {
        actor,
        action: 'backup.skipped',
        target: BACKUP_SETTINGS,
        reason: 'exports disabled in settings/backups',
        correlationId,
      },
      deps.clock,
    );
    return { outcome: 'disabled', reason: 'exports disabled in settings/backups' };
  }

  // One backup per schedule time: its id and folder come from the schedule time, so a retry after a crash finds
  // the backup it started, never a second one.
  const parsed = schedule.scheduleTime ? Date.parse(schedule.scheduleTime) : NaN;
  const startedAtMs = Number.isFinite(parsed) ? parsed : deps.clock.nowMs();
  const id = backupId(startedAtMs);
  const ref = db().collection(BACKUPS).doc(id);
  const existing = await ref.get();
  if (existing.exists && existing.get('state') !== 'starting') return { outcome: 'exists', backupId: id };
  // A retry continues what its first attempt recorded, even if an admin edited the settings in between.
  const prefix =
    (existing.get('outputUriPrefix') as string | undefined) ??
    exportPrefix(settings.bucket, settings.database, startedAtMs);
  const database = (existing.get('database') as string | undefined) ?? settings.database;
  const collectionIds = (existing.get('collectionIds') as string[] | undefined) ?? settings.collectionIds;

  if (!existing.exists) {
    const source = sourceDb(settings.database);
    const collections = await collectionsOf(source, settings.collectionIds);
    const meter = { reads: 0 };
    const sample = await sampleDocuments(source, collections, settings.drill.sampleSize, deps.random, meter);
    const countsAtStart = await countCollections(source, collections, meter);
    const { Timestamp } = firestoreModule();
    await ref.create({
      id,
      state: 'starting',
      database: settings.database,
      bucket: settings.bucket,
      outputUriPrefix: prefix,
      collectionIds: settings.collectionIds,
      countedCollections: collections,
      countsAtStart,
      expectedTotal: Object.values(countsAtStart).reduce((a, b) => a + b, 0),
      sampleAtStart: sample,
      toleranceDocuments: settings.verification.toleranceDocuments,
      verificationReads: meter.reads,
      scheduleTime: schedule.scheduleTime ?? null,
      startedAtMs,
      startedAt: Timestamp.fromMillis(startedAtMs),
      updatedAt: Timestamp.fromMillis(deps.clock.nowMs()),
      progress: { documents: 0, bytes: 0, atMs: deps.clock.nowMs() },
      correlationId,
    });
  }

  // A start that crashed after Firestore accepted the export left an operation writing to our folder: adopt it
  // rather than export twice into one folder.
  let operationName = existing.exists ? await deps.admin.findExport(prefix, database) : undefined;
  const adopted = operationName !== undefined;
  operationName ??= await deps.admin.startExport({ database, outputUriPrefix: prefix, collectionIds });
  const opName = operationName;
  await runOnce('transition', `backup:${id}:running`, async ({ tx }) => {
    const snap = await tx.get(ref);
    const audit = await openAudit(tx, [STREAM], deps.clock);
    if (snap.get('state') !== 'starting') return { value: false };
    const { Timestamp } = firestoreModule();
    tx.update(ref, {
      state: 'running',
      operationName: opName,
      updatedAt: Timestamp.fromMillis(deps.clock.nowMs()),
      progress: { documents: 0, bytes: 0, atMs: deps.clock.nowMs() },
    });
    audit.append(STREAM, {
      actor,
      action: 'backup.started',
      target: `${BACKUPS}/${id}`,
      reason: `${adopted ? 'adopted the running export' : 'export started'} to ${prefix}`,
      correlationId,
      details: {
        operationName: opName,
        expectedTotal: snap.get('expectedTotal') as number,
        countsAtStart: snap.get('countsAtStart') as Record<string, number>,
        sampled: (snap.get('sampleAtStart') as unknown[]).length,
      },
    });
    return {
      value: true,
      publishes: [
        { topic: BACKUP_MONITOR_TOPIC, data: { backupId: id, correlationId }, attributes: { backupId: id } },
      ],
    };
  });
  log.info('export started', { backupId: id, operationName: opName, adopted });
  return { outcome: adopted ? 'adopted' : 'started', backupId: id, operationName: opName };
}

// ---------------------------------------------------------------------------------------------------------
// Monitor and retention
// ---------------------------------------------------------------------------------------------------------

export interface MonitorResult {
  ran: boolean;
  reason?: string;
  transitions: { backupId: string; to: BackupState; why: string }[];
  stillRunning: string[];
  retention?: RetentionResult | undefined;
}

export async function handleBackupMonitor(
  trigger: { correlationId: string; actor: Actor; wait?: boolean },
  deps: BackupDeps,
): Promise<MonitorResult> {
  // The lease is held for one pass at a time, never across the waits between passes, so a kicked monitor that
  // keeps polling a long export does not lock the scheduled monitor out.
  const deadline = Date.now() + (trigger.wait ? deps.waitMs : 0);
  const transitions: MonitorResult['transitions'] = [];
  for (;;) {
    const run = await withLease(
      'backupMonitor',
      { ttlMs: 5 * 60_000, clock: deps.clock, actor: trigger.actor, correlationId: trigger.correlationId },
      async () => {
        const pass = await monitorPass(trigger, deps);
        const retention = pass.transitions.some((t) => t.to === 'verified')
          ? await applyRetention(trigger, deps)
          : undefined;
        return { ...pass, retention };
      },
    );
    if (!run.ran) {
      return {
        ran: transitions.length > 0,
        reason: `lease held by ${run.heldBy}`,
        transitions,
        stillRunning: [],
      };
    }
    transitions.push(...run.value.transitions);
    if (!run.value.stillRunning.length || Date.now() + deps.pollMs > deadline) {
      return {
        ran: true,
        transitions,
        stillRunning: run.value.stillRunning,
        retention: run.value.retention,
      };
    }
    await new Promise((r) => setTimeout(r, deps.pollMs));
  }
}

async function monitorPass(
  trigger: { correlationId: string; actor: Actor },
  deps: BackupDeps,
): Promise<{ transitions: MonitorResult['transitions']; stillRunning: string[] }> {
  const snaps = await db().collection(BACKUPS).where('state', 'in', ['starting', 'running']).get();
  const transitions: MonitorResult['transitions'] = [];
  const stillRunning: string[] = [];
  for (const snap of snaps.docs) {
    const b = snap.data();
    const id = snap.id;
    if (b.state === 'starting') {
      const updated = b.updatedAt as { toMillis(): number } | undefined;
      const age = deps.clock.nowMs() - (updated?.toMillis() ?? (b.startedAtMs as number));
      if (age >= STARTING_TIMEOUT_MS) {
        const why = 'the export never started (the run that began it stopped before Firestore accepted it)';
        if (await fail(id, 'starting', 'never-started', why, trigger, deps)) {
          transitions.push({ backupId: id, to: 'failed', why });
        }
      } else {
        stillRunning.push(id);
      }
      continue;
    }
    let op: OperationStatus;
    try {
      op = await deps.admin.exportStatus(b.operationName as string);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      // The operation is gone (Firestore keeps finished operations for days, not forever) or unreadable:
      // nothing can vouch for this export any more.
      const why = `the export operation can no longer be read: ${err.message}`;
      if (await fail(id, 'running', 'operation-lost', why, trigger, deps)) {
        transitions.push({ backupId: id, to: 'failed', why });
      }
      continue;
    }
    const last = b.progress as ProgressMark;
    const verdict = judgeProgress(op, last, deps.clock.nowMs(), deps.stallMs);
    if (verdict.kind === 'running') {
      if (verdict.progressed) {
        await snap.ref.update({
          progress: { documents: op.progressDocuments, bytes: op.progressBytes, atMs: deps.clock.nowMs() },
        });
      }
      stillRunning.push(id);
      continue;
    }
    if (verdict.kind === 'failed') {
      if (await fail(id, 'running', verdict.reason, verdict.message, trigger, deps, op)) {
        transitions.push({ backupId: id, to: 'failed', why: verdict.message });
      }
      continue;
    }
    const t = await verify(snap.ref.path, b, op, trigger, deps);
    if (t) transitions.push({ backupId: id, ...t });
  }
  return { transitions, stillRunning };
}

async function verify(
  path: string,
  b: DocumentData,
  op: OperationStatus,
  trigger: { correlationId: string; actor: Actor },
  deps: BackupDeps,
): Promise<{ to: BackupState; why: string } | undefined> {
  const source = sourceDb(b.database as string);
  const meter = { reads: (b.verificationReads as number | undefined) ?? 0 };
  const countsAtEnd = await countCollections(source, b.countedCollections as string[], meter);
  const counts = judgeCounts(
    op.progressDocuments,
    b.countsAtStart as Record<string, number>,
    countsAtEnd,
    (b.toleranceDocuments as number | undefined) ?? 0,
  );
  const id = b.id as string;
  if (counts.kind === 'shortfall') {
    const ok = await fail(id, 'running', 'shortfall', counts.message, trigger, deps, op, {
      countsAtEnd,
      exportedDocuments: counts.exported,
      floor: counts.floor,
    });
    return ok ? { to: 'failed', why: counts.message } : undefined;
  }
  const atStart = b.sampleAtStart as DigestedDoc[];
  const now = await digestsByPath(
    source,
    atStart.map((d) => d.path),
    meter,
  );
  const stable = stableSample(atStart, new Map([...now].map(([p, d]) => [p, d?.updateTimeMs])));
  const why = `${counts.exported} documents exported, at least ${counts.floor} expected; ${stable.sample.length} sampled document(s) kept for drills`;
  const moved = await runOnce('transition', `backup:${id}:verified`, async ({ tx }) => {
    const ref = db().doc(path);
    const snap = await tx.get(ref);
    const audit = await openAudit(tx, [STREAM], deps.clock);
    if (snap.get('state') !== 'running') return { value: false };
    const { Timestamp, FieldValue } = firestoreModule();
    tx.update(ref, {
      state: 'verified',
      countsAtEnd,
      exportedDocuments: counts.exported,
      exportedBytes: op.progressBytes,
      floor: counts.floor,
      sample: stable.sample,
      sampleDropped: stable.dropped,
      verificationReads: meter.reads,
      sampleAtStart: FieldValue.delete(),
      operation: { startTimeMs: op.startTimeMs ?? null, endTimeMs: op.endTimeMs ?? null },
      progress: { documents: op.progressDocuments, bytes: op.progressBytes, atMs: deps.clock.nowMs() },
      verifiedAt: Timestamp.fromMillis(deps.clock.nowMs()),
      updatedAt: Timestamp.fromMillis(deps.clock.nowMs()),
    });
    audit.append(STREAM, {
      actor: trigger.actor,
      action: 'backup.verified',
      target: `${BACKUPS}/${id}`,
      reason: why,
      correlationId: trigger.correlationId,
      details: {
        exported: counts.exported,
        floor: counts.floor,
        verificationReads: meter.reads,
        bytes: op.progressBytes,
        countsAtEnd,
        sampleDropped: stable.dropped,
      },
    });
    return { value: true };
  });
  return !moved.duplicate && moved.value ? { to: 'verified', why } : undefined;
}

async function fail(
  id: string,
  from: 'starting' | 'running',
  reason: string,
  message: string,
  trigger: { correlationId: string; actor: Actor },
  deps: BackupDeps,
  op?: OperationStatus,
  extra: Record<string, unknown> = {},
): Promise<boolean> {
  const ref = db().collection(BACKUPS).doc(id);
  const moved = await runOnce('transition', `backup:${id}:failed`, async ({ tx }) => {
    const snap = await tx.get(ref);
    const audit = await openAudit(tx, [STREAM], deps.clock);
    if (snap.get('state') !== from) return { value: false };
    const { Timestamp } = firestoreModule();
    tx.update(ref, {
      state: 'failed',
      failure: { reason, message },
      ...(op
        ? { progress: { documents: op.progressDocuments, bytes: op.progressBytes, atMs: deps.clock.nowMs() } }
        : {}),
      ...extra,
      updatedAt: Timestamp.fromMillis(deps.clock.nowMs()),
    });
    audit.append(STREAM, {
      actor: trigger.actor,
      action: 'backup.failed',
      target: `${BACKUPS}/${id}`,
      reason: message,
      correlationId: trigger.correlationId,
      details: { reason, ...(op ? { documents: op.progressDocuments, bytes: op.progressBytes } : {}) },
    });
    return {
      value: true,
      publishes: [
        alert(
          {
            alertId: `backup-failed:${id}`,
            severity: 'critical',
            kind: 'backup.failed',
            title: `Firestore export ${id} failed (${reason})`,
            text: `${message}. Output: ${snap.get('outputUriPrefix') as string}. The previous verified export is kept.`,
            target: `${BACKUPS}/${id}`,
            correlationId: trigger.correlationId,
          },
          deps.clock,
        ),
      ],
    };
  });
  return !moved.duplicate && moved.value;
}

export interface RetentionResult {
  blocked?: string | undefined;
  kept: number;
  deleted: { backupId: string; objects: number }[];
}

/** Applies the GFS plan: deletes the planned exports' objects, then marks each backup deleted (audited). */
export async function applyRetention(
  trigger: { correlationId: string; actor: Actor },
  deps: BackupDeps,
): Promise<RetentionResult | undefined> {
  const read = await readBackupSettings();
  if (!read.ok) return undefined; // nothing is deleted on settings nobody can vouch for
  const { settings } = read;
  const snaps = await db()
    .collection(BACKUPS)
    .where('state', 'in', ['starting', 'running', 'verified', 'failed'])
    .get();
  const backups: RetentionBackup[] = snaps.docs.map((s) => ({
    id: s.id,
    state: (s.get('state') === 'starting' ? 'running' : s.get('state')) as BackupState,
    startedAt: s.get('startedAtMs') as number,
    outputUriPrefix: s.get('outputUriPrefix') as string,
  }));
  const plan = planRetention(
    backups,
    { ...settings.retention, timeZone: deps.timeZone },
    { bucket: settings.bucket, database: settings.database },
  );
  const deleted: RetentionResult['deleted'] = [];
  for (const d of plan.delete) {
    const objects = await deps.storage.deleteExport(d.outputUriPrefix);
    const ref = db().collection(BACKUPS).doc(d.id);
    await db().runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      const audit = await openAudit(tx, [STREAM], deps.clock);
      if (snap.get('state') === 'deleted') return;
      const { Timestamp } = firestoreModule();
      tx.update(ref, {
        state: 'deleted',
        stateBeforeDeletion: snap.get('state') as string,
        deletedObjects: objects,
        deletedAt: Timestamp.fromMillis(deps.clock.nowMs()),
        updatedAt: Timestamp.fromMillis(deps.clock.nowMs()),
      });
      audit.append(STREAM, {
        actor: trigger.actor,
        action: 'backup.deleted',
        target: `${BACKUPS}/${d.id}`,
        reason: `retention: ${d.why}`,
        correlationId: trigger.correlationId,
        details: { objects, outputUriPrefix: d.outputUriPrefix, retention: settings.retention },
      });
    });
    deleted.push({ backupId: d.id, objects });
  }
  await appendAudit(
    STREAM,
    {
      actor: trigger.actor,
      action: plan.blocked ? 'retention.blocked' : 'retention.applied',
      target: BACKUPS,
      reason: plan.blocked ?? `${plan.keep.length} kept, ${deleted.length} deleted`,
      correlationId: trigger.correlationId,
      details: {
        kept: plan.keep.map((k) => `${k.id}:${k.reasons.join('+')}`),
        deleted: deleted.map((d) => d.backupId),
      },
    },
    deps.clock,
  );
  return { ...(plan.blocked ? { blocked: plan.blocked } : {}), kept: plan.keep.length, deleted };
}

// ---------------------------------------------------------------------------------------------------------
// Restore drill
// ---------------------------------------------------------------------------------------------------------

export type DrillState = 'importing' | 'passed' | 'failed';

export interface DrillResult {
  outcome: 'not-due' | 'started' | 'waiting' | 'passed' | 'failed' | 'refused' | 'duplicate' | 'yielded';
  drillId?: string;
  why: string;
}

export async function handleRestoreDrill(schedule: Schedule, deps: BackupDeps): Promise<DrillResult> {
  const run = await runScheduledOnce(
    'restoreDrill',
    schedule,
    { ttlMs: 9 * 60_000 + deps.waitMs, clock: deps.clock },
    async ({ correlationId, actor }) => drill({ correlationId, actor }, deps),
  );
  if (run.kind === 'yielded') return { outcome: 'yielded', why: `lease held by ${run.heldBy}` };
  if (run.kind === 'duplicate') return { outcome: 'duplicate', why: 'this schedule time already ran' };
  return run.value;
}

async function drill(
  trigger: { correlationId: string; actor: Actor },
  deps: BackupDeps,
): Promise<DrillResult> {
  const drills = db().collection(DRILLS);
  const active = await drills.where('state', '==', 'importing').limit(1).get();
  let drillRef = active.docs[0]?.ref;
  if (!drillRef) {
    const read = await readBackupSettings();
    if (!read.ok) return { outcome: 'refused', why: read.reason };
    const newest = await db()
      .collection(BACKUPS)
      .where('state', '==', 'verified')
      .orderBy('startedAtMs', 'desc')
      .limit(1)
      .get();
    const last = await drills.orderBy('startedAtMs', 'desc').limit(1).get();
    const lastDoc = last.docs[0];
    const newestDoc = newest.docs[0];
    const due = drillDue(
      read.settings.drill,
      lastDoc
        ? {
            startedAtMs: lastDoc.get('startedAtMs') as number,
            backupId: lastDoc.get('backupId') as string,
            passed: lastDoc.get('state') === 'passed',
          }
        : undefined,
      newestDoc ? { id: newestDoc.id } : undefined,
      deps.clock.nowMs(),
    );
    if (!due.due || !newestDoc) return { outcome: 'not-due', why: due.why };
    const nowMs = deps.clock.nowMs();
    const id = `${newestDoc.id}-${backupId(nowMs)}`;
    drillRef = drills.doc(id);
    const { Timestamp } = firestoreModule();
    const ref = drillRef;
    await db().runTransaction(async (tx) => {
      const audit = await openAudit(tx, [STREAM], deps.clock);
      tx.create(ref, {
        id,
        state: 'importing',
        backupId: newestDoc.id,
        inputUriPrefix: newestDoc.get('outputUriPrefix') as string,
        database: deps.drillDatabase,
        startedAtMs: nowMs,
        startedAt: Timestamp.fromMillis(nowMs),
        updatedAt: Timestamp.fromMillis(nowMs),
        progress: { documents: 0, bytes: 0, atMs: nowMs },
        correlationId: trigger.correlationId,
      });
      audit.append(STREAM, {
        actor: trigger.actor,
        action: 'drill.started',
        target: `${DRILLS}/${id}`,
        reason: `restore drill of ${BACKUPS}/${newestDoc.id} into database ${deps.drillDatabase}: ${due.why}`,
        correlationId: trigger.correlationId,
      });
    });
  }
  return continueDrill(drillRef.id, trigger, deps);
}

async function continueDrill(
  id: string,
  trigger: { correlationId: string; actor: Actor },
  deps: BackupDeps,
): Promise<DrillResult> {
  const ref = db().collection(DRILLS).doc(id);
  const d = (await ref.get()).data()!;
  const backup = (
    await db()
      .collection(BACKUPS)
      .doc(d.backupId as string)
      .get()
  ).data();
  if (!backup) return finishDrill(id, false, 'the backup drilled no longer exists', {}, trigger, deps);
  const target = drillDb(d.database as string);
  let operationName = d.operationName as string | undefined;
  if (!operationName) {
    // Importing over leftovers would inflate the counts: the scratch database starts empty. A crash between here
    // and recording the operation restarts the import, which is harmless (an import overwrites by id).
    const clearStart = Date.now();
    await clearDatabase(target);
    const clearBeforeMs = Date.now() - clearStart;
    try {
      operationName = await deps.admin.startImport({
        database: d.database as string,
        inputUriPrefix: d.inputUriPrefix as string,
        collectionIds: (backup.collectionIds as string[] | undefined) ?? [],
      });
    } catch (err) {
      // Permanent (the export files are gone, retention deleted them mid-drill, a bad prefix): the drill fails
      // with the reason so the next run drills the newest verified export. Transient ones propagate: the next
      // run retries this drill.
      if (!isValidationError(err)) throw err;
      return finishDrill(id, false, `import could not start: ${err.message}`, {}, trigger, deps, target);
    }
    await ref.update({ operationName, 'timings.clearBeforeMs': clearBeforeMs });
  }
  const deadline = Date.now() + deps.waitMs;
  let importMs: number | null = null;
  for (;;) {
    const op = await deps.admin.importStatus(operationName);
    if (op.done && op.startTimeMs !== undefined && op.endTimeMs !== undefined) {
      importMs = op.endTimeMs - op.startTimeMs;
    }
    const verdict = judgeProgress(op, d.progress as ProgressMark, deps.clock.nowMs(), deps.stallMs);
    if (verdict.kind === 'failed') {
      return finishDrill(
        id,
        false,
        `import ${verdict.reason}: ${verdict.message}`,
        {},
        trigger,
        deps,
        target,
      );
    }
    if (verdict.kind === 'finished') break;
    if (verdict.progressed) {
      const progress: ProgressMark = {
        documents: op.progressDocuments,
        bytes: op.progressBytes,
        atMs: deps.clock.nowMs(),
      };
      d.progress = progress;
      await ref.update({ progress });
    }
    if (Date.now() + deps.pollMs > deadline)
      return { outcome: 'waiting', drillId: id, why: 'import still running' };
    await new Promise((r) => setTimeout(r, deps.pollMs));
  }
  const compareStart = Date.now();
  const collections = backup.countedCollections as string[];
  const restoredCounts = await countCollections(target, collections);
  const sample = (backup.sample as SampledDoc[] | undefined) ?? [];
  const restored = await digestsByPath(
    target,
    sample.map((s) => s.path),
  );
  const verdict = judgeDrill(
    {
      countsAtStart: backup.countsAtStart as Record<string, number>,
      countsAtEnd: (backup.countsAtEnd as Record<string, number> | undefined) ?? {},
      toleranceDocuments: (backup.toleranceDocuments as number | undefined) ?? 0,
      sample,
    },
    restoredCounts,
    new Map([...restored].map(([p, doc]) => [p, doc?.digest])),
  );
  return finishDrill(
    id,
    verdict.ok,
    verdict.summary,
    {
      restoredCounts,
      mismatches: verdict.mismatches.slice(0, 20),
      sampled: sample.length,
      'timings.importMs': importMs,
      'timings.compareMs': Date.now() - compareStart,
    },
    trigger,
    deps,
    target,
  );
}

async function finishDrill(
  id: string,
  ok: boolean,
  why: string,
  result: Record<string, unknown>,
  trigger: { correlationId: string; actor: Actor },
  deps: BackupDeps,
  target?: Firestore,
): Promise<DrillResult> {
  const ref = db().collection(DRILLS).doc(id);
  const state: DrillState = ok ? 'passed' : 'failed';
  await runOnce('transition', `drill:${id}:${state}`, async ({ tx }) => {
    const snap = await tx.get(ref);
    const audit = await openAudit(tx, [STREAM], deps.clock);
    if (snap.get('state') !== 'importing') return { value: false };
    const { Timestamp } = firestoreModule();
    tx.update(ref, {
      state,
      verdict: why,
      ...result,
      finishedAt: Timestamp.fromMillis(deps.clock.nowMs()),
      updatedAt: Timestamp.fromMillis(deps.clock.nowMs()),
    });
    audit.append(STREAM, {
      actor: trigger.actor,
      action: ok ? 'drill.passed' : 'drill.failed',
      target: `${DRILLS}/${id}`,
      reason: why,
      correlationId: trigger.correlationId,
      details: {
        backupId: snap.get('backupId') as string,
        ...('restoredCounts' in result
          ? { restoredCounts: result.restoredCounts as Record<string, number> }
          : {}),
      },
    });
    return {
      value: true,
      publishes: ok
        ? []
        : [
            alert(
              {
                alertId: `drill-failed:${id}`,
                severity: 'critical',
                kind: 'drill.failed',
                title: `Restore drill ${id} failed: the backup did not restore as exported`,
                text: why,
                target: `${DRILLS}/${id}`,
                correlationId: trigger.correlationId,
              },
              deps.clock,
            ),
          ],
    };
  });
  // The scratch copy holds production data: it does not outlive the drill.
  if (target) {
    const clearStart = Date.now();
    await clearDatabase(target);
    await ref.update({ 'timings.clearAfterMs': Date.now() - clearStart });
  }
  return { outcome: state, drillId: id, why };
}
