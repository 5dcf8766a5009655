// Probe cycles at scale, sharded as deployed: 1,000 and 10,000 HTTP checks (BENCH_HEALTH_SIZES to change) against
// a local server in a child process (its memory is not ours) answering in 200 ms, 1% never answering within the
// 1 s timeout, concurrency 50, on the Firestore emulator.
//
// Per size: runProbeCycle sizes the shards (domain/shards.ts) and hands them out; here `dispatchShards` runs them
// in this process, WORKERS at a time (in production each is a probeShard invocation of its own). Every shard runs
// twice per round, alternated in the same worker slot: the BASELINE (a bare prober: the same targets, fetch with
// the same timeout and concurrency, one Firestore write of the results) and fireops' runProbeShard. Reported:
// median and p95 of per-shard wall time for each, their ratio (target), writes per cycle against shards + changes
// (target: a steady cycle writes one document per shard; a cycle where 10 checks change adds exactly what those
// changes cost), the orchestrator's catalog reads cold and warm, and peak RSS of the process (WORKERS shards at
// once).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { countFirestoreWrites } from './firestore-writes.mjs';
import { fact, median, percentile, target } from './targets.mjs';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SIZES = (process.env.BENCH_HEALTH_SIZES ?? process.env.BENCH_HEALTH_CHECKS ?? '1000,10000')
  .split(',')
  .map(Number);
const CONCURRENCY = 50;
const ANSWER_MS = 200;
const TIMEOUT_MS = 1000;
const WORKERS = 4;
const REGION = 'europe-west1';
const CHANGES = 10;
/** fireops' shard cycle against the bare prober on the same shard: reads, judging, one richer document. */
const RATIO_TARGET = 1.3;

const SERVER = `
const http = require('node:http');
const failing = new Set();
const server = http.createServer((req, res) => {
  if (req.url === '/_fail') {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => { for (const id of JSON.parse(body)) failing.add(id); res.end('ok'); });
    return;
  }
  const id = Number(req.url.split('/').pop());
  if (id % 100 === 0) return; // 1%: never answers
  setTimeout(() => {
    if (failing.has(id)) res.writeHead(503).end('down');
    else res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"UP"}');
  }, ${ANSWER_MS});
});
server.keepAliveTimeout = 60000;
server.maxConnections = 100000;
server.listen(0, '127.0.0.1', 4096, () => process.send(server.address().port));
`;

export async function health() {
  if (!process.env.FIRESTORE_EMULATOR_HOST) throw new Error('run through npm run bench:health (emulators)');
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise((resolve) => child.once('message', resolve));
  try {
    const sizes = [];
    for (const n of SIZES) sizes.push(await run(port, n));
    return {
      sizes,
      targets: sizes.flatMap((s) => s.targets),
    };
  } finally {
    child.kill();
  }
}

