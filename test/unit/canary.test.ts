// The canary rollout state machine, tick by tick (flagger's scheduler_test in spirit): a fake controller feeds
// decideTick the clock, the judge's verdicts and the router's read-backs, one tick at a time.
import { describe, expect, it } from 'vitest';
import {
  analysisDue,
  analysisWindow,
  decideTick,
  isActive,
  MAX_COMMANDS_SEEN,
  MAX_ROUTER_ERRORS,
  newRollout,
  type Analysis,
  type CanaryPolicy,
  type CommandAction,
  type RolloutPhase,
  type RolloutState,
  type TickDecision,
  type TickInput,
} from '../../functions/src/canary/domain/canary';
import { MIN } from '../support/time';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

const basePolicy: CanaryPolicy = {
  steps: [5, 25, 50, 100],
  intervalMinutes: 5,
  threshold: 2,
  progressDeadlineMinutes: 30,
  approvals: [],
  judge: { kind: 'mann-whitney', confidence: 0.98, tolerance: 0.25 },
  metrics: [{ name: 'errorRate', source: 'metrics', direction: 'increase', critical: true }],
  minSamples: 30,
  router: { kind: 'firestore-flag', flag: 'checkoutV2' },
  targets: { baseline: { cohort: 'baseline' }, canary: { cohort: 'canary' } },
};

const analysis = (verdict: Analysis['verdict'], why: string): Analysis => ({
  verdict,
  why,
  metrics: [
    {
      name: 'errorRate',
      source: 'metrics',
      verdict,
      canary: verdict === 'fail' ? 0.2 : 0.01,
      baseline: 0.01,
      why,
    },
  ],
});
const pass = analysis('pass', 'errorRate within tolerance');
const fail = analysis('fail', 'errorRate 0.2 vs 0.01');
const inconclusive = analysis('inconclusive', '12 samples, 30 needed');

/** A stand-in controller: holds the rollout, the clock and the last decision. */
class Harness {
  nowMs = T0;
  rollout: RolloutState;
  last!: TickDecision;
  policy: CanaryPolicy | { invalid: string };
  deployFreeze = false;
  private commands = 0;

  constructor(policy: Partial<CanaryPolicy> | { invalid: string } = {}) {
    this.policy = 'invalid' in policy ? policy : { ...basePolicy, ...policy };
    this.rollout = newRollout({ id: 'r1', service: 'checkout', version: 'v2' }, T0);
  }

  tick(extra: Partial<TickInput> = {}): TickDecision {
    this.last = decideTick({
      rollout: this.rollout,
      policy: this.policy,
      deployFreeze: this.deployFreeze,
      nowMs: this.nowMs,
      ...extra,
    });
    this.rollout = this.last.next;
    return this.last;
  }

  /** The router applied the weight the last decision set, and read it back. */
  confirm(): TickDecision {
    const action = this.last.action;
    if (action.kind !== 'set-weight') throw new Error(`expected set-weight, got ${action.kind}`);
    return this.tick({ routerResult: { ok: true, weight: action.weight } });
  }

  wait(minutes: number): this {
    this.nowMs += minutes * MIN;
    return this;
  }

  command(action: CommandAction, reason = 'because', id = `c${++this.commands}`): TickDecision {
    return this.tick({ command: { id, action, reason, by: 'admin-uid' } });
  }

  /** Starts the rollout and confirms steps[0]: progressing at 5%, the step started now. */
  started(): this {
    this.tick();
    this.confirm();
    return this;
  }

  /**
   * One analysis interval later, with this verdict: the interval, then the first minute at which a whole interval
   * of complete minutes (lateness included) is there, as the controller would find it.
   */
  analyse(a: Analysis): TickDecision {
    const policy = this.policy as CanaryPolicy;
    this.wait(policy.intervalMinutes);
    for (let k = 0; k < 2 && !analysisDue(this.rollout, policy, this.nowMs); k += 1) this.wait(1);
    return this.tick({ analysis: a });
  }

  get phase(): RolloutPhase {
    return this.rollout.phase;
  }
}

