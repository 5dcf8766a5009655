// `ops-alerts`: alerts for humans. Every alert is validated and logged at its severity (Cloud Logging alerting
// policies can page on it), then posted to the Slack-compatible webhook whose URL the Secret Manager secret named
// by `settings/alerts.webhookSecret` holds, if any.
//
// This is its own function, off the probe path: a chat endpoint that is down or slow only makes this function
// fail and Pub/Sub redeliver (`retry: true`); probes and incident transitions never wait for it.
//
// Delivery is at least once, deduplicated by `alertId`: a redelivery finds `processedEvents/cloudevent:notify:<id>`
// and does not post again. The key is recorded after the post succeeds (a post cannot join a Firestore
// transaction), so a crash between the two posts twice; the reverse order could lose the alert instead.
//
// Configuration problems are not retried but never swallow the alert: it is logged first, and an invalid
// `settings/alerts`, a missing secret or a secret that holds no usable URL add a warning naming what to fix.
import { onMessagePublished } from 'firebase-functions/v2/pubsub';
import { ChatWebhook, chatMessageFor } from '../adapters/chat-webhook';
import { db } from '../adapters/firestore';
import { PROCESSED_EVENTS, idempotencyDocId, runOnce } from '../adapters/idempotency';
import { logger, type Logger } from '../adapters/logger';
import { cachedValidatedDoc } from '../adapters/settings';
import { loadSchemas } from '../config/load-schemas';
import type { Alert } from '../config/schemas/alert';
import type { AlertSettings } from '../config/schemas/health';
import { OPS_ALERTS_TOPIC } from '../config/topics';
import { ValidationError } from '../core/errors';
import { runEventHandler } from './shared/errors';
import { baseOptions } from './shared/options';

/** An admin's edit of settings/alerts takes effect within this on every instance. */
export const ALERT_SETTINGS_CACHE_MS = 60_000;

export type ChatOutcome = 'posted' | 'duplicate' | 'not-configured' | 'misconfigured';

export interface AlertDeps {
  settings: () => Promise<AlertSettings | undefined>;
  chat: Pick<ChatWebhook, 'post'>;
}

/** Fresh dependencies (each caches per instance); tests build their own so no cache outlives a test. */
export function createAlertDeps(overrides: Partial<AlertDeps> = {}): AlertDeps {
  return {
    settings: cachedValidatedDoc(
      'settings/alerts',
      async () => (await loadSchemas()).alertSettingsSchema,
      ALERT_SETTINGS_CACHE_MS,
    ),
    chat: new ChatWebhook(),
    ...overrides,
  };
}

let defaultDeps: AlertDeps | undefined;
const defaultAlertDeps = () => (defaultDeps ??= createAlertDeps());

export const notifyKey = (alertId: string) => `notify:${alertId}`;

export async function handleAlert(
  message: unknown,
  deps: AlertDeps = defaultAlertDeps(),
): Promise<{ alert: Alert; chat: ChatOutcome }> {
  const { alertSchema, parseOrThrow } = await loadSchemas();
  const alert = parseOrThrow(alertSchema, message, 'ops-alerts message');
  const log = logger({ correlationId: alert.correlationId, alertId: alert.alertId });
  const level = alert.severity === 'critical' ? 'error' : alert.severity === 'warning' ? 'warn' : 'info';
  log[level](`ALERT ${alert.title}`, { kind: alert.kind, target: alert.target, text: alert.text });

  try {
    return { alert, chat: await postToChat(alert, deps, log) };
  } catch (err) {
    // Permanent: retrying cannot help until an admin fixes the configuration, and the alert is already logged.
    // Transient errors (Firestore, Secret Manager or the chat endpoint unavailable) go on to be retried.
    if (!(err instanceof ValidationError)) throw err;
    log.warn('alert not posted to chat: fix settings/alerts or its webhook secret', {
      error: err.message,
      field: err.field,
    });
    return { alert, chat: 'misconfigured' };
  }
}

async function postToChat(alert: Alert, deps: AlertDeps, log: Logger): Promise<ChatOutcome> {
  const secretId = (await deps.settings())?.webhookSecret;
  if (secretId === undefined) return 'not-configured';
  const key = notifyKey(alert.alertId);
  const done = await db().collection(PROCESSED_EVENTS).doc(idempotencyDocId('cloudevent', key)).get();
  if (done.exists) {
    log.info('alert already posted to chat: redelivery skipped', { secretId });
    return 'duplicate';
  }
  const { status } = await deps.chat.post(secretId, chatMessageFor(alert));
  // Two deliveries racing past the check above both post; the second only learns it here (at least once).
  const recorded = await runOnce('cloudevent', key, () => Promise.resolve({ value: undefined }), {
    meta: { alertId: alert.alertId },
  });
  log.info('alert posted to chat', { secretId, status, duplicate: recorded.duplicate });
  return 'posted';
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
