// onOpsEvent: routes each normalized GitHub event (topic `ops-events`). Idempotent per CloudEvent id. Decisions
// are webhooks/domain/routing.ts; this applies them: hook records, rollout requests, and an audit entry for each.
import { GITHUB_SETTINGS } from '../platform/collections';
import { GITHUB_HOOKS, ROLLOUT_REQUESTS } from '../platform/collections';
import { openAudit } from '../platform/audit-log';
import { db, firestoreModule } from '../platform/firestore';
import { runOnce } from '../platform/idempotency';
import { logger } from '../platform/logger';
import { readValidatedDoc } from '../platform/settings';
import { systemClock, type Clock } from '../platform/domain/clock';
import { TransientError, ValidationError } from '../platform/domain/errors';
import { routeEvent, type RouteDecision } from './domain/routing';
import { deliveryAuditStream } from './deliveries';
import { DELIVERIES } from '../platform/collections';

export async function handleOpsEvent(
  eventId: string,
  message: unknown,
  clock: Clock = systemClock,
): Promise<RouteDecision> {
  const schemas = await import('./schema.js');
  const e = schemas.parseOrThrow(schemas.opsEventSchema, message, 'ops-events message');
  let settings;
  try {
    settings = await readValidatedDoc(GITHUB_SETTINGS, schemas.githubSettingsSchema);
  } catch (err) {
    // Not the event's fault: retry (for 24 hours: then event.giving-up is alerted, platform/error-mapping.ts) until an admin fixes the settings.
    if (err instanceof ValidationError) throw new TransientError(err.message);
    throw err;
  }
  const decision = routeEvent(e, {
    environments: settings?.environments ?? [],
    releaseEnvironment: settings?.releaseEnvironment ?? 'production',
    services: settings?.services ?? {},
  });
  const { Timestamp } = firestoreModule();
  const firestore = db();
  const stream = deliveryAuditStream(e.deliveryId, 'routing');

  // Once per delivery, not per message: the relay may announce a delivery twice (at least once).
  const result = await runOnce(
    'routing',
    e.deliveryId,
    async ({ tx }) => {
      const requestRef =
        decision.kind === 'rollout-request'
          ? firestore.collection(ROLLOUT_REQUESTS).doc(decision.request.id)
          : undefined;
      const existing = requestRef ? await tx.get(requestRef) : undefined;
      const audit = await openAudit(tx, [stream], clock);
      const now = Timestamp.fromMillis(clock.nowMs());
      let action: string = `event.${decision.kind === 'rollout-request' ? 'rollout-requested' : decision.kind === 'record' ? 'recorded' : 'ignored'}`;
      let reason = decision.reason;

      if (decision.kind === 'record' && decision.what === 'ping' && e.hook) {
        tx.set(firestore.collection(GITHUB_HOOKS).doc(String(e.hook.id)), {
          repo: e.repo,
          type: e.hook.type,
          active: e.hook.active,
          events: e.hook.events,
          url: e.hook.url,
          contentType: e.hook.contentType,
          lastPingAt: now,
          lastPingDeliveryId: e.deliveryId,
        });
      }
      if (decision.kind === 'rollout-request' && requestRef) {
        if (existing?.exists) {
          // A second event for the same release/deployment (e.g. re-sent by hand with a new GUID).
          action = 'event.rollout-request-exists';
          reason = `rollout request ${decision.request.id} already exists`;
        } else {
          tx.create(requestRef, { ...decision.request, status: 'pending', createdAt: now });
        }
      }
      tx.set(
        firestore.collection(DELIVERIES).doc(e.deliveryId),
        { routing: { decision: decision.kind, reason, routedAt: now, eventId } },
        { merge: true },
      );
      audit.append(stream, {
        actor: { type: 'github', id: e.actor ?? 'unknown' },
        action,
        target:
          decision.kind === 'rollout-request'
            ? `${ROLLOUT_REQUESTS}/${decision.request.id}`
            : `${DELIVERIES}/${e.deliveryId}`,
        reason,
        correlationId: e.deliveryId,
        details: {
          type: e.type,
          repo: e.repo,
          ref: e.ref,
          sha: e.sha,
          environment: e.environment,
          ...(e.workflowRun ? { conclusion: e.workflowRun.conclusion } : {}),
          ...(e.deploymentStatus ? { state: e.deploymentStatus.state } : {}),
        },
      });
      return { value: decision };
    },
    { clock, meta: { deliveryId: e.deliveryId } },
  );
  logger({ correlationId: e.deliveryId }).info('ops event routed', {
    decision: decision.kind,
    reason: decision.reason,
    duplicate: result.duplicate,
  });
  return decision;
}
