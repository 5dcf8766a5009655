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
import { anchorStore, handleVerifyAuditLog } from './verify-audit-log';
import { systemClock } from './domain/clock';

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

// --- Anchored audit log (issue 13) ---

/**
 * anchorAuditLog (every 15 minutes): writes the heads of the audit streams that moved to a new object in
 * AUDIT_ANCHOR_BUCKET (audit-anchor.ts). 15 minutes is the detection window for a consistent rewrite of recent
 * entries (docs/security.md#tamper-evidence); it costs at most 96 small objects and ~100 reads a day.
 */
export const anchorAuditLog = onSchedule(
  // 60 s: one query of the heads, one read and one write of an object.
  { ...options, schedule: 'every 15 minutes', timeZone: 'UTC', retryCount: 1, timeoutSeconds: 60 },
  async (event) => {
    const log = logger({ function: 'anchorAuditLog' });
    const store = anchorStore();
    const { runScheduledOnce } = await import('./scheduled-run.js');
    const { anchorAuditLog: anchor } = await import('./audit-anchor.js');
    const run = await runScheduledOnce(
      'anchorAuditLog',
      { jobName: event.jobName, scheduleTime: event.scheduleTime },
      { ttlMs: 2 * 60_000, clock: systemClock },
      () => anchor(store, systemClock),
    );
    if (run.kind === 'ran' && run.value.outcome === 'written') {
      log.info('audit log anchored', { ...run.value, bucket: store.bucket });
    }
  },
);

/**
 * verifyAuditSweep (hourly): verifies the log against the anchors from the last checkpoint in bounded pages, for
 * at most 240 s, and alerts on the first problem (audit-verify-sweep.ts). Starts a pass from genesis every 7 days.
 */
export const verifyAuditSweep = onSchedule(
  { ...options, schedule: 'every 60 minutes', timeZone: 'UTC', retryCount: 0, timeoutSeconds: 300 },
  async (event) => {
    const log = logger({ function: 'verifyAuditSweep' });
    const { runScheduledOnce } = await import('./scheduled-run.js');
    const { sweepAuditVerification } = await import('./audit-verify-sweep.js');
    const run = await runScheduledOnce(
      'verifyAuditSweep',
      { jobName: event.jobName, scheduleTime: event.scheduleTime },
      { ttlMs: 5 * 60_000, clock: systemClock },
      () => sweepAuditVerification(anchorStore(), systemClock, { pageSize: 2000, budgetMs: 240_000 }),
    );
    if (run.kind !== 'ran') return;
    const { problems, ...rest } = run.value;
    if (run.value.ok) log.info('audit log verified', { ...rest });
    else log.error('audit log verification found a problem', { ...rest, problems });
  },
);
