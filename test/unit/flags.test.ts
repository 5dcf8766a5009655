import { describe, it, expect } from 'vitest';
import { jsonDigest, type JsonValue } from '../../functions/src/platform/domain/canonical-json';
import {
  RESERVED_FLAGS,
  decideFlagWrite,
  isReservedFlag,
  reservedDefault,
  revertRecord,
  type FlagDecision,
  type FlagWriteInput,
  type RevertRecord,
  type ValidationOutcome,
} from '../../functions/src/flags/domain/flags';

const V1 = { enabled: false, rolloutPercent: 0, description: 'checkout v2' };
const V2 = { enabled: true, rolloutPercent: 10, description: 'checkout v2' };
const V3 = { enabled: true, rolloutPercent: 50, description: 'checkout v2' };
const BAD = { enabled: true, rolloutPercent: 101, description: 'checkout v2' };
const BAD_REASON = "flags/checkout: field 'rolloutPercent' must be <= 100";
const STALE_WHY = 'a later write has replaced this one; that write is judged on its own';

const valid = (value: JsonValue): ValidationOutcome => ({ kind: 'valid', value });
const invalid = (reason = BAD_REASON, field = 'rolloutPercent'): ValidationOutcome => ({
  kind: 'invalid',
  reason,
  field,
});
const invalidNoField = (reason: string): ValidationOutcome => ({ kind: 'invalid', reason });
const absent: ValidationOutcome = { kind: 'absent' };

function write(over: Partial<FlagWriteInput>): FlagWriteInput {
  return {
    key: 'checkout',
    before: null,
    after: absent,
    lastValid: undefined,
    isLatestWrite: true,
    ...over,
  };
}

describe('reserved flags', () => {
  it('lists exactly deployFreeze and maintenanceMode', () => {
    expect([...RESERVED_FLAGS]).toEqual(['deployFreeze', 'maintenanceMode']);
  });

  it.each([
    ['deployFreeze', true],
    ['maintenanceMode', true],
    ['DeployFreeze', false],
    ['deployfreeze', false],
    ['deployFreeze2', false],
    ['checkout', false],
    ['', false],
  ])('isReservedFlag(%j) = %s', (key, expected) => {
    expect(isReservedFlag(key)).toBe(expected);
  });

  it('reservedDefault is disabled, 0% and describes itself', () => {
    expect(reservedDefault('deployFreeze')).toStrictEqual({
      enabled: false,
      rolloutPercent: 0,
      description: 'reserved flag deployFreeze (restored by fireops)',
    });
  });
});

describe('revertRecord', () => {
  it('holds the digests of from and to, not the values', () => {
    expect(revertRecord(BAD, V1)).toStrictEqual({ fromDigest: jsonDigest(BAD), toDigest: jsonDigest(V1) });
    expect(revertRecord(null, V1).fromDigest).toBe(jsonDigest(null));
    expect(JSON.stringify(revertRecord(BAD, V1))).not.toContain('rolloutPercent');
  });
});

