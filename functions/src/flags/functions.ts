// The flag functions (group `flags`): every write to flags/{key} is validated (engine.ts, domain/flags.ts).
import { FLAGS } from '../platform/collections';
import { onDocumentWrittenWithAuthContext } from 'firebase-functions/v2/firestore';
import { eventMeta, runEventHandler } from '../platform/error-mapping';
import { logger } from '../platform/logger';
import { groupOptions } from '../platform/options';
import { type FlagWriteEvent, handleFlagWrite, timeKey } from './engine';

const options = groupOptions('flags');

/**
 * onFlagWritten: every write to `flags/{key}`, with the writer's auth context (who edited). Valid changes are audited
 * with their diff; invalid ones are reverted to the last valid state (only if no later write landed), audited and
 * alerted. Retried: a lost event would leave an invalid flag live; the handler is idempotent per event id.
 */
export const onFlagWritten = onDocumentWrittenWithAuthContext(
  { ...options, document: `${FLAGS}/{key}`, retry: true },
  async (event) => {
    const before = event.data?.before;
    const after = event.data?.after;
    const flagEvent: FlagWriteEvent = {
      id: event.id,
      key: event.params.key,
      timeMs: Date.parse(event.time),
      authType: event.authType,
      authId: event.authId,
      before: before?.exists ? before.data() : undefined,
      after: after?.exists ? after.data() : undefined,
      afterUpdateTime: after?.exists && after.updateTime ? timeKey(after.updateTime) : undefined,
    };
    const log = logger({ correlationId: event.id, flag: flagEvent.key });
    await runEventHandler(log, () => handleFlagWrite(flagEvent), { event: eventMeta(event) });
  },
);
