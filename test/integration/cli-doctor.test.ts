// `fireops doctor` and `fireops bootstrap` against the local suite (issue 12.2): from a bare state doctor fails,
// bootstrap plans then creates what is missing, doctor passes, a second apply changes nothing; then each piece is
// broken in turn and doctor fails naming the fix. Secret Manager's per-RPC enforcement catches the missing
// `secrets.get` of a function's account. Runs the CLI in-process (its dependencies from the environment, the IAM
// matrix is the real one, functions/src/platform/iam.ts) and once through the real bin.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../functions/src/cli/fireops';
import { adminApp, db } from '../../functions/src/platform/firestore';
import { secretManager } from '../../functions/src/platform/secret-manager';
import { fnRequire, ROOT } from '../support/functions-require';
import { matrixFromModule } from '../../functions/src/cli/iam-contract';
import * as iamModule from '../../functions/src/platform/iam';

/** The real IAM matrix (functions/src/platform/iam.ts), through the CLI's own adapter. */
const IAM_MATRIX = matrixFromModule(iamModule);
import { PROJECT_ID, waitFor } from '../support/emulators';

const BUCKET = `${PROJECT_ID}-backups`;
const WEBHOOK_SECRET = 'github-webhook-secret';
const TOKEN_SECRET = 'github-token';
const WEBHOOKS_SA = `serviceAccount:fireops-webhooks@${PROJECT_ID}.iam.gserviceaccount.com`;
const env = (name: string) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run under emulators/launcher.mjs`);
  return v;
};

async function control(base: string, route: string, body: unknown = {}) {
  const res = await fetch(`${base}/_stand-in${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
}

const sm = (): SecretManagerServiceClient => secretManager();
const secretPath = (id: string) => `projects/${PROJECT_ID}/secrets/${id}`;

function auth() {
  const { getAuth } = fnRequire('firebase-admin/auth') as typeof import('firebase-admin/auth');
  return getAuth(adminApp());
}

/** Nothing fireops' bootstrap manages exists (Pub/Sub topics stay: the Functions emulator subscribes to them). */
async function bareState() {
  await control(env('SECRET_MANAGER_STAND_IN_URL'), '/reset');
  for (const id of [WEBHOOK_SECRET, TOKEN_SECRET]) {
    await sm()
      .deleteSecret({ name: secretPath(id) })
      .catch(() => undefined);
  }
  await control(env('FIRESTORE_ADMIN_STAND_IN_URL'), '/reset');
  await fs.promises.rm(path.join(env('FIREOPS_BUCKETS_DIR'), BUCKET), { recursive: true, force: true });
  // The audit anchor bucket (AUDIT_ANCHOR_BUCKET's default); its retention lock binds the API, not the test's disk.
  await fs.promises.rm(path.join(env('FIREOPS_BUCKETS_DIR'), `${PROJECT_ID}-audit-anchors`), {
    recursive: true,
    force: true,
  });
  const res = await fetch(
    `http://${env('FIREBASE_AUTH_EMULATOR_HOST')}/emulator/v1/projects/${PROJECT_ID}/accounts`,
    { method: 'DELETE' },
  );
  expect(res.ok).toBe(true);
}

async function cli(...args: string[]) {
  const lines: string[] = [];
  const code = await run(args, { env: { ...process.env }, out: (l) => lines.push(l), iam: IAM_MATRIX });
  return { code, text: lines.join('\n') };
}

const TOKEN_FILE = path.join(ROOT, '.cache', 'cli-test-github-token');

/** Bare, then bootstrapped and an admin granted: the state doctor passes on. */
async function bootstrapped() {
  await bareState();
  const apply = await cli('bootstrap', '--project', PROJECT_ID, '--apply', '--github-token-file', TOKEN_FILE);
  expect(apply.code, apply.text).toBe(0);
  await auth().createUser({ email: 'ops-lead@example.com' });
  expect((await cli('grant-admin', 'ops-lead@example.com', '--project', PROJECT_ID)).code).toBe(0);
  const doctor = await cli('doctor', '--project', PROJECT_ID);
  expect(doctor.code, doctor.text).toBe(0);
}

/** The FAIL line of `describe` and its fix line. */
function failure(text: string, describe: string) {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.startsWith(`FAIL  ${describe}`));
  expect(i, `no FAIL line for ${describe} in:\n${text}`).toBeGreaterThanOrEqual(0);
  return `${lines[i]}\n${lines[i + 1]}`;
}

