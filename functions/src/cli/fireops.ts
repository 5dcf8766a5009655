#!/usr/bin/env node
// fireops: the operator's command for a fireops project (docs/cli.md).
//
//   fireops doctor --project P [--local]               read-only preflight; exit 1 on any failure
//   fireops bootstrap --project P [--apply] [--local]  the plan of what is missing; --apply creates it
//   fireops grant-role ROLE EMAIL --project P [--reason R]  ROLE: viewer|operator|securityAdmin|admin, the
//                                                       custom claim `role`, audited (stream `admins`)
//   fireops revoke-role ROLE EMAIL --project P [--reason R]
//   fireops grant-admin|revoke-admin EMAIL ...          aliases of grant-role|revoke-role admin
//   fireops flag|rollout|check|backup|drill|rotate|audit|status ...  the ops commands (ops.ts): console edits from a terminal,
//                                                       validated like the console's; --json for scripts
//   options: --location L (Firestore location, default europe-west1), --bucket B (default P-backups),
//            --github-token-file F (bootstrap: the GitHub token's first version), --actor EMAIL (who acts)
//
// Decisions:
// - One list of resources (resources.ts) serves both commands: `check` for doctor, `create` for bootstrap, so
//   whatever bootstrap creates is exactly what doctor checks. Bootstrap only adds (resources, versions, aliases,
//   IAM bindings) and re-checks before each create, so a second apply plans and changes nothing.
// - Local mode (`--local`, or implied when SECRET_MANAGER_EMULATOR_HOST is set, as under the launcher): the checks
//   whose API has no stand-in (Service Usage, Resource Manager, Pub/Sub IAM, Rules, indexes, TTL) print
//   "skipped locally: why". In production mode a missing answer is a failure, never a pass.
// - Permissions are tested as each function's service account: locally the stand-ins answer for the member named
//   by the `x-fireops-principal` header; in production the CLI impersonates the account (the operator needs
//   roles/iam.serviceAccountTokenCreator on it), since testIamPermissions answers for the caller only.
// - Project-level grants and service account creation stay with a person (the fix prints the gcloud command):
//   they reach every resource of the project, which an automated bootstrap should not decide.
// - Not imported by index.ts: nothing here is loaded by a deployed function (test/launcher/cold-start-modules).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Actor } from '../platform/domain/audit-chain';
import { appendAudit } from '../platform/audit-log';
import { adminApp } from '../platform/firestore';
import { localApis, productionApis, type CliApis } from './apis';
import type { IamMatrix } from './iam-contract';
import { matrixFromModule } from './iam-contract';
import { bootstrap, doctor, setRole, type Out } from './commands';
import { isRole, ROLES } from '../platform/domain/roles';
import type { CliSettings, IndexesJson } from './resources';

/** The repository root (functions/lib/cli -> ../../..), where firestore.rules and firestore.indexes.json live. */
const ROOT = path.resolve(__dirname, '..', '..', '..');

export interface RunDeps {
  env?: NodeJS.ProcessEnv;
  out?: Out;
  /** Built from the environment when absent. */
  apis?: CliApis;
  /** platform/iam.ts when absent. */
  iam?: IamMatrix;
  /** Appends an audit entry (platform/audit-log.ts when absent). */
  appendAudit?: Parameters<typeof setRole>[0]['appendAudit'];
  /** Runs a scheduled function's job now (runJob below when absent). */
  runJob?: (functionId: string) => Promise<void>;
}

const USAGE = `usage: fireops doctor|bootstrap --project P [--apply] [--local] | fireops grant-role|revoke-role ROLE EMAIL --project P (ROLE: ${ROLES.join('|')}) | fireops grant-admin|revoke-admin EMAIL --project P | fireops flag get|set, rollout list|show|approve|pause|resume|abort|promote-now|rollback-now, check add|disable|list, backup list|now, drill now, rotate SECRET, audit verify, status --project P [--json] [--detach] [--region R]`;

