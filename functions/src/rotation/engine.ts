// Runs the rotation state machine (rotation/domain/rotation.ts) against Secret Manager and the consumer's strategy. Every
// step is recorded before it runs (`running`) and after (the decided status), inside transactions, under a lease
// per secret: a crash at any point leaves a status the next advance resumes from, and each step is idempotent so
// resuming repeats no effect. One rotation per secret at a time (`rotationLocks/{secretId}`).
import { ROTATIONS, ROTATION_LOCKS } from '../platform/collections';
import type { SecretPolicy } from './schema';
import type { Actor } from '../platform/domain/audit-chain';
import { toJsonValue } from '../platform/domain/canonical-json';
import type { Clock } from '../platform/domain/clock';
import { ValidationError } from '../platform/domain/errors';
import {
  TERMINAL_PHASES,
  decide,
  newRotation,
  nextAction,
  type RotationStatus,
  type RotationStep,
  type StepResult,
} from './domain/rotation';
import { alertPublish } from '../platform/alerts';
import { openAudit } from '../platform/audit-log';
import { db, firestoreModule, transact } from '../platform/firestore';
import { runOnce } from '../platform/idempotency';
import { withLease } from '../platform/leases';
import { logger } from '../platform/logger';
import { abandonPending, createPendingVersion, destroyVersion, promote, retirePrevious } from './secrets';
import { strategyFor, type StrategyDeps } from './strategies';

const STREAM = 'rotations';
const LEASE_MS = 10 * 60_000;
const MAX_STEPS_PER_ADVANCE = 12;

export type FaultPoint = 'before-effect' | 'after-effect';

export interface EngineDeps extends StrategyDeps {
  clock: Clock;
  /** Tests inject crashes here: throw to stop the engine at that point of that step. */
  fault?: (step: RotationStep, point: FaultPoint) => void;
}

export interface StoredRotation extends RotationStatus {
  policy: SecretPolicy;
  trigger: { kind: 'notification' | 'schedule' | 'admin'; actor: Actor };
  createStartedAtMs: number | null;
  running: { step: RotationStep; startedAtMs: number } | null;
}

function rotationRef(id: string) {
  return db().collection(ROTATIONS).doc(id);
}

/** Policies are stored in the rotation as plain JSON (no timestamps) so a later edit cannot change a run. */
function policySnapshot(policy: SecretPolicy): SecretPolicy {
  const { rotateRequestedAt: _ignored, ...rest } = policy;
  return toJsonValue(rest) as unknown as SecretPolicy;
}

export type StartResult =
  { started: true; rotationId: string } | { started: false; reason: string; activeRotationId?: string };

