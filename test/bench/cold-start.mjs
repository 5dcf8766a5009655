// What a new Cloud Functions instance pays before it answers, fireops against minimal functions, each in a fresh
// Node process, alternated, same run (median and p95):
// - load: require(functions/lib/index.js) (every export defined) vs a minimal function that initializes Firestore
//   at module load (fixtures/minimal-firestore.cjs);
// - load plus the first request of the public endpoints, which callers wait on: `webhooks-githubWebhook` (GitHub
//   gives up after 10 s) with a signed delivery, vs a minimal receiver that reads the secret, checks the signature
//   and records the delivery (fixtures/minimal-webhook.cjs); `health-status` vs a minimal function doing its two
//   Firestore reads. fireops defers work from load to first use (Firestore, zod, the Secret Manager client), so
//   timing load alone would flatter it.
// The third busy function, each region's probeCycle, is scheduled: nobody waits on its first run, and its cost is
// the probes (bench:health), so it has no figure here.
// Needs the emulators and stand-ins (npm run bench runs inside the suite); the webhook secret and settings/github
// are set up as for bench:webhook, and a health summary is written first (runHealthRollup) so status answers 200.
import { spawnSync } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { median, percentile, target } from './targets.mjs';
import { WEBHOOK_SECRET_VALUE, loadFunctions, setup } from './webhook.mjs';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FUNCTIONS = path.join(ROOT, 'functions');
const FIXTURES = path.join(ROOT, 'test', 'bench', 'fixtures');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const MAX_LOAD_RATIO = 1.15;
const MAX_FIRST_REQUEST_RATIO = 1.35;

