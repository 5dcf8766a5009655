// Firestore exports end to end against the emulators: the engine runs in this process (handleScheduledExport,
// handleBackupMonitor, handleRestoreDrill, applyRetention) with the real FirestoreAdminClient talking to the gRPC
// stand-in (which exports and imports through the Firestore emulator) and the real @google-cloud/storage client
// talking to the JSON API stand-in over the same folder. The Functions emulator's onBackupKick also answers the
// kicks published here; every transition is guarded, so whichever monitor gets there first decides once.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { type BackupDeps } from '../../functions/src/backups/common';
import { handleScheduledExport } from '../../functions/src/backups/export';
import { handleBackupMonitor } from '../../functions/src/backups/monitor';
import { applyRetention } from '../../functions/src/backups/retention';
import { handleRestoreDrill } from '../../functions/src/backups/drill';
import { drillDb } from '../../functions/src/backups/data';
import { CloudStorageObjectStore } from '../../functions/src/backups/storage-client';
import { db, firestoreModule } from '../../functions/src/platform/firestore';
import { FirestoreAdminExportApi } from '../../functions/src/backups/firestore-admin-client';
import { exportPrefix } from '../../functions/src/backups/domain/backup';
import { collectAlertsForFile, rest, waitFor } from '../support/emulators';

const BUCKET = 'fireops-test-backups';
const BUCKETS_DIR = process.env.FIREOPS_BUCKETS_DIR!;
const CONTROL = process.env.FIRESTORE_ADMIN_STAND_IN_URL!;
const MINUTE = 60_000;
const DAY = 86_400_000;
const DRILL_DATABASE = 'restore-drill';

interface TestClock {
  t: number;
  nowMs(): number;
}

function clockAt(t = Date.now()): TestClock {
  return {
    t,
    nowMs() {
      return this.t;
    },
  };
}

function deps(clock: TestClock, extra: Partial<BackupDeps> = {}): BackupDeps {
  return {
    clock,
    admin: new FirestoreAdminExportApi(),
    storage: new CloudStorageObjectStore(),
    stallMs: 60 * MINUTE,
    timeZone: 'UTC',
    drillDatabase: DRILL_DATABASE,
    allowedBuckets: [BUCKET], // EXPORT_BUCKETS
    waitMs: 30_000,
    pollMs: 200,
    ...extra,
  };
}

