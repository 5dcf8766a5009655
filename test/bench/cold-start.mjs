// Cold load of functions/lib/index.js next to a minimal function that only initializes Firestore, each in a fresh
// Node process (what a new Cloud Functions instance pays before its first request), alternated, same run.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { median, percentile, target } from './targets.mjs';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FUNCTIONS = path.join(ROOT, 'functions');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const MAX_RATIO = 1.15;

function loadMs(file) {
  // Resolve modules from functions/node_modules, as the deployed function does.
  const script = `
    const t0 = process.hrtime.bigint();
    const m = require(${JSON.stringify(file)});
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const count = (o) => Object.values(o).reduce((n, v) => n + (v && v.__endpoint ? 1 : v && typeof v === 'object' ? count(v) : 0), 0);
    process.stdout.write(JSON.stringify({ ms, exports: count(m), rssMb: process.memoryUsage().rss / 2**20 }));`;
  const out = spawnSync(process.execPath, ['-e', script], {
    cwd: FUNCTIONS,
    encoding: 'utf8',
    env: { ...process.env, NODE_PATH: path.join(FUNCTIONS, 'node_modules'), GCLOUD_PROJECT: 'demo-fireops' },
  });
  if (out.status !== 0) throw new Error(`load of ${file} failed: ${out.stderr}`);
  return JSON.parse(out.stdout);
}

export function coldStart() {
  createRequire(path.join(FUNCTIONS, 'package.json')).resolve('firebase-admin/firestore');
  const subject = path.join(FUNCTIONS, 'lib', 'index.js');
  const baseline = path.join(ROOT, 'test', 'bench', 'fixtures', 'minimal-firestore.cjs');
  const a = [];
  const b = [];
  let exportsCount = 0;
  let rss = [0, 0];
  loadMs(subject); // warm the OS file cache for both before measuring
  loadMs(baseline);
  for (let i = 0; i < RUNS; i++) {
    const s = loadMs(subject);
    const m = loadMs(baseline);
    a.push(s.ms);
    b.push(m.ms);
    exportsCount = s.exports;
    rss = [s.rssMb, m.rssMb];
  }
  const result = {
    runs: RUNS,
    fireopsIndexMs: median(a),
    minimalFirestoreMs: median(b),
    ratio: median(a) / median(b),
    p95Ms: { fireops: percentile(a, 95), minimal: percentile(b, 95) },
    fireopsExports: exportsCount,
    rssMb: { fireops: Math.round(rss[0]), minimal: Math.round(rss[1]) },
  };
  console.log(
    `cold load (median of ${RUNS}): functions/lib/index.js ${result.fireopsIndexMs.toFixed(1)} ms ` +
      `(${exportsCount} functions, RSS ${result.rssMb.fireops} MB) vs minimal Firestore function ` +
      `${result.minimalFirestoreMs.toFixed(1)} ms (RSS ${result.rssMb.minimal} MB): ratio ${result.ratio.toFixed(2)}`,
  );
  result.targets = [
    target(`cold load ratio fireops/minimal (median of ${RUNS}, alternated)`, result.ratio, '<=', MAX_RATIO),
  ];
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) coldStart();
