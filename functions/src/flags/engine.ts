// `flags/{key}`: every write is validated. Valid changes are audited with their diff and who made them; invalid
// ones are reverted to the last valid state (only if no later write has landed), audited and alerted.
import { FLAGS, FLAG_STATE } from '../platform/collections';
import type { DocumentData } from 'firebase-admin/firestore';
import { openAudit } from '../platform/audit-log';
import { alertPublish } from '../platform/alerts';
import { db } from '../platform/firestore';
import { runOnce } from '../platform/idempotency';
import { logger } from '../platform/logger';
import { jsonDigest, toJsonValue, type JsonValue } from '../platform/domain/canonical-json';
import { systemClock, type Clock } from '../platform/domain/clock';
import {
  decideFlagWrite,
  revertRecord,
  type FlagDecision,
  type RevertRecord,
  type ValidationOutcome,
} from './domain/flags';
import { actorFromAuth } from '../platform/actor';

export interface FlagWriteEvent {
  id: string;
  key: string;
  timeMs: number;
  authType: string;
  authId?: string | undefined;
  after: DocumentData | undefined;
  /** Update time of the written document, as `seconds.nanos` text for exact comparison. */
  afterUpdateTime: string | undefined;
  before: DocumentData | undefined;
}

export function timeKey(t: { seconds: number; nanoseconds: number }): string {
  return `${t.seconds}.${String(t.nanoseconds).padStart(9, '0')}`;
}

export async function validateFlag(key: string, data: DocumentData | undefined): Promise<ValidationOutcome> {
  const { FLAG_KEY_PATTERN, flagSchema, formatZodError } = await import('./schema.js');
  if (!FLAG_KEY_PATTERN.test(key)) {
    return {
      kind: 'invalid',
      reason: `flag key '${key}' must match ${FLAG_KEY_PATTERN.source}`,
      field: 'key',
    };
  }
  if (data === undefined) return { kind: 'absent' };
  const parsed = flagSchema.safeParse(data);
  if (parsed.success) return { kind: 'valid', value: toJsonValue(data) };
  const { message, field } = formatZodError(parsed.error, `flags/${key}`);
  return { kind: 'invalid', reason: message, field };
}

export async function handleFlagWrite(event: FlagWriteEvent, clock: Clock = systemClock): Promise<void> {
  const log = logger({ correlationId: event.id, flag: event.key });
  const outcome = await validateFlag(event.key, event.after);
  const actor = actorFromAuth(event.authType, event.authId);
  const firestore = db();
  const flagRef = firestore.collection(FLAGS).doc(event.key);
  const stateRef = firestore.collection(FLAG_STATE).doc(event.key);

  const result = await runOnce<FlagDecision>(
    'cloudevent',
    event.id,
    async ({ tx }) => {
      const [current, state] = await tx.getAll(flagRef, stateRef);
      const isLatestWrite =
        event.afterUpdateTime === undefined
          ? !current?.exists
          : Boolean(
              current?.exists && current.updateTime && timeKey(current.updateTime) === event.afterUpdateTime,
            );
      const stateData = state?.data();
      const lastValidRaw = stateData ? (stateData.lastValid as DocumentData | null) : undefined;
      const lastValid: JsonValue | undefined =
        lastValidRaw === undefined ? undefined : toJsonValue(lastValidRaw);
      const lastRevert = stateData?.lastRevert as RevertRecord | undefined;
      const beforeJson = event.before === undefined ? null : toJsonValue(event.before);
      const decision = decideFlagWrite({
        key: event.key,
        before: beforeJson,
        after: outcome,
        lastValid,
        isLatestWrite,
        lastRevert,
      });
      const audit = await openAudit(tx, ['flags'], clock);
      const target = `flags/${event.key}`;

      if (decision.kind === 'noop') return { value: decision };

      if (decision.kind === 'accept') {
        audit.append('flags', {
          actor,
          action: decision.action,
          target,
          reason: `valid ${decision.action === 'flag.deleted' ? 'deletion' : 'edit'} by ${actor.type} ${actor.id}`,
          correlationId: event.id,
          before: lastValid ?? beforeJson,
          after: decision.after,
          details: { changed: decision.diff },
        });
        const recordedAtMs = typeof stateData?.lastValidAtMs === 'number' ? stateData.lastValidAtMs : -1;
        if (isLatestWrite || event.timeMs >= recordedAtMs) {
          tx.set(
            stateRef,
            { lastValid: event.after ?? null, lastValidAtMs: event.timeMs, lastEventId: event.id },
            { merge: true },
          );
        }
        return { value: decision };
      }

      // Invalid. The attempt is kept as evidence by its field names and digest, not its values: an admin may have
      // pasted anything (a credential, say) into a refused document, and the audit log keeps entries forever.
      const attemptedJson = event.after === undefined ? null : toJsonValue(event.after);
      const attempted: JsonValue =
        event.after === undefined
          ? null
          : { fields: Object.keys(event.after).sort(), digest: jsonDigest(attemptedJson) };
      const reverted = decision.revert.kind === 'restore';
      if (decision.revert.kind === 'restore') {
        const restore = lastValidRaw != null ? lastValidRaw : (decision.revert.value as DocumentData | null);
        if (restore === null) tx.delete(flagRef);
        else tx.set(flagRef, restore);
        tx.set(
          stateRef,
          {
            lastRevert: revertRecord(attemptedJson, toJsonValue(restore)),
            ...(lastValidRaw == null ? { lastValid: restore, lastValidAtMs: event.timeMs } : {}),
          },
          { merge: true },
        );
      }
      audit.append('flags', {
        actor,
        action: 'flag.rejected',
        target,
        reason: decision.reason,
        correlationId: event.id,
        before: lastValid ?? null,
        after: attempted,
        details: {
          field: decision.field ?? null,
          reverted,
          ...(decision.revert.kind === 'none' ? { notReverted: decision.revert.why } : {}),
        },
      });
      const nowMs = clock.nowMs();
      return {
        value: decision,
        publishes: [
          alertPublish({
            alertId: `flag-rejected:${event.id}`,
            severity: 'warning',
            kind: 'flag.rejected',
            title: `Invalid edit of flag '${event.key}' ${reverted ? 'reverted' : 'refused'}`,
            text: `${decision.reason}. Edited by ${actor.type} ${actor.id}.${reverted ? ' The last valid state was restored.' : ''}`,
            target,
            correlationId: event.id,
            atMs: nowMs,
          }),
        ],
      };
    },
    { clock, meta: { flag: event.key } },
  );

  if (result.duplicate) log.info('flag event already processed', { eventId: event.id });
  else log.info('flag write judged', { decision: result.value.kind });
}
