// The canary functions: onRolloutRequest (a rollout per request), onRolloutCommand (admin commands on
// rollouts/{id}.command), canaryKick (Pub/Sub: one service's tick now) and canaryController (every minute: every
// service with an active rollout). The controller is canary/controller.ts; decisions canary/domain/canary.ts.
import type { DocumentData } from 'firebase-admin/firestore';
import { actorFromAuth } from '../platform/actor';
import { appendAudit } from '../platform/audit-log';
import { type Clock, systemClock } from '../platform/domain/clock';
import { ValidationError } from '../platform/domain/errors';
import { db, firestoreModule } from '../platform/firestore';
import { publishJson } from '../platform/pubsub';
import { CANARY_KICK_TOPIC } from '../platform/topics';
import { canaryStream } from './names';
import { ROLLOUTS } from '../platform/collections';

/** The controller loads with the first rollout or tick, not with every function of the codebase (issue 16.7). */
export const controller = () => import('./controller.js');

export async function kick(service: string, correlationId: string): Promise<void> {
  await publishJson({ topic: CANARY_KICK_TOPIC, data: { service, correlationId }, attributes: { service } });
}

/**
 * Queues a valid admin command on `pendingCommands` (appended atomically, so a second command written before the
 * next tick waits behind the first instead of replacing it) with the event id as its id and the admin's id and auth
 * type from the auth context; the controller applies them in order, each id once. An invalid one is refused,
 * audited. Either way `command` is cleared, so the next command is a new write.
 */
export async function handleRolloutCommand(
  event: {
    id: string;
    rolloutId: string;
    authType: string;
    authId?: string | undefined;
    /**
     * When the write committed (the document's update time, to the microsecond; the CloudEvent's `time` has only
     * seconds in the emulator): the order commands are applied in.
     */
    writtenAtMs?: number | undefined;
  },
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
  const { rolloutCommandSchema, parseOrThrow } = await import('./schema.js');
  try {
    const parsed = parseOrThrow(rolloutCommandSchema, command, `${ROLLOUTS}/${event.rolloutId}.command`);
    await ref.update({
      pendingCommands: FieldValue.arrayUnion({
        id: event.id,
        action: parsed.action,
        reason: parsed.reason,
        by: actor.id,
        authType: event.authType,
        ...(event.writtenAtMs !== undefined ? { atMs: event.writtenAtMs } : {}),
      }),
      command: FieldValue.delete(),
    });
    return { outcome: 'accepted', service: after.service as string };
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    await ref.update({ command: FieldValue.delete() });
    // A refused command goes to its rollout's service shard (a document without a service: the rollout id's).
    await appendAudit(
      canaryStream(typeof after.service === 'string' ? after.service : event.rolloutId),
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
