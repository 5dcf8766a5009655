import { describe, expect, it } from 'vitest';
import {
  backupId,
  drillDue,
  exportPrefix,
  judgeCounts,
  judgeDrill,
  judgeProgress,
  stableSample,
  type OperationStatus,
} from '../../functions/src/backups/domain/backup';
import { MIN, DAY } from '../support/time';

const T0 = Date.parse('2026-11-28T02:00:00Z');

function op(partial: Partial<OperationStatus>): OperationStatus {
  return { done: false, progressDocuments: 0, progressBytes: 0, ...partial };
}

describe('exportPrefix and backupId', () => {
  it('lays exports out by UTC date and time under the database', () => {
    expect(exportPrefix('bvester-backups', '(default)', T0)).toBe(
      'gs://bvester-backups/(default)/2026/11/28/020000',
    );
    expect(exportPrefix('b', 'ledger', Date.parse('2027-01-05T23:04:09.999Z'))).toBe(
      'gs://b/ledger/2027/01/05/230409',
    );
  });

  it('names a backup by its start instant, so one schedule time gives one id', () => {
    expect(backupId(T0)).toBe('20261128T020000Z');
    expect(backupId(T0 + 999)).toBe('20261128T020000Z');
    expect(backupId(T0 + 1000)).toBe('20261128T020001Z');
  });
});

describe('judgeProgress', () => {
  const last = { documents: 100, bytes: 1000, atMs: T0 };

  it('fails an operation that ended with an error, naming it', () => {
    const v = judgeProgress(
      op({ done: true, error: { code: 13, message: 'disk on fire' } }),
      last,
      T0,
      60 * MIN,
    );
    expect(v).toEqual({ kind: 'failed', reason: 'error', message: 'export failed: disk on fire (code 13)' });
  });

  it('hands a finished operation to the count check', () => {
    expect(judgeProgress(op({ done: true, progressDocuments: 5 }), last, T0, MIN)).toEqual({
      kind: 'finished',
    });
  });

  it('keeps a moving export running and says it progressed', () => {
    expect(
      judgeProgress(op({ progressDocuments: 101, progressBytes: 1000 }), last, T0 + 90 * MIN, 60 * MIN),
    ).toEqual({
      kind: 'running',
      progressed: true,
    });
    expect(
      judgeProgress(op({ progressDocuments: 100, progressBytes: 1001 }), last, T0 + 90 * MIN, 60 * MIN),
    ).toEqual({
      kind: 'running',
      progressed: true,
    });
  });

  it('waits until the stall time has passed without progress, then fails it as stalled', () => {
    const same = op({ progressDocuments: 100, progressBytes: 1000 });
    expect(judgeProgress(same, last, T0 + 59 * MIN, 60 * MIN)).toEqual({
      kind: 'running',
      progressed: false,
    });
    const v = judgeProgress(same, last, T0 + 60 * MIN, 60 * MIN);
    expect(v.kind).toBe('failed');
    expect(v).toMatchObject({ reason: 'stalled' });
    expect((v as { message: string }).message).toContain('no progress for 60 min');
  });
});

describe('judgeCounts (the tolerance rule)', () => {
  it('verifies an export holding at least the smaller count of each collection', () => {
    expect(judgeCounts(150, { a: 100, b: 50 }, { a: 100, b: 50 }, 0)).toEqual({
      kind: 'verified',
      exported: 150,
      floor: 150,
    });
    // Documents created meanwhile, or subcollections, push the export above the floor: fine.
    expect(judgeCounts(170, { a: 100, b: 50 }, { a: 120, b: 50 }, 0).kind).toBe('verified');
  });

  it('lowers the floor by documents deleted while the export ran', () => {
    // 10 of `a` were deleted during the export: 140 may be all the snapshot held.
    expect(judgeCounts(140, { a: 100, b: 50 }, { a: 90, b: 50 }, 0)).toEqual({
      kind: 'verified',
      exported: 140,
      floor: 140,
    });
  });

  it('reports a shortfall below the floor, with the numbers', () => {
    const v = judgeCounts(149, { a: 100, b: 50 }, { a: 100, b: 50 }, 0);
    expect(v).toEqual({
      kind: 'shortfall',
      exported: 149,
      floor: 150,
      message: 'export holds 149 documents, expected at least 150 (1 missing)',
    });
  });

  it('takes a collection gone at the end as 0, and honours the configured tolerance', () => {
    expect(judgeCounts(50, { a: 100, b: 50 }, { b: 50 }, 0).kind).toBe('verified');
    expect(judgeCounts(145, { a: 100, b: 50 }, { a: 100, b: 50 }, 5).kind).toBe('verified');
    expect(judgeCounts(144, { a: 100, b: 50 }, { a: 100, b: 50 }, 5).kind).toBe('shortfall');
    expect(judgeCounts(0, { a: 1 }, { a: 1 }, 10)).toEqual({ kind: 'verified', exported: 0, floor: 0 });
  });
});

