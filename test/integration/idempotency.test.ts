// runOnce against the Firestore and Pub/Sub emulators: concurrent redeliveries do the work once and announce it
// once; an outbox left behind by a crash between commit and publish is published by the next delivery.
import { randomUUID } from 'node:crypto';
import { describe, it, expect, beforeEach, afterAll } from 'vitest';
import { db, firestoreModule } from '../../functions/src/platform/firestore';
import {
  PROCESSED_EVENT_TTL_MS,
  idempotencyDocId,
  runOnce,
  scheduleKey,
  type OnceContext,
  type OnceResult,
} from '../../functions/src/platform/idempotency';
import { PROCESSED_EVENTS } from '../../functions/src/platform/collections';
import { collectTopic, rest, waitFor } from '../support/emulators';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const topics: Awaited<ReturnType<typeof collectTopic>>[] = [];
async function listen(topic: string) {
  const t = await collectTopic(topic);
  topics.push(t);
  return t;
}

/** Waits for the first message, then long enough that a second one would have arrived too. */
async function settled(messages: unknown[], expected = 1): Promise<void> {
  await waitFor(() => messages.length >= expected, { what: `${expected} message(s)` });
  await sleep(1_500);
}

function effects() {
  return db().collection('effects');
}

beforeEach(async () => {
  await rest.clear();
});

afterAll(async () => {
  await Promise.allSettled(topics.map((t) => t.close()));
  await db().terminate();
});

