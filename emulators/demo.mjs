// The whole story on the local suite (`npm run demo`, run by the launcher inside `firebase emulators:exec`):
//
//   1 canary    a GitHub release (a signed webhook from the GitHub stand-in) starts a canary of Hello-World; it steps
//               10% -> 50% -> 100% on the metric windows a synthetic service publishes on canary-metrics, waits at
//               50% for an admin's approval (`fireops rollout approve`), is promoted, and GitHub shows the
//               deployment's statuses.
//   2 rotation  the webhook secret is rotated (`fireops rotate`) while signed deliveries keep arriving: none refused,
//               the old version accepted through the grace period, the new one in use.
//   3 backups   an export (`fireops backup now`) verified, then a restore drill (`fireops drill now`) passed.
//   4 health    a check of the synthetic service fails from both probe regions (a majority): an incident opens, the
//               chat alert reaches a local Slack-compatible sink, the service recovers, the incident resolves.
//   5 audit     the audit log verified (`fireops audit verify`), every stream, against its anchors.
//
// The canary runs beside acts 2 to 4 (its steps wait on whole minutes of metrics). Every line says what happened,
// which document changed, and what to look at. It ends with a one-screen summary and exits 0 only if every act did
// what it said; otherwise it names the act that failed and why, and exits 1.
//
// Nothing here is faked: the functions are the deployed ones in the Functions emulator, driven only through what
// production drives them with (webhooks, Pub/Sub, Cloud Scheduler's requests, the ops commands' document writes).
// The only thing played is the outside world: GitHub, a service's metrics exporter, its health endpoint, a chat sink.
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_OWNER, DEMO_REPO, seedDemo } from './seed/demo.mjs';
import { startSyntheticService } from './synthetic-service.mjs';
import { findScheduledFunctions, scheduledRequest } from './scheduler.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const project = process.env.FIREOPS_PROJECT_ID ?? 'demo-fireops';
const region = process.env.FIREOPS_REGION ?? 'europe-west1';
const functionsUrl = process.env.FIREOPS_FUNCTIONS_URL ?? 'http://127.0.0.1:5001';
const hostingUrl = process.env.FIREOPS_HOSTING_URL ?? 'http://127.0.0.1:5002';
const githubUrl = String(process.env.GITHUB_API_URL);
const indexJs = path.join(ROOT, 'functions', 'lib', 'index.js');
const fns = createRequire(indexJs);
const { db } = fns('./platform/firestore.js');
const { secretManager, secretName } = fns('./platform/secret-manager.js');
/** The demo repository's id in @octokit/webhooks-examples payloads (what GitHub would send). */
const REPO_ID = 1296269;
const SERVICE = DEMO_REPO;
const WEBHOOK_SECRET_ID = process.env.WEBHOOK_SECRET_ID ?? 'github-webhook-secret';
const CHAT_SECRET_ID = 'fireops-demo-chat-webhook'; // fireops reads only fireops- secrets named at run time
const CHECK_ID = 'payments-api';

// ------------------------------------------------------------------------------------------------- display

const t0 = Date.now();
// Under `npm run demo` the launcher shows the file FIREOPS_DEMO_DISPLAY on the terminal, the suite's own logs
// going elsewhere; run directly (inside `launcher.mjs exec`), the display is this process's output.
const displayFile = process.env.FIREOPS_DEMO_DISPLAY;
const print = displayFile ? (line) => appendFileSync(displayFile, `${line}\n`) : (line) => console.log(line);
const tty =
  (Boolean(process.stdout.isTTY) || process.env.FIREOPS_DEMO_COLOR === '1') && !process.env.NO_COLOR;
const paint = (code, s) => (tty ? `\u001b[${code}m${s}\u001b[0m` : s);
const ACT_COLOR = { setup: 90, canary: 35, rotation: 36, backups: 34, health: 33, audit: 32 };
const clock = () => paint(90, `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`);
const say = (act, text) => print(`${clock()} ${paint(ACT_COLOR[act] ?? 0, act.padEnd(8))} ${text}`);
/** A document fireops changed, and how. */
const changed = (act, doc, text) => say(act, `${paint(1, doc)} ${text}`);
/** Where a user would look to see it. */
const look = (act, text) => say(act, paint(90, `look: ${text}`));

