/** Pub/Sub topics fireops publishes to or listens on (README lists who does what). */
export const OPS_ALERTS_TOPIC = 'ops-alerts';
export const OPS_EVENTS_TOPIC = 'ops-events';
/** Kicks backupMonitor right after an export starts, so a small export is verified in seconds, not minutes. */
export const BACKUP_MONITOR_TOPIC = 'backup-monitor';
/** Kicks the canary controller for one service when a rollout request arrives or an admin writes a command. */
export const CANARY_KICK_TOPIC = 'canary-kick';
