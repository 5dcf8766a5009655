// Effects recorded with their idempotency key in the same transaction: `processedEvents/{key}`.
// Keys: GitHub delivery GUID, CloudEvent id, scheduler `jobName + scheduleTime`. Documents expire through a
// Firestore TTL policy on `expireAt` (README: enable it once per project).
//
// Messages to publish are written into the key's document in the same transaction (a small outbox), published
// after the commit and then cleared; a redelivery that finds a non-empty outbox publishes it again. So an effect
// and its announcement are never split by a crash: at least once; consumers drop repeats by an id in the message
// (alerts carry `alertId`, ops-events `deliveryId`).
import { PROCESSED_EVENTS } from './collections';
import { createHash } from 'node:crypto';
import type { Transaction } from 'firebase-admin/firestore';
import { systemClock, type Clock } from './domain/clock';
import { db, firestoreModule, transact } from './firestore';
import { publishJson, type Publish } from './pubsub';

export const PROCESSED_EVENT_TTL_MS = 30 * 24 * 3600 * 1000;

export type KeyKind =
  'github-delivery' | 'cloudevent' | 'schedule' | 'command' | 'routing' | 'transition' | 'infra-alert';

export function idempotencyDocId(kind: KeyKind, key: string): string {
  // Document ids may not contain '/', and are limited in size: long keys are hashed. Percent-encoding keeps
  // distinct keys distinct ('a/b' and 'a~b' must not meet).
  const safe = key.replace(/%/g, '%25').replace(/\//g, '%2F');
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
 * An outbox older than this is taken to belong to a run that crashed before publishing, and a redelivery
 * publishes it. Younger, its own run is still publishing: a redelivery waits for it instead of publishing twice.
 * Under GitHub's 10 s answer limit.
 */
export const OUTBOX_STALE_MS = 5_000;
const OUTBOX_POLL_MS = 100;

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
  const outcome = await transact(async (tx) => {
    const existing = await tx.get(ref);
    if (existing.exists) return { duplicate: true as const };
    const { value, publishes = [] } = await work({ tx });
    const now = clock.nowMs();
    tx.create(ref, {
      kind,
      key,
      ...meta,
      processedAt: Timestamp.fromMillis(now),
      expireAt: Timestamp.fromMillis(now + PROCESSED_EVENT_TTL_MS),
      ...(publishes.length ? { outbox: publishes, outboxAtMs: now } : {}),
    });
    return { duplicate: false as const, value, pending: publishes };
  });
  if (!outcome.duplicate) {
    if (outcome.pending.length) await flushOutbox(ref, outcome.pending, clock);
    return { duplicate: false, value: outcome.value };
  }
  // A duplicate: if the first run's outbox is still there, either that run is publishing right now (wait for
  // it) or it crashed after its commit (publish on its behalf).
  for (;;) {
    const snap = await ref.get();
    const pending = snap.get('outbox') as Publish[] | undefined;
    if (!pending?.length) return { duplicate: true };
    const atMs = (snap.get('outboxAtMs') as number | undefined) ?? 0;
    if (clock.nowMs() - atMs >= OUTBOX_STALE_MS) {
      await flushOutbox(ref, pending, clock);
      return { duplicate: true };
    }
    await new Promise((r) => setTimeout(r, OUTBOX_POLL_MS));
  }

  async function flushOutbox(doc: typeof ref, publishes: Publish[], c: Clock): Promise<void> {
    for (const p of publishes) await publishJson(p);
    await doc.update({
      outbox: FieldValue.delete(),
      outboxAtMs: FieldValue.delete(),
      publishedAt: Timestamp.fromMillis(c.nowMs()),
    });
  }
}