class ActFailed extends Error {}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a truthy value; fails the act naming `what` after `timeoutMs`. */
async function waitFor(what, probe, { timeoutMs = 120_000, intervalMs = 500 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new ActFailed(`gave up after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(intervalMs);
  }
}

// ----------------------------------------------------------------------------------- the outside world

const scheduled = findScheduledFunctions(indexJs);
/** Cloud Scheduler's request for a scheduled function, as the run of `scheduleTimeMs`; resolves once it ran. */
async function fire(id, scheduleTimeMs = Date.now()) {
  const fn = scheduled.find((f) => f.id === id);
  if (!fn) throw new ActFailed(`no scheduled function ${id} in the build`);
  const { url, headers, body } = scheduledRequest(fn, {
    baseUrl: functionsUrl,
    project,
    region,
    scheduleTime: scheduleTimeMs,
  });
  const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(300_000) });
  if (!res.ok) throw new ActFailed(`${id} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
}

/** The GitHub stand-in's control API (plays github.com: sends signed deliveries of a hook, shows deployments). */
async function github(method, sub, body) {
  const res = await fetch(`${githubUrl}/_stand-in/${sub}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new ActFailed(`GitHub stand-in ${method} ${sub}: ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * One delivery of `event` through the hook, as GitHub sends it (signed with the hook's secret of the moment).
 * A connection failure (0) or githubWebhook's 503 ("try again": a loaded machine) is sent again, as GitHub's
 * redelivery would; what counts is what githubWebhook decided (a 401 would be a consumer locked out).
 */
async function deliver(hookId, event, payload) {
  let sent = await github('POST', `hooks/${hookId}/deliver`, { event, payload });
  for (let k = 0; k < 3 && (sent.status_code === 0 || sent.status_code === 503); k += 1) {
    await sleep(300);
    sent = await github('POST', `hooks/${hookId}/deliver`, { event, payload });
  }
  return sent.status_code;
}

/** The `fireops` command, as an operator runs it; its output is shown indented under the act. */
function fireops(act, args) {
  const argv = [path.join(ROOT, 'functions', 'lib', 'cli', 'fireops.js'), ...args, '--project', project];
  say(act, paint(1, `$ fireops ${args.join(' ')}`));
  return new Promise((resolve) => {
    // NODE_NO_WARNINGS: google-auth-library's metadata-server probe warns on every local run (no GCE here).
    const child = spawn(process.execPath, argv, {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', NODE_NO_WARNINGS: '1' },
    });
    let stdout = '';
    const show = (chunk) => {
      stdout += chunk;
      for (const line of String(chunk).split('\n').filter(Boolean)) say(act, `  ${paint(90, '│')} ${line}`);
    };
    child.stdout.on('data', show);
    child.stderr.on('data', show);
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout }));
  });
}

/** A Slack-compatible incoming webhook on 127.0.0.1 that records what it is sent. */
async function startChatSink() {
  const received = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      try {
        received.push(JSON.parse(body));
      } catch {
        received.push({ text: body });
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${port}/services/T000/B000/demo`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve(undefined))),
  };
}

// --------------------------------------------------------------------------------------------------- the acts

/** @typedef {{ name: string, ok: boolean, seconds: number, summary: string }} ActResult */
/** @type {ActResult[]} */
const results = [];

async function runAct(name, body) {
  const started = Date.now();
  try {
    const summary = await body();
    results.push({ name, ok: true, seconds: (Date.now() - started) / 1000, summary });
    say(name, paint(32, `✔ ${summary}`));
  } catch (err) {
    const why = err instanceof ActFailed ? err.message : `${err?.stack ?? err}`;
    results.push({ name, ok: false, seconds: (Date.now() - started) / 1000, summary: why });
    say(name, paint(31, `✘ act failed: ${why}`));
  }
}

async function canary({ hookId }) {
  const act = 'canary';
  // One approval gate, so an admin command lands mid-flight (the seeded policy has none).
  await db()
    .doc(`canaryPolicies/${SERVICE}`)
    .update({ approvals: [50] });
  changed(act, `canaryPolicies/${SERVICE}`, 'approvals: [50] (an admin must approve the 50% step)');
  const releaseId = Date.now() % 1_000_000_000;
  const tag = 'v1.1.0';
  const rolloutId = `release-${REPO_ID}-${releaseId}`;
  say(
    act,
    `GitHub: release ${tag} of ${DEMO_OWNER}/${DEMO_REPO} published -> signed delivery to webhooks-githubWebhook`,
  );
  const status = await deliver(hookId, 'release', {
    action: 'published',
    release: {
      id: releaseId,
      tag_name: tag,
      name: tag,
      target_commitish: 'main',
      draft: false,
      prerelease: false,
    },
    repository: { id: REPO_ID, full_name: `${DEMO_OWNER}/${DEMO_REPO}`, default_branch: 'main' },
    sender: { login: 'octocat' },
  });
  if (status !== 202) throw new ActFailed(`githubWebhook answered the release with ${status}, not 202`);
  say(act, 'githubWebhook answered 202 (verified, recorded in deliveries/, routed on ops-events)');

  // Cloud Scheduler runs canaryController every minute; here every 10 s, so a step follows its minute promptly.
  const ticker = setInterval(() => void fire('canary-canaryController').catch(() => {}), 10_000);
  void fire('canary-canaryController').catch(() => {});
  try {
    const ref = db().doc(`rollouts/${rolloutId}`);
    await waitFor(`rollouts/${rolloutId}`, async () => (await ref.get()).exists, { timeoutMs: 60_000 });
    changed(act, `rollouts/${rolloutId}`, 'created from rolloutRequests/ (canary-onRolloutRequest)');
    look(
      act,
      `the Firestore emulator UI, rollouts/${rolloutId}; flags/helloWorldCanary.rolloutPercent is the weight`,
    );
    let last = '';
    let approved = false;
    const done = await waitFor(
      'the rollout to finish',
      async () => {
        const r = (await ref.get()).data();
        const line = `${r.phase} at ${r.weight ?? 0}%`;
        if (line !== last) changed(act, `rollouts/${rolloutId}`, `${line}: ${r.reason}`);
        last = line;
        if (r.phase === 'waiting-approval' && !approved) {
          approved = true;
          const cli = await fireops(act, [
            'rollout',
            'approve',
            rolloutId,
            '--reason',
            'demo: error rate and p95 latency within bounds at 10%',
            '--actor',
            'ops@bvester.example',
          ]);
          if (cli.code !== 0) throw new ActFailed(`fireops rollout approve exited ${cli.code}`);
        }
        return ['succeeded', 'rolled-back', 'failed', 'superseded'].includes(r.phase) ? r : undefined;
      },
      { timeoutMs: 9 * 60_000, intervalMs: 1_000 },
    );
    if (done.phase !== 'succeeded')
      throw new ActFailed(`the rollout ended ${done.phase}: ${done.reason ?? ''}`);
    if (!approved) throw new ActFailed('the rollout never waited for the approval at 50%');
    const flag = (await db().doc('flags/helloWorldCanary').get()).data();
    if (flag?.rolloutPercent !== 100)
      throw new ActFailed(`flags/helloWorldCanary is at ${flag?.rolloutPercent}%, not 100%`);
    changed(act, 'flags/helloWorldCanary', 'rolloutPercent 100 (the canary is the release)');
    // GitHub's view: the deployment fireops created for the release, and the statuses it wrote back.
    const deploymentId = await waitFor(
      'the GitHub deployment id on the rollout',
      async () => (await ref.get()).get('request.githubDeploymentId'),
      { timeoutMs: 30_000 },
    );
    const states = await waitFor(
      'the success status on GitHub',
      async () => {
        const d = (await github('GET', 'state')).deployments.find((x) => x.id === deploymentId);
        const list = (d?.statuses ?? []).map((s) => s.state).reverse();
        return list.at(-1) === 'success' ? list : undefined;
      },
      { timeoutMs: 60_000 },
    );
    say(act, `GitHub deployment ${deploymentId} statuses: ${states.join(' -> ')}`);
    look(act, `${githubUrl}/repos/${DEMO_OWNER}/${DEMO_REPO}/deployments/${deploymentId}/statuses`);
    return `release ${tag} promoted to 100% after one approval; GitHub deployment ${deploymentId}: ${states.length} statuses, last success`;
  } finally {
    clearInterval(ticker);
  }
}

async function rotation({ hookId, pushPayload }) {
  const act = 'rotation';
  const policyPath = `secretPolicies/${WEBHOOK_SECRET_ID}`;
  await db().doc(policyPath).set({
    strategy: 'github-webhook',
    enabled: true,
    owner: DEMO_OWNER,
    repo: DEMO_REPO,
    hookId,
    gracePeriodMinutes: 60,
    destroyAfterDays: 30,
  });
  changed(
    act,
    policyPath,
    'github-webhook strategy, 60 min grace (validated and audited by rotation-onSecretPolicyWrite)',
  );
  // GitHub keeps delivering pushes, each signed with the hook's secret of that instant.
  const codes = [];
  let stop = false;
  const stream = (async () => {
    while (!stop) {
      codes.push(await deliver(hookId, 'push', pushPayload));
      await sleep(300);
    }
  })();
  say(act, 'GitHub: pushes delivered every ~0.3 s from now on');
  let cli;
  try {
    await sleep(1_500);
    cli = await fireops(act, ['rotate', WEBHOOK_SECRET_ID]);
    // Deliveries go on until one was verified with the new version (githubWebhook re-reads the secret within
    // WEBHOOK_SECRET_CACHE_SECONDS).
    await waitFor(
      'a delivery verified with the new version',
      async () => {
        const snap = await db().collection('deliveries').where('event', '==', 'push').get();
        return snap.docs.some((d) => d.get('secretVersion') === '2');
      },
      { timeoutMs: 60_000 },
    );
  } finally {
    stop = true;
    await stream;
  }
  if (cli.code !== 0) throw new ActFailed(`fireops rotate exited ${cli.code}`);
  const rot = (await db().collection('rotations').where('secretId', '==', WEBHOOK_SECRET_ID).get()).docs
    .map((d) => d.data())
    .sort((a, b) => b.startedAt.toMillis() - a.startedAt.toMillis())[0];
  if (rot?.phase !== 'grace') throw new ActFailed(`the rotation is ${rot?.phase}, not in its grace period`);
  changed(
    act,
    `rotations/${rot.id}`,
    `grace: version ${rot.newVersion} current, version ${rot.oldVersion} accepted until ${new Date(rot.graceEndsAtMs).toISOString()}`,
  );
  const byVersion = {};
  for (const d of (await db().collection('deliveries').where('event', '==', 'push').get()).docs) {
    const v = String(d.get('secretVersion'));
    byVersion[v] = (byVersion[v] ?? 0) + 1;
  }
  const refused = codes.filter((c) => c !== 202);
  say(
    act,
    `${codes.length} deliveries during the rotation, answers: ${[...new Set(codes)].join(', ')}; verified by secret version: ${JSON.stringify(byVersion)}`,
  );
  if (codes.length < 5) throw new ActFailed(`only ${codes.length} deliveries arrived during the rotation`);
  if (refused.length)
    throw new ActFailed(`${refused.length} deliveries refused during the rotation (${refused.join(', ')})`);
  if (!byVersion['1'] || !byVersion['2'])
    throw new ActFailed('the deliveries did not span both secret versions');
  look(
    act,
    `rotations/${rot.id}; auditLog stream rotation; the hook on the GitHub stand-in (${githubUrl}/_stand-in/state)`,
  );
  return `webhook secret version ${rot.oldVersion} -> ${rot.newVersion} with ${codes.length} deliveries arriving, none refused`;
}

async function backups() {
  const act = 'backups';
  const exp = await fireops(act, ['backup', 'now']);
  if (exp.code !== 0) throw new ActFailed(`fireops backup now exited ${exp.code}`);
  const drill = await fireops(act, ['drill', 'now']);
  if (drill.code !== 0) throw new ActFailed(`fireops drill now exited ${drill.code}`);
  const b = (await db().collection('backups').orderBy('startedAtMs', 'desc').limit(1).get()).docs[0];
  const d = (await db().collection('drills').orderBy('startedAtMs', 'desc').limit(1).get()).docs[0];
  look(
    act,
    `backups/${b.id}, drills/${d.id}; the export's files under ${process.env.FIREOPS_BUCKETS_DIR}/demo-fireops-backups`,
  );
  return `export backups/${b.id} verified; restore drill drills/${d.id} passed`;
}

async function health({ synthetic, chat }) {
  const act = 'health';
  await db()
    .doc(`healthChecks/${CHECK_ID}`)
    .set({
      name: 'Payments API',
      type: 'http',
      target: `${synthetic.url}/healthz`,
      conditions: ['status == 200'],
      timeoutMs: 5_000,
      // Quick on purpose, for the demo: one failed minute in a majority of regions opens, one good minute resolves.
      failureThreshold: 1,
      successThreshold: 1,
      tags: ['demo'],
      public: { name: 'Payments', group: 'Platform' },
    });
  changed(act, `healthChecks/${CHECK_ID}`, 'written: probed from europe-west1 and africa-south1');
  await waitFor(
    `healthCatalog/${CHECK_ID}`,
    async () => {
      const c = (await db().doc(`healthCatalog/${CHECK_ID}`).get()).data();
      if (c?.refused) throw new ActFailed(`the check was refused: ${JSON.stringify(c.refused)}`);
      return c?.live === true && c?.check;
    },
    { timeoutMs: 60_000 },
  );
  changed(act, `healthCatalog/${CHECK_ID}`, 'validated and in the catalog (health-onHealthCheckWrite)');
  const cycles = ['health-probeCycleEuropeWest1', 'health-probeCycleAfricaSouth1'];
  // Two cycles, a minute apart, as Cloud Scheduler would run them (minutes just past, so nothing waits).
  const minute = Math.floor(Date.now() / 60_000) * 60_000;
  synthetic.setFailing(true);
  say(act, 'the synthetic service now answers /healthz with 503');
  // One region after the other: cycles of two regions running at the same instant each judge the other's previous
  // minute (a transition then waits for the next minute, as it would in production).
  for (const id of cycles) await fire(id, minute - 60_000 + 1_000);
  say(act, `probe cycles of ${new Date(minute - 60_000).toISOString().slice(11, 16)} ran in both regions`);
  const incident = await waitFor(
    'the incident to open',
    async () =>
      (await db().collection('incidents').where('checkId', '==', CHECK_ID).get()).docs.find(
        (d) => d.get('state') === 'open',
      ),
    { timeoutMs: 30_000 },
  );
  changed(
    act,
    `incidents/${incident.id}`,
    `open, failing in ${incident.get('failingRegions').join(', ')}: ${incident.get('why')}`,
  );
  const opened = await waitFor(
    'the chat alert of the opened incident',
    async () => chat.received.find((m) => String(m.text).includes('Payments API is down')),
    { timeoutMs: 90_000 },
  );
  say(act, `chat sink received: ${String(opened.text).split('\n')[0]}`);
  look(act, `${hostingUrl}/ (the status page shows Payments down, with the incident)`);

  synthetic.setFailing(false);
  say(act, 'the synthetic service answers /healthz with 200 again');
  for (const id of cycles) await fire(id, minute + 1_000);
  await waitFor(
    'the incident to resolve',
    async () => (await db().doc(`incidents/${incident.id}`).get()).get('state') === 'resolved',
    { timeoutMs: 30_000 },
  );
  changed(act, `incidents/${incident.id}`, 'resolved');
  const recovered = await waitFor(
    'the chat alert of the recovery',
    async () => chat.received.find((m) => String(m.text).includes('Payments API recovered')),
    { timeoutMs: 90_000 },
  );
  say(act, `chat sink received: ${String(recovered.text).split('\n')[0]}`);
  const linked = chat.received.filter((m) =>
    /<https?:\/\/[^|>]+\/incident\.(opened|resolved)\.md\|Runbook/.test(String(m.text)),
  );
  if (linked.length < 2) throw new ActFailed('the chat messages do not link the incident runbooks');
  return `incident ${incident.id} opened from 2 of 2 regions and resolved; ${linked.length} chat messages, each linking its runbook`;
}

async function audit() {
  const act = 'audit';
  // Cloud Scheduler runs the anchoring every 15 minutes: once now, so the verification has anchors to check.
  await fire('platform-anchorAuditLog');
  say(act, 'platform-anchorAuditLog wrote the stream heads to the retention-locked anchor bucket');
  look(act, `${process.env.FIREOPS_BUCKETS_DIR}/${project}-audit-anchors/anchors/`);
  const cli = await fireops(act, ['audit', 'verify']);
  if (cli.code !== 0) throw new ActFailed(`fireops audit verify exited ${cli.code}`);
  return 'every audit stream verified (hash chains and anchors)';
}

// ---------------------------------------------------------------------------------------------------- the play

say('setup', `seeding the demo data (project ${project})`);
const { hookId } = await seedDemo({ project, region, functionsUrl });
const synthetic = await startSyntheticService({
  pubsubHost: String(process.env.PUBSUB_EMULATOR_HOST),
  project,
  service: SERVICE,
});
say(
  'setup',
  `synthetic ${SERVICE} publishes metric windows on canary-metrics every 5 s; /healthz at ${synthetic.url}`,
);
const chat = await startChatSink();
// The chat webhook's URL is a credential: it lives in Secret Manager, settings/alerts names the secret only.
const sm = secretManager();
await sm.createSecret({
  parent: `projects/${project}`,
  secretId: CHAT_SECRET_ID,
  secret: { replication: { automatic: {} }, labels: { fireops: 'demo' } },
});
await sm.addSecretVersion({
  parent: secretName(CHAT_SECRET_ID, project),
  payload: { data: Buffer.from(chat.url) },
});
await db().doc('settings/alerts').set({ webhookSecret: CHAT_SECRET_ID });
changed('setup', 'settings/alerts', `webhookSecret ${CHAT_SECRET_ID} (a local Slack-compatible sink)`);
// A real push payload (GitHub's own example, as the tests use), re-sent throughout the rotation.
const examples = createRequire(path.join(ROOT, 'package.json'))(
  '@octokit/webhooks-examples/api.github.com/index.json',
);
const pushPayload = examples
  .find((e) => e.name === 'push')
  .examples.find((p) => p.repository?.full_name === `${DEMO_OWNER}/${DEMO_REPO}`);
if (!pushPayload)
  throw new Error(`no push example of ${DEMO_OWNER}/${DEMO_REPO} in @octokit/webhooks-examples`);

const canaryAct = runAct('canary', () => canary({ hookId }));
await sleep(2_000);
await runAct('rotation', () => rotation({ hookId, pushPayload }));
await runAct('backups', () => backups());
await runAct('health', () => health({ synthetic, chat }));
say('canary', 'waiting for the canary to finish its steps (each judges a whole minute of metrics)');
await canaryAct;
await runAct('audit', () => audit());

await synthetic.stop();
await chat.close();
const failed = results.filter((r) => !r.ok);
print(`\n${paint(1, 'fireops demo')} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
for (const r of results) {
  const mark = r.ok ? paint(32, '✔') : paint(31, '✘');
  print(`  ${mark} ${r.name.padEnd(9)} ${r.seconds.toFixed(0).padStart(4)} s  ${r.summary}`);
}
if (failed.length) {
  print(paint(31, `\n${failed.length} act(s) failed: ${failed.map((r) => r.name).join(', ')}`));
  process.exit(1);
}
print(paint(32, '\nevery act did what it said.'));
process.exit(0);
