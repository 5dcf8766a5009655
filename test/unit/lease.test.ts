import { describe, it, expect } from 'vitest';
import {
  decideLease,
  mayRelease,
  type LeaseDecision,
  type LeaseState,
} from '../../functions/src/platform/domain/lease';

const NOW = 1_000_000;
const TTL = 60_000;

describe('decideLease', () => {
  it.each<[string, LeaseState | undefined, string, LeaseDecision]>([
    [
      'free (no lease document) -> acquired with fencing 1',
      undefined,
      'run-a',
      { acquired: true, next: { owner: 'run-a', expiresAtMs: NOW + TTL, fencing: 1 } },
    ],
    [
      'expired long ago -> acquired, fencing incremented',
      { owner: 'run-b', expiresAtMs: NOW - 10_000, fencing: 7 },
      'run-a',
      { acquired: true, next: { owner: 'run-a', expiresAtMs: NOW + TTL, fencing: 8 } },
    ],
    [
      'expiring exactly now counts as expired',
      { owner: 'run-b', expiresAtMs: NOW, fencing: 3 },
      'run-a',
      { acquired: true, next: { owner: 'run-a', expiresAtMs: NOW + TTL, fencing: 4 } },
    ],
    [
      'held by another owner (1 ms left) -> refused',
      { owner: 'run-b', expiresAtMs: NOW + 1, fencing: 3 },
      'run-a',
      { acquired: false, heldBy: 'run-b', expiresAtMs: NOW + 1 },
    ],
    [
      'held by another owner (long) -> refused',
      { owner: 'run-b', expiresAtMs: NOW + TTL * 10, fencing: 99 },
      'run-a',
      { acquired: false, heldBy: 'run-b', expiresAtMs: NOW + TTL * 10 },
    ],
    [
      're-acquire by the same owner while held -> acquired, extended, fencing incremented',
      { owner: 'run-a', expiresAtMs: NOW + 5_000, fencing: 4 },
      'run-a',
      { acquired: true, next: { owner: 'run-a', expiresAtMs: NOW + TTL, fencing: 5 } },
    ],
    [
      're-acquire by the same owner after expiry -> acquired, fencing incremented',
      { owner: 'run-a', expiresAtMs: NOW - 1, fencing: 4 },
      'run-a',
      { acquired: true, next: { owner: 'run-a', expiresAtMs: NOW + TTL, fencing: 5 } },
    ],
    [
      'owner comparison is exact (case-sensitive)',
      { owner: 'Run-A', expiresAtMs: NOW + 5_000, fencing: 1 },
      'run-a',
      { acquired: false, heldBy: 'Run-A', expiresAtMs: NOW + 5_000 },
    ],
    [
      'fencing 0 on the stored lease -> 1',
      { owner: 'x', expiresAtMs: 0, fencing: 0 },
      'run-a',
      { acquired: true, next: { owner: 'run-a', expiresAtMs: NOW + TTL, fencing: 1 } },
    ],
  ])('%s', (_name, current, owner, expected) => {
    expect(decideLease(current, owner, NOW, TTL)).toEqual(expected);
  });

  it('fencing increases by exactly one on every acquisition across owners', () => {
    let state: LeaseState | undefined;
    const fencings: number[] = [];
    const owners = ['a', 'b', 'a', 'c', 'c'];
    owners.forEach((owner, i) => {
      const now = NOW + i * TTL; // each run starts once the previous lease has expired
      const d = decideLease(state, owner, now, TTL);
      if (!d.acquired) throw new Error(`expected acquisition at step ${i}`);
      expect(d.next.owner).toBe(owner);
      expect(d.next.expiresAtMs).toBe(now + TTL);
      fencings.push(d.next.fencing);
      state = d.next;
    });
    expect(fencings).toEqual([1, 2, 3, 4, 5]);
  });

  it('a second run overlapping the first is refused, then wins once the first expires', () => {
    const first = decideLease(undefined, 'run-1', NOW, TTL);
    expect(first.acquired).toBe(true);
    if (!first.acquired) return;
    expect(decideLease(first.next, 'run-2', NOW + TTL - 1, TTL)).toEqual({
      acquired: false,
      heldBy: 'run-1',
      expiresAtMs: NOW + TTL,
    });
    expect(decideLease(first.next, 'run-2', NOW + TTL, TTL)).toEqual({
      acquired: true,
      next: { owner: 'run-2', expiresAtMs: NOW + 2 * TTL, fencing: 2 },
    });
  });

  it('does not mutate the current state', () => {
    const current: LeaseState = { owner: 'a', expiresAtMs: NOW - 1, fencing: 2 };
    decideLease(current, 'b', NOW, TTL);
    expect(current).toEqual({ owner: 'a', expiresAtMs: NOW - 1, fencing: 2 });
  });

  it.each([0, -1, -60_000, NaN])('ttl %d throws RangeError', (ttl) => {
    expect(() => decideLease(undefined, 'a', NOW, ttl)).toThrow(RangeError);
    expect(() => decideLease(undefined, 'a', NOW, ttl)).toThrow('lease ttl must be positive');
  });

  it('ttl is checked even when the lease is held by someone else', () => {
    const held: LeaseState = { owner: 'b', expiresAtMs: NOW + TTL, fencing: 1 };
    expect(() => decideLease(held, 'a', NOW, 0)).toThrow('lease ttl must be positive');
  });

  it('a 1 ms ttl is accepted', () => {
    expect(decideLease(undefined, 'a', NOW, 1)).toEqual({
      acquired: true,
      next: { owner: 'a', expiresAtMs: NOW + 1, fencing: 1 },
    });
  });
});

describe('mayRelease', () => {
  const current: LeaseState = { owner: 'run-a', expiresAtMs: NOW + TTL, fencing: 5 };

  it.each<[string, LeaseState | undefined, string, number, boolean]>([
    ['same owner and fencing', current, 'run-a', 5, true],
    ['same owner and fencing even after expiry', { ...current, expiresAtMs: NOW - 1 }, 'run-a', 5, true],
    ['same owner, older fencing (lease was re-acquired)', current, 'run-a', 4, false],
    ['same owner, newer fencing', current, 'run-a', 6, false],
    ['other owner, same fencing', current, 'run-b', 5, false],
    ['other owner and fencing', current, 'run-b', 1, false],
    ['no lease', undefined, 'run-a', 5, false],
  ])('%s -> %s', (_name, state, owner, fencing, expected) => {
    expect(mayRelease(state, owner, fencing)).toBe(expected);
  });

  it('a run whose lease was taken over cannot release the new holder', () => {
    const a = decideLease(undefined, 'run-a', NOW, TTL);
    if (!a.acquired) throw new Error('run-a should acquire');
    const b = decideLease(a.next, 'run-b', NOW + TTL + 1, TTL);
    if (!b.acquired) throw new Error('run-b should acquire');
    expect(mayRelease(b.next, 'run-a', a.next.fencing)).toBe(false);
    expect(mayRelease(b.next, 'run-b', b.next.fencing)).toBe(true);
  });
});
