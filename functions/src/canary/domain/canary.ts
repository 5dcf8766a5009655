// The canary rollout state machine (issue 7), after Flagger's `advanceCanary` and Argo Rollouts' pause semantics.
// Pure and deterministic: `decideTick` takes the persisted rollout and this tick's inputs (policy, the admin's
// command, the analysis, the router's answer, deployFreeze, the clock) and returns the next rollout, ONE action for
// the controller to run (a weight change or a GitHub deployment status), what to audit and what to alert. The
// controller applies it inside a transaction under a lease, so two racing ticks make one transition.
//
// Rules, in the order a tick applies them (the first that applies decides the tick):
// 1. Command. A command whose id is in `commandsSeen` was handled already and is ignored (the tick goes on as if
//    there were none). Any other command is handled now and its id recorded (the last MAX_COMMANDS_SEEN ids), applied
//    or refused with a reason (audited as the admin, nothing else changes). A human's word beats the machine: a
//    command goes before a pending router answer (which is then dropped; rule 3 sets the weight again).
//      approve      waiting-approval only; moves to the step awaiting approval (promoting if it is 100). Refused
//                   under deployFreeze (an increase) and with an invalid policy (its steps are unknown).
//      pause        pending, progressing, waiting-approval -> paused (pausedFrom remembers where), weight held.
//      resume       paused only -> pausedFrom; the step's interval and the progress deadline start afresh.
//      abort,       any non-terminal phase but rolling-back -> rolling-back (set-weight 0), no analysis; a rollout
//      rollback-now that never routed traffic (weight 0, no weight change in flight) -> rolled-back at once.
//      promote-now  pending, progressing, waiting-approval, paused -> promoting (set-weight 100), skipping analysis
//                   and approvals (emergency roll-forward). Refused under deployFreeze, without a reason, and on a
//                   pending rollout while another rollout of the service is active.
//    Terminal phases (succeeded, rolled-back, failed, superseded) refuse every command.
// 2. Supersede. A newer request for the service (`supersededBy`) ends a rollout that never routed traffic (pending,
//    or paused from pending) as superseded, GitHub status `inactive`. An active rollout is never superseded: it runs
//    to its end (or an admin aborts it) and the newer one waits, pending, behind it.
// 3. Router. After a set-weight the rollout is `routerPending` until the controller reports `routerResult`, the
//    outcome of that change read back from the router:
//    - ok with the expected weight: routerErrors = 0; promoting -> succeeded (status success); rolling-back ->
//      rolled-back (status failure, with the reason); failed -> status failure (the restore after router errors);
//      otherwise the step starts now (stepStartedAtMs, lastProgressAtMs) and GitHub hears the weight (in_progress).
//    - an error, or a different weight read back: routerErrors + 1 (consecutive). Below MAX_ROUTER_ERRORS the same
//      weight is set again; at MAX_ROUTER_ERRORS -> failed, set-weight 0 (traffic back to the baseline), critical
//      alert. A failed restore in `failed` is reported (status failure, critical alert) and not retried.
//    - no answer: the weight is set again (set-weight is idempotent; this covers a controller that crashed between
//      commit and router call). Nothing is counted.
//    Nothing else happens while a weight change is unconfirmed: no analysis, no deadline.
// 4. Terminal phases do nothing.
// 5. Policy. pending with an invalid policy -> failed (status failure, the reason on the rollout, warning alert).
//    Any other phase holds its weight with the reason in `policyError` (audited and alerted once, when it appears);
//    commands that need no policy still work. The first tick with a valid policy again clears `policyError`.
// 6. Phase:
//    pending          waits (reason recorded, audited once) while another rollout of the service is active or
//                     deployFreeze is on (starting is a weight increase); else -> waiting-approval (weight 0) when
//                     steps[0] needs approval, else -> progressing at steps[0] (set-weight).
//    progressing      an analysis is due `intervalMinutes` after the step started (`analysisDue`); a due analysis:
//                     pass -> the next step: the smallest step above the current weight (so an edited policy is
//                     followed), waiting-approval if its percent is in `approvals`, promoting if it is 100, else
//                     progressing at it; under deployFreeze the weight is held instead (the pass still counts as
//                     progress). fail -> failedAnalyses + 1 (total over the rollout, as Flagger counts); at `threshold`
//                     -> rolling-back (set-weight 0, critical alert), else held. inconclusive -> held, neither.
//                     Then, without a pass, the progress deadline: no progress (start, confirmed step, pass,
//                     approval, resume) for `progressDeadlineMinutes` -> paused for a human (warning alert), the issue's
//                     "the rollout pauses for a human instead of promoting". Inconclusive data is no evidence that
//                     the canary is bad, so it is not rolled back; nor is it ever promoted.
//    waiting-approval holds the weight; if it carries traffic, analyses go on: a fail counts and rolls back at
//                     `threshold`; pass and inconclusive hold. No deadline: it waits for a human.
//    paused           holds the weight; analyses go on and are recorded; a fail counts and alerts (warning) but does
//                     not move traffic (the issue). No deadline.
//    promoting, rolling-back are always routerPending (their set-weight is confirmed by rule 3); otherwise the
//                     weight is set again.
// Every tick that changes the rollout returns an audit; a tick that changes nothing returns `audit: null` and
// `next === rollout` (nothing to write).
import type { AlertKind } from '../../platform/domain/alert-kinds';
import type { Actor } from '../../platform/domain/audit-chain';
import type { JsonValue } from '../../platform/domain/canonical-json';
import { WINDOW_METRICS } from './judge';

