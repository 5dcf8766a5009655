import type { Alert } from './schema';
import { OPS_ALERTS_TOPIC } from './topics';
import type { Publish } from './pubsub';
import { RUNBOOK_BASE_URL } from './params';
import { DEFAULT_RUNBOOK_BASE_URL, runbookUrl } from './domain/alert-kinds';

/**
 * An alert as an outbox entry (see idempotency.ts): published after the transaction that decided it commits. It
 * carries its kind's runbook (RUNBOOK_BASE_URL + `/<kind>.md`, docs/runbooks/; the default when the param is unset,
 * as in a test process).
 */
export function alertPublish(alert: Alert): Publish {
  return {
    topic: OPS_ALERTS_TOPIC,
    data: {
      ...alert,
      runbookUrl:
        alert.runbookUrl ?? runbookUrl(RUNBOOK_BASE_URL.value() || DEFAULT_RUNBOOK_BASE_URL, alert.kind),
    },
    attributes: { alertId: alert.alertId, severity: alert.severity, kind: alert.kind },
  };
}
