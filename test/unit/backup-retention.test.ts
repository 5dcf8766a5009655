// Grandfather-father-son retention: which exports survive, which are deleted, and when nothing may be deleted.
import { describe, expect, it } from 'vitest';
import {
  isFireopsPrefix,
  planRetention,
  type BackupState,
  type KeepReason,
  type RetentionBackup,
  type RetentionPlan,
  type RetentionPolicy,
} from '../../functions/src/backups/domain/retention';
import { DAY } from '../support/time';

const SCOPE = { bucket: 'ops-backups', database: '(default)' };

const policy = (daily: number, weekly: number, monthly: number, timeZone = 'UTC'): RetentionPolicy => ({
  daily,
  weekly,
  monthly,
  timeZone,
});

/** The prefix fireops writes for an export started at `ms` (UTC path, as the export trigger names it). */
function prefixAt(ms: number, scope = SCOPE): string {
  const iso = new Date(ms).toISOString(); // 2026-02-28T02:00:00.000Z
  const [y, m, d] = iso.slice(0, 10).split('-');
  const hms = iso.slice(11, 19).replaceAll(':', '');
  return `gs://${scope.bucket}/${scope.database}/${y}/${m}/${d}/${hms}`;
}

/** A backup whose id is its start instant as written (`2026-03-01T01:30Z`) unless given. */
function backup(at: string, state: BackupState = 'verified', id = at): RetentionBackup {
  const startedAt = Date.parse(at);
  return { id, state, startedAt, outputUriPrefix: prefixAt(startedAt) };
}

/** A verified export every day at 02:00 UTC from `from` to `to` inclusive, id `yyyy-mm-dd`. */
function dailyExports(from: string, to: string): RetentionBackup[] {
  const out: RetentionBackup[] = [];
  for (let ms = Date.parse(`${from}T02:00:00Z`); ms <= Date.parse(`${to}T02:00:00Z`); ms += DAY) {
    out.push({
      id: new Date(ms).toISOString().slice(0, 10),
      state: 'verified',
      startedAt: ms,
      outputUriPrefix: prefixAt(ms),
    });
  }
  return out;
}

const keptIds = (plan: RetentionPlan) => plan.keep.map((k) => k.id);
const deletedIds = (plan: RetentionPlan) => plan.delete.map((d) => d.id);
const reasonsOf = (plan: RetentionPlan, id: string): KeepReason[] | undefined =>
  plan.keep.find((k) => k.id === id)?.reasons;

/** Each non-deleted backup is in exactly one list, and every kept one says why. */
function expectPartition(backups: readonly RetentionBackup[], plan: RetentionPlan) {
  const live = backups.filter((b) => b.state !== 'deleted').map((b) => b.id);
  expect([...keptIds(plan), ...deletedIds(plan)].sort()).toEqual([...live].sort());
  for (const k of plan.keep) expect(k.reasons.length).toBeGreaterThan(0);
}

