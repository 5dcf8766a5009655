// What `npm start` runs once the emulators are up (inside `firebase emulators:exec`): seeds demo data, prints
// where everything is, and plays Cloud Scheduler for the scheduled functions until Ctrl-C.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { firestoreRest, seedFirestore } from './firestore-rest.mjs';
import { findScheduledFunctions, fireCommand, scheduledRequest, startScheduler } from './scheduler.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const project = process.env.FIREOPS_PROJECT_ID ?? 'demo-fireops';
const region = process.env.FIREOPS_REGION ?? 'europe-west1';
const functionsUrl = process.env.FIREOPS_FUNCTIONS_URL ?? 'http://127.0.0.1:5001';

const rest = firestoreRest({ project });
const seed = JSON.parse(readFileSync(path.join(ROOT, 'emulators', 'seed', 'firestore.json'), 'utf8'));
const seeded = await seedFirestore(rest, seed);

// Play GitHub: a hook on the demo repository pointing at githubWebhook, signed with the demo secret.
const githubUrl = process.env.GITHUB_API_URL;
const webhookUrl = `${functionsUrl}/${project}/${region}/githubWebhook`;
const hook = await fetch(`${githubUrl}/_stand-in/hooks`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    owner: 'Codertocat',
    repo: 'Hello-World',
    url: webhookUrl,
    secret: 'demo-webhook-secret-not-for-production',
  }),
}).then((r) => r.json());
await rest.set('settings/github', {
  allowedRepos: ['Codertocat/Hello-World'],
  environments: ['production'],
  releaseEnvironment: 'production',
  services: {},
  hooks: [{ owner: 'Codertocat', repo: 'Hello-World', hookId: hook.id }],
});

// Health checks of the local suite itself (loopback is refused unless allowed, as in production).
await rest.set('settings/health', { allowTargets: ['127.0.0.1'], reminderMinutes: 60, cycleTtlDays: 35 });
await rest.set('healthChecks/firestore-emulator', {
  name: 'Firestore emulator',
  type: 'http',
  target: `http://${process.env.FIRESTORE_EMULATOR_HOST}/`,
  // Tolerant on purpose: a busy laptop or CI machine answers slowly, and the demo should not open incidents then.
  conditions: ['status == 200', 'body contains "Ok"', 'responseTimeMs < 5000'],
  tags: ['demo'],
});
await rest.set('healthChecks/github-webhook', {
  name: 'githubWebhook refuses GET',
  type: 'http',
  target: webhookUrl,
  conditions: ['status == 405'],
  tags: ['demo'],
});

const indexJs = path.join(ROOT, 'functions', 'lib', 'index.js');
const exported = Object.keys(await import(indexJs).then((m) => m.default ?? m));
const scheduled = findScheduledFunctions(indexJs);
const scheduledIds = new Set(scheduled.map((f) => f.id));
const width = Math.max(...exported.map((id) => id.length)) + 2;
// Scheduled functions have no URL of their own: print the command that fires one (and the route it posts to).
const functionLines = exported.map((id) => {
  const fn = scheduled.find((f) => f.id === id);
  if (!fn) return `  ${id.padEnd(width)} ${functionsUrl}/${project}/${region}/${id}`;
  const { url } = scheduledRequest(fn, { baseUrl: functionsUrl, project, region });
  return `  ${id.padEnd(width)} ${fireCommand(fn).padEnd(width + 16)} (POST ${url}, scheduler headers)`;
});

console.log(`
fireops is running locally (project ${project}, region ${region}); ${seeded} demo documents seeded.

  Firestore emulator       ${process.env.FIRESTORE_EMULATOR_HOST}   (REST: Authorization: Bearer owner)
  Pub/Sub emulator         ${process.env.PUBSUB_EMULATOR_HOST}
  Auth emulator            ${process.env.FIREBASE_AUTH_EMULATOR_HOST}
  Secret Manager emulator  ${process.env.SECRET_MANAGER_EMULATOR_HOST}   (gRPC)
  Firestore Admin stand-in ${process.env.FIRESTORE_ADMIN_EMULATOR_HOST}   (gRPC exports/imports; control ${process.env.FIRESTORE_ADMIN_STAND_IN_URL}/_stand-in)
  Cloud Storage stand-in   ${process.env.STORAGE_EMULATOR_HOST}
  Cloud Run stand-in       ${process.env.CLOUD_RUN_EMULATOR_HOST}   (gRPC traffic splits; control ${process.env.CLOUD_RUN_STAND_IN_URL}/_stand-in)

Functions (${exported.length - scheduledIds.size} by URL; ${scheduledIds.size} scheduled, fired by the local scheduler or by hand):
${functionLines.join('\n')}

Try an admin edit (valid: audited; invalid: reverted and alerted on ops-alerts):
  curl -X PATCH -H 'Authorization: Bearer owner' -H 'content-type: application/json' \\
    'http://${process.env.FIRESTORE_EMULATOR_HOST}/v1/projects/${project}/databases/(default)/documents/flags/newOnboarding' \\
    -d '{"fields":{"enabled":{"booleanValue":true},"rolloutPercent":{"integerValue":"150"},"description":{"stringValue":"oops"}}}'

Play GitHub (the stand-in signs and sends a release to githubWebhook): a canary rollout of Hello-World starts
(rollouts/{id}) and promotes 10% -> 50% -> 100% on flags/helloWorldCanary in about 6 minutes, judged on the
demo health checks (canaryPolicies/Hello-World):
  curl -X POST ${githubUrl}/_stand-in/hooks/${hook.id}/deliver -H 'content-type: application/json' \\
    -d '{"event":"release","payload":{"action":"published","release":{"id":1,"tag_name":"v1.0.0","name":"v1","target_commitish":"main","draft":false,"prerelease":false},"repository":{"id":1296269,"full_name":"Codertocat/Hello-World","default_branch":"main"},"sender":{"login":"octocat"}}}'

  GitHub stand-in          ${githubUrl}   (hook ${hook.id} -> githubWebhook)

Health: two demo checks are probed every minute from europe-west1 and africa-south1 (healthCycles, healthStatus);
the public status (after the first 10-minute rollup): ${functionsUrl}/${project}/${region}/status

Backups: an export of the demo data runs now (backups/{id}: running -> verified), a restore drill 20 s later
(drills/{id}: passed). The bucket gs://demo-fireops-backups is the folder
  ${process.env.FIREOPS_BUCKETS_DIR}/demo-fireops-backups
served by the Cloud Storage stand-in at ${process.env.STORAGE_EMULATOR_HOST}.

Ctrl-C stops everything.
`);

const scheduler = startScheduler({ functions: scheduled, baseUrl: functionsUrl, project, region });
if (scheduled.length === 0) console.log('[scheduler] no scheduled functions in this build');

// The daily export would not run during a demo: run one now, and a restore drill once it has been verified.
const exportFn = scheduled.find((f) => f.id === 'scheduledExport');
const drillFn = scheduled.find((f) => f.id === 'restoreDrill');
if (exportFn) {
  await scheduler.fire(exportFn, Math.floor(Date.now() / 1000) * 1000);
  if (drillFn)
    setTimeout(() => void scheduler.fire(drillFn, Math.floor(Date.now() / 1000) * 1000), 20_000).unref();
}

// Keeps the event loop alive (a bare pending promise would end the process with exit code 13).
const keepAlive = setInterval(() => {}, 1 << 30);
await new Promise((resolve) => {
  process.once('SIGINT', resolve);
  process.once('SIGTERM', resolve);
});
clearInterval(keepAlive);
scheduler.stop();