describe('canary: a healthy canary promotes through every step, tick by tick', () => {
  it('pending -> 5 -> 25 -> 50 -> promoting -> succeeded, GitHub told each confirmed weight', () => {
    const h = new Harness();
    expect(isActive(h.rollout)).toBe(false);

    let d = h.tick();
    expect(d.next).toMatchObject({ phase: 'progressing', stepIndex: 0, weight: 5, routerPending: true });
    expect(d.action).toEqual({ kind: 'set-weight', weight: 5, why: 'starting at 5%' });
    expect(d.audit?.action).toBe('rollout.started');
    expect(isActive(h.rollout)).toBe(true);

    h.wait(0.5);
    d = h.confirm();
    expect(d.next).toMatchObject({ routerPending: false, stepStartedAtMs: T0 + 0.5 * MIN });
    expect(d.action).toEqual({
      kind: 'github-status',
      state: 'in_progress',
      description: '5% of traffic on v2',
    });

    // Before the interval: nothing to do, nothing to write.
    const before = h.rollout;
    expect(analysisDue(before, basePolicy, h.nowMs + 4 * MIN)).toBe(false);
    d = h.wait(4).tick({ analysis: pass });
    expect(d).toEqual({ next: before, action: { kind: 'none' }, audit: null });

    // The step went live at :30, so its first whole minute starts at T0+1; five complete minutes (T0+1..T0+6)
    // are there once the last one has ended and its lateness (15 s) passed: not at T0+5.5, at T0+6.5.
    for (const [stepIndex, weight] of [
      [1, 25],
      [2, 50],
    ] as const) {
      h.wait(1);
      expect(analysisDue(h.rollout, basePolicy, h.nowMs)).toBe(false);
      h.wait(1);
      expect(analysisDue(h.rollout, basePolicy, h.nowMs)).toBe(true);
      const stepLive = h.rollout.stepStartedAtMs;
      d = h.tick({ analysis: pass });
      expect(d.next).toMatchObject({ phase: 'progressing', stepIndex, weight, routerPending: true });
      expect(d.next.lastAnalysis).toMatchObject({
        verdict: 'pass',
        atMs: h.nowMs,
        fromMs: Math.ceil(stepLive / MIN) * MIN,
        toMs: Math.ceil(stepLive / MIN) * MIN + 5 * MIN,
      });
      expect(d.action).toMatchObject({ kind: 'set-weight', weight });
      expect(d.audit).toMatchObject({
        action: 'rollout.step',
        details: { verdict: 'pass', nextPercent: weight },
      });
      d = h.confirm();
      expect(d.action).toMatchObject({ kind: 'github-status', state: 'in_progress' });
      h.wait(4);
    }

    h.wait(2);
    d = h.tick({ analysis: pass });
    expect(d.next).toMatchObject({ phase: 'promoting', stepIndex: 3, weight: 100 });
    expect(d.action).toMatchObject({ kind: 'set-weight', weight: 100 });
    d = h.confirm();
    expect(d.next.phase).toBe('succeeded');
    expect(d.action).toEqual({
      kind: 'github-status',
      state: 'success',
      description: 'promoted: 100% of traffic on v2',
    });
    expect(d.audit?.action).toBe('rollout.succeeded');
    expect(d.alert).toBeUndefined();
    expect(isActive(h.rollout)).toBe(false);

    const done = h.rollout;
    expect(h.wait(60).tick({ analysis: fail })).toEqual({
      next: done,
      action: { kind: 'none' },
      audit: null,
    });
  });

  it('follows an edited policy: the next step is the smallest above the current weight', () => {
    const h = new Harness().started();
    h.policy = { ...basePolicy, steps: [10, 60, 100] };
    const d = h.analyse(pass);
    expect(d.next).toMatchObject({ weight: 10, stepIndex: 0 });
  });
});