const MINUTE_MS = 60_000;
/** Consecutive router failures before the rollout fails with traffic restored to the baseline. */
export const MAX_ROUTER_ERRORS = 3;
/** Command ids remembered per rollout; enough to outlast any redelivery of a command write. */
export const MAX_COMMANDS_SEEN = 50;
/** GitHub truncates deployment status descriptions at 140 characters. */
const GITHUB_DESCRIPTION_MAX = 140;
const CONTROLLER: Actor = { type: 'system', id: 'canary-controller' };

// --------------------------------------------------------------------------------------------------- the policy

export type MetricSource = 'health' | 'metrics';

/**
 * Metrics a canary is judged on, per source: `health` from the probe samples of the two health checks (success and
 * latency), `metrics` from the windows the services write (`metrics/{service}/windows/{minute}_{cohort}`).
 */
export const CANARY_METRIC_NAMES = {
  health: ['successRate', 'errorRate', 'latencyP50Ms', 'latencyP90Ms', 'latencyP95Ms', 'latencyP99Ms'],
  metrics: WINDOW_METRICS,
} as const satisfies Record<MetricSource, readonly string[]>;

export interface CanaryMetric {
  name: string;
  source: MetricSource;
  /** Bounds on the canary's value (threshold judge; with mann-whitney, absolute guards on top of the test). */
  min?: number | undefined;
  max?: number | undefined;
  /** The change that counts as a regression: latency and errors `increase`, success rate `decrease`. */
  direction: 'increase' | 'decrease' | 'either';
  /** A critical metric failing fails the whole analysis, whatever the others say. */
  critical: boolean;
}

export type CanaryRouter =
  | { kind: 'firestore-flag'; flag: string }
  | {
      kind: 'cloud-run';
      service: string;
      region: string;
      /** Absent: the revision serving 100% when the rollout starts. */
      baselineRevision?: string | undefined;
      /** Absent: the newest revision. */
      canaryRevision?: string | undefined;
    };

export interface CanaryTarget {
  /** `healthChecks/{id}` probing this side (metrics with source `health`). */
  healthCheck?: string | undefined;
  /** Cohort of the metric windows (metrics with source `metrics`). */
  cohort: string;
}

/** `canaryPolicies/{service}` as parsed by canary/schema.ts, defaults filled. */
export interface CanaryPolicy {
  steps: readonly number[];
  intervalMinutes: number;
  threshold: number;
  progressDeadlineMinutes: number;
  approvals: readonly number[];
  judge: { kind: 'threshold' | 'mann-whitney'; confidence: number; tolerance: number };
  metrics: readonly CanaryMetric[];
  minSamples: number;
  router: CanaryRouter;
  targets: { baseline: CanaryTarget; canary: CanaryTarget };
  /**
   * How long after a minute ends its metric window may still be written (services flush when the minute ends).
   * Only windows whose minute ended at least this long ago are judged. Default WINDOW_LATENESS_S.
   */
  windowLatenessSeconds?: number | undefined;
}

/** Default for `windowLatenessSeconds`: a service flushing its counters when the minute ends, plus slack. */
export const WINDOW_LATENESS_S = 15;

// -------------------------------------------------------------------------------------------------- the rollout

export type RolloutPhase =
  | 'pending'
  | 'progressing'
  | 'waiting-approval'
  | 'paused'
  | 'promoting'
  | 'succeeded'
  | 'rolling-back'
  | 'rolled-back'
  | 'failed'
  | 'superseded';

export const TERMINAL_PHASES: readonly RolloutPhase[] = ['succeeded', 'rolled-back', 'failed', 'superseded'];

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export type MetricAnalysis = {
  name: string;
  source: MetricSource;
  verdict: Verdict;
  canary: number | null;
  baseline: number | null;
  why: string;
};

export type Analysis = { verdict: Verdict; why: string; metrics: MetricAnalysis[] };

/** The last analysis, when it ran, and the minutes [fromMs, toMs) it judged. */
export type LastAnalysis = Analysis & { atMs: number; fromMs?: number; toMs?: number };

