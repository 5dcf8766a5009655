// What a new Cloud Functions instance pays before it answers, fireops against a minimal function, each in a fresh
// Node process, alternated, same run:
// - load: require(functions/lib/index.js) (every export defined) vs a minimal function that initializes Firestore
//   at module load (fixtures/minimal-firestore.cjs);
// - first request: load plus the first answer of `health-status` (the public endpoint; its first request loads what
//   fireops defers: the Firestore client's first use, zod for the summary, the logger) vs the minimal function
//   doing the same two Firestore reads and answering JSON. fireops defers work from load to first use, so timing
//   load alone would flatter it; the first-request figure is the one a caller waits for.
// Needs the Firestore emulator (npm run bench runs inside the emulator suite); a health summary is written first
// (runHealthRollup) so both answer 200.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { median, percentile, target } from './targets.mjs';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FUNCTIONS = path.join(ROOT, 'functions');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const MAX_LOAD_RATIO = 1.15;
const MAX_FIRST_REQUEST_RATIO = 1.35;

/** In a fresh process: load `file`, then (if `fn` names an export) answer one GET through it. */
function measure(file, fn) {
  const script = `
    const t0 = process.hrtime.bigint();
    const m = require(${JSON.stringify(file)});
    const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const count = (o) => Object.values(o).reduce((n, v) => n + (v && v.__endpoint ? 1 : v && typeof v === 'object' ? count(v) : 0), 0);
    const out = { loadMs, exports: count(m) };
    const done = () => { out.rssMb = process.memoryUsage().rss / 2**20; process.stdout.write(JSON.stringify(out)); process.exit(0); };
    const name = ${JSON.stringify(fn ?? '')};
    if (!name) done();
    const handler = name.split('.').reduce((o, k) => o[k], m);
    // The parts of an Express request and response the two handlers use.
    const req = { method: 'GET', headers: {}, query: {}, url: '/', path: '/', get: () => undefined, header: () => undefined };
    const res = { statusCode: 200, headers: {},
      set(k, v) { this.headers[k] = v; return this; }, setHeader(k, v) { this.headers[k] = v; },
      getHeader(k) { return this.headers[k]; }, status(c) { this.statusCode = c; return this; },
      json() { return this.end(); }, send() { return this.end(); }, on() { return this; },
      end() { out.firstRequestMs = Number(process.hrtime.bigint() - t0) / 1e6; out.status = this.statusCode; done(); return this; } };
    handler(req, res);`;
  const out = spawnSync(process.execPath, ['-e', script], {
    cwd: FUNCTIONS,
    encoding: 'utf8',
    env: { ...process.env, NODE_PATH: path.join(FUNCTIONS, 'node_modules'), GCLOUD_PROJECT: 'demo-fireops' },
  });
  if (out.status !== 0) throw new Error(`${file} ${fn ?? ''} failed: ${out.stderr}`);
  const r = JSON.parse(out.stdout);
  if (fn && r.status !== 200) throw new Error(`${fn} answered ${r.status}, not 200`);
  return r;
}

export async function coldStart() {
  if (!process.env.FIRESTORE_EMULATOR_HOST) throw new Error('run through npm run bench (emulators)');
  const fnRequire = createRequire(path.join(FUNCTIONS, 'package.json'));
  await fnRequire('./lib/health/rollup.js').runHealthRollup({ nowMs: Date.now(), correlationId: 'bench' });
  const subject = path.join(FUNCTIONS, 'lib', 'index.js');
  const baseline = path.join(ROOT, 'test', 'bench', 'fixtures', 'minimal-firestore.cjs');
  const load = { fireops: [], minimal: [] };
  const first = { fireops: [], minimal: [] };
  let exportsCount = 0;
  let rss = [0, 0];
  // Warm the OS file cache for both before measuring.
  measure(subject, 'health.status');
  measure(baseline, 'minimalStatus');
  for (let i = 0; i < RUNS; i++) {
    const s = measure(subject);
    const m = measure(baseline);
    load.fireops.push(s.loadMs);
    load.minimal.push(m.loadMs);
    exportsCount = s.exports;
    const sf = measure(subject, 'health.status');
    const mf = measure(baseline, 'minimalStatus');
    first.fireops.push(sf.firstRequestMs);
    first.minimal.push(mf.firstRequestMs);
    rss = [sf.rssMb, mf.rssMb];
  }
  const result = {
    runs: RUNS,
    load: {
      fireopsMs: median(load.fireops),
      minimalMs: median(load.minimal),
      ratio: median(load.fireops) / median(load.minimal),
      p95Ms: { fireops: percentile(load.fireops, 95), minimal: percentile(load.minimal, 95) },
    },
    firstRequest: {
      fireopsMs: median(first.fireops),
      minimalMs: median(first.minimal),
      ratio: median(first.fireops) / median(first.minimal),
      p95Ms: { fireops: percentile(first.fireops, 95), minimal: percentile(first.minimal, 95) },
    },
    fireopsExports: exportsCount,
    rssMbAfterFirstRequest: { fireops: Math.round(rss[0]), minimal: Math.round(rss[1]) },
  };
  console.log(
    `cold load (median of ${RUNS}, alternated): functions/lib/index.js ${result.load.fireopsMs.toFixed(1)} ms ` +
      `(${exportsCount} functions) vs minimal Firestore function ${result.load.minimalMs.toFixed(1)} ms: ratio ` +
      `${result.load.ratio.toFixed(2)}\n` +
      `load + first request (health-status vs the same reads, median of ${RUNS}): ` +
      `${result.firstRequest.fireopsMs.toFixed(1)} ms (RSS ${result.rssMbAfterFirstRequest.fireops} MB) vs ` +
      `${result.firstRequest.minimalMs.toFixed(1)} ms (RSS ${result.rssMbAfterFirstRequest.minimal} MB): ratio ` +
      `${result.firstRequest.ratio.toFixed(2)}`,
  );
  result.targets = [
    target(
      `cold load ratio fireops/minimal (median of ${RUNS}, alternated)`,
      result.load.ratio,
      '<=',
      MAX_LOAD_RATIO,
    ),
    target(
      `load + first request ratio health-status/minimal (median of ${RUNS}, alternated)`,
      result.firstRequest.ratio,
      '<=',
      MAX_FIRST_REQUEST_RATIO,
    ),
  ];
  return result;
}
