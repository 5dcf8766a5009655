// What one secret rotation costs: wall time on the emulators, Secret Manager calls (counted by a Secret Manager
// emulator started here) and Firestore writes (counted on the Firestore client's WriteBatch, which every write
// and transaction commit goes through), for the random-token and http-callback strategies, from the notice to
// `grace` (the rotation proper) and on to `completed` (retire, destroy). The github-webhook strategy needs the
// Functions emulator and GitHub; its time is dominated by a deliberate wait (the webhook secret cache) and a ping
// round trip, measured in test/integration/rotation.test.ts instead.
// Baseline, alternated with each fireops rotation: the same rotation by a minimal crash-safe script: the bare calls
// (for http-callback: create, add the version, apply, test; then move the aliases; retire: disable the old version;
// destroy it) and one plain Firestore write recording each step (a script that records nothing cannot resume after a
// crash, so it would not be the same job). The ratio is what fireops' bookkeeping on top costs: transactions, the
// audit chain, idempotency keys, leases, the sweeps' scans. Its Firestore writes are targets too (deterministic).
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startSecretManagerEmulator } from '../../emulators/secret-manager/server.mjs';
import { countFirestoreWrites } from './firestore-writes.mjs';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const RUNS = Number(process.env.BENCH_ROTATIONS ?? 5);
import { median, percentile, target } from './targets.mjs';
/**
 * What fireops' bookkeeping may cost against the minimal script, notice to completed. On the emulators, where a
 * Secret Manager call costs about a millisecond, writes dominate: fireops makes 50 (transactions, audit chain,
 * idempotency, leases, the sweeps) against the script's 7, and measured 10-16x. Above 20, something beyond those
 * writes grew. In production a Secret Manager call costs tens of milliseconds, which shrinks the ratio.
 */
const MAX_RATIO = 20;
/** Today 28 and 50: a new write per rotation is a decision, not a drift. */
const MAX_WRITES_TO_GRACE = 30;
const MAX_WRITES_TOTAL = 54;

