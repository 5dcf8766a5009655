// The secret rotation functions (group `rotation`): Secret Manager's notices, the hourly sweep and admin edits of
// `secretPolicies/{secretId}`. Wiring only; handlers in handlers.ts, the state machine in domain/rotation.ts, its
// effects in engine.ts.
import { onDocumentWrittenWithAuthContext } from 'firebase-functions/v2/firestore';
import { onMessagePublished } from 'firebase-functions/v2/pubsub';
import { onSchedule } from 'firebase-functions/v2/scheduler';
import { eventMeta, runEventHandler } from '../platform/error-mapping';
import { logger } from '../platform/logger';
import { groupOptions } from '../platform/options';
import { ROTATION_TOPIC } from '../platform/params';
import { handlePolicyWrite, handleRotationSweep, handleSecretEvent } from './handlers';
import { SECRET_POLICIES } from '../platform/collections';

const options = groupOptions('rotation');
/**
 * One rotation step can wait on its consumer: the github-webhook strategy waits for the webhook secret cache to
 * expire (WEBHOOK_SECRET_CACHE_SECONDS + 1 = 31 s by default) and then for GitHub's ping (up to 30 s), and an
 * http-callback consumer has 30 s to answer; 300 s covers a step with retries, where the 60 s default would cut it.
 */
const ROTATION_RUN = { timeoutSeconds: 300 } as const;

/**
 * onSecretEvent: Secret Manager's notices on the rotation topic. SECRET_ROTATE starts a rotation; other event
 * types are audited only. Retried: a notice is the only signal for a rotation Secret Manager asked for, and the
 * handler is idempotent per CloudEvent id.
 */
export const onSecretEvent = onMessagePublished(
  { ...options, ...ROTATION_RUN, topic: ROTATION_TOPIC, retry: true },
  async (event) => {
    const log = logger({ correlationId: event.id, function: 'onSecretEvent' });
    await runEventHandler(
      log,
      async () => {
        await handleSecretEvent(event.id, event.data.message.attributes ?? {});
      },
      { event: eventMeta(event) },
    );
  },
);

/**
 * rotationSweep (hourly): starts rotations due by policy and advances active ones (resume after a crash, retire
 * after the grace period, destroy later).
 */
export const rotationSweep = onSchedule(
  { ...options, ...ROTATION_RUN, schedule: 'every 60 minutes', timeZone: 'UTC', retryCount: 3 },
  async (event) => {
    await handleRotationSweep({ jobName: event.jobName, scheduleTime: event.scheduleTime });
  },
);

/**
 * onSecretPolicyWritten: admin edits of `secretPolicies/{secretId}`, validated and audited; a changed
 * `rotateRequestedAt` starts a rotation.
 */
export const onSecretPolicyWritten = onDocumentWrittenWithAuthContext(
  { ...options, ...ROTATION_RUN, document: `${SECRET_POLICIES}/{secretId}`, retry: true },
  async (event) => {
    const log = logger({ correlationId: event.id, function: 'onSecretPolicyWritten' });
    await runEventHandler(
      log,
      async () => {
        await handlePolicyWrite({
          id: event.id,
          secretId: event.params.secretId,
          authType: event.authType,
          authId: event.authId,
          ...(event.data?.before?.exists ? { before: event.data.before.data() } : {}),
          ...(event.data?.after?.exists ? { after: event.data.after.data() } : {}),
        });
      },
      { event: eventMeta(event) },
    );
  },
);
