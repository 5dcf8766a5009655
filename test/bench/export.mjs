// What a verified backup costs: for 10,000 and 100,000 documents on the emulators, the wall time of fireops' export
// (count + sample + start + track + verify) and restore drill (clear + import + count + digest compare), each against
// a baseline from the same run: the bare Firestore Admin operation on the same data (export or import through the
// stand-in, started and polled with nothing else). Also the Firestore reads verification spends per 1,000
// documents (billing rules: one read per 1,000 documents counted, one per sampled document read).
import { createRequire } from 'node:module';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SIZES = (process.env.BENCH_EXPORT_SIZES ?? '10000,100000').split(',').map(Number);
const COLLECTIONS = 4;

export async function exportBench() {
  if (!process.env.FIRESTORE_EMULATOR_HOST || !process.env.FIRESTORE_ADMIN_EMULATOR_HOST) {
    throw new Error('run through npm run bench:export (emulators and stand-ins)');
  }
  const fnRequire = createRequire(path.join(ROOT, 'functions', 'package.json'));
  const lib = (p) => fnRequire(`./lib/${p}`);
  const { db } = lib('platform/firestore.js');
  const engine = {
    ...lib('backups/export.js'),
    ...lib('backups/monitor.js'),
    ...lib('backups/drill.js'),
  };
  const { FirestoreAdminExportApi } = lib('backups/firestore-admin-client.js');
  const { CloudStorageObjectStore } = lib('backups/storage-client.js');
  const { drillDb, clearDatabase } = lib('backups/data.js');
  const project = process.env.GCLOUD_PROJECT ?? 'demo-fireops';
  const host = process.env.FIRESTORE_EMULATOR_HOST;
  const admin = new FirestoreAdminExportApi();
  const clock = { nowMs: () => Date.now() };
  const deps = {
    clock,
    admin,
    storage: new CloudStorageObjectStore(),
    stallMs: 3_600_000,
    timeZone: 'UTC',
    drillDatabase: 'restore-drill',
    allowedBuckets: ['bench-backups'],
    waitMs: 30 * 60_000,
    pollMs: 100,
  };
  const actor = { type: 'system', id: 'bench' };

  async function waitDone(statusOf, name) {
    for (;;) {
      const s = await statusOf(name);
      if (s.done) {
        if (s.error) throw new Error(s.error.message);
        return s;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const results = [];
  for (const n of SIZES) {
    await fetch(`http://${host}/emulator/v1/projects/${project}/databases/(default)/documents`, {
      method: 'DELETE',
    });
    const collections = Array.from({ length: COLLECTIONS }, (_, i) => `bench${n}c${i}`);
    const t0 = performance.now();
    const writer = db().bulkWriter();
    for (let i = 0; i < n; i += 1) {
      void writer.set(
        db()
          .collection(collections[i % COLLECTIONS])
          .doc(`d${i}`),
        {
          i,
          investor: `investor-${i}`,
          amount: i * 1.25,
          tags: ['x', String(i % 11)],
        },
      );
    }
    await writer.close();
    const seedMs = performance.now() - t0;
    await db().doc('settings/backups').set({ bucket: 'bench-backups', collectionIds: collections });

    // Baseline: the bare operations.
    let t = performance.now();
    const prefix = `gs://bench-backups/baseline/${n}/${Date.now()}`;
    const opName = await admin.startExport({
      database: '(default)',
      outputUriPrefix: prefix,
      collectionIds: collections,
    });
    await waitDone((x) => admin.exportStatus(x), opName);
    const bareExportMs = performance.now() - t;
    await clearDatabase(drillDb('restore-drill'));
    t = performance.now();
    const importName = await admin.startImport({
      database: 'restore-drill',
      inputUriPrefix: prefix,
      collectionIds: collections,
    });
    await waitDone((x) => admin.importStatus(x), importName);
    const bareImportMs = performance.now() - t;
    await clearDatabase(drillDb('restore-drill'));

    // fireops: export, tracked to verified.
    t = performance.now();
    const scheduleTime = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
    const started = await engine.handleScheduledExport({ jobName: `bench-${n}`, scheduleTime }, deps);
    if (started.outcome !== 'started') throw new Error(`export did not start: ${JSON.stringify(started)}`);
    const monitor = await engine.handleBackupMonitor(
      { correlationId: `bench-${n}`, actor, wait: true },
      deps,
    );
    const exportVerifyMs = performance.now() - t;
    const backup = (await db().collection('backups').doc(started.backupId).get()).data();
    if (backup.state !== 'verified')
      throw new Error(`backup ${backup.state}: ${JSON.stringify(backup.failure)}`);

    // fireops: restore drill.
    await db()
      .doc('settings/backups')
      .set({ bucket: 'bench-backups', collectionIds: collections, drill: { everyDays: 1 } });
    t = performance.now();
    const drill = await engine.handleRestoreDrill({ jobName: `bench-drill-${n}`, scheduleTime }, deps);
    const drillMs = performance.now() - t;
    if (drill.outcome !== 'passed') throw new Error(`drill ${drill.outcome}: ${drill.why}`);
    const timings = (await db().collection('drills').doc(drill.drillId).get()).get('timings') ?? {};
    // Emptying the scratch database before and after (a delete per document) is reported on its own.
    const clearMs = (timings.clearBeforeMs ?? 0) + (timings.clearAfterMs ?? 0);

    const row = {
      documents: n,
      seedMs: Math.round(seedMs),
      bareExportMs: Math.round(bareExportMs),
      exportVerifyMs: Math.round(exportVerifyMs),
      exportRatio: +(exportVerifyMs / bareExportMs).toFixed(2),
      bareImportMs: Math.round(bareImportMs),
      drillMs: Math.round(drillMs),
      drillClearMs: Math.round(clearMs),
      drillRatio: +((drillMs - clearMs) / bareImportMs).toFixed(2),
      verificationReads: backup.verificationReads,
      readsPer1000Docs: +((backup.verificationReads / n) * 1000).toFixed(2),
      monitorPasses: monitor.transitions.length,
    };
    results.push(row);
    console.log(
      `${String(n).padStart(7)} docs: export+verify ${row.exportVerifyMs} ms vs bare export ${row.bareExportMs} ms ` +
        `(x${row.exportRatio}); drill ${row.drillMs} ms, of which emptying the scratch database ${row.drillClearMs} ms; ` +
        `without it x${row.drillRatio} of the bare import (${row.bareImportMs} ms); ` +
        `verification reads ${row.verificationReads} (${row.readsPer1000Docs} per 1,000 documents; a full read would be 1,000)`,
    );
  }
  return results;
}
