// Deployed functions, and nothing else: each trigger file wires one function; see README for what each does.
export { onFlagWritten } from './triggers/on-flag-written';
export { verifyAuditLog } from './triggers/verify-audit-log';
export { notifyAlerts, notifySweep } from './triggers/notify-alerts';
export { githubWebhook } from './triggers/github-webhook';
export { onDeliveryRecorded } from './triggers/on-delivery-recorded';
export { onOpsEvent } from './triggers/on-ops-event';
export { redeliverFailedWebhooks } from './triggers/redeliver-failed-webhooks';
export { onSecretEvent } from './triggers/on-secret-event';
export { rotationSweep } from './triggers/rotation-sweep';
export { onSecretPolicyWritten } from './triggers/on-secret-policy-written';
export { scheduledExport } from './triggers/scheduled-export';
export { backupMonitor } from './triggers/backup-monitor';
export { onBackupKick } from './triggers/on-backup-kick';
export { restoreDrill } from './triggers/restore-drill';
export { onHealthCheckWritten } from './triggers/on-health-check-written';
// probeCycleEuropeWest1, probeCycleAfricaSouth1, ...: one per region in PROBE_REGIONS (see the file).
export * from './triggers/probe-cycle';
export { healthRollup } from './triggers/health-rollup';
export { status } from './triggers/status';
export { onRolloutRequest, onRolloutCommand, canaryKick, canaryController } from './triggers/canary';