/** `rollouts/{id}` (null, not absent, for unset fields: Firestore refuses undefined). */
export interface RolloutState {
  id: string;
  service: string;
  version: string;
  phase: RolloutPhase;
  /** Index in policy.steps of the current weight; -1 before the first step. */
  stepIndex: number;
  /** Percent of traffic on the canary, as last decided (confirmed unless routerPending). */
  weight: number;
  /** A set-weight was decided and its outcome not yet folded in. */
  routerPending: boolean;
  /** Consecutive failed weight changes. */
  routerErrors: number;
  /** Failed analyses over the whole rollout. */
  failedAnalyses: number;
  lastAnalysis: LastAnalysis | null;
  stepStartedAtMs: number;
  phaseSinceMs: number;
  createdAtMs: number;
  lastProgressAtMs: number;
  pausedFrom: RolloutPhase | null;
  /** Ids of the commands handled (applied or refused), the last MAX_COMMANDS_SEEN. */
  commandsSeen: string[];
  /** What became of each command, newest last (the last MAX_COMMAND_LOG): the answer an admin looks for. */
  commandLog: CommandOutcome[];
  /** Why the rollout is where it is, for the console. */
  reason: string;
  /** The policy's validation error while it is invalid. */
  policyError: string | null;
  supersededBy: string | null;
}

export type CommandAction = 'approve' | 'pause' | 'resume' | 'abort' | 'promote-now' | 'rollback-now';

export interface CommandOutcome {
  id: string;
  action: CommandAction;
  by: string;
  /** When the admin wrote it (the write event's time), if known. */
  writtenAtMs: number | null;
  handledAtMs: number;
  outcome: 'applied' | 'refused';
  /** For a refusal, why; for an applied command, what it did. */
  why: string;
}

export const MAX_COMMAND_LOG = 20;

export interface RolloutCommand {
  /** Unique per command write (the controller derives it from the write event). */
  id: string;
  action: CommandAction;
  reason: string;
  /** The admin's uid, from the write's auth context. */
  by: string;
  /** The write's auth type (`unknown` for a console edit in the emulator, `service_account`, ...). */
  authType?: string | undefined;
  /** The write event's time: queued commands are applied in this order (then by id), whatever order their triggers ran in. */
  atMs?: number | undefined;
}

/** The router's answer to a weight change; `atMs` is when the weight was confirmed live (the step's go-live). */
export type RouterResult = { ok: true; weight: number; atMs?: number } | { ok: false; error: string };

export interface TickInput {
  rollout: RolloutState;
  /** The parsed policy, or why it did not parse. */
  policy: CanaryPolicy | { invalid: string };
  command?: RolloutCommand | undefined;
  /** The judge's verdict over the interval just ended; supplied when `analysisDue`. */
  analysis?: Analysis | undefined;
  /** The outcome of the last set-weight, read back from the router. */
  routerResult?: RouterResult | undefined;
  deployFreeze: boolean;
  nowMs: number;
  /** Id of another active rollout of the same service. */
  otherActive?: string | undefined;
  /** Id of a newer rollout request for the same service. */
  supersededBy?: string | undefined;
}

export type RolloutAction =
  | { kind: 'none' }
  | { kind: 'set-weight'; weight: number; why: string }
  | {
      kind: 'github-status';
      state: 'in_progress' | 'success' | 'failure' | 'inactive';
      description: string;
    };

export interface TickAudit {
  action: string;
  reason: string;
  actor: Actor;
  details: { [key: string]: JsonValue };
}

export interface TickAlert {
  /** The alert's kind (platform/domain/alert-kinds.ts): what happened, so its runbook says what to do. */
  kind: AlertKind;
  severity: 'warning' | 'critical';
  title: string;
  text: string;
}

export interface TickDecision {
  next: RolloutState;
  action: RolloutAction;
  /** Null when nothing changed (`next === rollout`). */
  audit: TickAudit | null;
  alert?: TickAlert;
}

export function newRollout(
  request: { id: string; service: string; version: string },
  nowMs: number,
): RolloutState {
  return {
    id: request.id,
    service: request.service,
    version: request.version,
    phase: 'pending',
    stepIndex: -1,
    weight: 0,
    routerPending: false,
    routerErrors: 0,
    failedAnalyses: 0,
    lastAnalysis: null,
    stepStartedAtMs: nowMs,
    phaseSinceMs: nowMs,
    createdAtMs: nowMs,
    lastProgressAtMs: nowMs,
    pausedFrom: null,
    commandsSeen: [],
    commandLog: [],
    reason: 'waiting to start',
    policyError: null,
    supersededBy: null,
  };
}

/** Never routed traffic: pending, or paused before it started. */
function notStarted(r: RolloutState): boolean {
  return r.phase === 'pending' || (r.phase === 'paused' && r.pausedFrom === 'pending');
}

/** Holds the service: one such rollout per service at a time. */
export function isActive(r: RolloutState): boolean {
  return !TERMINAL_PHASES.includes(r.phase) && !notStarted(r);
}

