// The restore drill workflow (restoreDrill): import the newest verified export into a scratch database and compare.
import type { Firestore } from 'firebase-admin/firestore';
import type { Actor } from '../platform/domain/audit-chain';
import {
  backupId,
  drillDue,
  judgeDrill,
  judgeProgress,
  type ProgressMark,
  type SampledDoc,
} from './domain/backup';
import { isValidationError } from '../platform/domain/errors';
import { openAudit } from '../platform/audit-log';
import {
  checkDrillTarget,
  clearDatabase,
  sameDatabaseRefusal,
  countCollections,
  digestsByPath,
  drillDb,
} from './data';
import { db, firestoreModule, transact } from '../platform/firestore';
import { runOnce } from '../platform/idempotency';
import { runScheduledOnce, type Schedule } from '../platform/scheduled-run';
import { STREAM, alert, readBackupSettings, type BackupDeps } from './common';
import { BACKUPS, DRILLS } from '../platform/collections';

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
    const read = await readBackupSettings(deps.allowedBuckets);
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
    const { requestedAt, ...drillSettings } = read.settings.drill;
    const due = drillDue(
      {
        ...drillSettings,
        requestedAtMs: requestedAt
          ? requestedAt instanceof Date
            ? requestedAt.getTime()
            : requestedAt.toMillis()
          : undefined,
      },
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
    await transact(async (tx) => {
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
  let operationName = d.operationName as string | undefined;
  // Never empty a database fireops did not create or adopt (DRILL_DATABASE pointed at production by mistake).
  const settings = await readBackupSettings(deps.allowedBuckets);
  const sourceDatabase = settings.ok ? settings.settings.database : '(default)';
  const same = sameDatabaseRefusal(d.database as string, sourceDatabase);
  if (same) return finishDrill(id, false, `refused to use the scratch database: ${same}`, {}, trigger, deps);
  const target = drillDb(d.database as string);
  if (!operationName) {
    const refused = await checkDrillTarget(d.database as string, target, deps.clock.nowMs());
    if (refused)
      return finishDrill(id, false, `refused to use the scratch database: ${refused}`, {}, trigger, deps);
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
