// The canary functions: onRolloutRequest (a rollout per request), onRolloutCommand (admin commands on
// rollouts/{id}.command), canaryKick (Pub/Sub: one service's tick now) and canaryController (every minute: every
// service with an active rollout). The controller is canary/controller.ts; decisions canary/domain/canary.ts.
import type { DocumentData } from 'firebase-admin/firestore';
import { onDocumentCreated, onDocumentWrittenWithAuthContext } from 'firebase-functions/v2/firestore';
import { onMessagePublished } from 'firebase-functions/v2/pubsub';
import { onSchedule } from 'firebase-functions/v2/scheduler';
import { appendAudit } from '../platform/audit-log';
import type { CanaryDeps } from './controller';
import { CANARY_STREAM, ROLLOUTS } from './names';
import { db, firestoreModule } from '../platform/firestore';
import { OctokitGithubApi, type GithubApi } from '../platform/github-api';
import { logger } from '../platform/logger';
import { publishJson } from '../platform/pubsub';
import { loadSchemas } from '../platform/load-schemas';
import { GITHUB_TOKEN_SECRET_ID } from '../platform/params';
import { CANARY_KICK_TOPIC } from '../platform/topics';
import { systemClock, type Clock } from '../platform/domain/clock';
import type { RolloutRequest } from '../webhooks/domain/routing';
import { ValidationError } from '../platform/domain/errors';
import { actorFromAuth } from '../platform/actor';
import { runEventHandler } from '../platform/error-mapping';
import { baseOptions } from '../platform/options';
import { ROLLOUT_REQUESTS } from '../webhooks/route';

/** The controller loads with the first rollout or tick, not with every function of the codebase (issue 16.7). */
const controller = () => import('./controller.js');

let github: GithubApi | undefined;
export function canaryDeps(overrides: Partial<CanaryDeps> = {}): CanaryDeps {
  github ??= new OctokitGithubApi(GITHUB_TOKEN_SECRET_ID.value());
  return { clock: systemClock, github, ...overrides };
}

async function kick(service: string, correlationId: string): Promise<void> {
  await publishJson({ topic: CANARY_KICK_TOPIC, data: { service, correlationId }, attributes: { service } });
}

export const onRolloutRequest = onDocumentCreated(
  { ...baseOptions, document: `${ROLLOUT_REQUESTS}/{requestId}`, retry: true },
  async (event) => {
    const log = logger({ correlationId: event.id, function: 'onRolloutRequest' });
    await runEventHandler(log, async () => {
      const request = event.data?.data() as RolloutRequest | undefined;
      if (!request) return;
      const { created } = await (
        await controller()
      ).createRollout({ ...request, id: event.params.requestId }, systemClock, event.id);
      log.info('rollout request', { requestId: event.params.requestId, created });
      await kick(request.service, event.id);
    });
  },
);

/**
 * Queues a valid admin command on `pendingCommands` (appended atomically, so a second command written before the
 * next tick waits behind the first instead of replacing it) with the event id as its id and the admin's id and auth
 * type from the auth context; the controller applies them in order, each id once. An invalid one is refused,
 * audited. Either way `command` is cleared, so the next command is a new write.
 */
export async function handleRolloutCommand(
  event: { id: string; rolloutId: string; authType: string; authId?: string | undefined },
  before: DocumentData | undefined,
  after: DocumentData | undefined,
  clock: Clock = systemClock,
): Promise<{ outcome: 'none' | 'accepted' | 'refused'; service?: string; reason?: string }> {
  const command: unknown = after?.command;
  if (!after || command === undefined || command === null) return { outcome: 'none' };
  if (JSON.stringify(before?.command ?? null) === JSON.stringify(command)) return { outcome: 'none' };
  const actor = actorFromAuth(event.authType, event.authId);
  const ref = db().collection(ROLLOUTS).doc(event.rolloutId);
  const { FieldValue } = firestoreModule();
  const { rolloutCommandSchema, parseOrThrow } = await loadSchemas();
  try {
    const parsed = parseOrThrow(rolloutCommandSchema, command, `${ROLLOUTS}/${event.rolloutId}.command`);
    await ref.update({
      pendingCommands: FieldValue.arrayUnion({
        id: event.id,
        action: parsed.action,
        reason: parsed.reason,
        by: actor.id,
        authType: event.authType,
      }),
      command: FieldValue.delete(),
    });
    return { outcome: 'accepted', service: after.service as string };
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    await ref.update({ command: FieldValue.delete() });
    await appendAudit(
      CANARY_STREAM,
      {
        actor,
        action: 'rollout.command-refused',
        target: `${ROLLOUTS}/${event.rolloutId}`,
        reason: err.message,
        correlationId: event.id,
        details: { field: err.field ?? null, authType: event.authType },
      },
      clock,
    );
    return { outcome: 'refused', reason: err.message };
  }
}

export const onRolloutCommand = onDocumentWrittenWithAuthContext(
  { ...baseOptions, document: `${ROLLOUTS}/{rolloutId}`, retry: true },
  async (event) => {
    const log = logger({ correlationId: event.id, function: 'onRolloutCommand' });
    await runEventHandler(log, async () => {
      const result = await handleRolloutCommand(
        { id: event.id, rolloutId: event.params.rolloutId, authType: event.authType, authId: event.authId },
        event.data?.before?.exists ? event.data.before.data() : undefined,
        event.data?.after?.exists ? event.data.after.data() : undefined,
      );
      if (result.outcome !== 'none') log.info('rollout command', { ...result });
      if (result.outcome === 'accepted' && result.service) await kick(result.service, event.id);
    });
  },
);

export const canaryKick = onMessagePublished(
  { ...baseOptions, topic: CANARY_KICK_TOPIC, retry: false },
  async (event) => {
    const log = logger({ correlationId: event.id, function: 'canaryKick' });
    await runEventHandler(log, async () => {
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
    });
  },
);

export const canaryController = onSchedule(
  { ...baseOptions, schedule: 'every 1 minutes', timeZone: 'UTC', retryCount: 0, timeoutSeconds: 120 },
  async (event) => {
    const results = await (
      await controller()
    ).tickAll(
      {
        correlationId: `canaryController@${event.scheduleTime}`,
        actor: { type: 'scheduler', id: event.jobName ?? 'canaryController' },
      },
      canaryDeps(),
    );
    logger({ function: 'canaryController' }).info('canary ticks', { services: Object.keys(results).length });
  },
);