describe('decideFlagWrite', () => {
  it.each<[string, FlagWriteInput, FlagDecision]>([
    // ---- valid writes
    [
      'valid create (never recorded)',
      write({ before: null, after: valid(V1), lastValid: undefined }),
      {
        kind: 'accept',
        action: 'flag.created',
        after: V1,
        diff: {
          enabled: { from: null, to: false },
          rolloutPercent: { from: null, to: 0 },
          description: { from: null, to: 'checkout v2' },
        },
      },
    ],
    [
      'valid create after a valid deletion (lastValid null)',
      write({ before: null, after: valid(V2), lastValid: null }),
      {
        kind: 'accept',
        action: 'flag.created',
        after: V2,
        diff: {
          enabled: { from: null, to: true },
          rolloutPercent: { from: null, to: 10 },
          description: { from: null, to: 'checkout v2' },
        },
      },
    ],
    [
      'valid update: diff against lastValid',
      write({ before: V1, after: valid(V2), lastValid: V1 }),
      {
        kind: 'accept',
        action: 'flag.updated',
        after: V2,
        diff: { enabled: { from: false, to: true }, rolloutPercent: { from: 0, to: 10 } },
      },
    ],
    [
      'valid update after a reverted invalid edit: diff against lastValid, not the invalid before',
      write({ before: BAD, after: valid(V3), lastValid: V2 }),
      {
        kind: 'accept',
        action: 'flag.updated',
        after: V3,
        diff: { rolloutPercent: { from: 10, to: 50 } },
      },
    ],
    [
      'valid update with no recorded lastValid: diff against before',
      write({ before: V1, after: valid(V2), lastValid: undefined }),
      {
        kind: 'accept',
        action: 'flag.updated',
        after: V2,
        diff: { enabled: { from: false, to: true }, rolloutPercent: { from: 0, to: 10 } },
      },
    ],
    [
      'adding and removing optional fields shows up in the diff',
      write({
        before: V1,
        after: valid({ enabled: false, rolloutPercent: 0, expiresAt: '2030-01-01T00:00:00.000Z' }),
        lastValid: V1,
      }),
      {
        kind: 'accept',
        action: 'flag.updated',
        after: { enabled: false, rolloutPercent: 0, expiresAt: '2030-01-01T00:00:00.000Z' },
        diff: {
          description: { from: 'checkout v2', to: null },
          expiresAt: { from: null, to: '2030-01-01T00:00:00.000Z' },
        },
      },
    ],
    // ---- noop
    [
      'noop: same as lastValid (re-save)',
      write({ before: V2, after: valid(V2), lastValid: V2 }),
      { kind: 'noop' },
    ],
    [
      'noop: same as lastValid in another key order',
      write({
        before: V2,
        after: valid({ description: 'checkout v2', rolloutPercent: 10, enabled: true }),
        lastValid: V2,
      }),
      { kind: 'noop' },
    ],
    [
      'noop: the write event of our own restore to lastValid',
      write({ before: BAD, after: valid(V2), lastValid: V2, lastRevert: revertRecord(BAD, V2) }),
      { kind: 'noop' },
    ],
    [
      'noop: our own revert of an invalid create (delete) recognised via revertRecord',
      write({ before: BAD, after: absent, lastValid: undefined, lastRevert: revertRecord(BAD, null) }),
      { kind: 'noop' },
    ],
    [
      'noop: our own restore of a reserved default recognised via revertRecord',
      write({
        key: 'deployFreeze',
        before: null,
        after: valid(reservedDefault('deployFreeze')),
        lastValid: undefined,
        lastRevert: revertRecord(null, reservedDefault('deployFreeze')),
      }),
      { kind: 'noop' },
    ],
    [
      'noop: deletion of an already validly deleted flag',
      write({ before: null, after: absent, lastValid: null }),
      { kind: 'noop' },
    ],
    // ---- revertRecord that does not match is not a noop
    [
      'not our revert: from digest differs -> judged as an admin deletion',
      write({ before: V1, after: absent, lastValid: undefined, lastRevert: revertRecord(BAD, null) }),
      {
        kind: 'accept',
        action: 'flag.deleted',
        after: null,
        diff: {
          enabled: { from: false, to: null },
          rolloutPercent: { from: 0, to: null },
          description: { from: 'checkout v2', to: null },
        },
      },
    ],
    [
      'not our revert: to digest differs -> judged as an admin edit of before',
      write({ before: BAD, after: valid(V1), lastValid: undefined, lastRevert: revertRecord(BAD, null) }),
      {
        kind: 'accept',
        action: 'flag.updated',
        after: V1,
        diff: { enabled: { from: true, to: false }, rolloutPercent: { from: 101, to: 0 } },
      },
    ],
    // ---- invalid writes
    [
      'invalid update, latest -> restore lastValid',
      write({ before: V2, after: invalid(), lastValid: V2 }),
      {
        kind: 'reject',
        reason: BAD_REASON,
        field: 'rolloutPercent',
        revert: { kind: 'restore', value: V2 },
      },
    ],
    [
      'invalid update, not latest -> revert none',
      write({ before: V2, after: invalid(), lastValid: V2, isLatestWrite: false }),
      {
        kind: 'reject',
        reason: BAD_REASON,
        field: 'rolloutPercent',
        revert: { kind: 'none', why: STALE_WHY },
      },
    ],
    [
      'invalid create with no lastValid -> restore null (delete)',
      write({ before: null, after: invalid(), lastValid: undefined }),
      {
        kind: 'reject',
        reason: BAD_REASON,
        field: 'rolloutPercent',
        revert: { kind: 'restore', value: null },
      },
    ],
    [
      'invalid create after a valid deletion -> restore null (delete)',
      write({ before: null, after: invalid(), lastValid: null }),
      {
        kind: 'reject',
        reason: BAD_REASON,
        field: 'rolloutPercent',
        revert: { kind: 'restore', value: null },
      },
    ],
    [
      'invalid without a field -> no field key',
      write({ before: V1, after: invalidNoField('flags/checkout: not an object'), lastValid: V1 }),
      {
        kind: 'reject',
        reason: 'flags/checkout: not an object',
        revert: { kind: 'restore', value: V1 },
      },
    ],
    [
      'invalid write to a reserved flag with no lastValid -> restore its default',
      write({ key: 'maintenanceMode', before: null, after: invalid(), lastValid: undefined }),
      {
        kind: 'reject',
        reason: BAD_REASON,
        field: 'rolloutPercent',
        revert: { kind: 'restore', value: reservedDefault('maintenanceMode') },
      },
    ],
    // ---- deletions
    [
      'reserved flag deletion -> reject and restore lastValid',
      write({ key: 'deployFreeze', before: V2, after: absent, lastValid: V2 }),
      {
        kind: 'reject',
        reason: "flag 'deployFreeze' is reserved and cannot be deleted",
        revert: { kind: 'restore', value: V2 },
      },
    ],
    [
      'reserved flag deletion with no lastValid -> reject and restore the reserved default',
      write({ key: 'maintenanceMode', before: V1, after: absent, lastValid: undefined }),
      {
        kind: 'reject',
        reason: "flag 'maintenanceMode' is reserved and cannot be deleted",
        revert: { kind: 'restore', value: reservedDefault('maintenanceMode') },
      },
    ],
    [
      'reserved flag deletion, not latest -> reject, revert none',
      write({ key: 'deployFreeze', before: V2, after: absent, lastValid: V2, isLatestWrite: false }),
      {
        kind: 'reject',
        reason: "flag 'deployFreeze' is reserved and cannot be deleted",
        revert: { kind: 'none', why: STALE_WHY },
      },
    ],
    [
      'non-reserved deletion -> accept flag.deleted, diff from lastValid',
      write({ before: V2, after: absent, lastValid: V2 }),
      {
        kind: 'accept',
        action: 'flag.deleted',
        after: null,
        diff: {
          enabled: { from: true, to: null },
          rolloutPercent: { from: 10, to: null },
          description: { from: 'checkout v2', to: null },
        },
      },
    ],
    // ---- stale (overtaken) valid writes
    [
      'stale valid update diffs against its own before, not the newer lastValid',
      write({ before: V1, after: valid(V2), lastValid: V3, isLatestWrite: false }),
      {
        kind: 'accept',
        action: 'flag.updated',
        after: V2,
        diff: { enabled: { from: false, to: true }, rolloutPercent: { from: 0, to: 10 } },
      },
    ],
    [
      'stale valid create is a create even if lastValid exists',
      write({ before: null, after: valid(V1), lastValid: V3, isLatestWrite: false }),
      {
        kind: 'accept',
        action: 'flag.created',
        after: V1,
        diff: {
          enabled: { from: null, to: false },
          rolloutPercent: { from: null, to: 0 },
          description: { from: null, to: 'checkout v2' },
        },
      },
    ],
    [
      'stale valid deletion diffs against its own before',
      write({ before: V1, after: absent, lastValid: V3, isLatestWrite: false }),
      {
        kind: 'accept',
        action: 'flag.deleted',
        after: null,
        diff: {
          enabled: { from: false, to: null },
          rolloutPercent: { from: 0, to: null },
          description: { from: 'checkout v2', to: null },
        },
      },
    ],
    [
      'stale valid write equal to lastValid is still a noop',
      write({ before: V1, after: valid(V3), lastValid: V3, isLatestWrite: false }),
      { kind: 'noop' },
    ],
  ])('%s', (_name, input, expected) => {
    expect(decideFlagWrite(input)).toStrictEqual(expected);
  });

  it('does not mutate its input', () => {
    const input = write({ before: structuredClone(V1), after: valid(structuredClone(V2)), lastValid: V1 });
    const copy = structuredClone(input);
    decideFlagWrite(input);
    expect(input).toStrictEqual(copy);
  });

  describe('tick by tick, as the trigger applies decisions', () => {
    // A minimal model of the adapter: the document, the recorded last valid state and the last revert.
    interface World {
      doc: JsonValue; // null: no document
      lastValid: JsonValue | undefined;
      lastRevert: RevertRecord | undefined;
    }

    function apply(
      world: World,
      key: string,
      next: JsonValue,
      outcome: ValidationOutcome,
    ): { decision: FlagDecision; followUp?: { before: JsonValue; after: JsonValue } } {
      const before = world.doc;
      world.doc = next;
      const decision = decideFlagWrite({
        key,
        before,
        after: outcome,
        lastValid: world.lastValid,
        isLatestWrite: true,
        lastRevert: world.lastRevert,
      });
      if (decision.kind === 'accept') world.lastValid = decision.after;
      if (decision.kind === 'reject' && decision.revert.kind === 'restore') {
        const restored = decision.revert.value;
        world.lastRevert = revertRecord(next, restored);
        if (world.lastValid === undefined) world.lastValid = restored;
        world.doc = restored;
        return { decision, followUp: { before: next, after: restored } };
      }
      return { decision };
    }

    /** The write event caused by fireops' own restore. */
    function echo(world: World, key: string, ev: { before: JsonValue; after: JsonValue }): FlagDecision {
      return decideFlagWrite({
        key,
        before: ev.before,
        after: ev.after === null ? absent : valid(ev.after),
        lastValid: world.lastValid,
        isLatestWrite: true,
        lastRevert: world.lastRevert,
      });
    }

    it('create, update, re-save, invalid edit + own revert echo, delete', () => {
      const w: World = { doc: null, lastValid: undefined, lastRevert: undefined };

      const t1 = apply(w, 'checkout', V1, valid(V1));
      expect(t1.decision).toMatchObject({ kind: 'accept', action: 'flag.created' });

      const t2 = apply(w, 'checkout', V2, valid(V2));
      expect(t2.decision).toStrictEqual({
        kind: 'accept',
        action: 'flag.updated',
        after: V2,
        diff: { enabled: { from: false, to: true }, rolloutPercent: { from: 0, to: 10 } },
      });

      expect(apply(w, 'checkout', V2, valid(V2)).decision).toStrictEqual({ kind: 'noop' });

      const t4 = apply(w, 'checkout', BAD, invalid());
      expect(t4.decision).toStrictEqual({
        kind: 'reject',
        reason: BAD_REASON,
        field: 'rolloutPercent',
        revert: { kind: 'restore', value: V2 },
      });
      expect(w.doc).toStrictEqual(V2);
      expect(echo(w, 'checkout', t4.followUp!)).toStrictEqual({ kind: 'noop' });

      const t5 = apply(w, 'checkout', V3, valid(V3));
      expect(t5.decision).toStrictEqual({
        kind: 'accept',
        action: 'flag.updated',
        after: V3,
        diff: { rolloutPercent: { from: 10, to: 50 } },
      });

      const t6 = apply(w, 'checkout', null, absent);
      expect(t6.decision).toMatchObject({ kind: 'accept', action: 'flag.deleted', after: null });
      expect(w.lastValid).toBeNull();

      const t7 = apply(w, 'checkout', V1, valid(V1));
      expect(t7.decision).toMatchObject({ kind: 'accept', action: 'flag.created', after: V1 });
    });

    it('invalid create is deleted, and the deletion echo is not audited as an admin deletion', () => {
      const w: World = { doc: null, lastValid: undefined, lastRevert: undefined };
      const t1 = apply(w, 'newFlag', BAD, invalid());
      expect(t1.decision).toMatchObject({ kind: 'reject', revert: { kind: 'restore', value: null } });
      expect(w.doc).toBeNull();
      expect(echo(w, 'newFlag', t1.followUp!)).toStrictEqual({ kind: 'noop' });
    });

    it('a reserved flag deleted before seeding is restored to its default, and the echo is a noop', () => {
      const w: World = { doc: V1, lastValid: undefined, lastRevert: undefined };
      const t1 = apply(w, 'deployFreeze', null, absent);
      expect(t1.decision).toStrictEqual({
        kind: 'reject',
        reason: "flag 'deployFreeze' is reserved and cannot be deleted",
        revert: { kind: 'restore', value: reservedDefault('deployFreeze') },
      });
      expect(w.doc).toStrictEqual(reservedDefault('deployFreeze'));
      expect(echo(w, 'deployFreeze', t1.followUp!)).toStrictEqual({ kind: 'noop' });
    });
  });
});
