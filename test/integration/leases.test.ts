// Leases against the Firestore emulator: overlapping runs do the work once, losers leave an audit entry, expired
// leases are taken over and a late holder can neither release nor act on the new holder's lease.
import { describe, it, expect, beforeEach, afterAll } from 'vitest';
import { verifyAuditStream } from '../../functions/src/platform/audit-log';
import { AUDIT_COLLECTION } from '../../functions/src/platform/collections';
import { db } from '../../functions/src/platform/firestore';
import { releaseLease, withLease, type Lease, type LeaseOptions } from '../../functions/src/platform/leases';
import { LEASES } from '../../functions/src/platform/collections';
import type { AuditEntry } from '../../functions/src/platform/domain/audit-chain';
import { rest } from '../support/emulators';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function options(extra: Partial<LeaseOptions> = {}): LeaseOptions {
  return {
    ttlMs: 60_000,
    actor: { type: 'scheduler', id: 'nightly-report' },
    correlationId: `corr-${Math.random().toString(36).slice(2)}`,
    ...extra,
  };
}

async function leaseDoc(name: string) {
  return (await db().collection(LEASES).doc(name).get()).data();
}

async function yieldedEntries(): Promise<AuditEntry[]> {
  const snap = await db()
    .collection(AUDIT_COLLECTION)
    .where('stream', '==', 'leases')
    .where('action', '==', 'lease.yielded')
    .get();
  return snap.docs.map((d) => d.data() as AuditEntry);
}

/**
 * Overlapping runs of one job: each run's work lasts at least `minMs` and, for the run that got the lease, until
 * every other run has decided (bounded by `capMs`), so the runs really overlap whatever the transaction retries
 * cost. Counts the work done and the most runs ever inside the lease at once.
 */
async function overlappingRuns(
  name: string,
  count: number,
  { namedOwners = true, minMs = 300, capMs = 15_000 } = {},
) {
  let work = 0;
  let active = 0;
  let maxActive = 0;
  let decided = 0;
  const runs = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      withLease(
        name,
        options({ correlationId: `corr-${i}`, ...(namedOwners ? { owner: `run-${i}` } : {}) }),
        async (lease) => {
          work += 1;
          active += 1;
          maxActive = Math.max(maxActive, active);
          const started = Date.now();
          await sleep(minMs);
          while (decided < count - 1 && Date.now() - started < capMs) await sleep(25);
          active -= 1;
          return lease.owner;
        },
      ).then((r) => {
        if (!r.ran) decided += 1;
        return r;
      }),
    ),
  );
  return { runs, work, maxActive };
}

beforeEach(async () => {
  await rest.clear();
});

afterAll(async () => {
  await db().terminate();
});

