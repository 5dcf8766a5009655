// Pub/Sub topics fireops publishes to or listens on (docs/reference/topics.md lists who listens).
/** Alerts: something a human should know, from every capability; notifyAlerts logs them and posts them to chat. */
export const OPS_ALERTS_TOPIC = 'ops-alerts';
/** One normalized GitHub event per accepted webhook delivery, announced by the relay; onOpsEvent routes them. */
export const OPS_EVENTS_TOPIC = 'ops-events';
/** Kicks backupMonitor right after an export starts, so a small export is verified in seconds, not minutes. */
export const BACKUP_MONITOR_TOPIC = 'backup-monitor';
/** Kicks the canary controller for one service when a rollout request arrives or an admin writes a command. */
export const CANARY_KICK_TOPIC = 'canary-kick';
// Issue 13.A (metric windows through a door of their own):
/**
 * Metric windows from the services under canary analysis (canary-ingestMetrics validates and stores them). The
 * one thing a metric writer may do: publish here (roles/pubsub.publisher on this topic only, platform/iam.ts).
 */
export const CANARY_METRICS_TOPIC = 'canary-metrics';
/**
 * Shards of a region's probe cycle (health/engine.ts runProbeCycle fans out when the catalog needs more than one
 * shard), each naming its region. Every region's probeShard function listens and runs only its own region's
 * shards (a Pub/Sub trigger runs in one region, and probes must leave from the region they count for). One topic
 * rather than one per region keeps IAM and bootstrap to one fixed name; the price is R - 1 no-op deliveries per
 * shard (docs/capabilities/health.md "Cost").
 */
export const HEALTH_SHARDS_TOPIC = 'health-probe-shards';