describe('stableSample', () => {
  it('keeps only documents whose update time did not change, and counts the rest', () => {
    const atStart = [
      { path: 'a/1', digest: 'd1', updateTimeMs: 1 },
      { path: 'a/2', digest: 'd2', updateTimeMs: 2 },
      { path: 'a/3', digest: 'd3', updateTimeMs: 3 },
    ];
    const now = new Map<string, number | undefined>([
      ['a/1', 1],
      ['a/2', 20], // updated during the export
      ['a/3', undefined], // deleted during the export
    ]);
    expect(stableSample(atStart, now)).toEqual({ sample: [{ path: 'a/1', digest: 'd1' }], dropped: 2 });
  });
});

describe('judgeDrill', () => {
  const expected = {
    countsAtStart: { a: 100, b: 50 },
    countsAtEnd: { a: 104, b: 50 },
    toleranceDocuments: 0,
    sample: [
      { path: 'a/1', digest: 'x' },
      { path: 'b/9', digest: 'y' },
    ],
  };
  const digests = new Map([
    ['a/1', 'x'],
    ['b/9', 'y'],
  ]);

  it('passes when counts lie between start and end and every sampled digest matches', () => {
    const v = judgeDrill(expected, { a: 102, b: 50 }, digests);
    expect(v).toEqual({
      ok: true,
      mismatches: [],
      summary: '2 collection count(s) and 2 sampled document(s) match',
    });
  });

  it('names a count outside the band, a missing document and a changed one', () => {
    const v = judgeDrill(
      expected,
      { a: 99, b: 50 },
      new Map([
        ['a/1', 'tampered'],
        ['b/9', undefined],
      ]),
    );
    expect(v.ok).toBe(false);
    expect(v.mismatches).toEqual([
      { kind: 'count', target: 'a', expected: '100..104', actual: '99' },
      { kind: 'digest', target: 'a/1', expected: 'x', actual: 'tampered' },
      { kind: 'missing', target: 'b/9', expected: 'y', actual: 'absent' },
    ]);
    expect(v.summary).toMatch(/^3 mismatch\(es\): count a expected 100\.\.104 got 99/);
  });

  it('fails a restore with more documents than the export could hold, and a collection that did not come back', () => {
    expect(judgeDrill(expected, { a: 105, b: 50 }, digests).mismatches).toEqual([
      { kind: 'count', target: 'a', expected: '100..104', actual: '105' },
    ]);
    expect(judgeDrill(expected, { a: 100 }, digests).mismatches).toEqual([
      { kind: 'count', target: 'b', expected: '50', actual: '0' },
    ]);
  });
});

describe('drillDue', () => {
  const drill = { enabled: true, everyDays: 7 };
  it('is due with no drill on record, and not without a verified backup or when disabled', () => {
    expect(drillDue(drill, undefined, { id: 'b1' }, T0)).toEqual({ due: true, why: 'no drill on record' });
    expect(drillDue(drill, undefined, undefined, T0).due).toBe(false);
    expect(drillDue({ ...drill, enabled: false }, undefined, { id: 'b1' }, T0).due).toBe(false);
  });

  it('waits everyDays after the last drill, and never drills a backup a passed drill proved', () => {
    const last = { startedAtMs: T0, backupId: 'b1', passed: true };
    expect(drillDue(drill, last, { id: 'b2' }, T0 + 6.9 * DAY).due).toBe(false);
    expect(drillDue(drill, last, { id: 'b2' }, T0 + 7 * DAY).due).toBe(true);
    expect(drillDue(drill, last, { id: 'b1' }, T0 + 30 * DAY)).toMatchObject({ due: false });
  });

  it("an admin's request makes a drill due once, until a drill starts after it; never while disabled", () => {
    const last = { startedAtMs: T0, backupId: 'b1', passed: true };
    const requested = { ...drill, requestedAtMs: T0 + DAY };
    expect(drillDue(requested, last, { id: 'b1' }, T0 + 2 * DAY)).toEqual({
      due: true,
      why: `requested at ${new Date(T0 + DAY).toISOString()}`,
    });
    const after = { startedAtMs: T0 + 2 * DAY, backupId: 'b1', passed: true };
    expect(drillDue(requested, after, { id: 'b1' }, T0 + 3 * DAY).due).toBe(false);
    expect(drillDue({ ...requested, enabled: false }, last, { id: 'b1' }, T0 + 2 * DAY).due).toBe(false);
    expect(drillDue(requested, last, undefined, T0 + 2 * DAY).due).toBe(false);
  });

  it('tries the backup of a failed drill again after everyDays', () => {
    const last = { startedAtMs: T0, backupId: 'b1', passed: false };
    expect(drillDue(drill, last, { id: 'b1' }, T0 + 6 * DAY).due).toBe(false);
    expect(drillDue(drill, last, { id: 'b1' }, T0 + 7 * DAY).due).toBe(true);
  });
});
