// @ts-check
// The demo data of the local suite, written by `npm start` (dev-session.mjs) and `npm run demo` (demo.mjs): the
// Firestore documents of seed/firestore.json, a GitHub hook on the demo repository pointing at
// webhooks-githubWebhook (signed with the demo secret of seed/secret-manager.json), settings/github, the audit
// anchor bucket, settings/health and the demo health checks.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { firestoreRest, seedFirestore } from '../firestore-rest.mjs';
import { ensureAnchorBucket } from './anchor-bucket.mjs';
import { demoHealthChecks } from './health-checks.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The demo repository and the webhook secret's value in seed/secret-manager.json (version 1). */
export const DEMO_OWNER = 'Codertocat';
export const DEMO_REPO = 'Hello-World';
export const DEMO_WEBHOOK_SECRET = 'demo-webhook-secret-not-for-production';

/**
 * @param {{ project: string, region: string, functionsUrl: string }} where
 * @returns {Promise<{ seeded: number, hookId: number, webhookUrl: string, rest: ReturnType<typeof firestoreRest> }>}
 */
export async function seedDemo({ project, region, functionsUrl }) {
  const rest = firestoreRest({ project });
  const seed = JSON.parse(readFileSync(path.join(HERE, 'firestore.json'), 'utf8'));
  const seeded = await seedFirestore(rest, seed);

  // Play GitHub: a hook on the demo repository pointing at webhooks-githubWebhook, signed with the demo secret.
  const githubUrl = process.env.GITHUB_API_URL;
  const webhookUrl = `${functionsUrl}/${project}/${region}/webhooks-githubWebhook`;
  const hook = await fetch(`${githubUrl}/_stand-in/hooks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      owner: DEMO_OWNER,
      repo: DEMO_REPO,
      url: webhookUrl,
      secret: DEMO_WEBHOOK_SECRET,
    }),
  }).then((r) => r.json());
  await rest.set('settings/github', {
    allowedRepos: [`${DEMO_OWNER}/${DEMO_REPO}`],
    environments: ['production'],
    releaseEnvironment: 'production',
    services: {},
    hooks: [{ owner: DEMO_OWNER, repo: DEMO_REPO, hookId: hook.id }],
  });

  // The audit anchor bucket, with its retention policy (seed/anchor-bucket.mjs).
  await ensureAnchorBucket(String(process.env.STORAGE_EMULATOR_HOST), project);

  // Health checks of the local suite itself (loopback is refused unless allowed, as in production).
  await rest.set('settings/health', { allowTargets: ['127.0.0.1'], reminderMinutes: 60, cycleTtlDays: 35 });
  for (const [id, check] of Object.entries(
    demoHealthChecks({ firestoreHost: String(process.env.FIRESTORE_EMULATOR_HOST), webhookUrl }),
  )) {
    await rest.set(`healthChecks/${id}`, check);
  }
  return { seeded, hookId: hook.id, webhookUrl, rest };
}
