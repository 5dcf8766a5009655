// onDeliveryRecorded: the relay behind githubWebhook. For each new `deliveries/{guid}` it appends the delivery's
// audit entry to its hash chain and publishes its announcement on ops-events, then clears both from the document.
// Off GitHub's 10-second path, retried until done: a delivery recorded is always audited and, if accepted,
// announced (at least once; onOpsEvent routes once per delivery GUID).
import { openAudit } from '../platform/audit-log';
import { db, firestoreModule, transact } from '../platform/firestore';
import { publishJson, type Publish } from '../platform/pubsub';
import type { AuditInput } from '../platform/domain/audit-chain';
import { systemClock, type Clock } from '../platform/domain/clock';
import { deliveryAuditStream } from './deliveries';
import { DELIVERIES } from '../platform/collections';

export async function relayDelivery(
  guid: string,
  clock: Clock = systemClock,
): Promise<{ audited: boolean; announced: boolean }> {
  const firestore = db();
  const ref = firestore.collection(DELIVERIES).doc(guid);
  const { FieldValue, Timestamp } = firestoreModule();
  const stream = deliveryAuditStream(guid);

  // The audit entry and the clearing of `pendingAudit` in one transaction: appended exactly once.
  const audited = await transact(async (tx) => {
    const snap = await tx.get(ref);
    const pending = snap.get('pendingAudit') as AuditInput | undefined;
    if (!pending) return false;
    const audit = await openAudit(tx, [stream], clock);
    audit.append(stream, pending);
    tx.update(ref, { pendingAudit: FieldValue.delete(), auditedAt: Timestamp.fromMillis(clock.nowMs()) });
    return true;
  });

  const snap = await ref.get();
  const announce = snap.get('pendingAnnounce') as Publish | undefined;
  if (announce) {
    await publishJson(announce);
    await ref.update({
      pendingAnnounce: FieldValue.delete(),
      announcedAt: Timestamp.fromMillis(clock.nowMs()),
    });
  }
  return { audited, announced: Boolean(announce) };
}
