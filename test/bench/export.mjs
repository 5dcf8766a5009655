// What a verified backup costs: for 10,000 and 100,000 documents on the emulators, the wall time of fireops' export
// (count + sample + start + track + verify) and restore drill (clear + import + count + digest compare), each against
// a baseline from the same run: the bare Firestore Admin operation on the same data (export or import through the
// stand-in, started and polled with nothing else). Also the Firestore reads verification spends per 1,000
// documents (billing rules: one read per 1,000 documents counted, one per sampled document read).
import { createRequire } from 'node:module';
import path from 'node:path';
import { median, percentile, target } from './targets.mjs';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SIZES = (process.env.BENCH_EXPORT_SIZES ?? '10000,100000').split(',').map(Number);
const COLLECTIONS = 4;
const ROUNDS = Number(process.env.BENCH_EXPORT_ROUNDS ?? 3);
/** What verification may add to the bare export it verifies. */
const MAX_EXPORT_RATIO = 1.5;
/** What verifying a restore may add to the bare restore (both empty the scratch database before and after). */
const MAX_DRILL_RATIO = 1.3;
/** Counting costs 1 read per 1,000 documents; sampling a few hundred documents is the rest. */
const MAX_READS_PER_1000 = 20;

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
  // Each round runs 2 days after the previous one on fireops' clock, so its drill is due (settings: every day).
  let dayOffsetMs = 0;
  const clock = { nowMs: () => Date.now() + dayOffsetMs };
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
    await db()
      .doc('settings/backups')
      .set({ bucket: 'bench-backups', collectionIds: collections, drill: { everyDays: 1 } });

    // The baselines: the bare operations a person would run by hand on the same data. A bare export: start and
    // poll. A bare restore into the scratch database: empty it, import, poll, empty it again (what the drill does
    // besides verifying). Alternated with fireops' export and drill, in turn first, ROUNDS times; medians.
    const bareExport = async (round) => {
      const t = performance.now();
      const prefix = `gs://bench-backups/baseline/${n}/${Date.now()}-${round}`;
      const opName = await admin.startExport({
        database: '(default)',
        outputUriPrefix: prefix,
        collectionIds: collections,
      });
      await waitDone((x) => admin.exportStatus(x), opName);
      return { ms: performance.now() - t, prefix };
    };
    const bareRestore = async (prefix) => {
      const t = performance.now();
      await clearDatabase(drillDb('restore-drill'));
      const importName = await admin.startImport({
        database: 'restore-drill',
        inputUriPrefix: prefix,
        collectionIds: collections,
      });
      await waitDone((x) => admin.importStatus(x), importName);
      await clearDatabase(drillDb('restore-drill'));
      return performance.now() - t;
    };
    let second = 0;
    const fireopsExport = async (round) => {
      const t = performance.now();
      // One scheduled run per (job, second): a new second and job name per round.
      second += 1;
      const scheduleTime = new Date(Math.floor(clock.nowMs() / 1000) * 1000 + second * 1000).toISOString();
      const started = await engine.handleScheduledExport(
        { jobName: `bench-${n}-${round}`, scheduleTime },
        deps,
      );
      if (started.outcome !== 'started') throw new Error(`export did not start: ${JSON.stringify(started)}`);
      const monitor = await engine.handleBackupMonitor(
        { correlationId: `bench-${n}-${round}`, actor, wait: true },
        deps,
      );
      const ms = performance.now() - t;
      const backup = (await db().collection('backups').doc(started.backupId).get()).data();
      if (backup.state !== 'verified')
        throw new Error(`backup ${backup.state}: ${JSON.stringify(backup.failure)}`);
      return { ms, backup, monitor, scheduleTime };
    };
    const fireopsDrill = async (round, scheduleTime) => {
      const t = performance.now();
      const drill = await engine.handleRestoreDrill(
        { jobName: `bench-drill-${n}-${round}`, scheduleTime },
        deps,
      );
      const ms = performance.now() - t;
      if (drill.outcome !== 'passed') throw new Error(`drill ${drill.outcome}: ${drill.why}`);
      return ms;
    };

    const m = { bareExport: [], fireopsExport: [], bareRestore: [], drill: [] };
    let last;
    for (let round = 0; round < ROUNDS; round += 1) {
      dayOffsetMs += 2 * 86_400_000;
      const bareFirst = round % 2 === 0;
      let bare;
      if (bareFirst) {
        bare = await bareExport(round);
        last = await fireopsExport(round);
      } else {
        last = await fireopsExport(round);
        bare = await bareExport(round);
      }
      m.bareExport.push(bare.ms);
      m.fireopsExport.push(last.ms);
      if (bareFirst) {
        m.bareRestore.push(await bareRestore(bare.prefix));
        m.drill.push(await fireopsDrill(round, last.scheduleTime));
      } else {
        m.drill.push(await fireopsDrill(round, last.scheduleTime));
        m.bareRestore.push(await bareRestore(bare.prefix));
      }
    }

    const row = {
      documents: n,
      rounds: ROUNDS,
      seedMs: Math.round(seedMs),
      bareExportMs: Math.round(median(m.bareExport)),
      exportVerifyMs: Math.round(median(m.fireopsExport)),
      exportRatio: +(median(m.fireopsExport) / median(m.bareExport)).toFixed(2),
      p95Ms: {
        bareExport: Math.round(percentile(m.bareExport, 95)),
        exportVerify: Math.round(percentile(m.fireopsExport, 95)),
        bareRestore: Math.round(percentile(m.bareRestore, 95)),
        drill: Math.round(percentile(m.drill, 95)),
      },
      bareRestoreMs: Math.round(median(m.bareRestore)),
      drillMs: Math.round(median(m.drill)),
      drillRatio: +(median(m.drill) / median(m.bareRestore)).toFixed(2),
      verificationReads: last.backup.verificationReads,
      readsPer1000Docs: +((last.backup.verificationReads / n) * 1000).toFixed(2),
      monitorPasses: last.monitor.transitions.length,
    };
    results.push(row);
    console.log(
      `${String(n).padStart(7)} docs (medians of ${ROUNDS}, alternated): export+verify ${row.exportVerifyMs} ms vs ` +
        `bare export ${row.bareExportMs} ms (x${row.exportRatio}); drill ${row.drillMs} ms vs bare restore ` +
        `(empty, import, empty) ${row.bareRestoreMs} ms (x${row.drillRatio}); verification reads ` +
        `${row.verificationReads} (${row.readsPer1000Docs} per 1,000 documents; a full read would be 1,000); p95 ` +
        JSON.stringify(row.p95Ms),
    );
  }
  const worst = (key) => Math.max(...results.map((r) => r[key]));
  results.targets = [
    target('export+verify / bare export (median, worst size)', worst('exportRatio'), '<=', MAX_EXPORT_RATIO),
    target('drill / bare restore (median, worst size)', worst('drillRatio'), '<=', MAX_DRILL_RATIO),
    target(
      'verification reads per 1,000 documents (worst size)',
      worst('readsPer1000Docs'),
      '<=',
      MAX_READS_PER_1000,
    ),
  ];
  return { sizes: results, targets: results.targets };
}