/** Runs one command; resolves the exit code. */
export async function run(argv: string[], deps: RunDeps = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const out: Out = deps.out ?? ((l) => process.stdout.write(`${l}\n`));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      project: { type: 'string' },
      apply: { type: 'boolean', default: false },
      local: { type: 'boolean', default: false },
      location: { type: 'string' },
      bucket: { type: 'string' },
      'github-token-file': { type: 'string' },
      actor: { type: 'string' },
      reason: { type: 'string' },
      help: { type: 'boolean', default: false },
      // ops commands (ops.ts)
      json: { type: 'boolean', default: false },
      enabled: { type: 'string' },
      percent: { type: 'string' },
      description: { type: 'string' },
      expires: { type: 'string' },
      detach: { type: 'boolean', default: false },
      region: { type: 'string' },
    },
  });
  const [command] = positionals;
  if (values.help || !command) {
    out(USAGE);
    return values.help ? 0 : 2;
  }
  const project = values.project ?? env.GCLOUD_PROJECT;
  if (!project) {
    out('fireops: --project is required');
    return 2;
  }
  // The platform modules (audit log, Firestore) read the project from the environment.
  env.GCLOUD_PROJECT = project;
  const local = values.local || Boolean(env.SECRET_MANAGER_EMULATOR_HOST);
  // Against the local suite no Google credentials exist: without this, google-auth-library probes the GCE
  // metadata server and warns on every command (gcp-metadata honours METADATA_SERVER_DETECTION).
  if (local) process.env.METADATA_SERVER_DETECTION ??= 'none';
  const apis = deps.apis ?? defaultApis(project, env, local);

  if (command === 'doctor' || command === 'bootstrap') {
    const settings = settingsFor(project, local, env, values);
    const iam = deps.iam ?? loadMatrix();
    const ctx = { apis, settings, iam };
    out(`fireops ${command} for project ${project}${local ? ' (local suite)' : ''}`);
    if (command === 'doctor') return doctor(ctx, out);
    const report = await bootstrap(ctx, out, { apply: values.apply });
    return report.errors.length ? 1 : 0;
  }
  const roleCommand =
    command === 'grant-admin' || command === 'revoke-admin'
      ? { grant: command === 'grant-admin', role: 'admin', email: positionals[1] }
      : command === 'grant-role' || command === 'revoke-role'
        ? { grant: command === 'grant-role', role: positionals[1], email: positionals[2] }
        : undefined;
  if (roleCommand) {
    const { grant, role, email } = roleCommand;
    if (!isRole(role)) {
      out(`fireops ${command}: ROLE must be one of ${ROLES.join(', ')}${role ? ` (got '${role}')` : ''}`);
      return 2;
    }
    if (!email) {
      out(`fireops ${command}: EMAIL is required`);
      return 2;
    }
    const actor: Actor = values.actor
      ? { type: 'admin', id: values.actor }
      : { type: 'system', id: `fireops-cli:${os.userInfo().username}` };
    return setRole(
      {
        setRoleClaim: (e, c) => apis.setRoleClaim(e, c),
        appendAudit: deps.appendAudit ?? defaultAppendAudit,
      },
      out,
      { email, role, grant, actor, reason: values.reason ?? `fireops ${command}` },
    );
  }
  const { opsCommand } = await import('./ops.js');
  const { db } = await import('../platform/firestore.js');
  const code = await opsCommand(positionals, values, {
    db,
    out,
    json: values.json,
    color: !values.json && Boolean(process.stdout.isTTY) && !env.NO_COLOR && !deps.out,
    actor: values.actor,
    detach: values.detach,
    runJob:
      deps.runJob ??
      ((id) => runJob(project, values.region ?? env.FIREOPS_REGION ?? env.REGION ?? 'europe-west1', id, env)),
  });
  if (code !== undefined) return code;
  out(`fireops: unknown command '${command}'\n${USAGE}`);
  return 2;
}

