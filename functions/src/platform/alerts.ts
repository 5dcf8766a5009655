import type { Alert } from './schema';
import { OPS_ALERTS_TOPIC } from './topics';
import type { Publish } from './pubsub';

/** An alert as an outbox entry (see idempotency.ts): published after the transaction that decided it commits. */
export function alertPublish(alert: Alert): Publish {
  return {
    topic: OPS_ALERTS_TOPIC,
    data: alert,
    attributes: { alertId: alert.alertId, severity: alert.severity, kind: alert.kind },
  };
}