/**
 * The minutes an analysis judges now: `intervalMinutes` whole minutes that ended at least `windowLatenessSeconds`
 * ago, none of them begun before the step started (a minute the step began in mixes two weights). A window is
 * judged only once it is complete: the minute that has just begun is never read.
 */
export function analysisWindow(
  r: Pick<RolloutState, 'stepStartedAtMs'>,
  policy: Pick<CanaryPolicy, 'intervalMinutes' | 'windowLatenessSeconds'>,
  nowMs: number,
): { fromMs: number; toMs: number } {
  const latenessMs = (policy.windowLatenessSeconds ?? WINDOW_LATENESS_S) * 1000;
  const toMs = Math.floor((nowMs - latenessMs) / MINUTE_MS) * MINUTE_MS;
  const firstWhole = Math.ceil(r.stepStartedAtMs / MINUTE_MS) * MINUTE_MS;
  return { fromMs: Math.max(firstWhole, toMs - policy.intervalMinutes * MINUTE_MS), toMs };
}

/** Whether the controller should run the judge for this tick: a whole interval of complete minutes is there. */
export function analysisDue(r: RolloutState, policy: CanaryPolicy, nowMs: number): boolean {
  if (!(r.phase === 'progressing' || r.phase === 'waiting-approval' || r.phase === 'paused')) return false;
  if (r.weight <= 0 || r.routerPending) return false;
  const { fromMs, toMs } = analysisWindow(r, policy, nowMs);
  return toMs - fromMs >= policy.intervalMinutes * MINUTE_MS;
}

// ------------------------------------------------------------------------------------------------- the decision

const NONE: RolloutAction = { kind: 'none' };

const isValid = (p: TickInput['policy']): p is CanaryPolicy => !('invalid' in p);

function clip(text: string): string {
  return text.length <= GITHUB_DESCRIPTION_MAX ? text : `${text.slice(0, GITHUB_DESCRIPTION_MAX - 3)}...`;
}

function status(state: Extract<RolloutAction, { kind: 'github-status' }>['state'], description: string) {
  return { kind: 'github-status', state, description: clip(description) } as const;
}

function setWeight(weight: number, why: string): RolloutAction {
  return { kind: 'set-weight', weight, why };
}

/** The rollout in `phase` (phaseSinceMs moves only when the phase does). */
function enter(
  r: RolloutState,
  phase: RolloutPhase,
  nowMs: number,
  reason: string,
  patch: Partial<RolloutState> = {},
): RolloutState {
  return { ...r, ...patch, phase, reason, phaseSinceMs: phase === r.phase ? r.phaseSinceMs : nowMs };
}

function audit(
  next: RolloutState,
  action: string,
  reason: string,
  extra: { [key: string]: JsonValue } = {},
  actor: Actor = CONTROLLER,
): TickAudit {
  return {
    action,
    reason,
    actor,
    details: {
      service: next.service,
      version: next.version,
      phase: next.phase,
      weight: next.weight,
      stepIndex: next.stepIndex,
      failedAnalyses: next.failedAnalyses,
      routerErrors: next.routerErrors,
      ...extra,
    },
  };
}

function quiet(r: RolloutState): TickDecision {
  return { next: r, action: NONE, audit: null };
}

/** The step after the current weight: the smallest step above it (100 once past every step). */
function nextStep(policy: CanaryPolicy, weight: number): { index: number; percent: number } {
  const index = policy.steps.findIndex((p) => p > weight);
  return index < 0
    ? { index: policy.steps.length - 1, percent: 100 }
    : { index, percent: policy.steps[index] ?? 100 };
}

export function decideTick(input: TickInput): TickDecision {
  const r = input.rollout;
  if (input.command && !r.commandsSeen.includes(input.command.id)) return commandTick(input, input.command);
  if (input.supersededBy && notStarted(r)) {
    const reason = `superseded by ${input.supersededBy}`;
    const next = enter(r, 'superseded', input.nowMs, reason, { supersededBy: input.supersededBy });
    return {
      next,
      action: status('inactive', reason),
      audit: audit(next, 'rollout.superseded', reason, { supersededBy: input.supersededBy }),
    };
  }
  if (r.routerPending) return routerTick(input);
  if (TERMINAL_PHASES.includes(r.phase)) return quiet(r);
  if (r.phase === 'promoting' || r.phase === 'rolling-back') {
    // Not reached by the rules above (both phases are entered with a weight change); repair the invariant.
    const weight = r.phase === 'promoting' ? 100 : 0;
    const next = { ...r, weight, routerPending: true };
    return {
      next,
      action: setWeight(weight, `${r.phase}: setting ${weight}%`),
      audit: audit(next, 'rollout.router-reissue', `${r.phase} without a weight change in flight`),
    };
  }
  const policy = input.policy;
  if (!isValid(policy)) return invalidPolicyTick(input, policy.invalid);
  if (r.policyError !== null) {
    const next = { ...r, policyError: null };
    return {
      next,
      action: NONE,
      audit: audit(next, 'rollout.policy-valid', `canaryPolicies/${r.service} is valid again`),
    };
  }
  switch (r.phase) {
    case 'pending':
      return pendingTick(input, policy);
    case 'progressing':
      return progressingTick(input, policy);
    case 'waiting-approval':
    case 'paused':
      return holdingTick(input, policy);
    default:
      return quiet(r);
  }
}

