// Deploy-time settings. Each is a firebase-functions param, resolved at deploy (or emulator start) from
// functions/.env, functions/.env.<projectId> (every one is listed in functions/.env.example, which a unit test keeps
// complete) and documented in docs/reference/params.md. Runtime settings that admins edit live in Firestore instead.
//
// Three values shape the deployment itself and are plain environment values read at load, validated here with an
// error naming the variable (a bad value stops `firebase deploy` at discovery, before anything is changed). They are
// read from the dotenv files themselves (`deployEnv`): firebase-tools 14 loads the code for discovery with only
// GCLOUD_PROJECT, FIREBASE_CONFIG, HOME and PATH set (deploy/functions/prepare.js, runtimes/node/index.js
// `spawnFunctionsProcess`), neither the dotenv values nor the shell's environment, so `process.env.PROBE_REGIONS`
// alone was always the default at deploy, whatever functions/.env.<projectId> said.
// - PROBE_REGIONS: one function per region is an export, and exports cannot depend on a param;
// - EXPORT_SCHEDULE: `onSchedule`'s `schedule` is typed `string` in firebase-functions 7 (no Expression);
// - ROTATION_TOPIC: `onMessagePublished` would take `Expression<string>`, but the same name is read outside a
//   deploy (the reference docs, `fireops doctor`/`bootstrap`, which create the topic and grant Secret Manager's
//   service agent on it), where a param has no value; one environment value serves all of them.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { defineInt, defineString } from 'firebase-functions/params';
import { DEFAULT_RUNBOOK_BASE_URL } from './domain/alert-kinds';

export const DEFAULT_REGION = 'europe-west1';
export const DEFAULT_ROTATION_TOPIC = 'secret-rotation';
export const DEFAULT_EXPORT_SCHEDULE = 'every day 02:00';

export const REGION = defineString('REGION', {
  default: DEFAULT_REGION,
  description: 'Region of every fireops function (one region per deployment).',
});

export const WEBHOOK_MAX_BYTES = defineInt('WEBHOOK_MAX_BYTES', {
  default: 5 * 1024 * 1024,
  description: 'Largest webhook body githubWebhook accepts, in bytes (GitHub caps payloads at 25 MB).',
});

export const WEBHOOK_SECRET_ID = defineString('WEBHOOK_SECRET_ID', {
  default: 'github-webhook-secret',
  description:
    'Secret Manager secret holding the GitHub webhook secret (aliases current/previous, read at run time).',
});

export const GITHUB_TOKEN_SECRET_ID = defineString('GITHUB_TOKEN_SECRET_ID', {
  default: 'github-token',
  description: 'Secret Manager secret holding the GitHub token fireops calls the REST API with.',
});

export const REDELIVERY_MAX_PER_RUN = defineInt('REDELIVERY_MAX_PER_RUN', {
  default: 50,
  description: 'Most failed webhook deliveries redeliverFailedWebhooks asks GitHub to redeliver in one run.',
});

export const WEBHOOK_SECRET_CACHE_SECONDS = defineInt('WEBHOOK_SECRET_CACHE_SECONDS', {
  default: 30,
  description:
    'How long githubWebhook caches the webhook secret versions; a disabled previous version stops working within this time.',
});

/** The deploy-shaping values (see the top), read and validated at load from `env`. */
export interface DeployShape {
  rotationTopic: string;
  exportSchedule: string;
  probeRegions: string[];
}

/** Google Cloud region ids: `europe-west1`, `us-central1`, `africa-south1`, `northamerica-northeast2`. */
const REGION_ID = /^[a-z]+-[a-z]+[1-9][0-9]?$/;
/** Pub/Sub topic ids (https://cloud.google.com/pubsub/docs/pubsub-basics#resource_names). */
const TOPIC_ID = /^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$/;
/** unix-cron (5 fields) or App Engine cron syntax (`every 5 minutes`, `every day 02:00`, `every monday 09:00`). */
const UNIX_CRON = /^\S+( \S+){4}$/;
const APP_ENGINE_CRON = /^every \S.*$/;

