// onSecretEvent: Secret Manager's notices on the rotation topic. SECRET_ROTATE starts a rotation; other event types
// are audited only. Handler: handleSecretEvent in rotation.ts.
import { onMessagePublished } from 'firebase-functions/v2/pubsub';
import { logger } from '../platform/logger';
import { ROTATION_TOPIC } from '../platform/params';
import { handleSecretEvent } from './handlers';
import { runEventHandler } from '../platform/error-mapping';
import { baseOptions } from '../platform/options';

export const onSecretEvent = onMessagePublished(
  { ...baseOptions, topic: ROTATION_TOPIC, retry: true },
  async (event) => {
    const log = logger({ correlationId: event.id, function: 'onSecretEvent' });
    await runEventHandler(log, async () => {
      await handleSecretEvent(event.id, event.data.message.attributes ?? {});
    });
  },
);