// ---------------------------------------------------------------------------------------------------- commands

function refusal(input: TickInput, command: RolloutCommand): string | null {
  const r = input.rollout;
  const { phase } = r;
  if (TERMINAL_PHASES.includes(phase)) return `the rollout is ${phase}`;
  const freeze = 'deployFreeze is on: it blocks every weight increase';
  switch (command.action) {
    case 'approve':
      if (phase !== 'waiting-approval')
        return `only a rollout waiting for approval can be approved (this one is ${phase})`;
      if (!isValid(input.policy)) return `canaryPolicies/${r.service} is invalid: ${input.policy.invalid}`;
      return input.deployFreeze ? `${freeze}; approve again once it is lifted` : null;
    case 'pause':
      if (phase === 'paused') return 'the rollout is already paused';
      if (phase === 'promoting' || phase === 'rolling-back')
        return `the rollout is ${phase}: its weight is already moving to ${r.weight}%`;
      return null;
    case 'resume':
      return phase === 'paused' ? null : `only a paused rollout can be resumed (this one is ${phase})`;
    case 'abort':
    case 'rollback-now':
      return phase === 'rolling-back' ? 'the rollout is already rolling back' : null;
    case 'promote-now':
      if (phase === 'promoting') return 'the rollout is already promoting';
      if (phase === 'rolling-back') return 'the rollout is rolling back; a new release starts a new rollout';
      if (!/\S/.test(command.reason)) return 'promote-now needs a reason';
      if (input.deployFreeze) return freeze;
      if (notStarted(r) && input.otherActive)
        return `rollout ${input.otherActive} of ${r.service} is active; abort it first`;
      return null;
  }
}

function commandTick(input: TickInput, command: RolloutCommand): TickDecision {
  const { nowMs } = input;
  const logged = (outcome: CommandOutcome['outcome'], why: string): CommandOutcome[] =>
    [
      ...input.rollout.commandLog,
      {
        id: command.id,
        action: command.action,
        by: command.by,
        writtenAtMs: command.atMs ?? null,
        handledAtMs: nowMs,
        outcome,
        why,
      },
    ].slice(-MAX_COMMAND_LOG);
  const r = {
    ...input.rollout,
    commandsSeen: [...input.rollout.commandsSeen, command.id].slice(-MAX_COMMANDS_SEEN),
  };
  const admin: Actor = {
    type: 'admin',
    id: command.by,
    ...(command.authType ? { authType: command.authType } : {}),
  };
  const said = `${command.action} by ${command.by}: ${command.reason}`;
  const extra = {
    commandId: command.id,
    command: command.action,
    by: command.by,
    commandReason: command.reason,
    authType: command.authType ?? null,
  };
  const refused = refusal(input, command);
  if (refused !== null) {
    return {
      next: { ...r, commandLog: logged('refused', refused) },
      action: NONE,
      audit: audit(r, 'rollout.command-refused', `${command.action} refused: ${refused}`, extra, admin),
    };
  }
  const applied = (next: RolloutState, action: RolloutAction): TickDecision => ({
    next: { ...next, commandLog: logged('applied', next.reason) },
    action,
    audit: audit(next, `rollout.${command.action}`, said, extra, admin),
  });
  switch (command.action) {
    case 'approve': {
      // refusal() checked the policy.
      const policy = input.policy as CanaryPolicy;
      const step = nextStep(policy, r.weight);
      const promote = step.percent === 100;
      const next = enter(r, promote ? 'promoting' : 'progressing', nowMs, said, {
        stepIndex: step.index,
        weight: step.percent,
        routerPending: true,
        stepStartedAtMs: nowMs,
        lastProgressAtMs: nowMs,
      });
      return applied(next, setWeight(step.percent, `approved by ${command.by}`));
    }
    case 'pause': {
      const next = enter(r, 'paused', nowMs, said, { pausedFrom: r.phase });
      return applied(
        next,
        status('in_progress', `paused at ${r.weight}% by ${command.by}: ${command.reason}`),
      );
    }
    case 'resume': {
      const to = r.pausedFrom ?? 'progressing';
      const next = enter(r, to, nowMs, said, {
        pausedFrom: null,
        stepStartedAtMs: nowMs,
        lastProgressAtMs: nowMs,
      });
      return applied(next, status('in_progress', `resumed at ${r.weight}% by ${command.by}`));
    }
    case 'abort':
    case 'rollback-now': {
      if (r.weight === 0 && !r.routerPending) {
        const next = enter(r, 'rolled-back', nowMs, said, { pausedFrom: null });
        return applied(next, status('failure', `${command.action} by ${command.by}: ${command.reason}`));
      }
      const next = enter(r, 'rolling-back', nowMs, said, {
        weight: 0,
        routerPending: true,
        pausedFrom: null,
      });
      return applied(next, setWeight(0, said));
    }
    case 'promote-now': {
      const policy = input.policy;
      const next = enter(r, 'promoting', nowMs, said, {
        weight: 100,
        routerPending: true,
        pausedFrom: null,
        stepIndex: isValid(policy) ? policy.steps.length - 1 : r.stepIndex,
      });
      return applied(next, setWeight(100, said));
    }
  }
}