describe('canary: failures roll back at the threshold', () => {
  it('fail, fail -> rolling-back (weight 0) -> rolled-back: within threshold intervals plus one', () => {
    const h = new Harness().started();
    let d = h.analyse(fail);
    expect(d.next).toMatchObject({ phase: 'progressing', weight: 5, failedAnalyses: 1 });
    expect(d.action).toEqual({ kind: 'none' });
    expect(d.audit?.action).toBe('rollout.analysis-fail');
    expect(d.alert).toBeUndefined();

    d = h.analyse(fail);
    expect(d.next).toMatchObject({ phase: 'rolling-back', weight: 0, failedAnalyses: 2 });
    expect(d.action).toMatchObject({ kind: 'set-weight', weight: 0 });
    expect(d.alert?.severity).toBe('critical');
    expect(d.audit).toMatchObject({
      action: 'rollout.rolling-back',
      details: { fromWeight: 5, threshold: 2 },
    });

    d = h.confirm();
    expect(d.next.phase).toBe('rolled-back');
    expect(d.action).toMatchObject({ kind: 'github-status', state: 'failure' });
    expect((d.action as { description: string }).description).toContain('2 failed analyses (threshold 2)');
    expect(isActive(h.rollout)).toBe(false);
  });

  it('counts failures over the whole rollout, not only consecutive ones', () => {
    const h = new Harness().started();
    h.analyse(fail);
    h.analyse(pass);
    expect(h.rollout).toMatchObject({ weight: 25, failedAnalyses: 1 });
    h.confirm();
    expect(h.analyse(fail).next.phase).toBe('rolling-back');
  });

  it('rolls back from a step waiting for approval too', () => {
    const h = new Harness({ approvals: [25] }).started();
    h.analyse(pass);
    expect(h.phase).toBe('waiting-approval');
    h.analyse(fail);
    expect(h.phase).toBe('waiting-approval');
    expect(h.analyse(fail).next).toMatchObject({ phase: 'rolling-back', weight: 0 });
  });
});

describe('canary: inconclusive analyses and the progress deadline', () => {
  it('inconclusive holds the weight and counts nothing; a pass moves on', () => {
    const h = new Harness().started();
    const d = h.analyse(inconclusive);
    expect(d.next).toMatchObject({ phase: 'progressing', weight: 5, failedAnalyses: 0 });
    expect(d.next.reason).toContain('inconclusive');
    expect(d.action).toEqual({ kind: 'none' });
    expect(d.audit?.action).toBe('rollout.analysis-inconclusive');
    expect(h.analyse(pass).next.weight).toBe(25);
  });

  it('no passing analysis within progressDeadlineMinutes -> paused for a human, then resume restarts it', () => {
    const h = new Harness().started();
    for (let i = 0; i < 5; i++) expect(h.analyse(inconclusive).next.phase).toBe('progressing');
    const d = h.analyse(inconclusive); // 30 minutes without progress
    expect(d.next).toMatchObject({ phase: 'paused', pausedFrom: 'progressing', weight: 5 });
    expect(d.action).toMatchObject({ kind: 'github-status', state: 'in_progress' });
    expect(d.alert?.severity).toBe('warning');
    expect(d.audit?.action).toBe('rollout.deadline-paused');

    h.command('resume');
    expect(h.rollout).toMatchObject({ phase: 'progressing', lastProgressAtMs: h.nowMs });
    expect(h.analyse(inconclusive).next.phase).toBe('progressing');
  });

  it('the deadline also runs when no analysis arrives at all', () => {
    const h = new Harness().started();
    expect(h.wait(29).tick().audit).toBeNull();
    expect(h.wait(1).tick().next.phase).toBe('paused');
  });
});

