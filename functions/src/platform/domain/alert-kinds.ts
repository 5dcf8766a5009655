// Every kind of alert fireops can raise, named once. An alert's `kind` is typed by this list (platform/schema.ts
// `Alert`), so code cannot raise a kind that is not here; each kind has a runbook, docs/runbooks/<kind>.md, which
// every alert links (`runbookUrl`, base URL from RUNBOOK_BASE_URL) and which test/docs/runbooks.test.ts requires.

export const ALERT_KINDS = {
  // health
  'incident.opened': 'a health check is down in a majority of its regions; an incident is open',
  'incident.reminder': 'an incident is still open after another reminderMinutes',
  'incident.resolved': 'a majority of regions recovered; the incident is resolved',
  'check.refused': 'an edit of healthChecks/{id} was invalid and refused',
  // flags
  'flag.rejected': 'an edit of flags/{key} was invalid: refused and reverted',
  // rotation
  'rotation.refused': 'a rotation did not start (no policy, an invalid policy, or one already running)',
  'policy.rejected': 'an edit of secretPolicies/{id} was invalid and refused',
  'rotation.rolled-back': 'a rotation failed a step and the previous version is current again',
  'rotation.failed': 'a rotation failed and could not roll back on its own',
  // backups
  'backup.failed': 'a Firestore export failed or stalled',
  'backup.refused': 'no export started: settings/backups is invalid',
  'drill.failed': 'a restore drill did not restore what was exported',
  // webhooks
  'delivery.gave-up': 'a GitHub webhook delivery failed every redelivery and is lost',
  // canary
  'metrics.window-refused': 'a metric window published on canary-metrics was refused',
  'rollout.not-started': 'a rollout failed before it started: its canary policy is invalid',
  'rollout.policy-invalid': 'a running rollout holds its weight: its canary policy became invalid',
  'rollout.rolling-back': 'a canary failed its analyses: traffic goes back to the baseline',
  'rollout.deadline-paused': 'a rollout made no progress within progressDeadlineMinutes and was paused',
  'rollout.paused-failing': 'a paused canary keeps failing its analyses while it takes traffic',
  'rollout.failed': 'a rollout failed (a router error or the baseline could not be restored)',
  'rollout.baseline-restore-failed': 'after a failure, restoring all traffic to the baseline failed again',
  // platform
  'infrastructure.failure': 'a function of fireops itself failed (a dependency down, a refused setting)',
  'event.giving-up': 'an event trigger has failed for 23 hours; its retries end within the hour',
  'audit.tamper-evidence': 'the audit log verification found a broken chain or a missing anchor',
} as const satisfies Record<string, string>;

export type AlertKind = keyof typeof ALERT_KINDS;

export function isAlertKind(kind: string): kind is AlertKind {
  return Object.prototype.hasOwnProperty.call(ALERT_KINDS, kind);
}

/** RUNBOOK_BASE_URL's default: this repository's runbooks on GitHub (point it at your fork or docs site). */
export const DEFAULT_RUNBOOK_BASE_URL = 'https://github.com/bvester/fireops/blob/main/docs/runbooks';

/** Where an alert's runbook is: `{base}/{kind}.md` (base without a trailing slash). */
export function runbookUrl(base: string, kind: string): string {
  return `${base.replace(/\/+$/, '')}/${kind}.md`;
}