/** What the Functions emulator gives the deployed functions: the demo project's dotenv values. */
function demoEnv() {
  const env = {};
  for (const line of readFileSync(path.join(FUNCTIONS, '.env.demo-fireops'), 'utf8').split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  return env;
}

/** A ping as GitHub sends it: fresh GUID, HMAC-SHA256 over the exact body. */
function signedPing() {
  const body = JSON.stringify({
    zen: 'Keep it logically awesome.',
    hook_id: 1,
    hook: {
      type: 'Repository',
      id: 1,
      name: 'web',
      active: true,
      events: ['*'],
      config: { content_type: 'json', insecure_ssl: '0', url: 'https://example.invalid/hook' },
    },
  });
  return {
    method: 'POST',
    body: Buffer.from(body).toString('base64'),
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'GitHub-Hookshot/bench',
      'x-github-event': 'ping',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${createHmac('sha256', WEBHOOK_SECRET_VALUE).update(body).digest('hex')}`,
    },
  };
}

const GET = { method: 'GET', headers: {} };

/** In a fresh process: load `file`, then (if `fn` names an export) answer one request through it. */
function measure(file, fn, request = GET) {
  const script = `
    const t0 = process.hrtime.bigint();
    const m = require(${JSON.stringify(file)});
    const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const count = (o) => Object.values(o).reduce((n, v) => n + (v && v.__endpoint ? 1 : v && typeof v === 'object' ? count(v) : 0), 0);
    const out = { loadMs, exports: count(m) };
    const done = () => { out.rssMb = process.memoryUsage().rss / 2**20; process.stdout.write('\\nBENCH_RESULT ' + JSON.stringify(out) + '\\n'); process.exit(0); };
    const name = ${JSON.stringify(fn ?? '')};
    if (!name) done();
    const handler = name.split('.').reduce((o, k) => o[k], m);
    const spec = ${JSON.stringify(request)};
    const headers = spec.headers;
    // The parts of an Express request and response the handlers use.
    const rawBody = spec.body ? Buffer.from(spec.body, 'base64') : undefined;
    const req = { method: spec.method, headers, query: {}, url: '/', path: '/', rawBody,
      body: rawBody ? JSON.parse(rawBody.toString('utf8')) : undefined,
      get: (h) => headers[h.toLowerCase()], header: (h) => headers[h.toLowerCase()] };
    const res = { statusCode: 200, headers: {}, headersSent: false,
      set(k, v) { this.headers[k] = v; return this; }, setHeader(k, v) { this.headers[k] = v; },
      getHeader(k) { return this.headers[k]; }, status(c) { this.statusCode = c; return this; },
      json(b) { out.body = b; return this.end(); }, send(b) { out.body = b; return this.end(); }, on() { return this; },
      end() { out.firstRequestMs = Number(process.hrtime.bigint() - t0) / 1e6; out.status = this.statusCode; done(); return this; } };
    handler(req, res);`;
  const out = spawnSync(process.execPath, ['-e', script], {
    cwd: FUNCTIONS,
    encoding: 'utf8',
    env: {
      ...process.env,
      ...demoEnv(),
      NODE_PATH: path.join(FUNCTIONS, 'node_modules'),
      GCLOUD_PROJECT: 'demo-fireops',
    },
  });
  if (out.status !== 0) throw new Error(`${file} ${fn ?? ''} failed: ${out.stderr}`);
  // The functions log to stdout too: the result is the line the script marks.
  const line = out.stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (!line) throw new Error(`${file} ${fn ?? ''} printed no result: ${out.stdout.slice(-500)}`);
  const r = JSON.parse(line.slice('BENCH_RESULT '.length));
  if (fn && (r.status < 200 || r.status > 299))
    throw new Error(`${fn} answered ${r.status}, not 2xx: ${JSON.stringify(r.body)}`);
  return r;
}

const stats = (xs) => ({ medianMs: median(xs), p95Ms: percentile(xs, 95) });

export async function coldStart() {
  if (!process.env.FIRESTORE_EMULATOR_HOST) throw new Error('run through npm run bench (emulators)');
  const fnRequire = createRequire(path.join(FUNCTIONS, 'package.json'));
  await fnRequire('./lib/health/rollup.js').runHealthRollup({ nowMs: Date.now(), correlationId: 'bench' });
  await setup(loadFunctions());
  const subject = path.join(FUNCTIONS, 'lib', 'index.js');
  const cases = {
    load: { fireops: [subject], minimal: [path.join(FIXTURES, 'minimal-firestore.cjs')] },
    webhook: {
      fireops: [subject, 'webhooks.githubWebhook', signedPing],
      minimal: [path.join(FIXTURES, 'minimal-webhook.cjs'), 'minimalWebhook', signedPing],
    },
    status: {
      fireops: [subject, 'health.status'],
      minimal: [path.join(FIXTURES, 'minimal-firestore.cjs'), 'minimalStatus'],
    },
  };
  const run = ([file, fn, request]) => measure(file, fn, typeof request === 'function' ? request() : request);
  const times = Object.fromEntries(Object.keys(cases).map((k) => [k, { fireops: [], minimal: [] }]));
  const rss = {};
  let exportsCount = 0;
  // Warm the OS file cache for every process before measuring.
  for (const c of Object.values(cases)) for (const side of ['fireops', 'minimal']) run(c[side]);
  for (let i = 0; i < RUNS; i++) {
    for (const [name, c] of Object.entries(cases)) {
      // Alternated, and which side goes first alternates too.
      const order = i % 2 === 0 ? ['fireops', 'minimal'] : ['minimal', 'fireops'];
      for (const side of order) {
        const r = run(c[side]);
        times[name][side].push(name === 'load' ? r.loadMs : r.firstRequestMs);
        rss[`${name}.${side}`] = Math.round(r.rssMb);
        if (side === 'fireops' && name === 'load') exportsCount = r.exports;
      }
    }
  }
  const result = { runs: RUNS, fireopsExports: exportsCount, rssMb: rss };
  for (const [name, t] of Object.entries(times)) {
    result[name] = {
      fireops: stats(t.fireops),
      minimal: stats(t.minimal),
      ratio: median(t.fireops) / median(t.minimal),
    };
    console.log(
      `${name === 'load' ? 'load' : `load + first request (${name})`}, median of ${RUNS} alternated: fireops ` +
        `${result[name].fireops.medianMs.toFixed(1)} ms (p95 ${result[name].fireops.p95Ms.toFixed(1)}, RSS ` +
        `${rss[`${name}.fireops`]} MB) vs minimal ${result[name].minimal.medianMs.toFixed(1)} ms (p95 ` +
        `${result[name].minimal.p95Ms.toFixed(1)}, RSS ${rss[`${name}.minimal`]} MB): ratio ${result[name].ratio.toFixed(2)}`,
    );
  }
  result.targets = [
    target(`load ratio (${exportsCount} functions vs minimal)`, result.load.ratio, '<=', MAX_LOAD_RATIO),
    target('load + first request ratio, githubWebhook', result.webhook.ratio, '<=', MAX_FIRST_REQUEST_RATIO),
    target('load + first request ratio, status', result.status.ratio, '<=', MAX_FIRST_REQUEST_RATIO),
  ];
  return result;
}
