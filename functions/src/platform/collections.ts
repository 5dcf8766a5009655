// Every Firestore collection and admin-edited document fireops reads or writes, named once. Admins edit these by
// hand in the console (docs/admin-guide.md), so the names are stable; nothing else in the code spells them.

export const FLAGS = 'flags';
export const FLAG_STATE = 'flagState';
export const AUDIT_COLLECTION = 'auditLog';
export const AUDIT_STREAMS_COLLECTION = 'auditStreams';
export const PROCESSED_EVENTS = 'processedEvents';
/** Events a retried trigger gave up on (platform/infra-alert.ts `givingUpAlerter`). */
export const DEAD_LETTERS = 'deadLetters';
export const LEASES = 'leases';
export const DELIVERIES = 'deliveries';
export const REDELIVERIES = 'redeliveries';
export const GITHUB_HOOKS = 'githubHooks';
export const ROLLOUT_REQUESTS = 'rolloutRequests';
export const SECRET_POLICIES = 'secretPolicies';
export const ROTATIONS = 'rotations';
export const ROTATION_LOCKS = 'rotationLocks';
export const BACKUPS = 'backups';
export const DRILLS = 'drills';
export const BACKUP_SETTINGS = 'settings/backups';
export const HEALTH_CHECKS = 'healthChecks';
/** `healthCatalog/{checkId}`: one document per check (health/docs.ts HealthCatalogEntryDoc). */
export const HEALTH_CATALOG = 'healthCatalog';
export const HEALTH_CYCLES = 'healthCycles';
export const HEALTH_STATUS = 'healthStatus';
export const HEALTH_DAILY = 'healthDaily';
export const HEALTH_SUMMARY = 'healthSummary/current';
/** `healthSummary/public`: 90 days of the checks marked public, for the status page (health/domain/status-page.ts). */
export const HEALTH_PUBLIC_STATUS = 'healthSummary/public';
export const INCIDENTS = 'incidents';
export const HEALTH_SETTINGS = 'settings/health';
export const ALERT_SETTINGS = 'settings/alerts';
export const ROLLOUTS = 'rollouts';
export const CANARY_POLICIES = 'canaryPolicies';
export const METRICS = 'metrics';
/** `settings/github`: which repositories and events fireops accepts (webhooks). */
export const GITHUB_SETTINGS = 'settings/github';
// --- Anchored audit log (issue 13) ---
/** `auditCheckpoints/anchorWriter` (the last anchor written) and `auditCheckpoints/verifier` (where the verifier is). */
export const AUDIT_CHECKPOINTS = 'auditCheckpoints';