describe('canary: approvals', () => {
  it('waits at 25% for approval to go to 50%, analysing meanwhile; approve moves on once', () => {
    const h = new Harness({ approvals: [50] }).started();
    h.analyse(pass);
    h.confirm();
    let d = h.analyse(pass);
    expect(d.next).toMatchObject({ phase: 'waiting-approval', weight: 25 });
    expect(d.action).toMatchObject({
      kind: 'github-status',
      state: 'in_progress',
      description: 'analysis passed at 25%; waiting for approval to go to 50%',
    });

    expect(h.wait(120).tick().audit).toBeNull(); // no deadline while waiting for a human
    expect(h.analyse(pass).next.phase).toBe('waiting-approval');

    d = h.command('approve', 'dashboards look fine', 'ok-1');
    expect(d.next).toMatchObject({ phase: 'progressing', weight: 50, stepIndex: 2 });
    expect(d.action).toMatchObject({ kind: 'set-weight', weight: 50 });
    expect(d.audit).toMatchObject({
      action: 'rollout.approve',
      actor: { type: 'admin', id: 'admin-uid' },
      details: { commandId: 'ok-1', commandReason: 'dashboards look fine' },
    });
    h.confirm();
    expect(h.analyse(pass).next.phase).toBe('promoting');
  });

  it('an approval on the first step holds the start; one on 100 gates the promotion', () => {
    const first = new Harness({ approvals: [5] });
    expect(first.tick().next).toMatchObject({ phase: 'waiting-approval', weight: 0, stepIndex: -1 });
    expect(first.command('approve').next).toMatchObject({ phase: 'progressing', weight: 5, stepIndex: 0 });

    const last = new Harness({ approvals: [100] }).started();
    for (let i = 0; i < 2; i++) {
      last.analyse(pass);
      last.confirm();
    }
    expect(last.analyse(pass).next).toMatchObject({ phase: 'waiting-approval', weight: 50 });
    expect(last.command('approve').next).toMatchObject({ phase: 'promoting', weight: 100 });
  });
});

describe('canary: deployFreeze blocks every weight increase, never a rollback', () => {
  it('a pending rollout does not start; audited once', () => {
    const h = new Harness();
    h.deployFreeze = true;
    const d = h.tick();
    expect(d.next.phase).toBe('pending');
    expect(d.audit?.action).toBe('rollout.waiting');
    expect(h.wait(1).tick().audit).toBeNull();
    h.deployFreeze = false;
    expect(h.wait(1).tick().next.phase).toBe('progressing');
  });

  it('a passing canary holds its weight (and is not paused by the deadline); failures still roll back', () => {
    const h = new Harness().started();
    h.deployFreeze = true;
    for (let i = 0; i < 8; i++) {
      const d = h.analyse(pass);
      expect(d.next).toMatchObject({ phase: 'progressing', weight: 5 });
      expect(d.action).toEqual({ kind: 'none' });
      expect(d.audit?.action).toBe('rollout.held');
    }
    h.analyse(fail);
    expect(h.analyse(fail).next).toMatchObject({ phase: 'rolling-back', weight: 0 });
  });

  it('refuses approve and promote-now; rollback-now goes through', () => {
    const h = new Harness({ approvals: [25] }).started();
    h.analyse(pass);
    h.deployFreeze = true;
    expect(h.command('approve').audit?.reason).toMatch(/^approve refused: deployFreeze is on/);
    expect(h.command('promote-now').audit?.reason).toMatch(/^promote-now refused: deployFreeze is on/);
    expect(h.phase).toBe('waiting-approval');
    expect(h.command('rollback-now').next).toMatchObject({ phase: 'rolling-back', weight: 0 });
  });
});

