// Deployed functions, and nothing else: each trigger file wires one function; see README for what each does.
export { onFlagWritten } from './flags/engine';
export { verifyAuditLog } from './platform/verify-audit-log';
export { notifyAlerts, notifySweep } from './platform/notifier';
export { githubWebhook } from './webhooks/receive';
export { onDeliveryRecorded } from './webhooks/relay';
export { onOpsEvent } from './webhooks/route';
export { redeliverFailedWebhooks } from './webhooks/redeliver';
export { onSecretEvent } from './rotation/fn-on-secret-event';
export { rotationSweep } from './rotation/fn-rotation-sweep';
export { onSecretPolicyWritten } from './rotation/fn-on-secret-policy-written';
export { scheduledExport } from './backups/fn-scheduled-export';
export { backupMonitor } from './backups/fn-backup-monitor';
export { onBackupKick } from './backups/fn-on-backup-kick';
export { restoreDrill } from './backups/fn-restore-drill';
export { onHealthCheckWritten } from './health/catalog';
// probeCycleEuropeWest1, probeCycleAfricaSouth1, ...: one per region in PROBE_REGIONS (see the file).
export * from './health/fn-probe-cycle';
export { healthRollup } from './health/fn-health-rollup';
export { status } from './health/status';
export { onRolloutRequest, onRolloutCommand, canaryKick, canaryController } from './canary/functions';
