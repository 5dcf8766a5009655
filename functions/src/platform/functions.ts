// The platform's own functions (group `platform`): the alert notifier every capability publishes to (notifier.ts)
// and the audit log's verification endpoint (verify-audit-log.ts). Wiring only.
import { onRequest } from 'firebase-functions/v2/https';
import { onMessagePublished } from 'firebase-functions/v2/pubsub';
import { onSchedule } from 'firebase-functions/v2/scheduler';
import { eventMeta, runEventHandler } from './error-mapping';
import { logger } from './logger';
import { messageJson } from './pubsub';
import { handleAlert, sweepAlerts } from './notifier';
import { groupOptions, readerAccount } from './options';
import { OPS_ALERTS_TOPIC } from './topics';
import { handleVerifyAuditLog } from './verify-audit-log';

const options = groupOptions('platform');

/**
 * notifyAlerts (Pub/Sub `ops-alerts`): validates each alert, logs it at its severity and posts it to the chat
 * webhook of `settings/alerts`. Retried: a failed post is redelivered; the post is claimed per alert id first, so a
 * redelivery never posts twice.
 */
export const notifyAlerts = onMessagePublished(
  { ...options, topic: OPS_ALERTS_TOPIC, retry: true },
  async (event) => {
    const log = logger({ correlationId: event.id });
    await runEventHandler(
      log,
      async () => {
        await handleAlert(messageJson(event.data.message));
      },
      { event: eventMeta(event) },
    );
  },
);

/** Every 5 minutes: the retry of failed chat posts that does not depend on Pub/Sub redelivery (see the top). */
export const notifySweep = onSchedule(
  // 300 s: a sweep re-posts up to 100 pending alerts, each post allowed 10 s; a run cut short leaves the rest
  // pending (their claims time out) for the next sweep 5 minutes later.
  { ...options, schedule: 'every 5 minutes', timeZone: 'UTC', retryCount: 0, timeoutSeconds: 300 },
  async () => {
    const outcome = await sweepAlerts();
    if (outcome.retried) logger({ function: 'notifySweep' }).info('alerts re-sent', { ...outcome });
  },
);

/** verifyAuditLog (HTTPS, admins only): walks the audit log's hash chains and reports the first broken link. */
// Admins only, rare: 2 instances; 300 s because one call walks every stream's chain (a large log reads many pages).
export const verifyAuditLog = onRequest(
  { ...options, serviceAccount: readerAccount, maxInstances: 2, timeoutSeconds: 300 },
  (req, res) => handleVerifyAuditLog(req, res),
);