describe('canary: admin commands, each applied exactly once', () => {
  it.each<[CommandAction, Partial<RolloutState>, string]>([
    ['pause', { phase: 'paused', pausedFrom: 'progressing', weight: 5 }, 'github-status'],
    ['abort', { phase: 'rolling-back', weight: 0 }, 'set-weight'],
    ['rollback-now', { phase: 'rolling-back', weight: 0 }, 'set-weight'],
    ['promote-now', { phase: 'promoting', weight: 100, stepIndex: 3 }, 'set-weight'],
  ])('%s from progressing', (action, expected, kind) => {
    const h = new Harness().started();
    const d = h.command(action, 'on call says so', 'cmd-1');
    expect(d.next).toMatchObject(expected);
    expect(d.next.commandsSeen).toEqual(['cmd-1']);
    expect(d.action.kind).toBe(kind);
    expect(d.audit).toMatchObject({
      action: `rollout.${action}`,
      reason: `${action} by admin-uid: on call says so`,
      actor: { type: 'admin', id: 'admin-uid' },
    });
    // Delivered again (the clear was lost): ignored, the tick goes on as without it.
    const again = h.command(action, 'on call says so', 'cmd-1');
    expect(again.audit?.action ?? null).not.toBe(`rollout.${action}`);
    expect(again.next.commandsSeen).toEqual(['cmd-1']);
  });

  it('pause holds the weight; a failing analysis while paused alerts but moves nothing; resume goes back', () => {
    const h = new Harness().started();
    h.command('pause');
    for (let i = 0; i < 3; i++) {
      const d = h.analyse(fail);
      expect(d.next).toMatchObject({ phase: 'paused', weight: 5, failedAnalyses: i + 1 });
      expect(d.action).toEqual({ kind: 'none' });
      expect(d.alert?.severity).toBe('warning');
    }
    expect(h.wait(120).tick().audit).toBeNull();
    const d = h.command('resume');
    expect(d.next).toMatchObject({ phase: 'progressing', pausedFrom: null, stepStartedAtMs: h.nowMs });
    expect(h.analyse(fail).next.phase).toBe('rolling-back');
  });

  it('pause and resume a pending rollout; abort before any traffic ends it without a weight change', () => {
    const h = new Harness();
    expect(h.command('pause').next).toMatchObject({ phase: 'paused', pausedFrom: 'pending' });
    expect(isActive(h.rollout)).toBe(false);
    expect(h.command('resume').next.phase).toBe('pending');
    const d = h.command('abort', 'wrong build');
    expect(d.next).toMatchObject({ phase: 'rolled-back', weight: 0 });
    expect(d.action).toMatchObject({ kind: 'github-status', state: 'failure' });
  });

  it('promote-now rolls forward to succeeded; abort mid-flight rolls back to rolled-back', () => {
    const forward = new Harness().started();
    forward.command('promote-now', 'hotfix for the outage');
    expect(forward.confirm().next.phase).toBe('succeeded');

    const back = new Harness().started();
    back.analyse(pass);
    back.confirm();
    back.command('abort');
    expect(back.confirm().next).toMatchObject({ phase: 'rolled-back', weight: 0 });
  });

  it('remembers the last MAX_COMMANDS_SEEN command ids', () => {
    const h = new Harness().started();
    for (let i = 0; i < MAX_COMMANDS_SEEN + 5; i++) h.command(i % 2 ? 'resume' : 'pause', 'toggle', `t${i}`);
    expect(h.rollout.commandsSeen).toHaveLength(MAX_COMMANDS_SEEN);
    expect(h.rollout.commandsSeen.at(-1)).toBe(`t${MAX_COMMANDS_SEEN + 4}`);
  });
});

