// onSecretPolicyWritten: admin edits of `secretPolicies/{secretId}`, validated and audited; a changed
// `rotateRequestedAt` starts a rotation. Handler: handlePolicyWrite in rotation.ts.
import { onDocumentWrittenWithAuthContext } from 'firebase-functions/v2/firestore';
import { logger } from '../platform/logger';
import { SECRET_POLICIES, handlePolicyWrite } from './handlers';
import { runEventHandler } from '../platform/error-mapping';
import { baseOptions } from '../platform/options';

export const onSecretPolicyWritten = onDocumentWrittenWithAuthContext(
  { ...baseOptions, document: `${SECRET_POLICIES}/{secretId}`, retry: true },
  async (event) => {
    const log = logger({ correlationId: event.id, function: 'onSecretPolicyWritten' });
    await runEventHandler(log, async () => {
      await handlePolicyWrite({
        id: event.id,
        secretId: event.params.secretId,
        authType: event.authType,
        authId: event.authId,
        ...(event.data?.before?.exists ? { before: event.data.before.data() } : {}),
        ...(event.data?.after?.exists ? { after: event.data.after.data() } : {}),
      });
    });
  },
);