describe('withLease', () => {
  it('runs exactly one of two overlapping runs; the other yields to it and leaves an audit entry', async () => {
    const { runs, work, maxActive } = await overlappingRuns('nightly', 2);
    const winners = runs.filter((r) => r.ran);
    const losers = runs.filter((r) => !r.ran);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    expect(work).toBe(1);
    expect(maxActive).toBe(1);

    const winner = winners[0]!;
    const loser = losers[0]!;
    if (!winner.ran || loser.ran) throw new Error('unreachable');
    expect(['run-0', 'run-1']).toContain(winner.value);
    expect(winner.fencing).toBe(1);
    expect(loser.heldBy).toBe(winner.value);

    const yielded = await yieldedEntries();
    expect(yielded).toHaveLength(1);
    expect(yielded[0]).toMatchObject({
      stream: 'leases',
      seq: 1,
      action: 'lease.yielded',
      target: 'leases/nightly',
      actor: { type: 'scheduler', id: 'nightly-report' },
      correlationId: winner.value === 'run-0' ? 'corr-1' : 'corr-0',
      details: { heldBy: winner.value },
    });
    expect((await verifyAuditStream('leases')).ok).toBe(true);

    // Released after the run: the winner's entry is still there, but expired.
    expect(await leaseDoc('nightly')).toMatchObject({ owner: winner.value, fencing: 1, expiresAtMs: 0 });

    // Free again: the next run acquires it, with the counter moved on.
    const again = await withLease('nightly', options({ owner: 'run-2' }), async (lease) => {
      expect(await leaseDoc('nightly')).toMatchObject({ owner: 'run-2', fencing: lease.fencing });
      return lease.fencing;
    });
    expect(again).toEqual({ ran: true, value: 2, fencing: 2 });
    expect(await leaseDoc('nightly')).toMatchObject({ owner: 'run-2', fencing: 2, expiresAtMs: 0 });
    expect(await yieldedEntries()).toHaveLength(1);
  });

  it('runs exactly one of five overlapping runs (owners generated from the correlation id)', async () => {
    const { runs, work, maxActive } = await overlappingRuns('hourly', 5, { namedOwners: false });
    const winners = runs.filter((r) => r.ran);
    expect(winners).toHaveLength(1);
    expect(work).toBe(1);
    expect(maxActive).toBe(1);
    const owner = winners[0]!.ran ? winners[0]!.value : undefined;
    expect(owner).toMatch(/^corr-\d\/[0-9a-f-]{36}$/);
    for (const r of runs) if (!r.ran) expect(r.heldBy).toBe(owner);

    const yielded = await yieldedEntries();
    expect(yielded).toHaveLength(4);
    expect(yielded.map((e) => e.seq).sort((x, y) => x - y)).toEqual([1, 2, 3, 4]);
    expect((await verifyAuditStream('leases')).ok).toBe(true);
  });

  it('releases the lease when the work throws, and passes the error on', async () => {
    await expect(
      withLease('flaky', options({ owner: 'run-a' }), () => Promise.reject(new Error('boom'))),
    ).rejects.toThrow('boom');
    expect(await leaseDoc('flaky')).toMatchObject({ owner: 'run-a', fencing: 1, expiresAtMs: 0 });
    const next = await withLease('flaky', options({ owner: 'run-b' }), () => Promise.resolve('ok'));
    expect(next).toEqual({ ran: true, value: 'ok', fencing: 2 });
  });

  it('lets a new owner take over an expired lease; the old holder cannot release it', async () => {
    let t = 1_900_000_000_000;
    const clock = { nowMs: () => t };
    let staleLease: Lease | undefined;
    let freshLease: Lease | undefined;
    let inside: { doc: Record<string, unknown> | undefined } | undefined;

    const first = await withLease(
      'sweeper',
      options({ owner: 'old', ttlMs: 1_000, clock }),
      async (oldLease) => {
        staleLease = oldLease;
        expect(await leaseDoc('sweeper')).toMatchObject({ owner: 'old', fencing: 1 });

        // The old run stalls past its expiry; the next run takes the lease over.
        t += 5_000;
        const second = await withLease(
          'sweeper',
          options({ owner: 'new', ttlMs: 1_000, clock }),
          async (newLease) => {
            freshLease = newLease;
            // The stalled run wakes up and releases "its" lease: that must not clear the new holder's.
            await releaseLease(oldLease);
            inside = { doc: await leaseDoc('sweeper') };
            return 'swept';
          },
        );
        expect(second).toEqual({ ran: true, value: 'swept', fencing: 2 });
        return 'late';
      },
    );

    expect(first).toEqual({ ran: true, value: 'late', fencing: 1 });
    expect(staleLease).toMatchObject({ name: 'sweeper', owner: 'old', fencing: 1 });
    expect(freshLease).toMatchObject({ name: 'sweeper', owner: 'new', fencing: 2 });
    expect(inside).toEqual({
      doc: expect.objectContaining({ owner: 'new', fencing: 2, expiresAtMs: t + 1_000 }),
    });
    expect(inside!.doc).not.toHaveProperty('releasedAtMs');
    // The takeover is not a yield: nobody was refused.
    expect(await yieldedEntries()).toHaveLength(0);
    // The new holder released its own lease; the old holder's second release (withLease's finally) changed nothing.
    expect(await leaseDoc('sweeper')).toMatchObject({ owner: 'new', fencing: 2, expiresAtMs: 0 });
  });

  it('refuses a lease that is held and not yet expired under the injected clock', async () => {
    let t = 2_000_000_000_000;
    const clock = { nowMs: () => t };
    const outcome = await withLease('report', options({ owner: 'a', ttlMs: 10_000, clock }), async () => {
      t += 9_999; // 1 ms before expiry
      return withLease('report', options({ owner: 'b', ttlMs: 10_000, clock }), () =>
        Promise.resolve('b ran'),
      );
    });
    expect(outcome).toEqual({ ran: true, value: { ran: false, heldBy: 'a' }, fencing: 1 });
    const yielded = await yieldedEntries();
    expect(yielded).toHaveLength(1);
    expect(yielded[0]!.details).toEqual({ heldBy: 'a', expiresAtMs: 2_000_000_010_000 });
  });
});