/** Starts a rotation unless one is active for the secret. Idempotent per `key` (notification id, schedule time). */
export async function startRotation(
  secretId: string,
  policy: SecretPolicy,
  trigger: StoredRotation['trigger'],
  key: string,
  clock: Clock,
): Promise<StartResult> {
  const firestore = db();
  const lockRef = firestore.collection(ROTATION_LOCKS).doc(secretId);
  const outcome = await runOnce<StartResult>(
    'command',
    `rotation-start:${secretId}:${key}`,
    async ({ tx }) => {
      const lock = await tx.get(lockRef);
      const activeId = lock.get('activeRotationId') as string | undefined;
      const active = activeId ? await tx.get(rotationRef(activeId)) : undefined;
      const audit = await openAudit(tx, [STREAM], clock);
      const activePhase = active?.get('phase') as RotationStatus['phase'] | undefined;
      if (activeId && activePhase && !TERMINAL_PHASES.includes(activePhase)) {
        audit.append(STREAM, {
          actor: trigger.actor,
          action: 'rotation.not-started',
          target: `secrets/${secretId}`,
          reason: `rotation ${activeId} is still ${activePhase}`,
          correlationId: key,
        });
        return {
          value: { started: false, reason: `rotation ${activeId} is active`, activeRotationId: activeId },
        };
      }
      const nowMs = clock.nowMs();
      const id = `${secretId}-${nowMs}`;
      const status = newRotation({
        id,
        secretId,
        strategy: policy.strategy,
        timing: {
          gracePeriodMinutes: policy.gracePeriodMinutes,
          destroyAfterDays: policy.destroyAfterDays,
          maxAttempts: 3,
        },
      });
      const stored: StoredRotation = {
        ...status,
        policy: policySnapshot(policy),
        trigger,
        createStartedAtMs: null,
        running: null,
      };
      const { Timestamp } = firestoreModule();
      tx.create(rotationRef(id), { ...stored, startedAt: Timestamp.fromMillis(nowMs), updatedAtMs: nowMs });
      tx.set(lockRef, { activeRotationId: id, lockedAtMs: nowMs }, { merge: true });
      audit.append(STREAM, {
        actor: trigger.actor,
        action: 'rotation.started',
        target: `${ROTATIONS}/${id}`,
        reason: `${trigger.kind} rotation of ${secretId} (${policy.strategy})`,
        correlationId: key,
        details: { secretId, strategy: policy.strategy, gracePeriodMinutes: policy.gracePeriodMinutes },
      });
      return { value: { started: true, rotationId: id } };
    },
    { clock },
  );
  if (!outcome.duplicate) return outcome.value;
  // A repeated request (a redelivered notice after a crash, say): hand back the active rotation so the caller
  // resumes it instead of leaving it to the next sweep.
  const activeId = (await lockRef.get()).get('activeRotationId') as string | null | undefined;
  return { started: false, reason: 'duplicate request', ...(activeId ? { activeRotationId: activeId } : {}) };
}

async function runStep(rotation: StoredRotation, step: RotationStep, deps: EngineDeps): Promise<StepResult> {
  const strategy = strategyFor(rotation.policy, deps);
  const ctx = {
    secretId: rotation.secretId,
    rotationId: rotation.id,
    newVersion: rotation.newVersion ?? '',
    oldVersion: rotation.oldVersion,
  };
  try {
    switch (step) {
      case 'create': {
        const created = await createPendingVersion(
          rotation.secretId,
          rotation.id,
          rotation.createStartedAtMs ?? 0,
          () => strategy.makeValue({ secretId: rotation.secretId, rotationId: rotation.id }),
        );
        return { ok: true, newVersion: created.newVersion, oldVersion: created.oldVersion };
      }
      case 'apply':
        await strategy.apply(ctx);
        return { ok: true };
      case 'test':
        await strategy.test(ctx);
        return { ok: true };
      case 'finish':
        await promote(
          rotation.secretId,
          ctx.newVersion,
          ctx.oldVersion,
          deps.clock.nowMs() + rotation.timing.gracePeriodMinutes * 60_000,
        );
        return { ok: true };
      case 'retire':
        await retirePrevious(rotation.secretId, ctx.oldVersion);
        return { ok: true };
      case 'destroy':
        await destroyVersion(rotation.secretId, ctx.oldVersion);
        return { ok: true };
      case 'rollback':
        // The consumer goes back first (it may hold the new value), then the pending version is disabled.
        if (rotation.failedStep !== 'create' && ctx.newVersion) await strategy.restore(ctx);
        await abandonPending(rotation.secretId, rotation.id, rotation.newVersion);
        return { ok: true };
    }
  } catch (err) {
    return { ok: false, error: (err as Error).message, permanent: err instanceof ValidationError };
  }
}

/**
 * Advances one rotation as far as it can go now: until it waits (grace period, destruction delay), ends, or a
 * step fails transiently (the next sweep retries it). Returns the status it left.
 */
