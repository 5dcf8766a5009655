// The rotation state machine, tick by tick (flagger's scheduler_test in spirit).
import { describe, expect, it } from 'vitest';
import {
  decide,
  newRotation,
  nextAction,
  rotationDue,
  type RotationStatus,
  type RotationStep,
  type StepResult,
} from '../../functions/src/rotation/domain/rotation';
import { MIN, DAY } from '../support/time';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
const start = () =>
  newRotation({
    id: 'r1',
    secretId: 's1',
    strategy: 'random-token',
    timing: { gracePeriodMinutes: 60, destroyAfterDays: 30, maxAttempts: 3 },
  });

const ok = (extra: Partial<Extract<StepResult, { ok: true }>> = {}): StepResult => ({ ok: true, ...extra });
const fail = (permanent: boolean): StepResult => ({ ok: false, error: 'boom', permanent });

/** Runs `step` through decide and returns the new status. */
function tick(s: RotationStatus, step: RotationStep, result: StepResult, now = T0) {
  expect(nextAction(s, now)).toEqual({ kind: 'run', step });
  return decide(s, step, result, now);
}

describe('rotation: the happy path, tick by tick', () => {
  it('create -> apply -> test -> finish -> grace -> retire -> retired -> destroy -> completed', () => {
    let s = start();
    let d = tick(s, 'create', ok({ newVersion: '2', oldVersion: '1' }));
    expect(d.status).toMatchObject({
      phase: 'apply',
      newVersion: '2',
      oldVersion: '1',
      attempts: { create: 1 },
    });
    expect(d.audit.action).toBe('rotation.create');
    s = d.status;
    s = tick(s, 'apply', ok()).status;
    expect(s.phase).toBe('test');
    s = tick(s, 'test', ok()).status;
    expect(s.phase).toBe('finish');
    d = tick(s, 'finish', ok());
    expect(d.status).toMatchObject({ phase: 'grace', graceEndsAtMs: T0 + 60 * MIN });
    expect(d.audit.reason).toContain('version 2 is current, 1 previous until');
    s = d.status;

    expect(nextAction(s, T0 + 59 * MIN)).toEqual({ kind: 'wait', untilMs: T0 + 60 * MIN });
    expect(nextAction(s, T0 + 60 * MIN)).toEqual({ kind: 'run', step: 'retire' });
    d = decide(s, 'retire', ok(), T0 + 60 * MIN);
    expect(d.status).toMatchObject({ phase: 'retired', destroyAtMs: T0 + 60 * MIN + 30 * DAY });
    s = d.status;
    expect(nextAction(s, T0 + 29 * DAY)).toMatchObject({ kind: 'wait' });
    expect(nextAction(s, T0 + 31 * DAY)).toEqual({ kind: 'run', step: 'destroy' });
    s = decide(s, 'destroy', ok(), T0 + 31 * DAY).status;
    expect(s.phase).toBe('completed');
    expect(nextAction(s, T0 + 40 * DAY)).toEqual({ kind: 'done' });
  });

  it('a secret with no previous version completes at retire (nothing to destroy)', () => {
    let s = start();
    s = decide(s, 'create', ok({ newVersion: '1', oldVersion: null }), T0).status;
    s = decide(
      decide(decide(s, 'apply', ok(), T0).status, 'test', ok(), T0).status,
      'finish',
      ok(),
      T0,
    ).status;
    expect(decide(s, 'retire', ok(), T0 + 2 * 60 * MIN).status).toMatchObject({
      phase: 'completed',
      destroyAtMs: null,
    });
  });
});

describe('rotation: failures', () => {
  it.each<[RotationStep, boolean, number, string]>([
    ['create', true, 1, 'rollback'],
    ['apply', true, 1, 'rollback'],
    ['test', true, 1, 'rollback'],
    ['apply', false, 3, 'rollback'],
    ['test', false, 3, 'rollback'],
    ['finish', false, 3, 'failed'],
    ['retire', true, 1, 'failed'],
  ])('%s failing (permanent %s) %i time(s) -> %s', (step, permanent, times, phase) => {
    let s: RotationStatus = { ...start(), phase: step === 'retire' ? 'grace' : step, graceEndsAtMs: T0 - 1 };
    for (let i = 1; i < times; i++) {
      const d = decide(s, step, fail(permanent), T0);
      expect(d.status.phase).toBe(s.phase);
      expect(d.audit.action).toBe('rotation.step-retry');
      s = d.status;
    }
    const d = decide(s, step, fail(permanent), T0);
    expect(d.status.phase).toBe(phase);
    expect(d.status.failedStep).toBe(step);
    expect(d.status.error).toBe('boom');
    if (phase === 'failed') expect(d.alert?.severity).toBe('critical');
  });

  it('a completed rollback ends failed with a critical alert naming the step', () => {
    const s: RotationStatus = {
      ...start(),
      phase: 'rollback',
      failedStep: 'test',
      error: 'ping not verified',
      oldVersion: '1',
      newVersion: '2',
    };
    const d = decide(s, 'rollback', ok(), T0);
    expect(d.status.phase).toBe('failed');
    expect(d.audit.action).toBe('rotation.rolled-back');
    expect(d.alert).toMatchObject({ severity: 'critical' });
    expect(d.alert!.text).toContain('Version 1 stays current');
    expect(d.alert!.text).toContain('pending version 2 is disabled');
  });

  it('never puts a value in an audit reason or alert: versions by number only', () => {
    const s: RotationStatus = { ...start(), phase: 'finish', oldVersion: '7', newVersion: '8' };
    const d = decide(s, 'finish', ok(), T0);
    expect(d.audit.reason).toMatch(/version 8 is current, 7 previous/);
  });
});

describe('rotationDue', () => {
  it.each([
    [undefined, null, false],
    [30, null, true],
    [30, T0 - 29 * DAY, false],
    [30, T0 - 30 * DAY, true],
  ])('interval %s, last %s -> %s', (interval, last, due) => {
    expect(rotationDue(interval, last, T0)).toBe(due);
  });
});