describe('canary: commands not valid in the phase are refused, audited, and change nothing else', () => {
  const progressing = () => new Harness().started();
  const paused = () => {
    const h = new Harness().started();
    h.command('pause');
    return h;
  };
  const promoting = () => {
    const h = new Harness().started();
    h.command('promote-now');
    return h;
  };
  const rollingBack = () => {
    const h = new Harness().started();
    h.command('abort');
    return h;
  };
  const succeeded = () => {
    const h = promoting();
    h.confirm();
    return h;
  };
  const pendingBehindOther = () => new Harness();

  it.each<[string, () => Harness, CommandAction, string, Partial<TickInput>?]>([
    [
      'approve while progressing',
      progressing,
      'approve',
      'only a rollout waiting for approval can be approved',
    ],
    ['resume while progressing', progressing, 'resume', 'only a paused rollout can be resumed'],
    ['pause while paused', paused, 'pause', 'already paused'],
    ['pause while promoting', promoting, 'pause', 'the rollout is promoting'],
    ['abort while rolling back', rollingBack, 'abort', 'already rolling back'],
    ['promote-now while rolling back', rollingBack, 'promote-now', 'the rollout is rolling back'],
    ['rollback-now once succeeded', succeeded, 'rollback-now', 'the rollout is succeeded'],
    [
      'promote-now past another active rollout',
      pendingBehindOther,
      'promote-now',
      'rollout r0 of checkout is active',
      { otherActive: 'r0' },
    ],
  ])('%s', (_name, make, action, why, extra = {}) => {
    const h = make();
    const before = h.rollout;
    const d = h.tick({ ...extra, command: { id: 'x', action, reason: 'try', by: 'admin-uid' } });
    expect(d.next).toEqual({
      ...before,
      commandsSeen: [...before.commandsSeen, 'x'],
      commandLog: [
        ...before.commandLog,
        {
          id: 'x',
          action,
          by: 'admin-uid',
          writtenAtMs: null,
          handledAtMs: expect.any(Number),
          outcome: 'refused',
          why: expect.stringContaining(why),
        },
      ],
    });
    expect(d.action).toEqual({ kind: 'none' });
    expect(d.audit?.action).toBe('rollout.command-refused');
    expect(d.audit?.actor).toEqual({ type: 'admin', id: 'admin-uid' });
    expect(d.audit?.reason).toContain(why);
  });

  it('promote-now needs a reason', () => {
    const h = new Harness().started();
    expect(h.command('promote-now', '  ').audit?.reason).toBe(
      'promote-now refused: promote-now needs a reason',
    );
  });
});

describe('canary: invalid policy', () => {
  it('keeps a pending rollout from starting: failed, with the reason on the rollout, GitHub and the audit', () => {
    const h = new Harness({ invalid: "field 'steps[3]' must be 100" });
    const d = h.tick();
    expect(d.next).toMatchObject({
      phase: 'failed',
      weight: 0,
      reason: "canaryPolicies/checkout is invalid: field 'steps[3]' must be 100",
    });
    expect(d.action).toMatchObject({ kind: 'github-status', state: 'failure' });
    expect(d.audit?.action).toBe('rollout.refused');
    expect(d.alert?.severity).toBe('warning');
    expect(h.tick().audit).toBeNull();
  });

  it('holds an active rollout (alerted once) until the policy is valid again; abort still works', () => {
    const h = new Harness().started();
    h.policy = { invalid: "field 'intervalMinutes' must be >= 1" };
    let d = h.analyse(pass);
    expect(d.next).toMatchObject({
      phase: 'progressing',
      weight: 5,
      policyError: "field 'intervalMinutes' must be >= 1",
    });
    expect(d.alert?.severity).toBe('warning');
    expect(h.analyse(pass).audit).toBeNull();
    expect(h.command('approve').audit?.action).toBe('rollout.command-refused');

    h.policy = basePolicy;
    d = h.tick();
    expect(d.next.policyError).toBeNull();
    expect(d.audit?.action).toBe('rollout.policy-valid');
    expect(h.command('abort').next.phase).toBe('rolling-back');
  });
});

describe('canary: one active rollout per service, and superseding', () => {
  it('a pending rollout waits behind another active one, audited once', () => {
    const h = new Harness();
    const d = h.tick({ otherActive: 'r0' });
    expect(d.next).toMatchObject({
      phase: 'pending',
      reason: 'waiting for rollout r0 of checkout to finish',
    });
    expect(h.wait(1).tick({ otherActive: 'r0' }).audit).toBeNull();
    expect(h.wait(1).tick().next.phase).toBe('progressing');
  });

  it('a newer request supersedes a pending rollout: never a weight change, GitHub status inactive', () => {
    const h = new Harness();
    h.tick({ otherActive: 'r0' });
    const d = h.tick({ otherActive: 'r0', supersededBy: 'r2' });
    expect(d.next).toMatchObject({ phase: 'superseded', supersededBy: 'r2', weight: 0 });
    expect(d.action).toEqual({ kind: 'github-status', state: 'inactive', description: 'superseded by r2' });
    expect(d.audit?.action).toBe('rollout.superseded');
    expect(h.tick().audit).toBeNull();
  });

  it('never supersedes a rollout that routes traffic', () => {
    const h = new Harness().started();
    expect(h.analyse(pass).next).toMatchObject({ phase: 'progressing', weight: 25 });
    expect(h.tick({ supersededBy: 'r2', routerResult: { ok: true, weight: 25 } }).next.phase).toBe(
      'progressing',
    );
  });
});

