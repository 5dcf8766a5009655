// `ops-alerts`: alerts for humans. Every alert is validated and logged at its severity (Cloud Logging alerting
// policies can page on it); chat delivery (Slack-compatible webhook) comes with the health-check capability.
import { onMessagePublished } from 'firebase-functions/v2/pubsub';
import { logger } from '../adapters/logger';
import { loadSchemas } from '../config/load-schemas';
import type { Alert } from '../config/schemas/alert';
import { OPS_ALERTS_TOPIC } from '../config/topics';
import { runEventHandler } from './shared/errors';
import { baseOptions } from './shared/options';

export async function handleAlert(message: unknown): Promise<Alert> {
  const { alertSchema, parseOrThrow } = await loadSchemas();
  const alert = parseOrThrow(alertSchema, message, 'ops-alerts message');
  const log = logger({ correlationId: alert.correlationId, alertId: alert.alertId });
  const level = alert.severity === 'critical' ? 'error' : alert.severity === 'warning' ? 'warn' : 'info';
  log[level](`ALERT ${alert.title}`, { kind: alert.kind, target: alert.target, text: alert.text });
  return alert;
}

export const notifyAlerts = onMessagePublished(
  { ...baseOptions, topic: OPS_ALERTS_TOPIC, retry: true },
  async (event) => {
    const log = logger({ correlationId: event.id });
    await runEventHandler(log, async () => {
      let json: unknown;
      try {
        json = event.data.message.json;
      } catch {
        json = undefined; // not JSON: refused by the schema below with a clear message
      }
      await handleAlert(json);
    });
  },
);
