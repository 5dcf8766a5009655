// The secret rotation state machine, after AWS Secrets Manager's four steps (create, set, test, finish) with the
// version aliases `pending`, `current` and `previous` in place of AWSPENDING/AWSCURRENT/AWSPREVIOUS, plus a grace
// period in which both values work, retirement (disable) and destruction of the old version, and rollback of a
// failed rotation. Pure: `nextStep` says what to run, `decide` folds a step's result into the status; the engine
// (rotation/engine.ts) records each step before and after it runs, so a crash anywhere resumes.
import type { AlertKind } from '../../platform/domain/alert-kinds';

export type RotationStep = 'create' | 'apply' | 'test' | 'finish' | 'retire' | 'destroy' | 'rollback';

export type RotationPhase =
  | RotationStep // the step to run next
  | 'grace' // finished; waiting for the grace period to end before retiring `previous`
  | 'retired' // `previous` disabled; waiting for destroyAfterDays before destroying it
  | 'completed'
  | 'failed';

export const TERMINAL_PHASES: readonly RotationPhase[] = ['completed', 'failed'];

export interface RotationTiming {
  gracePeriodMinutes: number;
  destroyAfterDays: number;
  /** Transient failures of one step tolerated before apply/test roll back (or other steps fail). */
  maxAttempts: number;
}

export interface RotationStatus {
  id: string;
  secretId: string;
  strategy: string;
  phase: RotationPhase;
  /** Version numbers only, never values. */
  oldVersion: string | null;
  newVersion: string | null;
  attempts: Partial<Record<RotationStep, number>>;
  graceEndsAtMs: number | null;
  destroyAtMs: number | null;
  failedStep: RotationStep | null;
  error: string | null;
  timing: RotationTiming;
}

export type StepResult =
  | { ok: true; newVersion?: string; oldVersion?: string | null }
  | { ok: false; error: string; permanent: boolean };

export type NextAction =
  { kind: 'run'; step: RotationStep } | { kind: 'wait'; untilMs: number } | { kind: 'done' };

export function nextAction(status: RotationStatus, nowMs: number): NextAction {
  switch (status.phase) {
    case 'grace':
      return status.graceEndsAtMs !== null && nowMs < status.graceEndsAtMs
        ? { kind: 'wait', untilMs: status.graceEndsAtMs }
        : { kind: 'run', step: 'retire' };
    case 'retired':
      return status.destroyAtMs !== null && nowMs < status.destroyAtMs
        ? { kind: 'wait', untilMs: status.destroyAtMs }
        : { kind: 'run', step: 'destroy' };
    case 'completed':
    case 'failed':
      return { kind: 'done' };
    default:
      return { kind: 'run', step: status.phase };
  }
}

export interface Decision {
  status: RotationStatus;
  /** What to audit about this transition. */
  audit: { action: string; reason: string };
  alert?: { kind: AlertKind; severity: 'warning' | 'critical'; title: string; text: string };
}

const FORWARD: Record<'create' | 'apply' | 'test', RotationPhase> = {
  create: 'apply',
  apply: 'test',
  test: 'finish',
};

/** Folds the result of `step` into the status. */
export function decide(
  status: RotationStatus,
  step: RotationStep,
  result: StepResult,
  nowMs: number,
): Decision {
  const attempts = { ...status.attempts, [step]: (status.attempts[step] ?? 0) + 1 };
  const base = { ...status, attempts };
  if (result.ok) {
    switch (step) {
      case 'create':
      case 'apply':
      case 'test':
        return {
          status: {
            ...base,
            phase: FORWARD[step],
            newVersion: result.newVersion ?? status.newVersion,
            oldVersion: result.oldVersion !== undefined ? result.oldVersion : status.oldVersion,
          },
          audit: {
            action: `rotation.${step}`,
            reason: `${step} done (new version ${result.newVersion ?? status.newVersion ?? '?'})`,
          },
        };
      case 'finish': {
        const graceEndsAtMs = nowMs + status.timing.gracePeriodMinutes * 60_000;
        return {
          status: { ...base, phase: 'grace', graceEndsAtMs },
          audit: {
            action: 'rotation.finish',
            reason: `version ${status.newVersion} is current, ${status.oldVersion ?? 'none'} previous until ${new Date(graceEndsAtMs).toISOString()}`,
          },
        };
      }
      case 'retire': {
        const destroyAtMs = nowMs + status.timing.destroyAfterDays * 86_400_000;
        return {
          status: {
            ...base,
            phase: status.oldVersion ? 'retired' : 'completed',
            destroyAtMs: status.oldVersion ? destroyAtMs : null,
          },
          audit: {
            action: 'rotation.retire',
            reason: `version ${status.oldVersion ?? 'none'} disabled after the grace period`,
          },
        };
      }
      case 'destroy':
        return {
          status: { ...base, phase: 'completed' },
          audit: { action: 'rotation.destroy', reason: `version ${status.oldVersion ?? 'none'} destroyed` },
        };
      case 'rollback':
        return {
          status: { ...base, phase: 'failed' },
          audit: {
            action: 'rotation.rolled-back',
            reason: `rolled back after ${status.failedStep ?? '?'} failed: ${status.error ?? ''}`,
          },
          alert: {
            kind: 'rotation.rolled-back',
            severity: 'critical',
            title: `Rotation of ${status.secretId} failed and was rolled back`,
            text: `${status.failedStep ?? 'a step'} failed: ${status.error ?? 'unknown error'}. Version ${status.oldVersion ?? 'none'} stays current; pending version ${status.newVersion ?? 'none'} is disabled.`,
          },
        };
    }
  }

  // A failure.
  const exhausted = result.permanent || (attempts[step] ?? 0) >= status.timing.maxAttempts;
  if (!exhausted) {
    return {
      status: { ...base, error: result.error },
      audit: {
        action: 'rotation.step-retry',
        reason: `${step} failed (attempt ${attempts[step]}), will retry: ${result.error}`,
      },
    };
  }
  if (step === 'create' || step === 'apply' || step === 'test') {
    return {
      status: { ...base, phase: 'rollback', failedStep: step, error: result.error },
      audit: { action: 'rotation.rollback-started', reason: `${step} failed: ${result.error}` },
    };
  }
  // finish, retire, destroy, rollback itself: nothing to roll back to safely; a human decides.
  return {
    status: { ...base, phase: 'failed', failedStep: step, error: result.error },
    audit: { action: 'rotation.failed', reason: `${step} failed: ${result.error}` },
    alert: {
      kind: 'rotation.failed',
      severity: 'critical',
      title: `Rotation of ${status.secretId} stuck at ${step}`,
      text: `${step} failed ${attempts[step]} time(s): ${result.error}. Aliases are as the last completed step left them; see rotations/${status.id}.`,
    },
  };
}

export function newRotation(input: {
  id: string;
  secretId: string;
  strategy: string;
  timing: RotationTiming;
}): RotationStatus {
  return {
    ...input,
    phase: 'create',
    oldVersion: null,
    newVersion: null,
    attempts: {},
    graceEndsAtMs: null,
    destroyAtMs: null,
    failedStep: null,
    error: null,
  };
}

/** Is a policy-driven rotation due? `lastRotatedAtMs` null means never rotated: due now. */
export function rotationDue(
  intervalDays: number | undefined,
  lastRotatedAtMs: number | null,
  nowMs: number,
): boolean {
  if (!intervalDays) return false;
  return lastRotatedAtMs === null || nowMs >= lastRotatedAtMs + intervalDays * 86_400_000;
}