describe('canary: router failures', () => {
  it(`retries a failed weight change, then after ${MAX_ROUTER_ERRORS} fails with traffic restored to the baseline`, () => {
    const h = new Harness().started();
    h.analyse(pass);
    for (let i = 1; i < MAX_ROUTER_ERRORS; i++) {
      const d = h.tick({ routerResult: { ok: false, error: 'UNAVAILABLE' } });
      expect(d.next).toMatchObject({ phase: 'progressing', routerErrors: i, routerPending: true });
      expect(d.action).toMatchObject({ kind: 'set-weight', weight: 25 });
      expect(d.audit?.action).toBe('rollout.router-retry');
    }
    let d = h.tick({ routerResult: { ok: false, error: 'UNAVAILABLE' } });
    expect(d.next).toMatchObject({ phase: 'failed', weight: 0, routerErrors: MAX_ROUTER_ERRORS });
    expect(d.action).toMatchObject({ kind: 'set-weight', weight: 0 });
    expect(d.alert?.severity).toBe('critical');
    expect(d.audit?.action).toBe('rollout.failed');

    d = h.confirm();
    expect(d.next.routerPending).toBe(false);
    expect(d.action).toMatchObject({ kind: 'github-status', state: 'failure' });
    expect((d.action as { description: string }).description).toContain('the router failed 3 times');
    expect(d.audit?.action).toBe('rollout.baseline-restored');
    expect(h.tick().audit).toBeNull();
  });

  it('a wrong read-back counts as a failure; a success resets the count', () => {
    const h = new Harness();
    h.tick();
    let d = h.tick({ routerResult: { ok: true, weight: 0 } });
    expect(d.next.routerErrors).toBe(1);
    expect(d.audit?.reason).toContain('the router reads back 0%, expected 5%');
    d = h.confirm();
    expect(d.next).toMatchObject({ routerErrors: 0, routerPending: false });
  });

  it('no answer from the router: set the weight again, count nothing', () => {
    const h = new Harness();
    h.tick();
    const d = h.tick();
    expect(d.action).toMatchObject({ kind: 'set-weight', weight: 5 });
    expect(d.next).toMatchObject({ routerErrors: 0, routerPending: true });
    expect(d.audit?.action).toBe('rollout.router-reissue');
  });

  it('a failed restore is reported once, critically, and not retried', () => {
    const h = new Harness();
    h.tick();
    for (let i = 0; i < MAX_ROUTER_ERRORS; i++) h.tick({ routerResult: { ok: false, error: 'DOWN' } });
    const d = h.tick({ routerResult: { ok: false, error: 'DOWN' } });
    expect(d.next).toMatchObject({ phase: 'failed', routerPending: false });
    expect(d.action).toMatchObject({ kind: 'github-status', state: 'failure' });
    expect(d.alert?.severity).toBe('critical');
    expect(h.tick().audit).toBeNull();
  });
});