describe('planRetention: grandfather-father-son selection', () => {
  const year = dailyExports('2025-01-01', '2026-02-28'); // 14 months, 424 exports, newest a Saturday

  it('keeps exactly the expected exports for daily 3 / weekly 2 / monthly 2', () => {
    const plan = planRetention(year, policy(3, 2, 2), SCOPE);
    expect(plan.blocked).toBeUndefined();
    expect(plan.keep).toEqual([
      { id: '2026-02-28', reasons: ['newest-verified', 'daily', 'weekly', 'monthly'] },
      { id: '2026-02-27', reasons: ['daily'] },
      { id: '2026-02-26', reasons: ['daily'] },
      { id: '2026-02-22', reasons: ['weekly'] }, // Sunday: newest of the week starting Monday 16 February
      { id: '2026-01-31', reasons: ['monthly'] },
    ]);
    expect(plan.delete).toHaveLength(424 - 5);
    expect(plan.delete[0]).toEqual({
      id: '2026-02-25',
      outputUriPrefix: 'gs://ops-backups/(default)/2026/02/25/020000',
      why: expect.stringContaining('not among the newest 3 daily, 2 weekly or 2 monthly'),
    });
    expect(plan.delete.at(-1)?.id).toBe('2025-01-01');
    expectPartition(year, plan);
  });

  it('keeps 7 + 4 + 12 with overlaps under the defaults', () => {
    const plan = planRetention(year, policy(7, 4, 12), SCOPE);
    const withReason = (r: KeepReason) => plan.keep.filter((k) => k.reasons.includes(r)).map((k) => k.id);
    expect(withReason('daily')).toEqual([
      '2026-02-28',
      '2026-02-27',
      '2026-02-26',
      '2026-02-25',
      '2026-02-24',
      '2026-02-23',
      '2026-02-22',
    ]);
    expect(withReason('weekly')).toEqual(['2026-02-28', '2026-02-22', '2026-02-15', '2026-02-08']);
    expect(withReason('monthly')).toEqual([
      '2026-02-28',
      '2026-01-31',
      '2025-12-31',
      '2025-11-30',
      '2025-10-31',
      '2025-09-30',
      '2025-08-31',
      '2025-07-31',
      '2025-06-30',
      '2025-05-31',
      '2025-04-30',
      '2025-03-31',
    ]);
    // 7 daily, 2 weeklies not already daily, 11 monthlies not already kept.
    expect(plan.keep).toHaveLength(20);
    expect(plan.delete).toHaveLength(424 - 20);
    expectPartition(year, plan);
  });

  it('counts daily by exports, not by days: a retried export on the same day uses up one', () => {
    const backups = [backup('2026-02-10T02:00Z'), backup('2026-02-10T09:00Z'), backup('2026-02-09T02:00Z')];
    const plan = planRetention(backups, policy(2, 0, 0), SCOPE);
    expect(keptIds(plan)).toEqual(['2026-02-10T09:00Z', '2026-02-10T02:00Z']);
    expect(deletedIds(plan)).toEqual(['2026-02-09T02:00Z']);
  });

  it('keeps the newest export of each week, not the first', () => {
    // Monday 16, Wednesday 18 and Sunday 22 February 2026 are one ISO week; Sunday 15 is the week before.
    const backups = ['2026-02-22T02:00Z', '2026-02-18T02:00Z', '2026-02-16T02:00Z', '2026-02-15T02:00Z'].map(
      (at) => backup(at),
    );
    const plan = planRetention(backups, policy(0, 2, 0), SCOPE);
    expect(keptIds(plan)).toEqual(['2026-02-22T02:00Z', '2026-02-15T02:00Z']);
    expect(deletedIds(plan)).toEqual(['2026-02-18T02:00Z', '2026-02-16T02:00Z']);
  });

  it('does not let a week without exports use up the weekly allowance', () => {
    const backups = [
      backup('2026-02-25T02:00Z'), // week of 23 February
      backup('2026-02-11T02:00Z'), // week of 9 February (16 February's week has none)
      backup('2026-02-10T02:00Z'),
      backup('2026-02-04T02:00Z'), // week of 2 February
    ];
    const plan = planRetention(backups, policy(0, 2, 0), SCOPE);
    expect(keptIds(plan)).toEqual(['2026-02-25T02:00Z', '2026-02-11T02:00Z']);
    expect(deletedIds(plan)).toEqual(['2026-02-10T02:00Z', '2026-02-04T02:00Z']);
  });

  it('does not let a month without exports use up the monthly allowance', () => {
    const backups = [
      backup('2026-01-20T02:00Z'),
      backup('2025-11-30T02:00Z'), // December has none
      backup('2025-11-01T02:00Z'),
      backup('2025-10-15T02:00Z'),
      backup('2025-09-15T02:00Z'),
    ];
    const plan = planRetention(backups, policy(0, 0, 3), SCOPE);
    expect(keptIds(plan)).toEqual(['2026-01-20T02:00Z', '2025-11-30T02:00Z', '2025-10-15T02:00Z']);
    expect(deletedIds(plan)).toEqual(['2025-11-01T02:00Z', '2025-09-15T02:00Z']);
  });

  it('keeps only the newest verified export when every count is 0', () => {
    const backups = dailyExports('2026-02-01', '2026-02-05');
    const plan = planRetention(backups, policy(0, 0, 0), SCOPE);
    expect(plan.keep).toEqual([{ id: '2026-02-05', reasons: ['newest-verified'] }]);
    expect(deletedIds(plan)).toEqual(['2026-02-04', '2026-02-03', '2026-02-02', '2026-02-01']);
  });

  it('keeps a lone verified export as newest-verified with daily 0', () => {
    const only = [backup('2026-02-05T02:00Z')];
    expect(planRetention(only, policy(0, 0, 0), SCOPE).keep).toEqual([
      { id: '2026-02-05T02:00Z', reasons: ['newest-verified'] },
    ]);
    expect(planRetention(only, policy(0, 4, 12), SCOPE).keep).toEqual([
      { id: '2026-02-05T02:00Z', reasons: ['newest-verified', 'weekly', 'monthly'] },
    ]);
  });
});