function callbackServer() {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const { step } = JSON.parse(body);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(step === 'create' ? { value: randomBytes(32).toString('base64url') } : { ok: true }),
      );
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export async function rotation() {
  if (!process.env.FIRESTORE_EMULATOR_HOST) throw new Error('run through npm run bench:rotation (emulators)');
  const sm = await startSecretManagerEmulator({ port: 0 });
  process.env.SECRET_MANAGER_EMULATOR_HOST = sm.address;
  const fnRequire = createRequire(path.join(ROOT, 'functions', 'package.json'));
  const lib = (p) => fnRequire(`./lib/${p}`);
  const { db } = lib('platform/firestore.js');
  const { secretManager, secretName } = lib('platform/secret-manager.js');
  const { handleSecretEvent, handleRotationSweep } = lib('rotation/handlers.js');
  const counter = countFirestoreWrites(fnRequire);

  const server = await callbackServer();
  const callbackUrl = `http://127.0.0.1:${server.address().port}/rotate`;
  const clock = {
    t: Date.now(),
    nowMs() {
      return this.t;
    },
  };
  const deps = {
    clock,
    github: undefined,
    idToken: async () => undefined,
    trust: { callbackOrigins: ['http://127.0.0.1:*'], extraSecretIds: [], projectId: 'demo-fireops' },
  };
  const policies = {
    'random-token': {
      strategy: 'random-token',
      enabled: true,
      bytes: 32,
      encoding: 'hex',
      gracePeriodMinutes: 60,
      destroyAfterDays: 1,
    },
    'http-callback': {
      strategy: 'http-callback',
      enabled: true,
      url: callbackUrl,
      gracePeriodMinutes: 60,
      destroyAfterDays: 1,
    },
  };
  /** The rotation by a minimal script: the bare Secret Manager (and callback) calls, one plain write per step. */
  async function bareRotation(secretId, strategy, { record: recording = true } = {}) {
    const client = secretManager();
    const name = secretName(secretId);
    const record = db().collection('benchBareRotations').doc(secretId);
    const step = async (phase) => {
      if (recording) await record.set({ phase, atMs: Date.now() }, { merge: true });
    };
    const t0 = performance.now();
    await step('started');
    let value = randomBytes(32).toString('hex');
    const call = async (step) => {
      const res = await fetch(callbackUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ step, secretId }),
      });
      if (!res.ok) throw new Error(`callback ${step} answered ${res.status}`);
      return res.json();
    };
    if (strategy === 'http-callback') value = (await call('create')).value;
    const [added] = await client.addSecretVersion({ parent: name, payload: { data: Buffer.from(value) } });
    const version = Number(added.name.split('/').pop());
    await step('created');
    if (strategy === 'http-callback') {
      await call('apply');
      await step('applied');
      await call('test');
      await step('tested');
    }
    await client.updateSecret({
      secret: { name, versionAliases: { current: version, previous: version - 1 } },
      updateMask: { paths: ['version_aliases'] },
    });
    await step('grace');
    await client.disableSecretVersion({ name: `${name}/versions/${version - 1}` });
    await client.updateSecret({
      secret: { name, versionAliases: { current: version } },
      updateMask: { paths: ['version_aliases'] },
    });
    await step('retired');
    await client.destroySecretVersion({ name: `${name}/versions/${version - 1}` });
    await step('completed');
    return performance.now() - t0;
  }

  /** A secret with version 1 as `current`, and (for fireops) its policy. */
  async function freshSecret(secretId, policy) {
    const client = secretManager();
    await client.createSecret({
      parent: 'projects/demo-fireops',
      secretId,
      secret: { replication: { automatic: {} } },
    });
    await client.addSecretVersion({
      parent: secretName(secretId),
      payload: { data: Buffer.from(randomBytes(32).toString('hex')) },
    });
    await client.updateSecret({
      secret: { name: secretName(secretId), versionAliases: { current: 1 } },
      updateMask: { paths: ['version_aliases'] },
    });
    if (policy) await db().collection('secretPolicies').doc(secretId).set(policy);
  }

  const results = {};
  try {
    for (const [strategy, policy] of Object.entries(policies)) {
      const toGrace = [];
      const total = [];
      const bare = [];
      const calls = [];
      let smCalls = {};
      let writesToGrace = 0;
      let writesTotal = 0;
      for (let i = 0; i < RUNS; i++) {
        const secretId = `fireops-bench-${strategy}-${Date.now()}-${i}`;
        const bareId = `fireops-bare-${strategy}-${Date.now()}-${i}`;
        await freshSecret(bareId);
        const callsId = `fireops-calls-${strategy}-${Date.now()}-${i}`;
        await freshSecret(callsId);
        await freshSecret(secretId, policy);
        // Alternated: the bare rotation first on even runs, after fireops' on odd ones.
        if (i % 2 === 0) {
          bare.push(await bareRotation(bareId, strategy));
          calls.push(await bareRotation(callsId, strategy, { record: false }));
        }
        for (const k of Object.keys(sm.state.calls)) delete sm.state.calls[k];
        counter.writes = 0;

        const t0 = performance.now();
        const started = await handleSecretEvent(
          `bench-${secretId}`,
          {
            eventType: 'SECRET_ROTATE',
            secretId: `projects/demo-fireops/secrets/${secretId}`,
            timestamp: new Date(clock.t).toISOString(),
          },
          deps,
        );
        const t1 = performance.now();
        const phase = (await db().collection('rotations').doc(started.rotationId).get()).get('phase');
        if (phase !== 'grace') throw new Error(`${strategy} rotation ended in ${phase}`);
        writesToGrace += counter.writes;
        clock.t += 61 * 60_000;
        await handleRotationSweep({ jobName: 'bench', scheduleTime: `${secretId}-retire` }, deps);
        clock.t += 2 * 86_400_000;
        await handleRotationSweep({ jobName: 'bench', scheduleTime: `${secretId}-destroy` }, deps);
        const t2 = performance.now();
        const end = (await db().collection('rotations').doc(started.rotationId).get()).get('phase');
        if (end !== 'completed') throw new Error(`${strategy} rotation ended in ${end}`);
        toGrace.push(t1 - t0);
        total.push(t2 - t0);
        writesTotal += counter.writes;
        smCalls = { ...sm.state.calls };
        if (i % 2 === 1) {
          calls.push(await bareRotation(callsId, strategy, { record: false }));
          bare.push(await bareRotation(bareId, strategy));
        }
      }
      const smTotal = Object.values(smCalls).reduce((a, b) => a + b, 0);
      results[strategy] = {
        rotations: RUNS,
        msToGrace: Math.round(median(toGrace)),
        msToCompleted: Math.round(median(total)),
        p95MsToCompleted: Math.round(percentile(total, 95)),
        bareMs: Math.round(median(bare)),
        p95BareMs: Math.round(percentile(bare, 95)),
        bareCallsMs: Math.round(median(calls)),
        ratioToBareCalls: +(median(total) / median(calls)).toFixed(1),
        ratio: +(median(total) / median(bare)).toFixed(2),
        firestoreWritesToGrace: writesToGrace / RUNS,
        firestoreWritesTotal: writesTotal / RUNS,
        secretManagerCalls: smTotal,
        secretManagerCallsByMethod: smCalls,
      };
      console.log(
        `${strategy.padEnd(14)} notice -> grace ${results[strategy].msToGrace} ms, -> completed (2 sweeps) ` +
          `${results[strategy].msToCompleted} ms (median of ${RUNS}, p95 ${results[strategy].p95MsToCompleted}) vs a ` +
          `minimal script ${results[strategy].bareMs} ms (p95 ${results[strategy].p95BareMs}): x${results[strategy].ratio}; ` +
          `vs the bare calls alone ${results[strategy].bareCallsMs} ms: x${results[strategy].ratioToBareCalls} ` +
          `(a figure, no target); Firestore writes ${results[strategy].firestoreWritesToGrace} ` +
          `to grace, ${results[strategy].firestoreWritesTotal} in all; Secret Manager calls ${smTotal} ` +
          JSON.stringify(smCalls),
      );
    }
    console.log(
      'note: the sweeps in the totals also scan policies and active rotations; their writes are counted too',
    );
  } finally {
    server.close();
    await sm.close();
  }
  results.targets = Object.entries(results).flatMap(([strategy, r]) => [
    target(
      `${strategy}: notice to completed / minimal script (median of ${RUNS}, alternated)`,
      r.ratio,
      '<=',
      MAX_RATIO,
    ),
    target(`${strategy}: Firestore writes to grace`, r.firestoreWritesToGrace, '<=', MAX_WRITES_TO_GRACE),
    target(`${strategy}: Firestore writes in all`, r.firestoreWritesTotal, '<=', MAX_WRITES_TOTAL),
  ]);
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) await rotation();
