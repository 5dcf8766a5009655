// The canary functions (group `canary`): onRolloutRequest (a rollout per request), onRolloutCommand (admin commands
// on rollouts/{id}.command), canaryKick (Pub/Sub: one service's tick now) and canaryController (every minute: every
// service with an active rollout). Wiring only: commands.ts queues admin commands, controller.ts ticks, domain/canary.ts
// decides.
import { onDocumentCreated, onDocumentWrittenWithAuthContext } from 'firebase-functions/v2/firestore';
import { onMessagePublished } from 'firebase-functions/v2/pubsub';
import { onSchedule } from 'firebase-functions/v2/scheduler';
import { systemClock } from '../platform/domain/clock';
import { TransientError, ValidationError } from '../platform/domain/errors';
import { eventMeta, runEventHandler } from '../platform/error-mapping';
import { logger } from '../platform/logger';
import { groupOptions } from '../platform/options';
import { CANARY_KICK_TOPIC, CANARY_METRICS_TOPIC } from '../platform/topics';
import type { RolloutRequest } from '../webhooks/domain/routing';
import { ROLLOUT_REQUESTS } from '../platform/collections';
import { controller, handleRolloutCommand, kick } from './commands';
import { canaryDeps } from './deps';
import { ROLLOUTS } from '../platform/collections';

const options = groupOptions('canary');

/** onRolloutRequest: a rollout per request onOpsEvent recorded (idempotent by request id), then a kick. */
export const onRolloutRequest = onDocumentCreated(
  { ...options, document: `${ROLLOUT_REQUESTS}/{requestId}`, retry: true },
  async (event) => {
    const log = logger({ correlationId: event.id, function: 'onRolloutRequest' });
    await runEventHandler(
      log,
      async () => {
        const request = event.data?.data() as RolloutRequest | undefined;
        if (!request) return;
        const { created } = await (
          await controller()
        ).createRollout({ ...request, id: event.params.requestId }, systemClock, event.id);
        log.info('rollout request', { requestId: event.params.requestId, created });
        await kick(request.service, event.id);
      },
      { event: eventMeta(event) },
    );
  },
);

/**
 * onRolloutCommand: an admin's `command` on `rollouts/{id}`, validated and queued on `pendingCommands` (commands.ts);
 * an invalid one is refused and audited.
 */
export const onRolloutCommand = onDocumentWrittenWithAuthContext(
  { ...options, document: `${ROLLOUTS}/{rolloutId}`, retry: true },
  async (event) => {
    const log = logger({ correlationId: event.id, function: 'onRolloutCommand' });
    await runEventHandler(
      log,
      async () => {
        const result = await handleRolloutCommand(
          {
            id: event.id,
            rolloutId: event.params.rolloutId,
            authType: event.authType,
            authId: event.authId,
            writtenAtMs: writtenAtMs(event.data?.after?.updateTime, event.time),
          },
          event.data?.before?.exists ? event.data.before.data() : undefined,
          event.data?.after?.exists ? event.data.after.data() : undefined,
        );
        if (result.outcome !== 'none') log.info('rollout command', { ...result });
        if (result.outcome === 'accepted' && result.service) await kick(result.service, event.id);
      },
      { event: eventMeta(event) },
    );
  },
);

/** canaryKick (Pub/Sub `canary-kick`): one service's tick now. Not retried: the minute tick is the safety net. */
export const canaryKick = onMessagePublished(
  // 120 s: one service's tick (Cloud Run traffic change and its wait, analysis reads, GitHub statuses).
  { ...options, topic: CANARY_KICK_TOPIC, retry: false, timeoutSeconds: 120 },
  async (event) => {
    const log = logger({ correlationId: event.id, function: 'canaryKick' });
    await runEventHandler(
      log,
      async () => {
        const data = event.data.message.json as { service?: unknown };
        if (typeof data?.service !== 'string')
          throw new ValidationError('canary-kick message without a service');
        const result = await (
          await controller()
        ).tickService(
          data.service,
          { correlationId: event.id, actor: { type: 'system', id: 'canaryKick' } },
          canaryDeps(),
        );
        log.info('canary tick', { service: data.service, ...result });
      },
      { event: eventMeta(event) },
    );
  },
);

/**
 * canaryController (every minute): one `canary-kick` per service with a rollout to tick (controller.ts
 * `fanOutTicks`); each tick runs in its own canaryKick. No retries: a late retry would be another minute's tick,
 * and the next one comes anyway. 60 s: a query and a publish per service.
 */
export const canaryController = onSchedule(
  { ...options, schedule: 'every 1 minutes', timeZone: 'UTC', retryCount: 0, timeoutSeconds: 60 },
  async (event) => {
    const correlationId = `canaryController@${event.scheduleTime}`;
    const { services, failed } = await (await controller()).fanOutTicks({ correlationId }, kick);
    const log = logger({ function: 'canaryController', correlationId });
    if (failed.length) {
      // The next minute kicks them again; a publish failing every minute is an infrastructure alert's business.
      log.error('canary kicks not published', { failed });
      throw new TransientError(`canary-kick not published for ${failed.join(', ')}`);
    }
    log.info('canary ticks kicked', { services: services.length });
  },
);

/** A write's commit time in milliseconds, to the microsecond (the update time), else the event's time. */
function writtenAtMs(
  updateTime: { seconds: number; nanoseconds: number } | undefined,
  time: string,
): number | undefined {
  if (updateTime) return updateTime.seconds * 1000 + updateTime.nanoseconds / 1e6;
  const parsed = Date.parse(time);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/**
 * ingestMetrics (Pub/Sub `canary-metrics`, issue 13.A): one metric window a service published, validated and stored
 * in metrics/{service}/windows (canary/metrics-intake.ts). Retried on infrastructure errors only: an invalid message
 * is refused (audited, alerted) and acknowledged, never redelivered forever. Runs as the canary account.
 */
export const ingestMetrics = onMessagePublished(
  // Default 60 s (one transaction per message). At most 10 instances: the publishers are not fireops, so a flood
  // waits in the subscription instead of scaling Firestore writes (and cost) without bound.
  { ...options, topic: CANARY_METRICS_TOPIC, retry: true, maxInstances: 10 },
  async (event) => {
    const log = logger({ correlationId: event.id, function: 'ingestMetrics' });
    await runEventHandler(
      log,
      async () => {
        const { ingestMetricWindow } = await import('./metrics-intake.js');
        const message = event.data.message;
        const result = await ingestMetricWindow({
          messageId: message.messageId,
          publishTimeMs: Date.parse(message.publishTime) || Date.now(),
          data: Buffer.from(message.data ?? '', 'base64'),
          attributes: message.attributes ?? {},
        });
        if (result.outcome === 'refused')
          log.error('metric window refused', {
            messageId: message.messageId,
            reason: result.reason,
            field: result.field,
          });
        else log.info('metric window', { messageId: message.messageId, ...result });
      },
      { event: eventMeta(event) },
    );
  },
);