async function run(port, CHECKS) {
  const fnRequire = createRequire(path.join(ROOT, 'functions', 'package.json'));
  const lib = (p) => fnRequire(`./lib/${p}`);
  const { db } = lib('platform/firestore.js');
  const { runProbeCycle, runProbeShard } = lib('health/engine.js');
  const { CatalogCache } = lib('health/catalog-cache.js');
  const { catalogEntry } = lib('health/catalog.js');
  const { probeAll } = lib('health/probe.js');
  const { cycleDocId } = lib('health/docs.js');
  const { spanOf, spanKey, inSpan, bucketOf } = lib('health/domain/shards.js');
  const { healthCheckSchema } = lib('health/schema.js');
  const { Timestamp } = fnRequire('firebase-admin/firestore');
  const counter = countFirestoreWrites(fnRequire);

  const host = process.env.FIRESTORE_EMULATOR_HOST;
  await fetch(
    `http://${host}/emulator/v1/projects/${process.env.GCLOUD_PROJECT ?? 'demo-fireops'}/databases/(default)/documents`,
    { method: 'DELETE' },
  );
  const ids = Array.from({ length: CHECKS }, (_, i) => `c${String(i).padStart(5, '0')}`);
  const numberOf = (id) => Number(id.slice(1));
  const silent = (id) => numberOf(id) % 100 === 0;
  const writer = db().bulkWriter();
  for (const id of ids) {
    const check = healthCheckSchema.parse({
      name: `endpoint ${numberOf(id)}`,
      type: 'http',
      target: `http://127.0.0.1:${port}/probe/${numberOf(id)}`,
      conditions: ['status == 200', 'json $.status == "UP"'],
      timeoutMs: TIMEOUT_MS,
      regions: [REGION],
    });
    void writer.set(db().collection('healthCatalog').doc(id), catalogEntry(id, check));
  }
  await writer.close();
  await db()
    .doc('settings/health')
    .set({ allowTargets: ['127.0.0.1'] });

  const catalog = new CatalogCache();
  const deps = {
    clock: { nowMs: () => Date.now() },
    regions: [REGION],
    concurrency: CONCURRENCY,
    allowCeiling: ['127.0.0.0/8'],
    probeAll,
    secretValue: async () => '',
    catalog,
  };

  // What the orchestrator decides, and what its catalog costs cold (a new instance) and warm.
  let minute = Math.floor(Date.now() / 60_000) * 60_000 - 30 * 60_000;
  const plan = async (m) => {
    let messages;
    const t0 = performance.now();
    const out = await runProbeCycle(
      { region: REGION, scheduleTime: new Date(m).toISOString() },
      {
        ...deps,
        dispatchShards: async (_r, ms) => {
          messages = ms;
        },
      },
    );
    return { out, messages, ms: performance.now() - t0 };
  };
  const cold = await plan(minute);
  const shards = cold.out.outcome === 'fanned-out' ? cold.out.shards : 1;
  const warm = await plan(minute);
  const docIdOf = (m, k) =>
    shards === 1 ? cycleDocId(REGION, m) : cycleDocId(REGION, m, spanKey(spanOf(k, shards)));

  // The steady state the cycles continue from: every check up, the never-answering 1% already down with an
  // incident open (so they are no change either), as one document per shard of the minute before.
  const now = Date.now();
  const seed = db().bulkWriter();
  for (let k = 0; k < shards; k += 1) {
    const span = spanOf(k, shards);
    const mine = ids.filter((id) => inSpan(bucketOf(id), span));
    void seed.set(db().collection('healthCycles').doc(docIdOf(minute, k)), {
      region: REGION,
      minuteMs: minute,
      span: spanKey(span),
      shard: k,
      shards,
      startedAtMs: now,
      durationMs: 0,
      r: {},
      c: Object.fromEntries(mine.map((id) => [id, silent(id) ? [5, 0, now] : [0, 5, now]])),
      s: Object.fromEntries(mine.map((id) => [id, silent(id) ? 'down' : 'up'])),
      i: Object.fromEntries(mine.filter(silent).map((id) => [id, [`${id}_seed`, now, now]])),
      expireAt: Timestamp.fromMillis(now + 35 * 86_400_000),
    });
  }
  await seed.close();

  // The baseline: what any prober must do for a shard: fetch each target (same timeout, same concurrency) and
  // store the results in one document.
  const shardTargets = new Map();
  for (let k = 0; k < shards; k += 1) {
    const span = spanOf(k, shards);
    shardTargets.set(
      k,
      ids.filter((id) => inSpan(bucketOf(id), span)),
    );
  }
  const baseline = async (m, k) => {
    const targets = shardTargets.get(k);
    const results = {};
    let next = 0;
    const worker = async () => {
      while (next < targets.length) {
        const id = targets[next++];
        const t0 = performance.now();
        try {
          const res = await fetch(`http://127.0.0.1:${port}/probe/${numberOf(id)}`, {
            signal: AbortSignal.timeout(TIMEOUT_MS),
          });
          const body = await res.json();
          results[id] = [
            res.status === 200 && body.status === 'UP' ? 1 : 0,
            Math.round(performance.now() - t0),
          ];
        } catch {
          results[id] = [0, TIMEOUT_MS];
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await db().collection('benchBaseline').doc(`${m}_${k}`).set({ r: results });
  };

  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const round = async () => {
    minute += 60_000;
    const m = minute;
    const { out, messages, ms: orchestratorMs } = await plan(m);
    if (out.outcome === 'ran') throw new Error('expected the bench sizes to fan out');
    const queue = [...messages];
    const fireops = [];
    const bare = [];
    const transitions = [];
    const slot = async () => {
      for (let msg = queue.shift(); msg; msg = queue.shift()) {
        let t0 = performance.now();
        await baseline(m, msg.shard);
        bare.push(performance.now() - t0);
        t0 = performance.now();
        const o = await runProbeShard({ ...msg, sentAtMs: Date.now() }, deps);
        fireops.push(performance.now() - t0);
        if (o.outcome !== 'ran') throw new Error(`shard ${msg.shard}: ${o.outcome} ${o.reason ?? ''}`);
        transitions.push(...o.transitions);
      }
    };
    counter.writes = 0;
    await Promise.all(Array.from({ length: WORKERS }, slot));
    // Baseline writes (one per shard) are counted by the same counter: take them off.
    const writes = counter.writes - shards;
    return { orchestratorMs, fireops, bare, writes, transitions };
  };

  const steady = await round();
  const failing = ids.filter((id) => !silent(id)).slice(0, CHANGES);
  await fetch(`http://127.0.0.1:${port}/_fail`, {
    method: 'POST',
    body: JSON.stringify(failing.map(numberOf)),
  });
  const changing = await round();
  clearInterval(sampler);

  // A check's change costs its status (1) + its incident when one opens (1); each shard with a change adds its
  // audit entry and stream head (2). Failing once makes a check degraded (failureThreshold 3): no incident yet.
  const t = changing.transitions;
  const shardOf = (id) => Math.floor(bucketOf(id) / spanOf(0, shards).hi);
  const changedShards = new Set(t.map((x) => shardOf(x.checkId))).size;
  const changeWrites = t.length + t.filter((x) => x.incidentAction).length + 2 * changedShards;
  const all = [...steady.fireops, ...changing.fireops];
  const allBare = [...steady.bare, ...changing.bare];
  const result = {
    checks: CHECKS,
    shards,
    load: cold.out.plan?.load ?? null,
    largestShard: cold.out.plan?.largest ?? CHECKS,
    orchestratorColdMs: Math.round(cold.ms),
    orchestratorWarmMs: Math.round(warm.ms),
    fireopsShardMs: { median: Math.round(median(all)), p95: Math.round(percentile(all, 95)) },
    baselineShardMs: { median: Math.round(median(allBare)), p95: Math.round(percentile(allBare, 95)) },
    ratio: +(median(all) / median(allBare)).toFixed(2),
    writesSteady: steady.writes,
    writesWithChanges: changing.writes,
    changes: t.length,
    changeWrites,
    peakRssMb: Math.round(peak / 2 ** 20),
  };
  console.log(
    `${CHECKS} checks in ${shards} shard(s) (largest ${result.largestShard} checks, ` +
      `${Math.round((result.load ?? 0) * 100)}% of its worst-minute budget): shard cycle median ` +
      `${result.fireopsShardMs.median} ms (p95 ${result.fireopsShardMs.p95}) vs bare prober ` +
      `${result.baselineShardMs.median} ms (p95 ${result.baselineShardMs.p95}), ratio ${result.ratio}; ` +
      `orchestrator ${result.orchestratorColdMs} ms cold / ${result.orchestratorWarmMs} ms warm; writes per cycle ` +
      `${result.writesSteady} steady, ${result.writesWithChanges} with ${t.length} changes ` +
      `(shards + changes = ${shards} + ${changeWrites}); peak RSS ${result.peakRssMb} MB (${WORKERS} shards at once)`,
  );
  result.targets = [
    target(
      `${CHECKS} checks: shard cycle / bare prober (median, ${all.length} shards)`,
      result.ratio,
      '<=',
      RATIO_TARGET,
    ),
    fact(
      `${CHECKS} checks: steady writes per cycle == shards`,
      steady.writes === shards,
      `${steady.writes} vs ${shards}`,
    ),
    fact(
      `${CHECKS} checks: writes with changes == shards + changes`,
      changing.writes === shards + changeWrites && t.length === CHANGES,
      `${changing.writes} vs ${shards} + ${changeWrites} (${t.length} changes)`,
    ),
    target(`${CHECKS} checks: peak RSS MB (${WORKERS} shards at once)`, result.peakRssMb, '<=', 512),
  ];
  return result;
}