// ------------------------------------------------------------------------------------------------------ router

function routerTick(input: TickInput): TickDecision {
  const { nowMs, routerResult: result } = input;
  const r = input.rollout;
  if (result === undefined) {
    return {
      next: r,
      action: setWeight(r.weight, `no confirmation of ${r.weight}%: setting it again`),
      audit: audit(r, 'rollout.router-reissue', `no confirmation of the change to ${r.weight}%`),
    };
  }
  const error = !result.ok
    ? result.error
    : result.weight !== r.weight
      ? `the router reads back ${result.weight}%, expected ${r.weight}%`
      : null;

  if (error === null) {
    const base = { ...r, routerPending: false, routerErrors: 0 };
    switch (r.phase) {
      case 'promoting': {
        const reason = `promoted: 100% of traffic on ${r.version}`;
        const next = enter(base, 'succeeded', nowMs, reason);
        return { next, action: status('success', reason), audit: audit(next, 'rollout.succeeded', reason) };
      }
      case 'rolling-back': {
        const next = enter(base, 'rolled-back', nowMs, r.reason);
        return {
          next,
          action: status('failure', `rolled back: ${r.reason}`),
          audit: audit(next, 'rollout.rolled-back', `all traffic back on the baseline: ${r.reason}`),
        };
      }
      case 'failed':
        return {
          next: base,
          action: status('failure', r.reason),
          audit: audit(base, 'rollout.baseline-restored', `traffic restored to the baseline: ${r.reason}`),
        };
      default: {
        // The step starts when its weight went live (the router's confirmation, a tick before this fold): the
        // first analysis covers a full interval at that weight.
        const live = `${r.weight}% of traffic on ${r.version}`;
        const next = {
          ...base,
          stepStartedAtMs: result.ok && result.atMs !== undefined ? Math.min(result.atMs, nowMs) : nowMs,
          lastProgressAtMs: nowMs,
          reason: r.phase === 'progressing' ? live : r.reason,
        };
        return {
          next,
          action: status('in_progress', r.phase === 'progressing' ? live : `${live} (${r.phase})`),
          audit: audit(next, 'rollout.weight-confirmed', live),
        };
      }
    }
  }

  const routerErrors = r.routerErrors + 1;
  if (r.phase === 'failed') {
    // The restore itself failed: nothing safer to do than tell everyone.
    const reason = `${r.reason}; restoring the baseline failed too: ${error}`;
    const next = { ...r, routerPending: false, routerErrors, reason };
    return {
      next,
      action: status('failure', reason),
      audit: audit(next, 'rollout.baseline-restore-failed', reason, { error }),
      alert: {
        kind: 'rollout.baseline-restore-failed',
        severity: 'critical',
        title: `Canary ${r.service} ${r.version}: traffic may still reach the canary`,
        text: `${reason}. Check the router (rollouts/${r.id}) and set the weight to 0 by hand.`,
      },
    };
  }
  if (routerErrors < MAX_ROUTER_ERRORS) {
    const next = { ...r, routerErrors };
    return {
      next,
      action: setWeight(r.weight, `retry ${routerErrors} of ${MAX_ROUTER_ERRORS - 1} after: ${error}`),
      audit: audit(next, 'rollout.router-retry', `setting ${r.weight}% failed (${routerErrors}): ${error}`, {
        error,
      }),
    };
  }
  const reason = `the router failed ${routerErrors} times: ${error}`;
  const next = enter(r, 'failed', nowMs, reason, {
    weight: 0,
    routerPending: true,
    routerErrors,
    pausedFrom: null,
  });
  return {
    next,
    action: setWeight(0, `${reason}; restoring the baseline`),
    audit: audit(next, 'rollout.failed', reason, { error, lastWeight: r.weight }),
    alert: {
      kind: 'rollout.failed',
      severity: 'critical',
      title: `Canary ${r.service} ${r.version} failed: router error`,
      text: `Setting ${r.weight}% failed ${routerErrors} times (${error}). Restoring all traffic to the baseline.`,
    },
  };
}

// ------------------------------------------------------------------------------------------------------ phases

