// The GitHub webhook intake (handleGithubWebhook from functions/lib, the compiled code) in process against the
// emulator suite, next to a baseline handler that does the least a webhook receiver can do (verify the signature
// with @octokit/webhooks-methods, one Firestore create, 202). Same real payloads, fresh GUIDs, real signatures;
// a steady open-loop schedule (sends on a timer, never waits for answers) that hands each handler one request per
// tick, so both see the same machine load. Time to answer = from the call until res.json.
// `npm run bench:webhook` starts only the Firestore, Pub/Sub and Auth emulators: the relay and router functions
// that each delivery triggers run on other instances in production, and in the Functions emulator they would
// compete with the handler for this machine's two cores.
import { createHmac, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { target } from './targets.mjs';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FUNCTIONS = path.join(ROOT, 'functions');
const RATE = 20; // requests per second, per handler
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const WARMUP = 20; // requests per handler, not counted
const DRAIN_MS = 30_000; // longest wait for answers after the last send; later ones count as errors
const STRAGGLER_MS = 120_000; // then how long requests still running may take to end before shutdown
const SECRET_ID = 'github-webhook-secret';
const SECRET_VALUE = 'fireops-bench-webhook-secret';
const TARGETS = { maxP50Ratio: 1.5, maxFireopsP99Ms: 300 };

const ALLOWED_REPOS = ['Codertocat/Hello-World', 'Octocoders/Hello-World', 'octo-org/octo-repo'];
/** The mix: each kind in turn, cycling through its matching examples from GitHub's own. */
const MIX = [
  ['push', (p) => p.ref === 'refs/heads/master'],
  ['release', (p) => p.action === 'published'],
  ['deployment', (p) => p.action === 'created' && p.deployment?.environment === 'production'],
  ['workflow_run', (p) => p.action === 'completed'],
  ['issues', (p) => p.action === 'opened'],
];

function loadPayloads() {
  const examples = createRequire(import.meta.url)('@octokit/webhooks-examples/api.github.com/index.json');
  return MIX.map(([event, pick]) => {
    const found = (examples.find((e) => e.name === event)?.examples ?? []).filter(pick);
    if (!found.length) throw new Error(`no example payload for ${event}`);
    return { event, bodies: found.map((p) => Buffer.from(JSON.stringify(p))) };
  });
}

async function loadOctokitVerify() {
  const dir = path.join(FUNCTIONS, 'node_modules', '@octokit', 'webhooks-methods');
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const entry = path.join(dir, pkg.exports['.'].node.import);
  if (!existsSync(entry)) throw new Error(`@octokit/webhooks-methods entry ${entry} not found`);
  const { verify } = await import(pathToFileURL(entry).href);
  return verify;
}

export function loadFunctions() {
  const fnRequire = createRequire(path.join(FUNCTIONS, 'package.json'));
  const lib = (p) => {
    try {
      return fnRequire(`./lib/${p}`);
    } catch (err) {
      throw new Error(`functions/lib/${p} not loadable (build functions first): ${err.message}`);
    }
  };
  return {
    webhook: lib('webhooks/receive.js'),
    secrets: lib('webhooks/webhook-secrets.js'),
    secretManager: lib('platform/secret-manager.js'),
    firestore: lib('platform/firestore.js'),
    settings: lib('platform/settings.js'),
    schemas: lib('webhooks/schema.js'),
    params: lib('platform/params.js'),
    clock: lib('platform/domain/clock.js'),
    logger: lib('platform/logger.js'),
  };
}

/** The webhook secret in the Secret Manager emulator (alias `current` on one known version) and settings/github. */
export const WEBHOOK_SECRET_VALUE = SECRET_VALUE;

export async function setup(fn) {
  for (const v of ['FIRESTORE_EMULATOR_HOST', 'PUBSUB_EMULATOR_HOST', 'SECRET_MANAGER_EMULATOR_HOST']) {
    if (!process.env[v])
      throw new Error(`${v} is not set: run through \`npm run bench:webhook\` (emulators)`);
  }
  const client = fn.secretManager.secretManager();
  const name = fn.secretManager.secretName(SECRET_ID);
  await client.deleteSecret({ name }).catch(() => undefined);
  await client.createSecret({
    parent: `projects/${fn.firestore.projectId()}`,
    secretId: SECRET_ID,
    secret: { replication: { automatic: {} } },
  });
  const [version] = await client.addSecretVersion({
    parent: name,
    payload: { data: Buffer.from(SECRET_VALUE) },
  });
  await client.updateSecret({
    secret: { name, versionAliases: { current: Number(version.name.split('/').pop()) } },
    updateMask: { paths: ['version_aliases'] },
  });
  await fn.firestore
    .db()
    .doc('settings/github')
    .set({ allowedRepos: ALLOWED_REPOS, environments: ['production'] });
}

/** What the deployed function gets from webhookDeps() (webhooks/deps.ts), with params from the environment or their defaults. */
function fireopsDeps(fn) {
  const param = (p) => (process.env[p.name] !== undefined ? p.value() : p.options.default);
  return {
    secrets: new fn.secrets.CachedSecretSource(SECRET_ID, {
      ttlMs: param(fn.params.WEBHOOK_SECRET_CACHE_SECONDS) * 1000,
    }),
    maxBytes: param(fn.params.WEBHOOK_MAX_BYTES),
    clock: fn.clock.systemClock,
    settings: fn.settings.cachedValidatedDoc(
      'settings/github',
      async () => fn.schemas.githubSettingsSchema,
      param(fn.params.GITHUB_SETTINGS_CACHE_SECONDS) * 1000,
    ),
  };
}

function baselineHandler(verify, db) {
  return async (req, res) => {
    if (!(await verify(SECRET_VALUE, req.rawBody.toString('utf8'), req.get('x-hub-signature-256')))) {
      res.status(401).json({ error: 'bad signature' });
      return;
    }
    const guid = req.get('x-github-delivery');
    await db
      .collection('benchBaseline')
      .doc(guid)
      .create({ event: req.get('x-github-event'), receivedAt: Date.now() });
    res.status(202).json({ accepted: true, deliveryId: guid });
  };
}

/** A delivery as GitHub sends it: fresh GUID, HMAC-SHA256 over the exact body. */
function request(event, body) {
  const headers = {
    'content-type': 'application/json',
    'content-length': String(body.length),
    'user-agent': 'GitHub-Hookshot/bench',
    'x-github-event': event,
    'x-github-delivery': randomUUID(),
    'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET_VALUE).update(body).digest('hex')}`,
  };
  return { method: 'POST', rawBody: body, get: (h) => headers[h.toLowerCase()] };
}

/** Requests whose handler has not returned yet, warm-up included. */
const running = new Set();

/** Calls the handler; resolves with the time until res.json, the status, or the error. Never rejects. */
function call(handler, req) {
  const answered = new Promise((resolve) => {
    let status = 200;
    let done = false;
    const finish = (rec) => {
      if (!done) {
        done = true;
        resolve(rec);
      }
    };
    const res = {
      status(n) {
        status = n;
        return res;
      },
      set() {
        return res;
      },
      json(body) {
        finish({ ms: performance.now() - t0, status, body });
        return res;
      },
    };
    const t0 = performance.now();
    const ran = (async () => handler(req, res))().then(
      () => finish({ ms: performance.now() - t0, error: 'returned without answering' }),
      (err) => finish({ ms: performance.now() - t0, error: `threw: ${err?.message ?? err}` }),
    );
    running.add(ran);
    void ran.finally(() => running.delete(ran));
  });
  return answered;
}

/**
 * Open loop: tick i is due at start + i/rate, whatever is still in flight; each tick sends one request to every
 * handler (order alternating per tick). Waits for the answers at most DRAIN_MS after the last send; a request
 * still unanswered then is an error whose time is a lower bound (how long it had waited at the cut).
 */
async function openLoop(handlers, payloads, ticks) {
  const records = handlers.map(() => []);
  const pending = [];
  const interval = 1000 / RATE;
  let lagMax = 0;
  const start = performance.now();
  for (let i = 0; i < ticks; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    lagMax = Math.max(lagMax, performance.now() - due);
    const kind = payloads[i % payloads.length];
    const body = kind.bodies[Math.floor(i / payloads.length) % kind.bodies.length];
    const order = i % 2 === 0 ? handlers.map((_, h) => h) : handlers.map((_, h) => h).reverse();
    for (const h of order) {
      const at = records[h].push({ sentAt: performance.now() }) - 1;
      pending.push(
        call(handlers[h], request(kind.event, body)).then((rec) => {
          records[h][at] = rec;
        }),
      );
    }
  }
  const sentMs = performance.now() - start;
  let timer;
  await Promise.race([Promise.all(pending), new Promise((r) => (timer = setTimeout(r, DRAIN_MS)))]);
  clearTimeout(timer);
  const cut = performance.now();
  const snapshot = records.map((recs) =>
    recs.map((r) =>
      r.sentAt === undefined
        ? r
        : {
            ms: cut - r.sentAt,
            censored: true,
            error: `no answer within ${DRAIN_MS / 1000} s of the last send`,
          },
    ),
  );
  return { records: snapshot, sentMs, lagMaxMs: lagMax };
}

const round = (x) => Math.round(x * 10) / 10;

/** Nearest-rank percentile; `censored` when it lands on an unanswered request (the figure is then a floor). */
function percentile(sorted, p) {
  if (!sorted.length) return { ms: NaN, censored: false };
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

function summarize(records) {
  const isError = (r) => r.error !== undefined || r.status >= 400;
  // Every request counts in the time distribution: answered ones (any status) and thrown ones with their real
  // time, unanswered ones with the time they had waited at the cut.
  const sorted = [...records].sort((a, b) => a.ms - b.ms);
  const outcomes = {};
  const errorKinds = {};
  for (const r of records) {
    const key = r.error ?? `${r.status}${r.body?.accepted ? ' accepted' : r.body?.ignored ? ' ignored' : ''}`;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    if (isError(r)) {
      const why = r.error ?? `${r.status} ${r.body?.error ?? ''}`.trim();
      errorKinds[why] = (errorKinds[why] ?? 0) + 1;
    }
  }
  const at = { p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), p99: percentile(sorted, 0.99) };
  at.max = sorted.at(-1) ?? { ms: NaN, censored: false };
  const lowerBounds = Object.keys(at).filter((k) => at[k].censored);
  return {
    requests: records.length,
    errors: records.filter(isError).length,
    p50: round(at.p50.ms),
    p90: round(at.p90.ms),
    p99: round(at.p99.ms),
    max: round(at.max.ms),
    ...(lowerBounds.length ? { lowerBounds } : {}),
    outcomes,
    ...(Object.keys(errorKinds).length ? { errorKinds } : {}),
  };
}

const fig = (s, k) => `${s.lowerBounds?.includes(k) ? '>=' : ''}${s[k]} ms`;
const line = (name, s) =>
  `${name.padEnd(9)} requests ${s.requests}  errors ${s.errors}  p50 ${fig(s, 'p50')}  p90 ${fig(s, 'p90')}  ` +
  `p99 ${fig(s, 'p99')}  max ${fig(s, 'max')}`;

export async function webhook() {
  if (!(SECONDS > 0))
    throw new Error(`BENCH_SECONDS must be a positive number, not ${process.env.BENCH_SECONDS}`);
  const fn = loadFunctions();
  const verify = await loadOctokitVerify();
  const payloads = loadPayloads();
  await setup(fn);

  // The handler logs one line per delivery; entries are still built and serialized, but kept off the terminal.
  const logged = { warn: 0, error: 0, firstProblems: [] };
  fn.logger.setLogSink((level, message, fields) => {
    JSON.stringify({ severity: level, message, ...fields });
    if (level === 'warn' || level === 'error') {
      logged[level]++;
      const detail = fields.error?.message ?? fields.error ?? fields.reason;
      const text = `${level}: ${message}${detail ? ` (${String(detail).slice(0, 200)})` : ''}`;
      if (logged.firstProblems.length < 3 && !logged.firstProblems.includes(text))
        logged.firstProblems.push(text);
    }
  });

  const deps = fireopsDeps(fn);
  const db = fn.firestore.db();
  const handlers = [
    (req, res) => fn.webhook.handleGithubWebhook(req, res, deps),
    baselineHandler(verify, db),
  ];
  const names = ['fireops', 'baseline'];

  try {
    // Warm-up: loads lazy modules, fills the secret cache, opens channels, creates the ops-events topic. A 4xx
    // answer, or no request answered at all, means the setup is wrong: that fails the run. Other failures under
    // load (5xx, timeouts) are what the measurement is for: reported, not fatal.
    const warm = await openLoop(handlers, payloads, WARMUP);
    warm.records.forEach((recs, h) => {
      const s = summarize(recs);
      const setupError = recs.some((r) => r.status >= 400 && r.status < 500) || s.errors === recs.length;
      if (setupError) {
        throw new Error(
          `warm-up of ${names[h]} failed: ${JSON.stringify(s.errorKinds)} ${logged.firstProblems.join('; ')}`,
        );
      }
      if (s.errors) console.log(`warm-up: ${names[h]} ${s.errors} errors ${JSON.stringify(s.errorKinds)}`);
    });

    const ticks = RATE * SECONDS; // the cap: never more than RATE * SECONDS requests per handler
    console.log(
      `webhook intake: ${RATE} req/s per handler for ${SECONDS} s, open loop, interleaved ` +
        `(mix: ${payloads.map((p) => p.event).join(', ')}; ${WARMUP} warm-up requests each, not counted)`,
    );
    // Context for reading the figures: how busy this process and the machine were while measuring.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const load = [loadavg()[0]];
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    const run = await openLoop(handlers, payloads, ticks);
    const cpu = process.cpuUsage(cpu0);
    loopDelay.disable();
    load.push(loadavg()[0]);
    const machine = {
      cpus: cpus().length,
      loadAvg1m: load.map((l) => Math.round(l * 100) / 100),
      benchProcessCpuPercent: Math.round(
        ((cpu.user + cpu.system) / 1000 / (performance.now() - wall0)) * 100,
      ),
      eventLoopDelayP99Ms: round(loopDelay.percentile(99) / 1e6),
      eventLoopDelayMaxMs: round(loopDelay.max / 1e6),
    };
    const [fireops, baseline] = run.records.map(summarize);
    const ratioP50 = fireops.p50 / baseline.p50;
    const ratioP99 = fireops.p99 / baseline.p99;
    const ratioHolds = ratioP50 <= TARGETS.maxP50Ratio;
    const p99Holds = fireops.p99 < TARGETS.maxFireopsP99Ms;
    const result = {
      rate: RATE,
      seconds: SECONDS,
      sendMs: Math.round(run.sentMs),
      scheduleLagMaxMs: round(run.lagMaxMs),
      fireops,
      baseline,
      ratioP50: Math.round(ratioP50 * 100) / 100,
      ratioP99: Math.round(ratioP99 * 100) / 100,
      targets: [
        target('p50 ratio fireops/baseline (interleaved)', ratioP50, '<=', TARGETS.maxP50Ratio),
        target('fireops p99 ms', fireops.p99, '<', TARGETS.maxFireopsP99Ms),
      ],
      fireopsLog: { warn: logged.warn, error: logged.error },
      machine,
    };

    console.log(line('fireops', fireops));
    console.log(line('baseline', baseline));
    console.log(`fireops outcomes: ${JSON.stringify(fireops.outcomes)}`);
    for (const [name, s] of [
      ['fireops', fireops],
      ['baseline', baseline],
    ]) {
      if (s.errorKinds) console.log(`${name} errors: ${JSON.stringify(s.errorKinds)}`);
    }
    if (logged.warn || logged.error) {
      console.log(`fireops logged ${logged.warn} warnings, ${logged.error} errors; first kinds:`);
      for (const p of logged.firstProblems) console.log(`  ${p}`);
    }
    console.log(
      `schedule: ${ticks} ticks sent in ${(run.sentMs / 1000).toFixed(1)} s, ` +
        `latest send ${result.scheduleLagMaxMs} ms after its due time`,
    );
    console.log(
      `machine: ${machine.cpus} CPUs, load average ${machine.loadAvg1m.join(' -> ')}, this process ` +
        `${machine.benchProcessCpuPercent}% CPU, event loop delay p99 ${machine.eventLoopDelayP99Ms} ms ` +
        `max ${machine.eventLoopDelayMaxMs} ms`,
    );
    // A ratio is a floor when the fireops figure is one and the baseline's is exact.
    const ratioFig = (k) =>
      `${fireops.lowerBounds?.includes(k) && !baseline.lowerBounds?.includes(k) ? '>=' : ''}` +
      `${k === 'p50' ? result.ratioP50 : result.ratioP99}`;
    console.log(`ratio fireops/baseline: p50 ${ratioFig('p50')}  p99 ${ratioFig('p99')}`);
    console.log(
      `target p50 ratio <= ${TARGETS.maxP50Ratio}: ${ratioHolds ? 'held' : 'MISSED'} (${ratioFig('p50')}; ` +
        `p99 ratio ${ratioFig('p99')}, shown only)`,
    );
    console.log(
      `target fireops p99 < ${TARGETS.maxFireopsP99Ms} ms: ${p99Holds ? 'held' : 'MISSED'} (${fig(fireops, 'p99')})`,
    );
    if (fireops.errors || baseline.errors)
      console.log('note: errors were counted; see the error lines above');
    return result;
  } finally {
    await shutdown(fn, db);
  }
}

/** Closes the clients once no request is in flight; requests cut at the drain get a bounded while to end. */
async function shutdown(fn, db) {
  const deadline = performance.now() + STRAGGLER_MS;
  if (running.size)
    console.log(`waiting up to ${STRAGGLER_MS / 1000} s for ${running.size} requests still running`);
  while (running.size && performance.now() < deadline) {
    let timer;
    await Promise.race([
      Promise.allSettled([...running]),
      new Promise((r) => (timer = setTimeout(r, deadline - performance.now()))),
    ]);
    clearTimeout(timer);
  }
  if (running.size) {
    // Closing the clients under running transactions would make them reject outside any handler.
    console.log(`${running.size} requests still running: clients left open, the process ends when they do`);
    return;
  }
  fn.logger.setLogSink(undefined);
  await Promise.allSettled([db.terminate(), fn.secretManager.secretManager().close()]);
}
