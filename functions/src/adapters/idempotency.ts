// Effects recorded with their idempotency key in the same transaction: `processedEvents/{key}`.
// Keys: GitHub delivery GUID, CloudEvent id, scheduler `jobName + scheduleTime`. Documents expire through a
// Firestore TTL policy on `expireAt` (README: enable it once per project).
//
// Messages to publish are written into the key's document in the same transaction (a small outbox), published
// after the commit and then cleared; a redelivery that finds a non-empty outbox publishes it again. So an effect
// and its announcement are never split by a crash: at least once, with `dedupeId` attributes for consumers.
import { createHash } from 'node:crypto';
import type { Transaction } from 'firebase-admin/firestore';
import { systemClock, type Clock } from '../core/clock';
import { db, firestoreModule } from './firestore';
import { publishJson, type Publish } from './pubsub';

export const PROCESSED_EVENTS = 'processedEvents';
export const PROCESSED_EVENT_TTL_MS = 30 * 24 * 3600 * 1000;

export type KeyKind = 'github-delivery' | 'cloudevent' | 'schedule' | 'command';

export function idempotencyDocId(kind: KeyKind, key: string): string {
  // Document ids may not contain '/', and are limited in size: long keys are hashed.
  const safe = key.replace(/\//g, '~');
  return safe.length <= 200
    ? `${kind}:${safe}`
    : `${kind}:sha256-${createHash('sha256').update(key).digest('hex')}`;
}

export function scheduleKey(
  jobName: string | undefined,
  scheduleTime: string | undefined,
  fallbackId: string,
): string {
  return `${jobName ?? fallbackId}@${scheduleTime ?? 'unscheduled'}`;
}

export interface OnceContext {
  tx: Transaction;
}

export interface OnceResult<T> {
  value: T;
  publishes?: Publish[];
}

export type OnceOutcome<T> = { duplicate: false; value: T } | { duplicate: true };

/**
 * Runs `work` once per key: the key is created in the same transaction as the work's writes. `work` may run more
 * than once if the transaction retries, so it may only touch Firestore through `tx` and must otherwise be pure.
 */
export async function runOnce<T>(
  kind: KeyKind,
  key: string,
  work: (ctx: OnceContext) => Promise<OnceResult<T>>,
  { clock = systemClock, meta = {} }: { clock?: Clock; meta?: Record<string, unknown> } = {},
): Promise<OnceOutcome<T>> {
  const firestore = db();
  const { Timestamp, FieldValue } = firestoreModule();
  const ref = firestore.collection(PROCESSED_EVENTS).doc(idempotencyDocId(kind, key));
  const outcome = await firestore.runTransaction(async (tx) => {
    const existing = await tx.get(ref);
    if (existing.exists) {
      return { duplicate: true as const, pending: (existing.get('outbox') as Publish[] | undefined) ?? [] };
    }
    const { value, publishes = [] } = await work({ tx });
    const now = clock.nowMs();
    tx.create(ref, {
      kind,
      key,
      ...meta,
      processedAt: Timestamp.fromMillis(now),
      expireAt: Timestamp.fromMillis(now + PROCESSED_EVENT_TTL_MS),
      ...(publishes.length ? { outbox: publishes } : {}),
    });
    return { duplicate: false as const, value, pending: publishes };
  });
  if (outcome.pending.length) {
    for (const p of outcome.pending) await publishJson(p);
    await ref.update({ outbox: FieldValue.delete(), publishedAt: Timestamp.fromMillis(clock.nowMs()) });
  }
  return outcome.duplicate ? { duplicate: true } : { duplicate: false, value: outcome.value };
}