export class DeployConfigError extends Error {
  override readonly name = 'DeployConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message} (set it in functions/.env.<projectId>; see functions/.env.example)`);
  }
}

/**
 * Reads and checks the deploy-shaping values. PROBE_REGIONS defaults to REGION alone, not to a fixed pair: a
 * probe region is a deployed function and a Cloud Scheduler job in that region, and a deployment must not grow
 * one in a region nobody chose (data residency, cost). Two regions or more are what the majority rule needs to
 * tell an outage from a probe region's own trouble, so docs/deploy.md recommends naming two; REGION itself need
 * not be among them.
 */
export function readDeployShape(env: NodeJS.ProcessEnv = process.env): DeployShape {
  const region = (env.REGION ?? '').trim() || DEFAULT_REGION;
  if (!REGION_ID.test(region)) throw new DeployConfigError('REGION', `'${region}' is not a region id`);

  const rotationTopic = (env.ROTATION_TOPIC ?? '').trim() || DEFAULT_ROTATION_TOPIC;
  if (!TOPIC_ID.test(rotationTopic) || rotationTopic.toLowerCase().startsWith('goog')) {
    throw new DeployConfigError(
      'ROTATION_TOPIC',
      `'${rotationTopic}' is not a Pub/Sub topic id (3-255 characters, a letter first, letters, digits and - _ . ~ + %, not starting with 'goog')`,
    );
  }

  const exportSchedule = (env.EXPORT_SCHEDULE ?? '').trim() || DEFAULT_EXPORT_SCHEDULE;
  if (!UNIX_CRON.test(exportSchedule) && !APP_ENGINE_CRON.test(exportSchedule)) {
    throw new DeployConfigError(
      'EXPORT_SCHEDULE',
      `'${exportSchedule}' is neither unix-cron ('0 2 * * *') nor App Engine cron syntax ('every day 02:00')`,
    );
  }

  const raw = env.PROBE_REGIONS?.trim() ? env.PROBE_REGIONS : region;
  const probeRegions = raw.split(',').map((r) => r.trim());
  const seen = new Set<string>();
  for (const r of probeRegions) {
    if (!REGION_ID.test(r)) {
      throw new DeployConfigError(
        'PROBE_REGIONS',
        `'${r}' is not a region id (a comma-separated list such as 'europe-west1,africa-south1')`,
      );
    }
    if (seen.has(r)) throw new DeployConfigError('PROBE_REGIONS', `'${r}' is listed twice`);
    seen.add(r);
  }
  return { rotationTopic, exportSchedule, probeRegions };
}

/**
 * The environment as the deployed function will see it: functions/.env and functions/.env.<GCLOUD_PROJECT> (as
 * firebase-tools reads them; an alias's `.env.<alias>` is not known here, so deploy-shaping values belong in
 * `.env.<projectId>`), overridden by the process's own environment (which holds the same values at run time).
 */