describe('planRetention: failures, running exports and the safety block', () => {
  it('never keeps a failed export by the calendar rules and deletes failures older than the newest verified', () => {
    const backups = [
      backup('2026-02-10T02:00Z'),
      backup('2026-02-09T02:00Z', 'failed'),
      backup('2026-02-08T02:00Z'),
      backup('2026-02-07T02:00Z', 'failed'),
      backup('2026-02-06T02:00Z'),
      backup('2026-02-05T02:00Z'),
    ];
    const plan = planRetention(backups, policy(3, 1, 1), SCOPE);
    expect(keptIds(plan)).toEqual(['2026-02-10T02:00Z', '2026-02-08T02:00Z', '2026-02-06T02:00Z']);
    expect(plan.delete).toEqual([
      {
        id: '2026-02-09T02:00Z',
        outputUriPrefix: 'gs://ops-backups/(default)/2026/02/09/020000',
        why: 'failed export older than the newest verified backup 2026-02-10T02:00Z',
      },
      expect.objectContaining({ id: '2026-02-07T02:00Z', why: expect.stringMatching(/^failed export/) }),
      expect.objectContaining({ id: '2026-02-05T02:00Z', why: expect.stringMatching(/^verified/) }),
    ]);
  });

  it('deletes nothing when the newest export failed', () => {
    const backups = [backup('2026-02-11T02:00Z', 'failed'), ...dailyExports('2026-02-01', '2026-02-10')];
    const plan = planRetention(backups, policy(1, 0, 0), SCOPE);
    expect(plan.blocked).toBe(
      'newest backup 2026-02-11T02:00Z (2026-02-11T02:00:00.000Z) is failed, not verified: deleting nothing',
    );
    expect(plan.delete).toEqual([]);
    expect(plan.keep.slice(0, 3)).toEqual([
      { id: '2026-02-11T02:00Z', reasons: ['newer-than-newest-verified'] },
      { id: '2026-02-10', reasons: ['newest-verified', 'daily'] },
      { id: '2026-02-09', reasons: ['blocked'] },
    ]);
    expectPartition(backups, plan);
  });

  it('deletes nothing while the newest export is still running', () => {
    const backups = [backup('2026-02-11T02:00Z', 'running'), ...dailyExports('2026-02-01', '2026-02-10')];
    const plan = planRetention(backups, policy(1, 0, 0), SCOPE);
    expect(plan.blocked).toMatch(/is running, not verified/);
    expect(plan.delete).toEqual([]);
    expect(reasonsOf(plan, '2026-02-11T02:00Z')).toEqual(['running', 'newer-than-newest-verified']);
    expectPartition(backups, plan);
  });

  it('deletes nothing when no export is verified', () => {
    const backups = [
      backup('2026-02-11T02:00Z', 'failed'),
      backup('2026-02-10T02:00Z', 'running'),
      backup('2026-02-09T02:00Z', 'failed'),
    ];
    const plan = planRetention(backups, policy(7, 4, 12), SCOPE);
    expect(plan).toEqual({
      keep: [
        { id: '2026-02-11T02:00Z', reasons: ['blocked'] },
        { id: '2026-02-10T02:00Z', reasons: ['running'] },
        { id: '2026-02-09T02:00Z', reasons: ['blocked'] },
      ],
      delete: [],
      blocked: 'no verified backup: deleting nothing',
    });
  });

  it('plans nothing for no exports at all', () => {
    expect(planRetention([], policy(7, 4, 12), SCOPE)).toEqual({
      keep: [],
      delete: [],
      blocked: 'no backups: nothing to keep or delete',
    });
  });

  it('keeps a running export older than the newest verified one (its objects are still being written)', () => {
    const backups = [backup('2026-02-10T02:00Z'), backup('2026-02-09T02:00Z', 'running')];
    const plan = planRetention(backups, policy(1, 0, 0), SCOPE);
    expect(plan.blocked).toBeUndefined();
    expect(plan.keep).toEqual([
      { id: '2026-02-10T02:00Z', reasons: ['newest-verified', 'daily'] },
      { id: '2026-02-09T02:00Z', reasons: ['running'] },
    ]);
    expect(plan.delete).toEqual([]);
  });

  it('ignores deleted exports: they block nothing, count for nothing and appear nowhere', () => {
    const backups = [
      backup('2026-02-12T02:00Z', 'deleted'),
      backup('2026-02-11T02:00Z', 'deleted'),
      backup('2026-02-10T02:00Z'),
      backup('2026-02-09T02:00Z'),
      backup('2026-02-08T02:00Z'),
    ];
    const plan = planRetention(backups, policy(2, 0, 0), SCOPE);
    expect(plan.blocked).toBeUndefined();
    expect(keptIds(plan)).toEqual(['2026-02-10T02:00Z', '2026-02-09T02:00Z']);
    expect(deletedIds(plan)).toEqual(['2026-02-08T02:00Z']);
    expectPartition(backups, plan);
  });
});

