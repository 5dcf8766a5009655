// Names the webhook functions share: the `deliveries` collection and the sharded audit streams of deliveries and
// their routing (githubWebhook writes, onDeliveryRecorded relays, onOpsEvent routes, the recovery job reads).
import { shardedStream } from '../platform/domain/audit-chain';

/** Audit streams for deliveries are sharded by GUID so no stream head is written more than ~1/s per shard. */
export const DELIVERY_AUDIT_SHARDS = 32;

export function deliveryAuditStream(guid: string, kind: 'deliveries' | 'routing' = 'deliveries'): string {
  return shardedStream(kind, guid, DELIVERY_AUDIT_SHARDS);
}