/**
 * Runs a scheduled function's Cloud Scheduler job now (the console's "Force run": `jobs.run`, which sends the
 * function the same request as a scheduled run). Locally the Functions emulator serves scheduled functions on
 * `/{project}/{region}/{id}-0` with the scheduler's headers (emulators/scheduler.mjs), the way `npm run fire` does.
 */
async function runJob(project: string, region: string, functionId: string, env: NodeJS.ProcessEnv) {
  const job = `projects/${project}/locations/${region}/jobs/firebase-schedule-${functionId}-${region}`;
  if (env.FIREOPS_FUNCTIONS_URL) {
    const res = await fetch(`${env.FIREOPS_FUNCTIONS_URL}/${project}/${region}/${functionId}-0`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'X-CloudScheduler-JobName': job,
        'X-CloudScheduler-ScheduleTime': new Date().toISOString(),
      },
      body: '{}',
      signal: AbortSignal.timeout(600_000),
    });
    if (!res.ok) throw new Error(`the local ${functionId} answered ${res.status}`);
    return;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded by the command that needs it
  const gal = require('google-auth-library') as typeof import('google-auth-library');
  const client = await new gal.GoogleAuth({
    scopes: ['https://www.googleapis.com/auth/cloud-platform'],
  }).getClient();
  await client.request({ url: `https://cloudscheduler.googleapis.com/v1/${job}:run`, method: 'POST' });
}

function settingsFor(
  project: string,
  local: boolean,
  env: NodeJS.ProcessEnv,
  values: { location?: string; bucket?: string; 'github-token-file'?: string },
): CliSettings {
  // The same defaults as platform/params.ts (read here without loading firebase-functions' params).
  const tokenFile = values['github-token-file'];
  return {
    project,
    local,
    location: values.location ?? env.REGION ?? 'europe-west1',
    bucket: values.bucket ?? `${project}-backups`,
    anchorBucket: env.AUDIT_ANCHOR_BUCKET || `${project}-audit-anchors`,
    webhookSecretId: env.WEBHOOK_SECRET_ID ?? 'github-webhook-secret',
    githubTokenSecretId: env.GITHUB_TOKEN_SECRET_ID ?? 'github-token',
    drillDatabase: env.DRILL_DATABASE ?? 'restore-drill',
    rotationTopic: env.ROTATION_TOPIC ?? 'secret-rotation',
    topics: [
      env.ROTATION_TOPIC ?? 'secret-rotation',
      'ops-alerts',
      'ops-events',
      'backup-monitor',
      'canary-kick',
      'canary-metrics',
      'health-probe-shards',
    ],
    ...(tokenFile ? { githubToken: fs.readFileSync(tokenFile) } : {}),
    rulesSource: fs.readFileSync(path.join(ROOT, 'firestore.rules'), 'utf8'),
    indexes: JSON.parse(fs.readFileSync(path.join(ROOT, 'firestore.indexes.json'), 'utf8')) as IndexesJson,
  };
}

function loadMatrix(): IamMatrix {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only by the commands that need it
    return matrixFromModule(require('../platform/iam') as Record<string, unknown>);
  } catch (err) {
    throw new Error(
      `fireops needs the IAM matrix (functions/src/platform/iam.ts): ${(err as Error).message}`,
    );
  }
}

/* eslint-disable @typescript-eslint/no-require-imports -- loaded by the command that needs it */
function defaultApis(project: string, env: NodeJS.ProcessEnv, local: boolean): CliApis {
  const { getAuth } = require('firebase-admin/auth') as typeof import('firebase-admin/auth');
  const auth = getAuth(adminApp());
  return local ? localApis(project, env, auth) : productionApis(project, env, auth);
}

function defaultAppendAudit(...args: Parameters<RunDeps['appendAudit'] & object>) {
  return appendAudit(...(args as Parameters<typeof appendAudit>));
}
/* eslint-enable @typescript-eslint/no-require-imports */

// `module` is undefined when a test imports this file as an ES module.
if (typeof module !== 'undefined' && require.main === module) {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`fireops: ${(err as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