function invalidPolicyTick(input: TickInput, invalid: string): TickDecision {
  const r = input.rollout;
  const why = `canaryPolicies/${r.service} is invalid: ${invalid}`;
  if (r.phase === 'pending') {
    const next = enter(r, 'failed', input.nowMs, why, { policyError: invalid });
    return {
      next,
      action: status('failure', why),
      audit: audit(next, 'rollout.refused', why, { policyError: invalid }),
      alert: {
        kind: 'rollout.not-started',
        severity: 'warning',
        title: `Rollout of ${r.service} ${r.version} not started`,
        text: why,
      },
    };
  }
  if (r.policyError === invalid) return quiet(r);
  const next = { ...r, policyError: invalid };
  return {
    next,
    action: NONE,
    audit: audit(next, 'rollout.policy-invalid', `${why}; holding ${r.weight}%`, { policyError: invalid }),
    alert: {
      kind: 'rollout.policy-invalid',
      severity: 'warning',
      title: `Canary ${r.service} ${r.version} held: invalid policy`,
      text: `${why}. The rollout holds ${r.weight}% until the policy is fixed; commands still work.`,
    },
  };
}

/** Stays where it is with a new reason: audited when the reason changes, quiet otherwise. */
function waitFor(r: RolloutState, reason: string): TickDecision {
  if (r.reason === reason) return quiet(r);
  const next = { ...r, reason };
  return { next, action: NONE, audit: audit(next, 'rollout.waiting', reason) };
}

function pendingTick(input: TickInput, policy: CanaryPolicy): TickDecision {
  const { nowMs } = input;
  const r = input.rollout;
  if (input.otherActive)
    return waitFor(r, `waiting for rollout ${input.otherActive} of ${r.service} to finish`);
  if (input.deployFreeze) return waitFor(r, 'deployFreeze is on: the rollout starts when it is lifted');
  const first = policy.steps[0] ?? 100;
  const started = { stepStartedAtMs: nowMs, lastProgressAtMs: nowMs };
  if (policy.approvals.includes(first)) {
    const reason = `waiting for approval to start at ${first}%`;
    const next = enter(r, 'waiting-approval', nowMs, reason, started);
    return { next, action: status('in_progress', reason), audit: audit(next, 'rollout.started', reason) };
  }
  const promote = first === 100;
  const reason = promote ? 'promoting straight to 100%' : `starting at ${first}%`;
  const next = enter(r, promote ? 'promoting' : 'progressing', nowMs, reason, {
    ...started,
    stepIndex: 0,
    weight: first,
    routerPending: true,
  });
  return { next, action: setWeight(first, reason), audit: audit(next, 'rollout.started', reason) };
}

/**
 * Folds a due analysis into the rollout: recorded, failures counted, the next interval started where the judged
 * one ended (so consecutive analyses cover consecutive minutes, none twice and none skipped).
 */
function fold(r: RolloutState, analysis: Analysis, policy: CanaryPolicy, nowMs: number): RolloutState {
  const judged = analysisWindow(r, policy, nowMs);
  return {
    ...r,
    lastAnalysis: { ...analysis, atMs: nowMs, fromMs: judged.fromMs, toMs: judged.toMs },
    stepStartedAtMs: judged.toMs,
    failedAnalyses: r.failedAnalyses + (analysis.verdict === 'fail' ? 1 : 0),
  };
}

function analysisDetails(a: Analysis, policy: CanaryPolicy): { [key: string]: JsonValue } {
  return { verdict: a.verdict, why: a.why, metrics: a.metrics, threshold: policy.threshold };
}

function rollBack(next: RolloutState, analysis: Analysis, policy: CanaryPolicy, nowMs: number): TickDecision {
  const reason = `${next.failedAnalyses} failed analyses (threshold ${policy.threshold}): ${analysis.why}`;
  const rolling = enter(next, 'rolling-back', nowMs, reason, {
    weight: 0,
    routerPending: true,
    pausedFrom: null,
  });
  return {
    next: rolling,
    action: setWeight(0, reason),
    audit: audit(rolling, 'rollout.rolling-back', reason, {
      ...analysisDetails(analysis, policy),
      fromWeight: next.weight,
    }),
    alert: {
      kind: 'rollout.rolling-back',
      severity: 'critical',
      title: `Canary ${next.service} ${next.version} rolling back`,
      text: `${reason}. Traffic at ${next.weight}% goes back to the baseline.`,
    },
  };
}