describe('planRetention: deterministic output', () => {
  it('breaks startedAt ties by id, whatever the input order', () => {
    const at = Date.parse('2026-02-10T02:00Z');
    const tied = ['b', 'a', 'c'].map((id): RetentionBackup => ({
      id,
      state: 'verified',
      startedAt: at,
      outputUriPrefix: prefixAt(at),
    }));
    const plan = planRetention(tied, policy(1, 0, 0), SCOPE);
    expect(plan.keep).toEqual([{ id: 'c', reasons: ['newest-verified', 'daily'] }]);
    expect(deletedIds(plan)).toEqual(['b', 'a']);
    expect(planRetention([...tied].reverse(), policy(1, 0, 0), SCOPE)).toEqual(plan);
  });

  it('sorts both lists newest first regardless of input order', () => {
    const backups = dailyExports('2026-01-01', '2026-02-28');
    const shuffled = [...backups].sort((a, b) =>
      (a.id.slice(-1) + a.id).localeCompare(b.id.slice(-1) + b.id),
    );
    expect(planRetention(shuffled, policy(3, 2, 2), SCOPE)).toEqual(
      planRetention(backups, policy(3, 2, 2), SCOPE),
    );
    const plan = planRetention(shuffled, policy(3, 2, 2), SCOPE);
    expect(keptIds(plan)).toEqual([...keptIds(plan)].sort().reverse());
    expect(deletedIds(plan)).toEqual([...deletedIds(plan)].sort().reverse());
  });

  it('refuses duplicate ids, which would make keep and delete ambiguous', () => {
    const twice = [backup('2026-02-10T02:00Z', 'verified', 'x'), backup('2026-02-09T02:00Z', 'failed', 'x')];
    expect(() => planRetention(twice, policy(1, 0, 0), SCOPE)).toThrow("backups: duplicate id 'x'");
  });
});