describe('runOnce', () => {
  it('does the work once and publishes once for 10 concurrent deliveries of one event', async () => {
    const topic = `test-idem-${randomUUID()}`;
    const sub = await listen(topic);
    const key = `evt-${randomUUID()}`;
    const { FieldValue } = firestoreModule();
    let attempts = 0;

    const work = ({ tx }: OnceContext): Promise<OnceResult<string>> => {
      attempts += 1;
      // `create` fails the commit if the effect already exists; the counter counts committed effects.
      tx.create(effects().doc(key), { key, createdBy: 'runOnce' });
      tx.set(effects().doc('counter'), { n: FieldValue.increment(1) }, { merge: true });
      return Promise.resolve({
        value: 'done',
        publishes: [{ topic, data: { key, kind: 'flag-changed' }, attributes: { key } }],
      });
    };

    const outcomes = await Promise.all(Array.from({ length: 10 }, () => runOnce('cloudevent', key, work)));

    expect(outcomes.filter((o) => !o.duplicate)).toEqual([{ duplicate: false, value: 'done' }]);
    expect(outcomes.filter((o) => o.duplicate)).toHaveLength(9);
    expect(attempts).toBeGreaterThanOrEqual(1);

    expect((await effects().doc(key).get()).data()).toEqual({ key, createdBy: 'runOnce' });
    expect((await effects().doc('counter').get()).get('n')).toBe(1);

    await settled(sub.messages);
    expect(sub.messages).toHaveLength(1);
    expect(sub.messages[0]).toEqual({ data: { key, kind: 'flag-changed' }, attributes: { key } });

    const id = idempotencyDocId('cloudevent', key);
    expect(id).toBe(`cloudevent:${key}`);
    const doc = await db().collection(PROCESSED_EVENTS).doc(id).get();
    expect(doc.exists).toBe(true);
    expect(doc.get('kind')).toBe('cloudevent');
    expect(doc.get('key')).toBe(key);
    expect(doc.get('outbox')).toBeUndefined();
    expect(doc.get('publishedAt')).toBeDefined();
    const expireAt = (doc.get('expireAt') as { toMillis(): number }).toMillis();
    const processedAt = (doc.get('processedAt') as { toMillis(): number }).toMillis();
    expect(expireAt - processedAt).toBe(PROCESSED_EVENT_TTL_MS);
    expect(Math.abs(expireAt - (Date.now() + 30 * 24 * 3600 * 1000))).toBeLessThan(60_000);
  });

  it('records the key without an outbox when the work publishes nothing, and runs a new key again', async () => {
    let runs = 0;
    const work = () => {
      runs += 1;
      return Promise.resolve({ value: runs });
    };
    expect(await runOnce('github-delivery', 'guid-1', work)).toEqual({ duplicate: false, value: 1 });
    expect(await runOnce('github-delivery', 'guid-1', work)).toEqual({ duplicate: true });
    expect(await runOnce('github-delivery', 'guid-2', work)).toEqual({ duplicate: false, value: 2 });
    // Same key, other kind: a different event.
    expect(await runOnce('cloudevent', 'guid-1', work)).toEqual({ duplicate: false, value: 3 });
    const doc = await db()
      .collection(PROCESSED_EVENTS)
      .doc(idempotencyDocId('github-delivery', 'guid-1'))
      .get();
    expect(doc.get('outbox')).toBeUndefined();
    expect(doc.get('publishedAt')).toBeUndefined();
  });

  it('leaves nothing behind when the work throws, so a redelivery runs it', async () => {
    const key = `evt-${randomUUID()}`;
    await expect(
      runOnce('cloudevent', key, ({ tx }) => {
        tx.set(effects().doc(key), { partial: true });
        return Promise.reject(new Error('downstream unavailable'));
      }),
    ).rejects.toThrow('downstream unavailable');
    expect(
      (await db().collection(PROCESSED_EVENTS).doc(idempotencyDocId('cloudevent', key)).get()).exists,
    ).toBe(false);
    expect((await effects().doc(key).get()).exists).toBe(false);
    expect(await runOnce('cloudevent', key, () => Promise.resolve({ value: 'second try' }))).toEqual({
      duplicate: false,
      value: 'second try',
    });
  });

  it('publishes an outbox left by a crash between commit and publish on the next delivery, then clears it', async () => {
    const topic = `test-idem-${randomUUID()}`;
    const sub = await listen(topic);
    const key = `evt-${randomUUID()}`;
    const { Timestamp } = firestoreModule();
    const ref = db().collection(PROCESSED_EVENTS).doc(idempotencyDocId('cloudevent', key));
    const now = Date.now();
    // What the crashed delivery committed: the key, its effect and the outbox, but no publish.
    await ref.create({
      kind: 'cloudevent',
      key,
      processedAt: Timestamp.fromMillis(now),
      expireAt: Timestamp.fromMillis(now + PROCESSED_EVENT_TTL_MS),
      outbox: [{ topic, data: { key, pending: true }, attributes: { origin: 'crashed-run' } }],
    });

    let ran = false;
    const outcome = await runOnce('cloudevent', key, () => {
      ran = true;
      return Promise.resolve({ value: 'again', publishes: [{ topic, data: { key, pending: false } }] });
    });

    expect(outcome).toEqual({ duplicate: true });
    expect(ran).toBe(false);
    await settled(sub.messages);
    expect(sub.messages).toEqual([{ data: { key, pending: true }, attributes: { origin: 'crashed-run' } }]);
    const doc = await ref.get();
    expect(doc.get('outbox')).toBeUndefined();
    expect(doc.get('publishedAt')).toBeDefined();
    expect(doc.get('processedAt')).toEqual(Timestamp.fromMillis(now));

    // A further delivery finds nothing left to publish.
    expect(await runOnce('cloudevent', key, () => Promise.resolve({ value: 'x' }))).toEqual({
      duplicate: true,
    });
    await sleep(1_000);
    expect(sub.messages).toHaveLength(1);
  });

  it('does not publish again for a redelivery that arrives while the first delivery is still publishing', async () => {
    const topic = `test-idem-${randomUUID()}`;
    const sub = await listen(topic);
    const key = `evt-${randomUUID()}`;
    const ref = db().collection(PROCESSED_EVENTS).doc(idempotencyDocId('cloudevent', key));
    // Pub/Sub redelivers whenever it likes: here, just after the first delivery committed (its outbox is
    // visible) and before it cleared the outbox.
    const redeliveries: Promise<unknown>[] = [];
    let listening = false;
    const unsubscribe = ref.onSnapshot((snap) => {
      listening = true;
      if (snap.exists && snap.get('outbox') !== undefined && redeliveries.length === 0) {
        for (let i = 0; i < 3; i++) {
          redeliveries.push(runOnce('cloudevent', key, () => Promise.resolve({ value: 'redelivered' })));
        }
      }
    });
    // The listener's first snapshot (no document yet) makes sure it is live before the first delivery.
    await waitFor(() => listening, { what: 'the snapshot listener' });
    try {
      const first = await runOnce('cloudevent', key, () =>
        Promise.resolve({ value: 'first', publishes: [{ topic, data: { key } }] }),
      );
      expect(first).toEqual({ duplicate: false, value: 'first' });
      await waitFor(() => redeliveries.length > 0, { what: 'the redelivery to start' });
      expect(await Promise.all(redeliveries)).toEqual(Array(3).fill({ duplicate: true }));
    } finally {
      unsubscribe();
    }
    await settled(sub.messages);
    expect(sub.messages).toHaveLength(1);
    expect((await ref.get()).get('outbox')).toBeUndefined();
  });

  it('accepts scheduler keys containing "/" (job names) and deduplicates them', async () => {
    const key = scheduleKey(
      'projects/demo-fireops/locations/europe-west1/jobs/firebase-schedule-nightlyReport-europe-west1',
      '2025-01-01T03:00:00Z',
      'fallback',
    );
    expect(key).toContain('/');
    const id = idempotencyDocId('schedule', key);
    expect(id).not.toContain('/');

    let runs = 0;
    const work = ({ tx }: OnceContext) => {
      runs += 1;
      tx.create(effects().doc(`report-${runs}`), { runs });
      return Promise.resolve({ value: 'report sent' });
    };
    expect(await runOnce('schedule', key, work)).toEqual({ duplicate: false, value: 'report sent' });
    expect(await runOnce('schedule', key, work)).toEqual({ duplicate: true });
    expect(runs).toBe(1);

    const doc = await db().collection(PROCESSED_EVENTS).doc(id).get();
    expect(doc.get('key')).toBe(key);
    expect(doc.get('kind')).toBe('schedule');

    // The next schedule time of the same job is a new event.
    const next = scheduleKey(
      'projects/demo-fireops/locations/europe-west1/jobs/firebase-schedule-nightlyReport-europe-west1',
      '2025-01-02T03:00:00Z',
      'fallback',
    );
    expect(await runOnce('schedule', next, work)).toEqual({ duplicate: false, value: 'report sent' });
  });

  it('hashes keys too long for a document id, and still deduplicates them', async () => {
    const key = `jobs/${'x'.repeat(400)}@2025-01-01T03:00:00Z`;
    const id = idempotencyDocId('schedule', key);
    expect(id).toMatch(/^schedule:sha256-[0-9a-f]{64}$/);
    let runs = 0;
    const work = () => Promise.resolve({ value: ++runs });
    expect(await runOnce('schedule', key, work)).toEqual({ duplicate: false, value: 1 });
    expect(await runOnce('schedule', key, work)).toEqual({ duplicate: true });
    expect((await db().collection(PROCESSED_EVENTS).doc(id).get()).get('key')).toBe(key);
  });

  it('keeps distinct keys distinct even when they differ only by "/" versus "~"', async () => {
    let runs = 0;
    const work = () => Promise.resolve({ value: ++runs });
    expect(await runOnce('cloudevent', 'tenant/a', work)).toEqual({ duplicate: false, value: 1 });
    // A different event id: it must not be mistaken for a redelivery of 'tenant/a'.
    expect(await runOnce('cloudevent', 'tenant~a', work)).toEqual({ duplicate: false, value: 2 });
  });
});
