// Retention (after a new export is verified): apply the grandfather-father-son plan of domain/retention.ts.
import type { Actor } from '../platform/domain/audit-chain';
import { planRetention, type BackupState, type RetentionBackup } from './domain/retention';
import { openAudit, appendAudit } from '../platform/audit-log';
import { db, firestoreModule, transact } from '../platform/firestore';
import { STREAM, readBackupSettings, type BackupDeps } from './common';
import { BACKUPS } from '../platform/collections';

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
  const read = await readBackupSettings(deps.allowedBuckets);
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
    await transact(async (tx) => {
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