describe('planRetention: days, weeks and months in the policy time zone', () => {
  /** Whether the weekly (or monthly) rule sees two instants in one bucket: then only the later is kept. */
  function sameBucket(rule: 'weekly' | 'monthly', timeZone: string, earlier: string, later: string): boolean {
    const counts = rule === 'weekly' ? policy(0, 2, 0, timeZone) : policy(0, 0, 2, timeZone);
    const plan = planRetention([backup(later), backup(earlier)], counts, SCOPE);
    expect(reasonsOf(plan, later)).toContain(rule);
    return !keptIds(plan).includes(earlier);
  }

  it.each([
    ['America/New_York', true], // 20:30 on Saturday 28 February, local
    ['UTC', false],
    ['Africa/Lagos', false], // 02:30 on 1 March
  ])('2026-03-01T01:30Z in %s is in February: %s', (timeZone, february) => {
    expect(sameBucket('monthly', timeZone, '2026-02-27T12:00Z', '2026-03-01T01:30Z')).toBe(february);
  });

  it.each([
    // [zone, earlier, later, same ISO week]
    ['UTC', '2026-03-01T23:30Z', '2026-03-02T00:30Z', false], // Sunday 23:30 | Monday 00:30
    ['UTC', '2026-03-01T21:30Z', '2026-03-01T22:30Z', true], // both Sunday
    ['Africa/Johannesburg', '2026-03-01T21:30Z', '2026-03-01T22:30Z', false], // Sunday 23:30 | Monday 00:30 SAST
    ['Africa/Johannesburg', '2026-03-01T23:30Z', '2026-03-02T00:30Z', true], // both Monday
    ['America/New_York', '2026-03-02T04:30Z', '2026-03-02T05:30Z', false], // Sunday 23:30 | Monday 00:30 EST
    ['America/New_York', '2026-03-01T23:30Z', '2026-03-02T00:30Z', true], // both Sunday
    ['UTC', '2025-12-31T12:00Z', '2026-01-01T12:00Z', true], // one ISO week across the new year
  ])('%s: %s and %s in one week: %s', (timeZone, earlier, later, same) => {
    expect(sameBucket('weekly', timeZone, earlier, later)).toBe(same);
  });

  it.each([
    // Europe/London springs forward at 01:00 UTC on Sunday 29 March 2026 and falls back on Sunday 25 October.
    ['Europe/London', '2026-03-29T22:30Z', '2026-03-29T23:30Z', false], // Sunday 23:30 | Monday 00:30 BST
    ['UTC', '2026-03-29T22:30Z', '2026-03-29T23:30Z', true],
    ['Europe/London', '2026-03-22T22:30Z', '2026-03-22T23:30Z', true], // before the change: both Sunday GMT
    ['Europe/London', '2026-10-18T22:30Z', '2026-10-18T23:30Z', false], // Sunday 23:30 | Monday 00:30 BST
    ['Europe/London', '2026-10-25T22:30Z', '2026-10-25T23:30Z', true], // after falling back: both Sunday GMT
  ])('DST, weekly: %s: %s and %s in one week: %s', (timeZone, earlier, later, same) => {
    expect(sameBucket('weekly', timeZone, earlier, later)).toBe(same);
  });

  it.each([
    ['Europe/London', '2026-05-31T23:30Z', '2026-06-10T12:00Z', true], // 00:30 on 1 June BST
    ['UTC', '2026-05-31T23:30Z', '2026-06-10T12:00Z', false],
    ['Europe/London', '2026-01-31T23:30Z', '2026-02-10T12:00Z', false], // GMT: still 31 January
    ['Africa/Johannesburg', '2026-03-31T22:30Z', '2026-04-10T12:00Z', true], // 00:30 on 1 April SAST
    ['UTC', '2026-03-31T22:30Z', '2026-04-10T12:00Z', false],
  ])('monthly: %s: %s and %s in one month: %s', (timeZone, earlier, later, same) => {
    expect(sameBucket('monthly', timeZone, earlier, later)).toBe(same);
  });

  it('keeps a different set across a whole month in America/New_York than in UTC', () => {
    // Nightly 02:00 UTC exports are 21:00 the previous evening in New York (EST): 1 March's is February's last.
    const backups = dailyExports('2026-01-15', '2026-03-10');
    const ny = planRetention(backups, policy(0, 0, 2, 'America/New_York'), SCOPE);
    const utc = planRetention(backups, policy(0, 0, 2, 'UTC'), SCOPE);
    expect(keptIds(ny)).toEqual(['2026-03-10', '2026-03-01']);
    expect(keptIds(utc)).toEqual(['2026-03-10', '2026-02-28']);
  });
});

describe('planRetention: only fireops prefixes are deleted', () => {
  it.each([
    ['another bucket', 'gs://other-bucket/(default)/2026/02/01/020000'],
    ['another database', 'gs://ops-backups/orders/2026/02/01/020000'],
    ['an extra segment', 'gs://ops-backups/(default)/2026/02/01/020000/extra'],
    ['a parent reference', 'gs://ops-backups/(default)/2026/02/../../..'],
    ['the bucket root', 'gs://ops-backups/'],
  ])('keeps an old export whose prefix is %s', (_what, outputUriPrefix) => {
    const backups = [
      backup('2026-02-10T02:00Z'),
      { ...backup('2026-02-01T02:00Z'), outputUriPrefix },
      backup('2026-01-31T02:00Z'),
    ];
    const plan = planRetention(backups, policy(1, 0, 0), SCOPE);
    expect(reasonsOf(plan, '2026-02-01T02:00Z')).toEqual(['outside-prefix']);
    expect(deletedIds(plan)).toEqual(['2026-01-31T02:00Z']);
  });
});

