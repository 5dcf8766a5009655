// What `npm start` runs once the emulators are up (inside `firebase emulators:exec`): seeds demo data, prints
// where everything is, and plays Cloud Scheduler for the scheduled functions until Ctrl-C.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { firestoreRest, seedFirestore } from './firestore-rest.mjs';
import { findScheduledFunctions, startScheduler } from './scheduler.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const project = process.env.FIREOPS_PROJECT_ID ?? 'demo-fireops';
const region = process.env.FIREOPS_REGION ?? 'europe-west1';
const functionsUrl = process.env.FIREOPS_FUNCTIONS_URL ?? 'http://127.0.0.1:5001';

const rest = firestoreRest({ project });
const seed = JSON.parse(readFileSync(path.join(ROOT, 'emulators', 'seed', 'firestore.json'), 'utf8'));
const seeded = await seedFirestore(rest, seed);

const indexJs = path.join(ROOT, 'functions', 'lib', 'index.js');
const exported = Object.keys(await import(indexJs).then((m) => m.default ?? m));
const scheduled = findScheduledFunctions(indexJs);

console.log(`
fireops is running locally (project ${project}, region ${region}); ${seeded} demo documents seeded.

  Firestore emulator       ${process.env.FIRESTORE_EMULATOR_HOST}   (REST: Authorization: Bearer owner)
  Pub/Sub emulator         ${process.env.PUBSUB_EMULATOR_HOST}
  Auth emulator            ${process.env.FIREBASE_AUTH_EMULATOR_HOST}
  Secret Manager emulator  ${process.env.SECRET_MANAGER_EMULATOR_HOST}   (gRPC)

Functions:
${exported.map((id) => `  ${id.padEnd(24)} ${functionsUrl}/${project}/${region}/${id}`).join('\n')}

Try an admin edit (valid: audited; invalid: reverted and alerted on ops-alerts):
  curl -X PATCH -H 'Authorization: Bearer owner' -H 'content-type: application/json' \\
    'http://${process.env.FIRESTORE_EMULATOR_HOST}/v1/projects/${project}/databases/(default)/documents/flags/newOnboarding' \\
    -d '{"fields":{"enabled":{"booleanValue":true},"rolloutPercent":{"integerValue":"150"},"description":{"stringValue":"oops"}}}'

Ctrl-C stops everything.
`);

const scheduler = startScheduler({ functions: scheduled, baseUrl: functionsUrl, project, region });
if (scheduled.length === 0) console.log('[scheduler] no scheduled functions in this build');

// Keeps the event loop alive (a bare pending promise would end the process with exit code 13).
const keepAlive = setInterval(() => {}, 1 << 30);
await new Promise((resolve) => {
  process.once('SIGINT', resolve);
  process.once('SIGTERM', resolve);
});
clearInterval(keepAlive);
scheduler.stop();