function progressingTick(input: TickInput, policy: CanaryPolicy): TickDecision {
  const { nowMs, analysis } = input;
  const r = input.rollout;
  const deadlineMs = policy.progressDeadlineMinutes * MINUTE_MS;
  let next = r;
  let verdict: Verdict | null = null;
  if (analysis && analysisDue(r, policy, nowMs)) {
    next = fold(r, analysis, policy, nowMs);
    verdict = analysis.verdict;
    if (verdict === 'pass') return advance(next, analysis, policy, input);
    if (verdict === 'fail' && next.failedAnalyses >= policy.threshold)
      return rollBack(next, analysis, policy, nowMs);
  }
  if (nowMs - r.lastProgressAtMs >= deadlineMs) {
    const last = next.lastAnalysis
      ? `last analysis ${next.lastAnalysis.verdict}: ${next.lastAnalysis.why}`
      : 'no analysis';
    const reason = `no passing analysis for ${policy.progressDeadlineMinutes} min (${last}); paused for a human`;
    const paused = enter(next, 'paused', nowMs, reason, { pausedFrom: 'progressing' });
    return {
      next: paused,
      action: status(
        'in_progress',
        `paused at ${r.weight}%: no conclusive analysis within the progress deadline`,
      ),
      audit: audit(paused, 'rollout.deadline-paused', reason, {
        progressDeadlineMinutes: policy.progressDeadlineMinutes,
        ...(analysis && verdict ? analysisDetails(analysis, policy) : {}),
      }),
      alert: {
        kind: 'rollout.deadline-paused',
        severity: 'warning',
        title: `Canary ${r.service} ${r.version} paused at ${r.weight}%`,
        text: `${reason}. Resume, approve with promote-now, or abort on rollouts/${r.id}.`,
      },
    };
  }
  if (!analysis || verdict === null) return quiet(r);
  const reason =
    verdict === 'fail'
      ? `analysis failed (${next.failedAnalyses} of ${policy.threshold}): ${analysis.why}; holding ${r.weight}%`
      : `analysis inconclusive: ${analysis.why}; holding ${r.weight}%`;
  next = { ...next, reason };
  return {
    next,
    action: NONE,
    audit: audit(next, `rollout.analysis-${verdict}`, reason, analysisDetails(analysis, policy)),
  };
}

function advance(
  next: RolloutState,
  analysis: Analysis,
  policy: CanaryPolicy,
  input: TickInput,
): TickDecision {
  const { nowMs } = input;
  const step = nextStep(policy, next.weight);
  const details = { ...analysisDetails(analysis, policy), nextPercent: step.percent };
  const progressed = { ...next, lastProgressAtMs: nowMs };
  if (policy.approvals.includes(step.percent)) {
    const reason = `analysis passed at ${next.weight}%; waiting for approval to go to ${step.percent}%`;
    const waiting = enter(progressed, 'waiting-approval', nowMs, reason);
    return {
      next: waiting,
      action: status('in_progress', reason),
      audit: audit(waiting, 'rollout.waiting-approval', reason, details),
    };
  }
  if (input.deployFreeze) {
    const reason = `analysis passed at ${next.weight}%; deployFreeze holds the weight (next ${step.percent}%)`;
    const held = { ...progressed, reason };
    return { next: held, action: NONE, audit: audit(held, 'rollout.held', reason, details) };
  }
  const promote = step.percent === 100;
  const reason = `analysis passed at ${next.weight}%: ${promote ? 'promoting to 100%' : `going to ${step.percent}%`}`;
  const moved = enter(progressed, promote ? 'promoting' : 'progressing', nowMs, reason, {
    stepIndex: step.index,
    weight: step.percent,
    routerPending: true,
  });
  return {
    next: moved,
    action: setWeight(step.percent, reason),
    audit: audit(moved, promote ? 'rollout.promoting' : 'rollout.step', reason, details),
  };
}

/** waiting-approval and paused: the weight is held; analyses go on while the canary takes traffic. */
function holdingTick(input: TickInput, policy: CanaryPolicy): TickDecision {
  const { nowMs, analysis } = input;
  const r = input.rollout;
  if (!analysis || !analysisDue(r, policy, nowMs)) return quiet(r);
  const next = fold(r, analysis, policy, nowMs);
  const details = analysisDetails(analysis, policy);
  if (
    analysis.verdict === 'fail' &&
    r.phase === 'waiting-approval' &&
    next.failedAnalyses >= policy.threshold
  )
    return rollBack(next, analysis, policy, nowMs);
  const decision: TickDecision = {
    next,
    action: NONE,
    audit: audit(
      next,
      `rollout.analysis-${analysis.verdict}`,
      `analysis ${analysis.verdict} while ${r.phase} at ${r.weight}%: ${analysis.why}`,
      details,
    ),
  };
  if (analysis.verdict === 'fail' && r.phase === 'paused') {
    decision.alert = {
      kind: 'rollout.paused-failing',
      severity: 'warning',
      title: `Paused canary ${r.service} ${r.version} is failing at ${r.weight}%`,
      text: `Analysis failed (${next.failedAnalyses} of ${policy.threshold}): ${analysis.why}. Paused: traffic stays at ${r.weight}% until someone resumes, aborts or rolls back (rollouts/${r.id}).`,
    };
  }
  return decision;
}
