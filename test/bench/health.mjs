// One probe cycle at scale: 1,000 HTTP checks against a local server (in a child process, so its memory is not
// ours) answering in 200 ms, 1% never answering within the 1 s timeout, concurrency 50, on the Firestore emulator.
// Prints the cycle's wall time against the ideal ceil(1000/50) x 200 ms plus the timeouts' share
// (10 x 1 s / 50), the peak RSS, and the Firestore writes of a steady cycle and of one where 10 checks change
// state against README's promise (1 + statuses + incidents touched + 2 audit writes when anything changed), next
// to what one document per probe (Uptime Kuma, Upptime) would cost: 1,000.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { countFirestoreWrites } from './firestore-writes.mjs';
import { fact, median, target } from './targets.mjs';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const CHECKS = Number(process.env.BENCH_HEALTH_CHECKS ?? 1000);
const CONCURRENCY = 50;
const ANSWER_MS = 200;
const TIMEOUT_MS = 1000;
const REGION = 'europe-west1';

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
server.listen(0, '127.0.0.1', () => process.send(server.address().port));
`;

export async function health() {
  if (!process.env.FIRESTORE_EMULATOR_HOST) throw new Error('run through npm run bench:health (emulators)');
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise((resolve) => child.once('message', resolve));
  try {
    return await run(port);
  } finally {
    child.kill();
  }
}

async function run(port) {
  const fnRequire = createRequire(path.join(ROOT, 'functions', 'package.json'));
  const lib = (p) => fnRequire(`./lib/${p}`);
  const { db } = lib('platform/firestore.js');
  const { runProbeCycle } = lib('health/engine.js');
  const { probeAll } = lib('health/probe.js');
  const { cycleDocId } = lib('health/docs.js');
  const { healthCheckSchema } = lib('health/schema.js');
  const { Timestamp } = fnRequire('firebase-admin/firestore');
  const counter = countFirestoreWrites(fnRequire);

  const host = process.env.FIRESTORE_EMULATOR_HOST;
  await fetch(
    `http://${host}/emulator/v1/projects/${process.env.GCLOUD_PROJECT ?? 'demo-fireops'}/databases/(default)/documents`,
    {
      method: 'DELETE',
    },
  );
  const ids = Array.from({ length: CHECKS }, (_, i) => `c${String(i).padStart(4, '0')}`);
  const checks = Object.fromEntries(
    ids.map((id, i) => [
      id,
      healthCheckSchema.parse({
        name: `endpoint ${i}`,
        type: 'http',
        target: `http://127.0.0.1:${port}/probe/${i}`,
        conditions: ['status == 200', 'json $.status == "UP"'],
        timeoutMs: TIMEOUT_MS,
        regions: [REGION],
      }),
    ]),
  );
  await db().doc('healthCatalog/current').set({ checks, refused: {}, updatedAtMs: Date.now() });
  await db()
    .doc('settings/health')
    .set({ allowTargets: ['127.0.0.1'] });

  // The steady state the cycle continues from: every check up, the never-answering 1% already down with an
  // incident open (so they are no change either).
  let minute = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
  const now = Date.now();
  const silent = (i) => i % 100 === 0;
  await db()
    .collection('healthCycles')
    .doc(cycleDocId(REGION, minute))
    .set({
      region: REGION,
      minuteMs: minute,
      startedAtMs: now,
      durationMs: 0,
      r: {},
      c: Object.fromEntries(ids.map((id, i) => [id, silent(i) ? [5, 0, now] : [0, 5, now]])),
      s: Object.fromEntries(ids.map((id, i) => [id, silent(i) ? 'down' : 'up'])),
      i: Object.fromEntries(ids.filter((_, i) => silent(i)).map((id) => [id, [`${id}_seed`, now, now]])),
      expireAt: Timestamp.fromMillis(now + 35 * 86_400_000),
    });

  const clock = { nowMs: () => Date.now() };
  const deps = {
    clock,
    regions: [REGION],
    concurrency: CONCURRENCY,
    allowCeiling: ['127.0.0.0/8'],
    probeAll,
    secretValue: async () => '',
  };
  const cycle = async () => {
    minute += 60_000;
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    counter.writes = 0;
    const t0 = performance.now();
    const outcome = await runProbeCycle(
      { region: REGION, scheduleTime: new Date(minute).toISOString() },
      deps,
    );
    const ms = performance.now() - t0;
    clearInterval(sampler);
    if (outcome.outcome !== 'ran') throw new Error(`cycle ${outcome.outcome}: ${outcome.reason}`);
    // README's promise: 1 (the cycle document, which also carries the alerts) + one per status written (every
    // transition reported) + one per incident touched + 2 (audit entry and stream head) when anything changed.
    const t = outcome.transitions;
    const promised = 1 + t.length + t.filter((x) => x.incidentAction).length + (t.length ? 2 : 0);
    return {
      ms,
      writes: counter.writes,
      promised,
      peakRssMb: peak / 2 ** 20,
      transitions: t.length,
    };
  };

  const ideal = Math.ceil(CHECKS / CONCURRENCY) * ANSWER_MS + ((CHECKS / 100) * TIMEOUT_MS) / CONCURRENCY;
  const steady = [];
  for (let k = 0; k < 5; k += 1) steady.push(await cycle());
  await fetch(`http://127.0.0.1:${port}/_fail`, {
    method: 'POST',
    body: JSON.stringify(Array.from({ length: 10 }, (_, k) => 1 + k * 7)),
  });
  const changing = await cycle();
  // Approximate stored size of one cycle document (Firestore counts names and values much like JSON does).
  const last = (await db().collection('healthCycles').doc(cycleDocId(REGION, minute)).get()).data();
  const cycleDocBytes = Buffer.byteLength(JSON.stringify({ ...last, expireAt: 0 }));
  const result = {
    checks: CHECKS,
    concurrency: CONCURRENCY,
    idealMs: ideal,
    cycleMs: steady.map((s) => Math.round(s.ms)),
    ratio: +(median(steady.map((c) => c.ms)) / ideal).toFixed(2),
    timeoutShareMs: ((CHECKS / 100) * TIMEOUT_MS) / CONCURRENCY,
    peakRssMb: Math.round(Math.max(...steady.map((s) => s.peakRssMb), changing.peakRssMb)),
    writesSteady: steady.map((s) => s.writes),
    writesWith10Changes: changing.writes,
    writesPromisedWith10Changes: changing.promised,
    writesPromiseMet: [...steady, changing].every((c) => c.writes === c.promised),
    transitionsWith10Changes: changing.transitions,
    writesOneDocPerProbe: CHECKS,
    cycleDocBytes,
  };
  console.log(
    `${CHECKS} checks, concurrency ${CONCURRENCY}: cycle ${result.cycleMs.join(' / ')} ms vs ideal ${ideal} ms ` +
      `(ratio ${result.ratio}, timeouts' share ${result.timeoutShareMs} ms); peak RSS ${result.peakRssMb} MB; ` +
      `Firestore writes per cycle ${result.writesSteady.join(' / ')} steady, ${changing.writes} with ` +
      `${changing.transitions} state changes (promised ${changing.promised}: ` +
      `${result.writesPromiseMet ? 'met' : 'NOT MET'}); one document per probe would be ${CHECKS}; ` +
      `cycle document ~${Math.round(cycleDocBytes / 1024)} KiB`,
  );
  result.targets = [
    target(`cycle time / ideal (median of ${steady.length} steady cycles)`, result.ratio, '<=', 1.25),
    target('peak RSS MB', result.peakRssMb, '<=', 256),
    fact('Firestore writes per cycle as promised', result.writesPromiseMet),
  ];
  return result;
}
