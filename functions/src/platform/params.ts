// Deploy-time settings. Each is a firebase-functions param, resolved at deploy (or emulator start) and
// documented in README. Runtime settings that admins edit live in Firestore instead (see config/schemas).
import { defineInt, defineString } from 'firebase-functions/params';

export const REGION = defineString('REGION', {
  default: 'europe-west1',
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

/**
 * Topic of Secret Manager's rotation notices. A Pub/Sub trigger's topic is fixed when the function is deployed,
 * so this is read from the environment (functions/.env.<project>) at load, not through defineString.
 */
export const ROTATION_TOPIC = process.env.ROTATION_TOPIC ?? 'secret-rotation';

export const GITHUB_SETTINGS_CACHE_SECONDS = defineInt('GITHUB_SETTINGS_CACHE_SECONDS', {
  default: 5,
  description:
    'How long githubWebhook caches settings/github per instance (admin edits take effect within it).',
});

/**
 * When scheduledExport runs (Cloud Scheduler syntax). A schedule is fixed when the function is deployed, so, like
 * ROTATION_TOPIC, it is read from the environment (functions/.env.<project>) at load.
 */
export const EXPORT_SCHEDULE = process.env.EXPORT_SCHEDULE ?? 'every day 02:00';

export const EXPORT_TIME_ZONE = defineString('EXPORT_TIME_ZONE', {
  default: 'UTC',
  description:
    'Time zone of EXPORT_SCHEDULE and of the calendar retention counts weeks and months in (IANA name).',
});

export const EXPORT_STALL_MINUTES = defineInt('EXPORT_STALL_MINUTES', {
  default: 60,
  description: 'An export whose progress has not moved for this long is marked failed (stalled) and alerted.',
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
 * Regions probeCycle is deployed to, comma-separated: one function (and one Cloud Scheduler job) per region. The
 * list shapes the deployment, so like ROTATION_TOPIC it is read from the environment at load.
 */
export const PROBE_REGIONS = (process.env.PROBE_REGIONS ?? 'europe-west1,africa-south1')
  .split(',')
  .map((r) => r.trim())
  .filter(Boolean);

export const PROBE_CONCURRENCY = defineInt('PROBE_CONCURRENCY', {
  default: 50,
  description: 'Probes one region runs at once in a cycle.',
});
