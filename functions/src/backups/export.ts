// The export workflow (scheduledExport): count and sample the collections, start a managed export, record it.
import type { Actor } from '../platform/domain/audit-chain';
import { backupId, exportPrefix } from './domain/backup';
import { BACKUP_MONITOR_TOPIC } from '../platform/topics';
import { openAudit, appendAudit } from '../platform/audit-log';
import { collectionsOf, countCollections, sampleDocuments, sourceDb } from './data';
import { db, firestoreModule } from '../platform/firestore';
import { runOnce } from '../platform/idempotency';
import { logger } from '../platform/logger';
import { runScheduledOnce, type Schedule } from '../platform/scheduled-run';
import { STREAM, alert, readBackupSettings, type BackupDeps } from './common';
import { BACKUPS, BACKUP_SETTINGS } from '../platform/collections';

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
  const read = await readBackupSettings(deps.allowedBuckets);
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