describe('isFireopsPrefix', () => {
  it('accepts exactly the prefix fireops writes, for (default) and a named database', () => {
    expect(isFireopsPrefix('gs://ops-backups/(default)/2026/02/28/235959', SCOPE)).toBe(true);
    expect(
      isFireopsPrefix('gs://ops.backups/orders-db/2026/12/31/000000', {
        bucket: 'ops.backups',
        database: 'orders-db',
      }),
    ).toBe(true);
  });

  it.each([
    'gs://ops-backups/(default)/2026/02/28/020000/',
    'gs://ops-backups/(default)/2026/02/28/020000/extra',
    'gs://ops-backups/(default)/2026/02/28',
    'gs://ops-backups/(default)/2026/02/28/0200',
    'gs://ops-backups/(default)/2026/13/28/020000',
    'gs://ops-backups/(default)/2026/00/28/020000',
    'gs://ops-backups/(default)/2026/02/00/020000',
    'gs://ops-backups/(default)/2026/02/32/020000',
    'gs://ops-backups/(default)/2026/02/28/240000',
    'gs://ops-backups/(default)/2026/02/28/026000',
    'gs://ops-backups/(default)/2026/02/28/020060',
    'gs://ops-backups/(default)/26/02/28/020000',
    'gs://ops-backups/(default)/2026/2/28/020000',
    'gs://ops-backups/(default)/2026/02/28/020000\n',
    'gs://ops-backups/(default)/../(default)/2026/02/28/020000',
    'gs://ops-backups/default/2026/02/28/020000', // parentheses are literal, not a regex group
    'gs://ops-backups-old/(default)/2026/02/28/020000',
    'gs://other/ops-backups/(default)/2026/02/28/020000',
    'ops-backups/(default)/2026/02/28/020000',
    's3://ops-backups/(default)/2026/02/28/020000',
    ' gs://ops-backups/(default)/2026/02/28/020000',
  ])('rejects %j', (prefix) => {
    expect(isFireopsPrefix(prefix, SCOPE)).toBe(false);
  });

  it('treats a dot in the bucket name literally', () => {
    const scope = { bucket: 'ops.backups', database: '(default)' };
    expect(isFireopsPrefix('gs://opsXbackups/(default)/2026/02/28/020000', scope)).toBe(false);
  });

  it.each([
    { bucket: '', database: '(default)' },
    { bucket: 'ops-backups', database: '' },
    { bucket: 'ops-backups/(default)', database: '2026' },
    { bucket: 'ops..backups', database: '(default)' },
  ])('rejects everything for a malformed scope %j', (scope) => {
    expect(isFireopsPrefix(`gs://${scope.bucket}/${scope.database}/2026/02/28/020000`, scope)).toBe(false);
  });
});

describe('planRetention: invalid input (the caller validates first; this is defence in depth)', () => {
  const one = [backup('2026-02-10T02:00Z')];

  it.each([
    ['daily', policy(-1, 4, 12)],
    ['weekly', policy(7, 1.5, 12)],
    ['monthly', policy(7, 4, Number.NaN)],
    ['daily', policy(Number.POSITIVE_INFINITY, 4, 12)],
    ['timeZone', policy(7, 4, 12, 'Mars/Olympus_Mons')],
    ['timeZone', policy(7, 4, 12, '')],
    ['timeZone', { daily: 7, weekly: 4, monthly: 12 } as RetentionPolicy],
  ])('throws naming policy.%s', (field, bad) => {
    expect(() => planRetention(one, bad, SCOPE)).toThrow(`policy.${field}`);
  });

  it('throws on a backup without a usable startedAt', () => {
    const bad = [{ ...backup('2026-02-10T02:00Z'), startedAt: Number.NaN }];
    expect(() => planRetention(bad, policy(7, 4, 12), SCOPE)).toThrow(
      "backups['2026-02-10T02:00Z'].startedAt",
    );
  });
});