describe('fireops doctor and bootstrap on the local suite', () => {
  beforeEach(async () => {
    fs.mkdirSync(path.dirname(TOKEN_FILE), { recursive: true });
    fs.writeFileSync(TOKEN_FILE, 'github-token-for-the-cli-test');
    await bareState();
  });

  afterAll(async () => {
    // Give the other suites their seeded secrets back.
    await control(env('SECRET_MANAGER_STAND_IN_URL'), '/reset');
    await control(env('FIRESTORE_ADMIN_STAND_IN_URL'), '/reset');
  });

  it('fails from a bare state; the plan lists the missing pieces and creates nothing', async () => {
    const before = await cli('doctor', '--project', PROJECT_ID);
    expect(before.code).toBe(1);
    expect(failure(before.text, 'Firestore database (default)')).toContain('fireops bootstrap --apply');
    expect(failure(before.text, `secret ${WEBHOOK_SECRET}`)).toContain('does not exist');
    expect(failure(before.text, 'backups bucket')).toContain(`gs://${BUCKET} does not exist`);
    expect(failure(before.text, 'at least one user holds the admin claim')).toContain('fireops grant-admin');

    const plan = await cli('bootstrap', '--project', PROJECT_ID);
    expect(plan.code).toBe(0);
    expect(plan.text).toContain('+   create Firestore database (default)');
    expect(plan.text).toContain('+   create secret github-webhook-secret');
    expect(plan.text).toContain('+   create the backups bucket');
    expect(plan.text).toContain('+   grant webhooks its roles on secret github-webhook-secret');
    expect(plan.text).toContain('!   at least one user holds the admin claim');
    expect(plan.text).toContain('Run again with --apply');
    // A plan is read-only.
    const after = await cli('doctor', '--project', PROJECT_ID);
    expect(after.text.replace(/\d+ admin/g, '')).toBe(before.text.replace(/\d+ admin/g, ''));
  });

  it('apply creates everything, doctor passes, a second apply changes nothing', async () => {
    await bootstrapped();
    const doctor = await cli('doctor', '--project', PROJECT_ID);
    // What the local suite cannot answer is said, never passed silently.
    expect(doctor.text).toContain('skip  APIs enabled: skipped locally: no Service Usage stand-in');
    expect(doctor.text).toContain(
      'skip  service account backups: 3 permission(s) on the project: skipped locally',
    );
    expect(doctor.text).toMatch(/doctor: all checks passed \(\d+ skipped locally\)/);
    // The real matrix's checks that the stand-ins answer: the webhook account's secrets.get (issue 12's outage) too.
    expect(doctor.text).toContain(
      'ok    service account webhooks: 2 permission(s) on secret github-webhook-secret',
    );
    expect(doctor.text).toContain(
      'ok    service account rotation: 9 permission(s) on secret github-webhook-secret',
    );
    expect(doctor.text).toContain(
      `ok    backups bucket: location against the (default) database's: EUROPE-WEST1`,
    );

    const again = await cli(
      'bootstrap',
      '--project',
      PROJECT_ID,
      '--apply',
      '--github-token-file',
      TOKEN_FILE,
    );
    expect(again.code).toBe(0);
    expect(again.text).not.toMatch(/^\+/m);
    expect(again.text).toContain('No changes.');
    const [versions] = await sm().listSecretVersions({ parent: secretPath(WEBHOOK_SECRET) });
    expect(versions).toHaveLength(1);
  });

  it('a missing current alias fails, naming the fix', async () => {
    await bootstrapped();
    const [secret] = await sm().getSecret({ name: secretPath(WEBHOOK_SECRET) });
    await sm().updateSecret({
      secret: { name: secret.name, versionAliases: {}, etag: secret.etag },
      updateMask: { paths: ['version_aliases'] },
    });
    const doctor = await cli('doctor', '--project', PROJECT_ID);
    expect(doctor.code).toBe(1);
    expect(failure(doctor.text, `secret ${WEBHOOK_SECRET}: alias current`)).toContain(
      `gcloud secrets update ${WEBHOOK_SECRET} --update-version-aliases=current=1`,
    );
  });

  it("a function account's missing secrets.get fails doctor, and enforcement refuses its getSecret", async () => {
    await bootstrapped();
    const [policy] = await sm().getIamPolicy({ resource: secretPath(WEBHOOK_SECRET) });
    // The README's old advice: secretAccessor only.
    await sm().setIamPolicy({
      resource: secretPath(WEBHOOK_SECRET),
      policy: { bindings: (policy.bindings ?? []).filter((b) => b.role !== 'roles/secretmanager.viewer') },
    });
    const doctor = await cli('doctor', '--project', PROJECT_ID);
    expect(doctor.code).toBe(1);
    const line = failure(doctor.text, 'service account webhooks');
    expect(line).toContain('lacks secretmanager.secrets.get');
    expect(line).toContain(
      `gcloud secrets add-iam-policy-binding ${WEBHOOK_SECRET} --member=${WEBHOOKS_SA} --role=roles/secretmanager.secretAccessor`,
    );

    // What production would have answered the webhook function, caught here.
    await control(env('SECRET_MANAGER_STAND_IN_URL'), '/enforce', { enabled: true });
    const asWebhooks = { otherArgs: { headers: { 'x-fireops-principal': WEBHOOKS_SA } } };
    await expect(sm().getSecret({ name: secretPath(WEBHOOK_SECRET) }, asWebhooks)).rejects.toMatchObject({
      code: 7,
      details: expect.stringContaining("Permission 'secretmanager.secrets.get' denied") as unknown,
    });
    const [access] = await sm().accessSecretVersion(
      { name: `${secretPath(WEBHOOK_SECRET)}/versions/current` },
      asWebhooks,
    );
    expect(access.payload?.data).toBeTruthy();

    // bootstrap puts the binding back (adds, never removes), and doctor passes again.
    expect((await cli('bootstrap', '--project', PROJECT_ID, '--apply')).code).toBe(0);
    await expect(sm().getSecret({ name: secretPath(WEBHOOK_SECRET) }, asWebhooks)).resolves.toBeTruthy();
    expect((await cli('doctor', '--project', PROJECT_ID)).code).toBe(0);
  });

  it('a bucket in another location than the database fails, naming the fix', async () => {
    await bootstrapped();
    // A bucket's location cannot change: delete it and create it again in the US multi-region.
    const gcs = env('STORAGE_EMULATOR_HOST');
    expect((await fetch(`${gcs}/b/${BUCKET}`, { method: 'DELETE' })).ok).toBe(true);
    const created = await fetch(`${gcs}/b?project=${PROJECT_ID}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: BUCKET, location: 'US' }),
    });
    expect(created.ok).toBe(true);
    const doctor = await cli('doctor', '--project', PROJECT_ID);
    expect(doctor.code).toBe(1);
    const line = failure(doctor.text, "backups bucket: location against the (default) database's");
    expect(line).toContain('is in US but the (default) database is in europe-west1');
    expect(line).toContain('gcloud storage buckets create gs://NEW --location=EUROPE-WEST1');
  });

  it('no admin claim fails, naming grant-admin; the claim changes are audited', async () => {
    await bootstrapped();
    expect((await cli('revoke-admin', 'ops-lead@example.com', '--project', PROJECT_ID)).code).toBe(0);
    const user = await auth().getUserByEmail('ops-lead@example.com');
    expect(user.customClaims?.admin).toBeUndefined();
    const doctor = await cli('doctor', '--project', PROJECT_ID);
    expect(doctor.code).toBe(1);
    expect(failure(doctor.text, 'at least one user holds the admin claim')).toContain(
      'fireops grant-admin EMAIL',
    );
    const entries = await waitFor(
      async () => {
        const snap = await db().collection('auditLog').where('target', '==', `users/${user.uid}`).get();
        const mine = snap.docs.map((d) => d.data());
        return mine.length >= 2 ? mine : undefined;
      },
      { what: 'two audit entries for the admin claim' },
    );
    expect(entries.map((e) => String(e.action)).sort()).toEqual(['role.granted', 'role.revoked']);
  });

  it('the real bin grants and revokes the admin claim', async () => {
    await auth().createUser({ email: 'bin-user@example.com' });
    const bin = path.join(ROOT, 'functions', 'lib', 'cli', 'fireops.js');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [bin, 'grant-admin', 'bin-user@example.com', '--project', PROJECT_ID],
      {
        cwd: ROOT,
        env: process.env,
      },
    );
    expect(stdout).toContain('role none -> admin');
    expect((await auth().getUserByEmail('bin-user@example.com')).customClaims).toMatchObject({
      role: 'admin',
      admin: true,
    });
  });

  it('grant-role and revoke-role set one role; revoking a role the user does not hold changes nothing', async () => {
    await auth().createUser({ email: 'operator@example.com' });
    expect((await cli('grant-role', 'operator', 'operator@example.com', '--project', PROJECT_ID)).code).toBe(
      0,
    );
    let user = await auth().getUserByEmail('operator@example.com');
    expect(user.customClaims).toEqual({ role: 'operator' });
    expect((await cli('grant-role', 'root', 'operator@example.com', '--project', PROJECT_ID)).code).toBe(2);
    expect((await cli('revoke-role', 'viewer', 'operator@example.com', '--project', PROJECT_ID)).code).toBe(
      0,
    );
    expect((await auth().getUserByEmail('operator@example.com')).customClaims).toEqual({ role: 'operator' });
    expect((await cli('revoke-role', 'operator', 'operator@example.com', '--project', PROJECT_ID)).code).toBe(
      0,
    );
    user = await auth().getUserByEmail('operator@example.com');
    expect(user.customClaims?.role).toBeUndefined();
  });
});