async function control(route: string, body?: unknown): Promise<any> {
  const res = await fetch(`${CONTROL}/_stand-in/${route}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`stand-in ${route}: ${res.status} ${await res.text()}`);
  return res.json();
}

let run = 0;
/** A schedule time no other test (or earlier run against the same emulator) uses: whole seconds, in the past. */
function uniqueSchedule(): { jobName: string; scheduleTime: string } {
  run += 1;
  const t = Math.floor(Date.now() / 1000) * 1000 - run * 3_600_000;
  return {
    jobName: 'firebase-schedule-scheduledExport-europe-west1',
    scheduleTime: new Date(t).toISOString(),
  };
}

let prefixCounter = 0;
function collectionNames(n: number): string[] {
  prefixCounter += 1;
  const tag = `${Date.now().toString(36)}${prefixCounter}`;
  return Array.from({ length: n }, (_, i) => `bk${tag}c${i}`);
}

/** `perCollection` documents in each collection, with some variety of Firestore types. */
async function seed(collections: string[], perCollection: number): Promise<void> {
  const { Timestamp } = firestoreModule();
  const writer = db().bulkWriter();
  for (const c of collections) {
    for (let i = 0; i < perCollection; i += 1) {
      void writer.set(
        db()
          .collection(c)
          .doc(`d${String(i).padStart(5, '0')}`),
        {
          n: i,
          name: `investor ${i}`,
          amount: i * 1.5,
          at: Timestamp.fromMillis(1_700_000_000_000 + i),
          tags: ['a', String(i % 7)],
          nested: { ok: i % 2 === 0 },
        },
      );
    }
  }
  await writer.close();
}

async function writeSettings(settings: Record<string, unknown>): Promise<void> {
  await db().doc('settings/backups').set(settings);
}

async function backup(id: string) {
  return (await db().collection('backups').doc(id).get()).data();
}

async function audit(action: string, target?: string) {
  const snap = await db()
    .collection('auditLog')
    .where('stream', '==', 'backups')
    .where('action', '==', action)
    .get();
  return snap.docs.map((d) => d.data()).filter((e) => !target || e.target === target);
}

/** Runs the monitor until the backup has left `running` (another monitor may decide it first). */
async function settle(id: string, d: BackupDeps): Promise<Record<string, any>> {
  return waitFor(
    async () => {
      await handleBackupMonitor({ correlationId: `test-${id}`, actor: { type: 'system', id: 'test' } }, d);
      const b = await backup(id);
      return b && b.state !== 'running' && b.state !== 'starting' ? b : undefined;
    },
    { timeoutMs: 45_000, intervalMs: 300, what: `backup ${id} to settle` },
  );
}

function folderOf(uri: string): string {
  const m = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri)!;
  return path.join(BUCKETS_DIR, m[1]!, m[2]!);
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

const alerts = collectAlertsForFile();

afterAll(async () => {
  // Forget stalled operations: the Functions emulator's kicked monitor stops polling them (operation lost).
  await control('reset', {});
});

beforeEach(async () => {
  await control('reset', {});
  await rest.clear();
});

describe('scheduledExport, backupMonitor and restoreDrill', () => {
  it('exports thousands of documents, verifies the export, and a drill restores it with equal counts and digests', async () => {
    const collections = collectionNames(3);
    await seed(collections, 1_000);
    await writeSettings({
      bucket: BUCKET,
      collectionIds: collections,
      drill: { everyDays: 1, sampleSize: 30 },
    });
    const clock = clockAt();
    const d = deps(clock);
    const schedule = uniqueSchedule();

    const started = await handleScheduledExport(schedule, d);
    expect(started.outcome).toBe('started');
    const id = (started as { backupId: string }).backupId;
    const running = await backup(id);
    expect(running).toMatchObject({
      bucket: BUCKET,
      database: '(default)',
      outputUriPrefix: exportPrefix(BUCKET, '(default)', Date.parse(schedule.scheduleTime)),
      countsAtStart: Object.fromEntries(collections.map((c) => [c, 1_000])),
      expectedTotal: 3_000,
    });
    expect(running!.sampleAtStart).toHaveLength(30);
    expect(JSON.stringify(running)).not.toContain('investor'); // digests only, never content

    const verified = await settle(id, d);
    expect(verified.state).toBe('verified');
    expect(verified.exportedDocuments).toBe(3_000);
    expect(verified.floor).toBe(3_000);
    expect(verified.exportedBytes).toBeGreaterThan(0);
    expect(verified.sample).toHaveLength(30);
    // The GCS layout real exports use: a metadata file named after the folder, and the data below it.
    const files = filesUnder(folderOf(verified.outputUriPrefix));
    expect(files.some((f) => f.endsWith('.overall_export_metadata'))).toBe(true);
    expect(files.some((f) => f.startsWith(path.join('all_namespaces', 'all_kinds')))).toBe(true);
    expect(await audit('backup.started', `backups/${id}`)).toHaveLength(1);
    expect(await audit('backup.verified', `backups/${id}`)).toHaveLength(1);

    const drilled = await handleRestoreDrill(uniqueSchedule(), d);
    expect(drilled).toMatchObject({ outcome: 'passed' });
    const drill = (await db().collection('drills').doc(drilled.drillId!).get()).data()!;
    expect(drill).toMatchObject({
      state: 'passed',
      backupId: id,
      restoredCounts: Object.fromEntries(collections.map((c) => [c, 1_000])),
      mismatches: [],
      sampled: 30,
    });
    expect(await audit('drill.passed', `drills/${drilled.drillId}`)).toHaveLength(1);
    // The scratch copy is emptied once judged; fireops' marker stays.
    expect((await drillDb(DRILL_DATABASE).listCollections()).map((c) => c.id)).toEqual(['_fireops']);
    expect((await drillDb(DRILL_DATABASE).doc('_fireops/drillDatabase').get()).get('purpose')).toBe(
      'fireops-restore-drill',
    );
    // Not due again until everyDays have passed.
    expect((await handleRestoreDrill(uniqueSchedule(), d)).outcome).toBe('not-due');
  });

  it('never empties a database without the fireops marker, nor the database exported: refused, alerted', async () => {
    const collections = collectionNames(1);
    await seed(collections, 5);
    await writeSettings({
      bucket: BUCKET,
      collectionIds: collections,
      drill: { everyDays: 1, sampleSize: 3 },
    });
    const d = deps(clockAt());
    const started = await handleScheduledExport(uniqueSchedule(), d);
    expect((await settle((started as { backupId: string }).backupId, d)).state).toBe('verified');
    // DRILL_DATABASE pointed at a database that holds someone's data, and that fireops never created or adopted.
    const scratch = drillDb(DRILL_DATABASE);
    await scratch.doc('_fireops/drillDatabase').delete();
    await scratch.doc('investors/inv-1').set({ name: 'kept' });
    try {
      const drilled = await handleRestoreDrill(uniqueSchedule(), d);
      expect(drilled.outcome).toBe('failed');
      expect(drilled.why).toContain('holds data (investors) and no fireops marker');
      expect((await scratch.doc('investors/inv-1').get()).get('name')).toBe('kept'); // not wiped
      const alert = await waitFor(
        () => alerts.messages.find((m) => m.data.alertId === `drill-failed:${drilled.drillId}`),
        { what: 'the drill alert' },
      );
      expect(alert.data.text).toContain('_fireops/drillDatabase');
      // DRILL_DATABASE equal to the database exported: refused before anything touches it.
      const same = await handleRestoreDrill(uniqueSchedule(), {
        ...d,
        clock: clockAt(Date.now() + 2 * 86_400_000),
        drillDatabase: '(default)',
      });
      expect(same).toMatchObject({ outcome: 'failed' });
      expect(same.why).toContain("DRILL_DATABASE '(default)' is a database fireops exports");
    } finally {
      await scratch.doc('investors/inv-1').delete();
    }
    // An empty scratch database is adopted: the next drill writes the marker and passes.
    const adopted = await handleRestoreDrill(uniqueSchedule(), {
      ...d,
      clock: clockAt(Date.now() + 4 * 86_400_000),
    });
    expect(adopted).toMatchObject({ outcome: 'passed' });
    expect((await scratch.doc('_fireops/drillDatabase').get()).exists).toBe(true);
  });

  it('fails a drill whose restore does not match what the export promised, and alerts', async () => {
    const collections = collectionNames(2);
    await seed(collections, 200);
    await writeSettings({
      bucket: BUCKET,
      collectionIds: collections,
      drill: { everyDays: 1, sampleSize: 10 },
    });
    const d = deps(clockAt());
    const started = await handleScheduledExport(uniqueSchedule(), d);
    const id = (started as { backupId: string }).backupId;
    const verified = await settle(id, d);
    expect(verified.state).toBe('verified');
    // What a corrupted or incomplete export looks like to the drill: its promises and the restore disagree.
    const sample = verified.sample as { path: string; digest: string }[];
    await db()
      .collection('backups')
      .doc(id)
      .update({
        sample: [{ ...sample[0]!, digest: '0'.repeat(64) }, ...sample.slice(1)],
        countsAtStart: { ...verified.countsAtStart, [collections[0]!]: 250 },
        countsAtEnd: { ...verified.countsAtEnd, [collections[0]!]: 250 },
      });

    const drilled = await handleRestoreDrill(uniqueSchedule(), d);
    expect(drilled.outcome).toBe('failed');
    const drill = (await db().collection('drills').doc(drilled.drillId!).get()).data()!;
    expect(drill.mismatches).toEqual(
      expect.arrayContaining([
        { kind: 'count', target: collections[0], expected: '250', actual: '200' },
        { kind: 'digest', target: sample[0]!.path, expected: '0'.repeat(64), actual: sample[0]!.digest },
      ]),
    );
    const alert = await waitFor(
      () => alerts.messages.find((m) => m.data.alertId === `drill-failed:${drilled.drillId}`),
      { what: 'the drill alert' },
    );
    expect(alert.data).toMatchObject({ severity: 'critical', kind: 'drill.failed' });
  });

  it('fails and alerts a drill whose import fails, and follows a slow import up in the next run', async () => {
    const collections = collectionNames(1);
    await seed(collections, 120);
    await writeSettings({
      bucket: BUCKET,
      collectionIds: collections,
      drill: { everyDays: 1, sampleSize: 5 },
    });
    const clock = clockAt();
    const d = deps(clock);
    const schedule = uniqueSchedule();
    const started = await handleScheduledExport(schedule, d);
    expect((await settle((started as { backupId: string }).backupId, d)).state).toBe('verified');

    await control('faults', {
      next: 'fail',
      method: 'import',
      message: 'restore-drill database missing',
      code: 9,
    });
    const failed = await handleRestoreDrill(uniqueSchedule(), d);
    expect(failed.outcome).toBe('failed');
    expect(failed.why).toMatch(/import error: .*restore-drill database missing/);
    await waitFor(() => alerts.messages.find((m) => m.data.alertId === `drill-failed:${failed.drillId}`), {
      what: 'the drill alert',
    });

    // The next drill is due after everyDays; its import outlasts one run's wait and is finished by the next run.
    clock.t += 1.1 * DAY;
    await control('delay', { delayMs: 2_500 });
    const slow = { ...d, waitMs: 500 };
    const first = await handleRestoreDrill(uniqueSchedule(), slow);
    expect(first.outcome).toBe('waiting');
    expect((await db().collection('drills').doc(first.drillId!).get()).get('state')).toBe('importing');
    await new Promise((r) => setTimeout(r, 2_500));
    const second = await handleRestoreDrill(uniqueSchedule(), slow);
    expect(second).toMatchObject({ outcome: 'passed', drillId: first.drillId });
    const imports = ((await control('operations')) as { operations: { kind: string }[] }).operations.filter(
      (o) => o.kind === 'import',
    );
    expect(imports).toHaveLength(2); // the failed drill's and this one's: the resumed run did not import again
  });

  it.each([
    [
      'fail',
      { next: 'fail', message: 'bucket permission denied', code: 7 },
      'error',
      /bucket permission denied/,
    ],
    [
      'exports fewer documents',
      { next: 'shortfall', shortfall: 5 },
      'shortfall',
      /expected at least 600 \(5 missing\)/,
    ],
  ])('an operation that %s is marked failed, alerted and audited', async (_name, fault, reason, message) => {
    const collections = collectionNames(2);
    await seed(collections, 300);
    await writeSettings({ bucket: BUCKET, collectionIds: collections });
    await control('faults', { ...fault, method: 'export' });
    const d = deps(clockAt());
    const started = await handleScheduledExport(uniqueSchedule(), d);
    const id = (started as { backupId: string }).backupId;
    const failed = await settle(id, d);
    expect(failed.state).toBe('failed');
    expect(failed.failure.reason).toBe(reason);
    expect(failed.failure.message).toMatch(message);
    expect(await audit('backup.failed', `backups/${id}`)).toHaveLength(1);
    const alert = await waitFor(() => alerts.messages.find((m) => m.data.alertId === `backup-failed:${id}`), {
      what: 'the backup alert',
    });
    expect(alert.data).toMatchObject({
      severity: 'critical',
      kind: 'backup.failed',
      target: `backups/${id}`,
    });
    // A second monitor pass neither changes it nor alerts again.
    await handleBackupMonitor({ correlationId: 'again', actor: { type: 'system', id: 'test' } }, d);
    expect((await backup(id))!.state).toBe('failed');
    expect(alerts.messages.filter((m) => m.data.alertId === `backup-failed:${id}`)).toHaveLength(1);
  });

  it('verifies a subcollection named in collectionIds as a collection group: a shortfall in it fails the backup', async () => {
    const [parent] = collectionNames(1);
    const sub = `${parent}sub`;
    const writer = db().bulkWriter();
    for (let i = 0; i < 10; i += 1) {
      for (let j = 0; j < 5; j += 1) {
        void writer.set(db().doc(`${parent}/p${i}/${sub}/s${j}`), { i, j });
      }
    }
    await writer.close();
    await writeSettings({ bucket: BUCKET, collectionIds: [sub], drill: { everyDays: 1, sampleSize: 5 } });
    await control('faults', { next: 'shortfall', shortfall: 7, method: 'export' });
    const d = deps(clockAt());
    const started = await handleScheduledExport(uniqueSchedule(), d);
    const id = (started as { backupId: string }).backupId;
    expect((await backup(id))!.countsAtStart).toEqual({ [sub]: 50 });
    expect(((await backup(id))!.sampleAtStart as { path: string }[]).map((s) => s.path)).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^${parent}/p\\d/${sub}/s\\d$`))]),
    );
    const failed = await settle(id, d);
    expect(failed.state).toBe('failed');
    expect(failed.failure.reason).toBe('shortfall');
  });

  it('fails a drill whose export files are gone, audits and alerts it, and the next run drills the newest export', async () => {
    const collections = collectionNames(1);
    await seed(collections, 20);
    await writeSettings({
      bucket: BUCKET,
      collectionIds: collections,
      drill: { everyDays: 1, sampleSize: 5 },
    });
    const clock = clockAt();
    const d = deps(clock);
    const schedule = uniqueSchedule();
    const started = await handleScheduledExport(schedule, d);
    const id = (started as { backupId: string }).backupId;
    const verified = await settle(id, d);
    expect(verified.state).toBe('verified');
    rmSync(folderOf(verified.outputUriPrefix as string), { recursive: true, force: true });

    const failed = await handleRestoreDrill(uniqueSchedule(), d);
    expect(failed.outcome).toBe('failed');
    expect(failed.why).toMatch(/import could not start/);
    expect((await db().collection('drills').doc(failed.drillId!).get()).get('state')).toBe('failed');
    expect(await audit('drill.failed', `drills/${failed.drillId}`)).toHaveLength(1);
    await waitFor(() => alerts.messages.find((m) => m.data.alertId === `drill-failed:${failed.drillId}`), {
      what: 'the drill alert',
    });

    // A newer verified export is drilled by the next due run, not blocked by the failed one.
    const later = new Date(Date.parse(schedule.scheduleTime) + MINUTE).toISOString();
    const second = await handleScheduledExport({ ...schedule, scheduleTime: later }, d);
    const newer = (second as { backupId: string }).backupId;
    expect((await settle(newer, d)).state).toBe('verified');
    clock.t += 2 * DAY;
    const next = await handleRestoreDrill(uniqueSchedule(), d);
    expect(next.outcome).toBe('passed');
    expect((await db().collection('drills').doc(next.drillId!).get()).get('backupId')).toBe(newer);
  });

  it('fails a drill whose restored document has a timestamp turned into its ISO string', async () => {
    const collections = collectionNames(1);
    await seed(collections, 3);
    await writeSettings({
      bucket: BUCKET,
      collectionIds: collections,
      drill: { everyDays: 1, sampleSize: 3 },
    });
    const d = deps(clockAt());
    const started = await handleScheduledExport(uniqueSchedule(), d);
    expect((await settle((started as { backupId: string }).backupId, d)).state).toBe('verified');
    await control('delay', { delayMs: 1_500 });
    const slow = { ...d, waitMs: 200 };
    const first = await handleRestoreDrill(uniqueSchedule(), slow);
    expect(first.outcome).toBe('waiting');
    // Between the import's end and the comparison, the restored copy loses a type: same instant, as a string.
    const restored = drillDb(DRILL_DATABASE).doc(`${collections[0]}/d00001`);
    const at = await waitFor(async () => (await restored.get()).get('at') as { toDate(): Date } | undefined, {
      what: 'the restored document',
    });
    await restored.update({ at: at.toDate().toISOString() });
    const second = await waitFor(
      async () => {
        const r = await handleRestoreDrill(uniqueSchedule(), slow);
        return r.outcome === 'waiting' ? undefined : r;
      },
      { what: 'the drill to compare' },
    );
    expect(second).toMatchObject({ outcome: 'failed', drillId: first.drillId });
    const drill = (await db().collection('drills').doc(first.drillId!).get()).data()!;
    expect(drill.mismatches).toEqual([
      expect.objectContaining({ kind: 'digest', target: `${collections[0]}/d00001` }),
    ]);
  });

  it('marks an export that stops progressing as stalled once the stall time has passed', async () => {
    const collections = collectionNames(1);
    await seed(collections, 50);
    await writeSettings({ bucket: BUCKET, collectionIds: collections });
    await control('faults', { next: 'stall', method: 'export' });
    const clock = clockAt();
    const d = deps(clock);
    const schedule = uniqueSchedule();
    const started = await handleScheduledExport(schedule, d);
    const id = (started as { backupId: string }).backupId;
    const actor = { type: 'system' as const, id: 'test' };
    await waitFor(async () => {
      const r = await handleBackupMonitor({ correlationId: 'stall-1', actor }, d);
      return r.ran && r.stillRunning.includes(id);
    });
    clock.t += 59 * MINUTE;
    await waitFor(async () => (await handleBackupMonitor({ correlationId: 'stall-2', actor }, d)).ran);
    expect((await backup(id))!.state).toBe('running');
    clock.t += 2 * MINUTE;
    const failed = await settle(id, d);
    expect(failed.failure).toMatchObject({ reason: 'stalled' });
    expect(failed.failure.message).toMatch(/no progress for \d+ min/);
  });

  it('fails an export whose operation can no longer be read', async () => {
    const collections = collectionNames(1);
    await seed(collections, 20);
    await writeSettings({ bucket: BUCKET, collectionIds: collections });
    await control('faults', { next: 'stall', method: 'export' });
    const d = deps(clockAt());
    const started = await handleScheduledExport(uniqueSchedule(), d);
    const id = (started as { backupId: string }).backupId;
    await control('reset', {}); // the stand-in forgets the operation, as Firestore does after some days
    const failed = await settle(id, d);
    expect(failed.failure).toMatchObject({ reason: 'operation-lost' });
    expect(failed.failure.message).toMatch(/can no longer be read/);
  });

  it('runs one export for two overlapping runs of the same schedule time, and none for a repeat', async () => {
    const collections = collectionNames(1);
    await seed(collections, 100);
    await writeSettings({ bucket: BUCKET, collectionIds: collections });
    const d = deps(clockAt());
    const schedule = uniqueSchedule();
    const outcomes = await Promise.all([
      handleScheduledExport(schedule, d),
      handleScheduledExport(schedule, d),
    ]);
    // The second run either finds the lease held or, if the first already finished, the schedule time done.
    expect(outcomes.filter((o) => o.outcome === 'started')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'yielded' || o.outcome === 'duplicate')).toHaveLength(1);
    expect((await handleScheduledExport(schedule, d)).outcome).toBe('duplicate');
    const ops = (await control('operations')) as { operations: { kind: string }[] };
    expect(ops.operations.filter((o) => o.kind === 'export')).toHaveLength(1);
    expect((await db().collection('backups').get()).size).toBe(1);
  });

  it('adopts the export a crashed run had started instead of exporting twice into one folder', async () => {
    const collections = collectionNames(1);
    await seed(collections, 100);
    await writeSettings({ bucket: BUCKET, collectionIds: collections });
    const d = deps(clockAt());
    const schedule = uniqueSchedule();
    // The crash: the first attempt recorded `starting` and Firestore accepted the export, then the run died.
    const startedAtMs = Date.parse(schedule.scheduleTime);
    const prefix = exportPrefix(BUCKET, '(default)', startedAtMs);
    const id = new Date(startedAtMs)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}Z$/, 'Z');
    await db()
      .collection('backups')
      .doc(id)
      .set({
        id,
        state: 'starting',
        database: '(default)',
        bucket: BUCKET,
        outputUriPrefix: prefix,
        collectionIds: collections,
        countedCollections: collections,
        countsAtStart: { [collections[0]!]: 100 },
        expectedTotal: 100,
        sampleAtStart: [],
        toleranceDocuments: 0,
        startedAtMs,
        progress: { documents: 0, bytes: 0, atMs: Date.now() },
      });
    const opName = await d.admin.startExport({
      database: '(default)',
      outputUriPrefix: prefix,
      collectionIds: collections,
    });

    const retried = await handleScheduledExport(schedule, d);
    expect(retried).toEqual({ outcome: 'adopted', backupId: id, operationName: opName });
    const ops = (await control('operations')) as { operations: { kind: string }[] };
    expect(ops.operations.filter((o) => o.kind === 'export')).toHaveLength(1);
    expect((await settle(id, d)).state).toBe('verified');
  });

  it.each([
    [{ bucket: 'gs://nope' }, 'bucket'],
    [{ bucket: BUCKET, retention: { daily: -1 } }, 'retention.daily'],
    [{ bucket: BUCKET, colectionIds: ['typo'] }, 'colectionIds'],
    // A valid bucket name, but not one this deployment allows (EXPORT_BUCKETS): a foreign project's, say.
    [{ bucket: 'attacker-owned-bucket' }, 'bucket'],
  ])('refuses invalid settings %j with the field named, and starts no export', async (settings, field) => {
    await writeSettings(settings);
    const d = deps(clockAt());
    const outcome = await handleScheduledExport(uniqueSchedule(), d);
    expect(outcome.outcome).toBe('refused');
    expect((outcome as { reason: string }).reason).toContain(field);
    const refused = await audit('backup.refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]!.details.field).toBe(field);
    const ops = (await control('operations')) as { operations: unknown[] };
    expect(ops.operations).toHaveLength(0);
    expect((await db().collection('backups').get()).size).toBe(0);
    const alert = await waitFor(
      () => alerts.messages.find((m) => m.data.kind === 'backup.refused' && m.data.text.includes(field)),
      { what: 'the refusal alert' },
    );
    expect(alert.data.severity).toBe('critical');
  });

  it('starts nothing without settings/backups, and nothing when exports are disabled', async () => {
    const d = deps(clockAt());
    expect((await handleScheduledExport(uniqueSchedule(), d)).outcome).toBe('unconfigured');
    await writeSettings({ bucket: BUCKET, enabled: false });
    expect((await handleScheduledExport(uniqueSchedule(), d)).outcome).toBe('disabled');
    expect(((await control('operations')) as { operations: unknown[] }).operations).toHaveLength(0);
  });
});

