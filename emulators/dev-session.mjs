// What `npm start` runs once the emulators are up (inside `firebase emulators:exec`): seeds demo data, prints
// where everything is, and plays Cloud Scheduler for the scheduled functions until Ctrl-C.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seedDemo } from './seed/demo.mjs';
import { startSyntheticService } from './synthetic-service.mjs';
import { describeFunctions, findScheduledFunctions, startScheduler } from './scheduler.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const project = process.env.FIREOPS_PROJECT_ID ?? 'demo-fireops';
const region = process.env.FIREOPS_REGION ?? 'europe-west1';
const functionsUrl = process.env.FIREOPS_FUNCTIONS_URL ?? 'http://127.0.0.1:5001';
const hostingUrl = process.env.FIREOPS_HOSTING_URL ?? 'http://127.0.0.1:5002';

const { seeded, hookId } = await seedDemo({ project, region, functionsUrl });
const githubUrl = process.env.GITHUB_API_URL;
const hook = { id: hookId };
// Hello-World's metric windows (baseline and canary cohorts) on canary-metrics, as its exporter would publish them.
const synthetic = await startSyntheticService({
  pubsubHost: String(process.env.PUBSUB_EMULATOR_HOST),
  project,
  service: 'Hello-World',
});

const indexJs = path.join(ROOT, 'functions', 'lib', 'index.js');
const scheduled = findScheduledFunctions(indexJs);
// How to reach each function (issue 17.6): HTTP by URL in its own region, events by trigger, scheduled functions
// by the command that fires them (the emulator serves those on /{region}/{id}-0 only, with the scheduler headers).
const functions = describeFunctions(indexJs, { baseUrl: functionsUrl, project, region });
const listed = (kind, format) =>
  functions
    .filter((f) => f.kind === kind)
    .map(format)
    .join('\n');
const schedules = new Map(scheduled.map((f) => [f.id, f.schedule]));

console.log(`
fireops is running locally (project ${project}, region ${region}); ${seeded} demo documents seeded.

  Firestore emulator       ${process.env.FIRESTORE_EMULATOR_HOST}   (REST: Authorization: Bearer owner)
  Pub/Sub emulator         ${process.env.PUBSUB_EMULATOR_HOST}
  Auth emulator            ${process.env.FIREBASE_AUTH_EMULATOR_HOST}
  Secret Manager emulator  ${process.env.SECRET_MANAGER_EMULATOR_HOST}   (gRPC)
  Firestore Admin stand-in ${process.env.FIRESTORE_ADMIN_EMULATOR_HOST}   (gRPC: exports, imports; control ${process.env.FIRESTORE_ADMIN_STAND_IN_URL})
  Cloud Storage stand-in   ${process.env.STORAGE_EMULATOR_HOST}
  Cloud Run stand-in       ${process.env.CLOUD_RUN_EMULATOR_HOST}   (gRPC: services, traffic; control ${process.env.CLOUD_RUN_STAND_IN_URL})

HTTP functions:
${listed('http', (f) => `  ${f.id.padEnd(24)} ${f.how}`)}

Event functions (run when their trigger fires):
${listed('event', (f) => `  ${f.id.padEnd(24)} ${f.how}`)}

Scheduled functions (the local scheduler fires them on their cadence; to fire one now, \`npm run fire -- ID\`,
or its command below, which prints 200 once the function has run):
${listed('scheduled', (f) => `  ${f.id} (${schedules.get(f.id)}):\n    ${f.how}`)}

Try an admin edit (valid: audited; invalid: reverted and alerted on ops-alerts):
  curl -X PATCH -H 'Authorization: Bearer owner' -H 'content-type: application/json' \\
    'http://${process.env.FIRESTORE_EMULATOR_HOST}/v1/projects/${project}/databases/(default)/documents/flags/newOnboarding' \\
    -d '{"fields":{"enabled":{"booleanValue":true},"rolloutPercent":{"integerValue":"150"},"description":{"stringValue":"oops"}}}'

Play GitHub (the stand-in signs and sends a release to webhooks-githubWebhook): a canary rollout of Hello-World starts
(rollouts/{id}) and promotes 10% -> 50% -> 100% on flags/helloWorldCanary in about 3 to 4 minutes, judged on the
metric windows a synthetic Hello-World publishes on canary-metrics (canaryPolicies/Hello-World):
  curl -X POST ${githubUrl}/_stand-in/hooks/${hook.id}/deliver -H 'content-type: application/json' \\
    -d '{"event":"release","payload":{"action":"published","release":{"id":1,"tag_name":"v1.0.0","name":"v1","target_commitish":"main","draft":false,"prerelease":false},"repository":{"id":1296269,"full_name":"Codertocat/Hello-World","default_branch":"main"},"sender":{"login":"octocat"}}}'

  GitHub stand-in          ${githubUrl}   (hook ${hook.id} -> webhooks-githubWebhook)

Health: two demo checks are probed every minute from europe-west1 and africa-south1 (healthCycles, healthStatus);
the public status (after the first 10-minute rollup): ${functionsUrl}/${project}/${region}/health-status
and the status page users load (Firebase Hosting, both checks are marked public): ${hostingUrl}/

Backups: an export of the demo data runs now (backups/{id}: running -> verified), a restore drill 20 s later
(drills/{id}: passed). The bucket gs://demo-fireops-backups is the folder
  ${process.env.FIREOPS_BUCKETS_DIR}/demo-fireops-backups
served by the Cloud Storage stand-in at ${process.env.STORAGE_EMULATOR_HOST}.

Ctrl-C stops everything.
`);

const scheduler = startScheduler({ functions: scheduled, baseUrl: functionsUrl, project, region });
if (scheduled.length === 0) console.log('[scheduler] no scheduled functions in this build');

// The daily export would not run during a demo: run one now, and a restore drill once it has been verified.
const exportFn = scheduled.find((f) => f.id === 'backups-scheduledExport');
const drillFn = scheduled.find((f) => f.id === 'backups-restoreDrill');
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
await synthetic.stop();
