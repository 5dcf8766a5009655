// The webhook functions (group `webhooks`): GitHub's deliveries in (receive.ts), their relay to the audit log and
// ops-events (relay.ts), the router of ops-events (route.ts) and the hourly redelivery sweep (redeliver.ts). Wiring only.
import { redeliveryDeps, webhookDeps } from './deps';
import { onDocumentCreated } from 'firebase-functions/v2/firestore';
import { onRequest } from 'firebase-functions/v2/https';
import { onMessagePublished } from 'firebase-functions/v2/pubsub';
import { onSchedule } from 'firebase-functions/v2/scheduler';
import { eventMeta, runEventHandler } from '../platform/error-mapping';
import { logger } from '../platform/logger';
import { messageJson } from '../platform/pubsub';
import { groupOptions } from '../platform/options';
import { OPS_EVENTS_TOPIC } from '../platform/topics';
import { DELIVERIES } from '../platform/collections';
import { handleGithubWebhook } from './receive';
import { handleRedeliverFailedWebhooks } from './redeliver';
import { relayDelivery } from './relay';
import { handleOpsEvent } from './route';

const options = groupOptions('webhooks');

// GitHub stops waiting after 10 s, but the function may run longer: work GitHub gave up on still completes (the
// delivery is recorded, so the recovery job will not ask for it again), rather than being cut mid-way.
// maxInstances: GitHub sends ~50 deliveries a day and at most REDELIVERY_MAX_PER_RUN (50) redeliveries at once; 10
// instances x 80 concurrent requests absorb that many times over, and cap what a flood of forged requests can cost
// (each is refused after one HMAC, but still billed).
export const githubWebhook = onRequest({ ...options, timeoutSeconds: 30, maxInstances: 10 }, (req, res) =>
  handleGithubWebhook(req, res, webhookDeps()),
);

/**
 * onDeliveryRecorded: the relay behind githubWebhook. Appends each new delivery's audit entry to its hash chain and
 * publishes its announcement on `ops-events`. Retried: until both are done the delivery holds them (outbox).
 */
export const onDeliveryRecorded = onDocumentCreated(
  { ...options, document: `${DELIVERIES}/{guid}`, retry: true },
  async (event) => {
    const log = logger({ correlationId: event.params.guid, function: 'onDeliveryRecorded' });
    await runEventHandler(
      log,
      async () => {
        const result = await relayDelivery(event.params.guid);
        log.info('delivery relayed', result);
      },
      { event: eventMeta(event) },
    );
  },
);

/**
 * onOpsEvent (Pub/Sub `ops-events`): routes each normalized GitHub event (hook records, rollout requests), each
 * audited. Retried; idempotent per CloudEvent id.
 */
export const onOpsEvent = onMessagePublished(
  { ...options, topic: OPS_EVENTS_TOPIC, retry: true },
  async (event) => {
    const log = logger({ correlationId: event.id, function: 'onOpsEvent' });
    await runEventHandler(
      log,
      async () => {
        await handleOpsEvent(event.id, messageJson(event.data.message));
      },
      { event: eventMeta(event) },
    );
  },
);

/**
 * redeliverFailedWebhooks (hourly): asks GitHub to redeliver the failed deliveries of the last 3 days fireops has
 * not processed (GitHub never retries by itself). Bounded per run, one run per schedule time, never two at once.
 */
export const redeliverFailedWebhooks = onSchedule(
  // 540 s: a run lists each hook's deliveries of 3 days (paged) and asks for up to REDELIVERY_MAX_PER_RUN (50)
  // redeliveries, each a GitHub call of up to 10 s; the 60 s default would cut a slow run mid-way.
  { ...options, schedule: 'every 60 minutes', timeZone: 'UTC', retryCount: 3, timeoutSeconds: 540 },
  async (event) => {
    await handleRedeliverFailedWebhooks(
      { jobName: event.jobName, scheduleTime: event.scheduleTime },
      redeliveryDeps(),
    );
  },
);
