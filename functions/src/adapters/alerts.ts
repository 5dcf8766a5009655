import type { Alert } from '../config/schemas/alert';
import { OPS_ALERTS_TOPIC } from '../config/topics';
import type { Publish } from './pubsub';

/** An alert as an outbox entry (see idempotency.ts): published after the transaction that decided it commits. */
export function alertPublish(alert: Alert): Publish {
  return {
    topic: OPS_ALERTS_TOPIC,
    data: alert,
    attributes: { alertId: alert.alertId, severity: alert.severity, kind: alert.kind },
  };
}
