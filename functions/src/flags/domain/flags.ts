// What to do with one write to `flags/{key}`. The trigger validates with the zod schema, reads the system's
// record of the last valid state and whether the write is still the document's latest, then applies this.
import { jsonDigest, type JsonValue } from '../../platform/domain/canonical-json';
import { diffFields, sameJson, type FieldDiff } from '../../platform/domain/diff';

/** Pauses every canary rollout while `enabled` is true (canary/controller.ts). */
export const DEPLOY_FREEZE_FLAG = 'deployFreeze';
/** Suspends health incidents and alerts while `enabled` is true (health/engine.ts). */
export const MAINTENANCE_MODE_FLAG = 'maintenanceMode';
export const RESERVED_FLAGS = [DEPLOY_FREEZE_FLAG, MAINTENANCE_MODE_FLAG] as const;

export function isReservedFlag(key: string): boolean {
  return (RESERVED_FLAGS as readonly string[]).includes(key);
}

/** What a reserved flag is restored to when it has never had a valid state (it was deleted before seeding). */
export function reservedDefault(key: string): JsonValue {
  return { enabled: false, rolloutPercent: 0, description: `reserved flag ${key} (restored by fireops)` };
}

/** Digests (not values) of what a revert replaced and what it wrote. */
export interface RevertRecord {
  fromDigest: string;
  toDigest: string;
}

export function revertRecord(from: JsonValue, to: JsonValue): RevertRecord {
  return { fromDigest: jsonDigest(from), toDigest: jsonDigest(to) };
}

export type ValidationOutcome =
  | { kind: 'absent' }
  | { kind: 'valid'; value: JsonValue }
  | { kind: 'invalid'; reason: string; field?: string };

export interface FlagWriteInput {
  key: string;
  before: JsonValue; // null when the document did not exist
  after: ValidationOutcome;
  /** The system's last accepted state: undefined if never recorded, null if the flag was validly deleted. */
  lastValid: JsonValue | undefined;
  /** Whether the document still holds this write (false when a later write has already landed). */
  isLatestWrite: boolean;
  /**
   * fireops' last revert of this flag (the invalid content it replaced, and what it wrote): the write event of
   * that revert is the system's own, not an admin edit, and must not be audited as one or loop.
   */
  lastRevert?: RevertRecord | undefined;
}

export type FlagDecision =
  /** Nothing changed from the last accepted state (a re-save, or the document after our own revert). */
  | { kind: 'noop' }
  | {
      kind: 'accept';
      action: 'flag.created' | 'flag.updated' | 'flag.deleted';
      after: JsonValue;
      diff: FieldDiff;
    }
  | {
      kind: 'reject';
      reason: string;
      field?: string;
      /** `restore` writes `value` back (null deletes the document); `none` leaves a later write alone. */
      revert: { kind: 'restore'; value: JsonValue } | { kind: 'none'; why: string };
    };

export function decideFlagWrite(input: FlagWriteInput): FlagDecision {
  const { key, before, after, lastValid, isLatestWrite, lastRevert } = input;
  let outcome = after;
  if (outcome.kind === 'absent' && isReservedFlag(key)) {
    outcome = { kind: 'invalid', reason: `flag '${key}' is reserved and cannot be deleted` };
  }

  if (outcome.kind === 'invalid') {
    // A reserved flag always comes back, even when its last recorded state is a deletion from before it was reserved.
    const restoreTo =
      lastValid != null ? lastValid : isReservedFlag(key) ? reservedDefault(key) : (lastValid ?? null);
    return {
      kind: 'reject',
      reason: outcome.reason,
      ...(outcome.field !== undefined ? { field: outcome.field } : {}),
      revert: isLatestWrite
        ? { kind: 'restore', value: restoreTo }
        : { kind: 'none', why: 'a later write has replaced this one; that write is judged on its own' },
    };
  }

  const value = outcome.kind === 'valid' ? outcome.value : null;
  if (lastValid !== undefined && sameJson(lastValid, value)) return { kind: 'noop' };
  if (
    lastRevert &&
    lastRevert.fromDigest === jsonDigest(before) &&
    lastRevert.toDigest === jsonDigest(value)
  ) {
    return { kind: 'noop' };
  }
  // Diff against the last accepted state, not `before`: `before` may be an invalid edit that was reverted. A write
  // already overtaken by a later one is diffed against its own `before`, since lastValid may be newer than it.
  const from = isLatestWrite && lastValid !== undefined ? lastValid : before;
  const action = value === null ? 'flag.deleted' : from === null ? 'flag.created' : 'flag.updated';
  return { kind: 'accept', action, after: value, diff: diffFields(from, value) };
}
