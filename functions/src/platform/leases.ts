// Leases in `leases/{name}`: owner, expiry and a counter bumped on every acquisition, so overlapping runs of a
// scheduled job (Cloud Scheduler may fire twice; a slow run may overlap the next) never work at the same time. The
// counter guards release only (a run whose lease expired cannot release its successor's); writes are not fenced
// with it: every write of a leased job is its own transaction that checks the state it moves from. A lease does not stop
// the same schedule time from running twice one after the other: jobs pair it with an idempotency key
// (`runOnce` with `scheduleKey`). Decisions in platform/domain/lease.ts.
import { LEASES } from './collections';
import { randomUUID } from 'node:crypto';
import type { DocumentData } from 'firebase-admin/firestore';
import type { Actor } from './domain/audit-chain';
import { systemClock, type Clock } from './domain/clock';
import { decideLease, mayRelease, type LeaseState } from './domain/lease';
import { openAudit } from './audit-log';
import { db, firestoreModule, transact } from './firestore';
import { log } from './logger';

export interface Lease {
  name: string;
  owner: string;
  fencing: number;
}

function leaseRef(name: string) {
  return db().collection(LEASES).doc(name);
}

function stateFrom(data: DocumentData | undefined): LeaseState | undefined {
  if (!data) return undefined;
  return {
    owner: String(data.owner),
    expiresAtMs: Number(data.expiresAtMs),
    fencing: Number(data.fencing ?? 0),
  };
}

export type LeaseRun<T> = { ran: true; value: T; fencing: number } | { ran: false; heldBy: string };

export interface LeaseOptions {
  ttlMs: number;
  owner?: string;
  clock?: Clock;
  actor: Actor;
  correlationId: string;
}

/**
 * Runs `fn` only if the lease is free (or expired); otherwise records in the audit log that this run yielded.
 * The lease is released afterwards, only if still ours (acquisition counter unchanged).
 */
export async function withLease<T>(
  name: string,
  opts: LeaseOptions,
  fn: (lease: Lease) => Promise<T>,
): Promise<LeaseRun<T>> {
  const owner = opts.owner ?? `${opts.correlationId}/${randomUUID()}`;
  const clock = opts.clock ?? systemClock;
  const { Timestamp } = firestoreModule();
  const decision = await transact(async (tx) => {
    const snap = await tx.get(leaseRef(name));
    const d = decideLease(stateFrom(snap.data()), owner, clock.nowMs(), opts.ttlMs);
    if (d.acquired) {
      tx.set(leaseRef(name), {
        ...d.next,
        expiresAt: Timestamp.fromMillis(d.next.expiresAtMs),
        acquiredAtMs: clock.nowMs(),
      });
    } else {
      const audit = await openAudit(tx, ['leases'], clock);
      audit.append('leases', {
        actor: opts.actor,
        action: 'lease.yielded',
        target: `leases/${name}`,
        reason: `lease held by ${d.heldBy} until ${new Date(d.expiresAtMs).toISOString()}`,
        correlationId: opts.correlationId,
        details: { heldBy: d.heldBy, expiresAtMs: d.expiresAtMs },
      });
    }
    return d;
  });
  if (!decision.acquired) {
    log.info('lease held elsewhere: yielding', {
      lease: name,
      heldBy: decision.heldBy,
      correlationId: opts.correlationId,
    });
    return { ran: false, heldBy: decision.heldBy };
  }
  const lease = { name, owner, fencing: decision.next.fencing };
  try {
    return { ran: true, value: await fn(lease), fencing: lease.fencing };
  } finally {
    await releaseLease(lease).catch((err: unknown) =>
      // The lease expires by itself; a failed release only delays the next run until then.
      log.warn('lease release failed', { lease: name, error: err, correlationId: opts.correlationId }),
    );
  }
}

export async function releaseLease(lease: Lease): Promise<void> {
  await transact(async (tx) => {
    const snap = await tx.get(leaseRef(lease.name));
    if (mayRelease(stateFrom(snap.data()), lease.owner, lease.fencing)) {
      tx.update(leaseRef(lease.name), { expiresAtMs: 0, releasedAtMs: Date.now() });
    }
  });
}