describe('retention', () => {
  const NOW = Date.parse('2026-11-28T03:00:00Z');

  /** A backup record and its objects, as a finished export leaves them. */
  async function fakeBackup(daysAgo: number, state: string, bucket = BUCKET): Promise<string> {
    const startedAtMs = NOW - daysAgo * DAY - MINUTE * 60;
    const prefix = exportPrefix(bucket, '(default)', startedAtMs);
    const id = new Date(startedAtMs)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}Z$/, 'Z');
    await db().collection('backups').doc(id).set({ id, state, outputUriPrefix: prefix, startedAtMs });
    const dir = folderOf(prefix);
    mkdirSync(path.join(dir, 'all_namespaces', 'all_kinds'), { recursive: true });
    writeFileSync(path.join(dir, `${path.basename(dir)}.overall_export_metadata`), 'meta');
    writeFileSync(path.join(dir, 'all_namespaces', 'all_kinds', 'output-0'), 'data');
    return id;
  }

  it('deletes exactly the planned exports, keeps the newest verified and never touches other objects', async () => {
    const bucket = `fireops-ret-${Date.now().toString(36)}`;
    await writeSettings({ bucket, retention: { daily: 2, weekly: 0, monthly: 0 } });
    const ids = [];
    for (let day = 0; day < 5; day += 1) ids.push(await fakeBackup(day, 'verified', bucket));
    const failedOld = await fakeBackup(6, 'failed', bucket);
    const outside = path.join(BUCKETS_DIR, bucket, 'manual', 'keep-me.txt');
    mkdirSync(path.dirname(outside), { recursive: true });
    writeFileSync(outside, 'not ours');

    const result = await applyRetention(
      { correlationId: 'retention-test', actor: { type: 'system', id: 'test' } },
      deps(clockAt(NOW), { allowedBuckets: [bucket] }),
    );
    expect(result?.blocked).toBeUndefined();
    expect(result?.deleted.map((x) => x.backupId).sort()).toEqual([ids[2], ids[3], ids[4], failedOld].sort());
    expect(result?.deleted.every((x) => x.objects === 2)).toBe(true);
    for (const id of [ids[0]!, ids[1]!]) {
      const b = await backup(id);
      expect(b!.state).toBe('verified');
      expect(filesUnder(folderOf(b!.outputUriPrefix))).toHaveLength(2);
    }
    for (const id of [ids[2]!, ids[3]!, ids[4]!, failedOld]) {
      const b = await backup(id);
      expect(b).toMatchObject({ state: 'deleted', deletedObjects: 2 });
      expect(filesUnder(folderOf(b!.outputUriPrefix))).toHaveLength(0);
    }
    expect(existsSync(outside)).toBe(true);
    expect(await audit('backup.deleted')).toHaveLength(4);
  });

  it('deletes nothing while the newest export is not verified', async () => {
    const bucket = `fireops-ret-${Date.now().toString(36)}b`;
    await writeSettings({ bucket, retention: { daily: 1, weekly: 0, monthly: 0 } });
    const old = [await fakeBackup(3, 'verified', bucket), await fakeBackup(2, 'verified', bucket)];
    await fakeBackup(1, 'failed', bucket);
    const result = await applyRetention(
      { correlationId: 'retention-blocked', actor: { type: 'system', id: 'test' } },
      deps(clockAt(NOW), { allowedBuckets: [bucket] }),
    );
    expect(result?.blocked).toMatch(/not verified|failed/);
    expect(result?.deleted).toEqual([]);
    for (const id of old) expect((await backup(id))!.state).toBe('verified');
    expect(await audit('retention.blocked')).toHaveLength(1);
  });
});