describe('canary: analyses judge complete minutes only', () => {
  const policy = { intervalMinutes: 1, windowLatenessSeconds: 15 };
  const live = (stepStartedAtMs: number) => ({ stepStartedAtMs });

  it('never reads the minute that has just begun, nor one whose lateness has not passed', () => {
    // Step live at 12:00:30; the first whole minute is 12:01, complete with its lateness at 12:02:15.
    const r = live(T0 + 0.5 * MIN);
    expect(analysisWindow(r, policy, T0 + 1.5 * MIN)).toEqual({ fromMs: T0 + MIN, toMs: T0 + MIN });
    expect(analysisWindow(r, policy, T0 + 2 * MIN + 14_000).toMs).toBe(T0 + MIN);
    expect(analysisWindow(r, policy, T0 + 2 * MIN + 15_000)).toEqual({
      fromMs: T0 + MIN,
      toMs: T0 + 2 * MIN,
    });
  });

  it('judges exactly intervalMinutes whole minutes, none begun before the step', () => {
    const p = { intervalMinutes: 5, windowLatenessSeconds: 0 };
    expect(analysisWindow(live(T0), p, T0 + 30 * MIN)).toEqual({
      fromMs: T0 + 25 * MIN,
      toMs: T0 + 30 * MIN,
    });
    expect(analysisWindow(live(T0 + 10_000), p, T0 + 5 * MIN)).toEqual({
      fromMs: T0 + MIN,
      toMs: T0 + 5 * MIN,
    });
  });

  it('a due analysis covers a full interval; the next one starts where it ended', () => {
    const h = new Harness({ intervalMinutes: 1 });
    h.started(); // live at T0
    h.wait(1);
    expect(analysisDue(h.rollout, h.policy as CanaryPolicy, h.nowMs)).toBe(false); // 12:01:00, lateness
    h.wait(1);
    expect(analysisDue(h.rollout, h.policy as CanaryPolicy, h.nowMs)).toBe(true);
    const d = h.tick({ analysis: inconclusive });
    expect(d.next.lastAnalysis).toMatchObject({ fromMs: T0, toMs: T0 + MIN });
    expect(d.next.stepStartedAtMs).toBe(T0 + MIN);
    h.wait(1); // the next minute is complete now: analyses keep up, one a minute
    expect(analysisDue(h.rollout, h.policy as CanaryPolicy, h.nowMs)).toBe(true);
  });
});

describe('canary: a step starts when its weight went live', () => {
  it("takes the router's confirmation time, not the later tick that folds it in", () => {
    const h = new Harness({ intervalMinutes: 1 });
    h.tick(); // decides 5% at T0; the controller sets it right after the commit, confirmed live at T0+2s
    h.nowMs = T0 + MIN + 500; // the next scheduled tick starts half a second after the minute
    const d = h.tick({ routerResult: { ok: true, weight: 5, atMs: T0 + 2_000 } });
    expect(d.next.stepStartedAtMs).toBe(T0 + 2_000);
    // The first whole minute at 5% is T0+1, complete with its lateness at T0+2:15: judged by the tick at T0+3
    // (from the fold's own time it would be T0+2 and the tick at T0+4).
    h.nowMs = T0 + 3 * MIN + 500;
    expect(analysisDue(h.rollout, h.policy as CanaryPolicy, h.nowMs)).toBe(true);
    expect(analysisWindow(h.rollout, h.policy as CanaryPolicy, h.nowMs)).toEqual({
      fromMs: T0 + MIN,
      toMs: T0 + 2 * MIN,
    });
  });
});

describe('canary: command order and outcomes', () => {
  it('applies queued commands in the order they were written, whatever order they were queued in', async () => {
    const { nextCommand } = await import('../../functions/src/canary/controller');
    const c = (id: string, atMs?: number) => ({ id, action: 'pause' as const, reason: '', by: 'u', atMs });
    // Queued by triggers that ran out of order: 'b' (written second) was queued first.
    const pendingCommands = [c('b', 2_000), c('a', 1_000), c('d', 2_000), c('c', 2_000)];
    expect(nextCommand({ pendingCommands, commandsSeen: [] })?.id).toBe('a');
    expect(nextCommand({ pendingCommands, commandsSeen: ['a'] })?.id).toBe('b');
    expect(nextCommand({ pendingCommands, commandsSeen: ['a', 'b', 'c'] })?.id).toBe('d');
    expect(nextCommand({ pendingCommands, commandsSeen: ['a', 'b', 'c', 'd'] })).toBeUndefined();
  });

  it('records what became of each applied command on the rollout, the last 20', () => {
    const h = new Harness().started();
    const d = h.command('pause', 'look at the logs');
    expect(d.next.commandLog.at(-1)).toMatchObject({ action: 'pause', outcome: 'applied', by: 'admin-uid' });
    expect(d.next.commandLog.at(-1)!.why).toContain('look at the logs');
  });
});
