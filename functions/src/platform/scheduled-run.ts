// The one way a scheduled job runs: once per schedule time (Cloud Scheduler may fire a job twice) and never two
// runs at once. The lease stops overlap; the idempotency key `jobName@scheduleTime` is recorded only after the
// run succeeded, so a retry after a failure runs again, and the lease makes that check-then-record safe.
import type { Actor } from './domain/audit-chain';
import type { Clock } from './domain/clock';
import { db } from './firestore';
import { idempotencyDocId, runOnce, scheduleKey } from './idempotency';
import { PROCESSED_EVENTS } from './collections';
import { withLease } from './leases';

export interface Schedule {
  jobName?: string | undefined;
  scheduleTime?: string | undefined;
}

export type ScheduledRun<T> =
  | { kind: 'ran'; value: T }
  | { kind: 'duplicate' } // this schedule time already ran to completion
  | { kind: 'yielded'; heldBy: string }; // another run holds the lease

export async function runScheduledOnce<T>(
  job: string,
  schedule: Schedule,
  opts: { ttlMs: number; clock: Clock },
  work: (ctx: { correlationId: string; actor: Actor }) => Promise<T>,
): Promise<ScheduledRun<T>> {
  const correlationId = scheduleKey(schedule.jobName, schedule.scheduleTime, job);
  const actor: Actor = { type: 'scheduler', id: schedule.jobName ?? job };
  const keyRef = db().collection(PROCESSED_EVENTS).doc(idempotencyDocId('schedule', correlationId));
  const run = await withLease(
    job,
    { ttlMs: opts.ttlMs, clock: opts.clock, actor, correlationId },
    async () => {
      if ((await keyRef.get()).exists) return { done: false as const };
      const value = await work({ correlationId, actor });
      await runOnce('schedule', correlationId, () => Promise.resolve({ value: true }), { clock: opts.clock });
      return { done: true as const, value };
    },
  );
  if (!run.ran) return { kind: 'yielded', heldBy: run.heldBy };
  return run.value.done ? { kind: 'ran', value: run.value.value } : { kind: 'duplicate' };
}