export function deployEnv(
  env: NodeJS.ProcessEnv = process.env,
  functionsDir = path.resolve(__dirname, '..', '..'),
): NodeJS.ProcessEnv {
  const fromFiles: Record<string, string> = {};
  const project = env.GCLOUD_PROJECT;
  for (const file of ['.env', ...(project ? [`.env.${project}`] : [])]) {
    const p = path.join(functionsDir, file);
    if (!existsSync(p)) continue;
    for (const line of readFileSync(p, 'utf8').split(/\r?\n/)) {
      const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
      if (m) fromFiles[m[1]!] = m[2]!.replace(/^(['"])(.*)\1$/, '$2');
    }
  }
  return { ...fromFiles, ...env };
}

const shape = readDeployShape(deployEnv());

/**
 * Topic of Secret Manager's rotation notices (ROTATION_TOPIC). A Pub/Sub trigger's topic is fixed when the
 * function is deployed; see the top for why it is an environment value.
 */
export const ROTATION_TOPIC = shape.rotationTopic;

export const GITHUB_SETTINGS_CACHE_SECONDS = defineInt('GITHUB_SETTINGS_CACHE_SECONDS', {
  default: 5,
  description:
    'How long githubWebhook caches settings/github per instance (admin edits take effect within it).',
});

/**
 * When scheduledExport runs (EXPORT_SCHEDULE, Cloud Scheduler syntax). A schedule is fixed when the function is
 * deployed and firebase-functions 7 takes no param for it: read from the environment at load (see the top).
 */
export const EXPORT_SCHEDULE = shape.exportSchedule;

export const EXPORT_TIME_ZONE = defineString('EXPORT_TIME_ZONE', {
  default: 'UTC',
  description:
    'Time zone of EXPORT_SCHEDULE and of the calendar retention counts weeks and months in (IANA name).',
});

export const EXPORT_STALL_MINUTES = defineInt('EXPORT_STALL_MINUTES', {
  default: 60,
  description: 'An export whose progress has not moved for this long is marked failed (stalled) and alerted.',
});

/** Deploy-time trust (issue 13): what admin documents may choose among. */
export const EXPORT_BUCKETS = defineString('EXPORT_BUCKETS', {
  default: '',
  description:
    'Comma-separated Cloud Storage buckets settings/backups.bucket may name. An export copies the whole database, so ' +
    'where it may go is fixed at deploy; a bucket not listed is refused (backup.refused). Empty: no exports.',
});

export const CHAT_WEBHOOK_ORIGINS = defineString('CHAT_WEBHOOK_ORIGINS', {
  default: 'https://chat.googleapis.com,https://hooks.slack.com',
  description:
    'Comma-separated https origins the chat webhook of settings/alerts may point at (the URL itself is a secret). ' +
    'In a demo- project, loopback sinks are allowed too.',
});

export const RUNBOOK_BASE_URL = defineString('RUNBOOK_BASE_URL', {
  default: DEFAULT_RUNBOOK_BASE_URL,
  description:
    'Where the runbooks are read (docs/runbooks of this repository, as published for the team): every alert ' +
    'carries `<base>/<kind>.md` as its runbookUrl, and the chat message links it.',
});

export const CALLBACK_ORIGINS = defineString('CALLBACK_ORIGINS', {
  default: '',
  description:
    'Comma-separated https origins (https://host[:port]) http-callback secret policies may call; the Google ID ' +
    'token fireops sends is for that origin. Empty: no http-callback rotations.',
});

export const DRILL_DATABASE = defineString('DRILL_DATABASE', {
  default: 'restore-drill',
  description:
    'Scratch Firestore database restore drills import into (emptied before and after each drill); never production.',
});

export const BACKUP_KICK_WAIT_SECONDS = defineInt('BACKUP_KICK_WAIT_SECONDS', {
  default: 420,
  description:
    'How long onBackupKick keeps polling a newly started export before leaving it to the 10-minute backupMonitor.',
});

/**
 * Regions probeCycle is deployed to (PROBE_REGIONS, comma-separated; default: REGION alone): one function and one
 * Cloud Scheduler job per region. The list shapes the exports, so it is read from the environment at load.
 */
export const PROBE_REGIONS = shape.probeRegions;

export const PROBE_CONCURRENCY = defineInt('PROBE_CONCURRENCY', {
  default: 50,
  description: 'Probes one region runs at once in a cycle.',
});

/**
 * The SSRF guard's deploy-time ceiling: what `settings/health.allowTargets` may let probes reach although it is
 * loopback, private, link-local or CGNAT. An admin's list must lie inside it or settings/health is refused.
 */
export const PROBE_ALLOW_TARGETS = defineString('PROBE_ALLOW_TARGETS', {
  default: '',
  description:
    'Comma-separated host names, IP addresses and CIDR blocks settings/health.allowTargets may let the prober ' +
    'reach although they are not public (the metadata server never). Empty: probes reach public addresses only.',
});

// --- Anchored audit log (issue 13) ---

export const AUDIT_ANCHOR_BUCKET = defineString('AUDIT_ANCHOR_BUCKET', {
  default: '',
  description:
    'Cloud Storage bucket (with a locked retention policy) that platform-anchorAuditLog writes audit stream heads to; empty: {project}-audit-anchors.',
});