export async function advanceRotation(
  rotationId: string,
  deps: EngineDeps,
  correlationId: string,
): Promise<StoredRotation | undefined> {
  const first = (await rotationRef(rotationId).get()).data() as StoredRotation | undefined;
  if (!first) return undefined;
  const log = logger({ rotationId, secretId: first.secretId, correlationId });
  const actor: Actor = { type: 'system', id: 'rotation-engine' };
  const run = await withLease(
    `rotation-${first.secretId}`,
    { ttlMs: LEASE_MS, clock: deps.clock, actor, correlationId },
    async (lease) => {
      let rotation = first;
      for (let i = 0; i < MAX_STEPS_PER_ADVANCE; i++) {
        rotation = (await rotationRef(rotationId).get()).data() as StoredRotation;
        const action = nextAction(rotation, deps.clock.nowMs());
        if (action.kind !== 'run') break;
        const step = action.step;

        // Recorded before it runs.
        await transact(async (tx) => {
          tx.update(rotationRef(rotationId), {
            running: { step, startedAtMs: deps.clock.nowMs(), fencing: lease.fencing },
            ...(step === 'create' && rotation.createStartedAtMs === null
              ? { createStartedAtMs: deps.clock.nowMs() }
              : {}),
            updatedAtMs: deps.clock.nowMs(),
          });
          return Promise.resolve();
        });
        rotation = (await rotationRef(rotationId).get()).data() as StoredRotation;
        deps.fault?.(step, 'before-effect');
        const result = await runStep(rotation, step, deps);
        deps.fault?.(step, 'after-effect');

        // Recorded after, with the decision, its audit entry and any alert, once.
        const attempt = (rotation.attempts[step] ?? 0) + 1;
        const decided = await runOnce(
          'command',
          `rotation-step:${rotationId}:${step}:${attempt}`,
          async ({ tx }) => {
            const current = (await tx.get(rotationRef(rotationId))).data() as StoredRotation;
            const decision = decide(current, step, result, deps.clock.nowMs());
            const lockRef = db().collection(ROTATION_LOCKS).doc(current.secretId);
            const audit = await openAudit(tx, [STREAM], deps.clock);
            const next: StoredRotation = { ...current, ...decision.status, running: null };
            tx.set(rotationRef(rotationId), { ...next, updatedAtMs: deps.clock.nowMs() });
            if (decision.status.phase === 'grace')
              tx.set(lockRef, { lastRotatedAtMs: deps.clock.nowMs() }, { merge: true });
            if (TERMINAL_PHASES.includes(decision.status.phase) || decision.status.phase === 'retired') {
              // The secret is free for the next rotation once the old version is retired (or the attempt is over);
              // the old version's destruction, days later, continues on its own.
              tx.set(lockRef, { activeRotationId: null }, { merge: true });
            }
            audit.append(STREAM, {
              actor,
              action: decision.audit.action,
              target: `${ROTATIONS}/${rotationId}`,
              reason: decision.audit.reason,
              correlationId,
              details: {
                secretId: current.secretId,
                step,
                attempt,
                phase: decision.status.phase,
                oldVersion: decision.status.oldVersion,
                newVersion: decision.status.newVersion,
              },
            });
            const publishes = decision.alert
              ? [
                  alertPublish({
                    alertId: `rotation:${rotationId}:${step}:${attempt}`,
                    severity: decision.alert.severity,
                    kind: decision.alert.kind,
                    title: decision.alert.title,
                    text: decision.alert.text,
                    target: `${ROTATIONS}/${rotationId}`,
                    correlationId,
                    atMs: deps.clock.nowMs(),
                  }),
                ]
              : [];
            return { value: next, publishes };
          },
          { clock: deps.clock },
        );
        if (decided.duplicate) continue;
        rotation = decided.value;
        log.info('rotation step', {
          step,
          ok: result.ok,
          phase: rotation.phase,
          ...(result.ok ? {} : { error: result.error }),
        });
        if (!result.ok && rotation.phase === step) break; // transient failure: the next sweep retries
      }
      return rotation;
    },
  );
  if (!run.ran) {
    log.info('rotation busy elsewhere', { heldBy: run.heldBy });
    return undefined;
  }
  return run.value;
}

/** Active (non-terminal) rotations, for the sweep. */
export async function activeRotationIds(): Promise<string[]> {
  const snap = await db().collection(ROTATIONS).where('phase', 'not-in', ['completed', 'failed']).get();
  return snap.docs.map((d) => d.id);
}
