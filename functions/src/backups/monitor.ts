// The monitor workflow (backupMonitor, onBackupKick): track running exports to a verdict, then apply retention.
import type { DocumentData } from 'firebase-admin/firestore';
import type { Actor } from '../platform/domain/audit-chain';
import {
  judgeCounts,
  judgeProgress,
  stableSample,
  type OperationStatus,
  type ProgressMark,
} from './domain/backup';
import { type BackupState } from './domain/retention';
import { ValidationError } from '../platform/domain/errors';
import { openAudit } from '../platform/audit-log';
import { countCollections, digestsByPath, sourceDb, type DigestedDoc } from './data';
import { db, firestoreModule } from '../platform/firestore';
import { runOnce } from '../platform/idempotency';
import { withLease } from '../platform/leases';
import { applyRetention, type RetentionResult } from './retention';
import { STREAM, STARTING_TIMEOUT_MS, alert, type BackupDeps } from './common';
import { BACKUPS } from '../platform/collections';

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
