import { describe, expect, it } from 'vitest';
import {
  addCounts,
  addSample,
  burnRate,
  checkDue,
  countSamples,
  decideIncident,
  EMPTY_COUNTS,
  errorBudget,
  inMaintenance,
  judgeCheck,
  nextCounters,
  uptime,
  uptimeOf,
  type Counters,
  type HealthState,
  type IncidentInput,
  type JudgeInput,
  type MaintenanceWindow,
  type RegionCounters,
} from '../../functions/src/health/domain/health';
import { MIN, HOUR, DAY } from '../support/time';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const EU = 'europe-west1';
const AF = 'africa-south1';
const US = 'us-central1';

describe('checkDue', () => {
  // T0 is a multiple of 10 minutes since the epoch (and of a day), so its minute index is divisible by 1, 2, 5, 10.
  it.each([
    [60, 0, true],
    [60, 1, true],
    [300, 0, true],
    [300, 1, false],
    [300, 4, false],
    [300, 5, true],
    [600, 5, false],
    [600, 10, true],
    [90, 1, false], // 90 s rounds up to every 2 minutes
    [90, 2, true],
    [30, 1, true], // below a minute: every minute, the runner's tick
    [86_400, 0, true], // daily: at UTC midnight
    [86_400, 60, false],
  ])('interval %i s, minute T0+%i: %s', (interval, minute, due) => {
    expect(checkDue(interval, T0 + minute * MIN)).toBe(due);
  });

  it('reads any instant inside the minute as that minute, so regions agree whatever their clock jitter', () => {
    expect(checkDue(300, T0 + 59_999)).toBe(true);
    expect(checkDue(300, T0 + 5 * MIN - 1)).toBe(false);
    expect(checkDue(300, T0 + 5 * MIN + 12_345)).toBe(true);
  });

  it('runs a 5-minute check exactly 12 times an hour', () => {
    let runs = 0;
    for (let m = 0; m < 60; m++) if (checkDue(300, T0 + 7 * MIN + m * MIN)) runs++;
    expect(runs).toBe(12);
  });

  it('refuses a non-positive or non-finite interval', () => {
    expect(() => checkDue(0, T0)).toThrow(/intervalSeconds/);
    expect(() => checkDue(-60, T0)).toThrow(/intervalSeconds/);
    expect(() => checkDue(Number.NaN, T0)).toThrow(/intervalSeconds/);
  });
});

describe('nextCounters', () => {
  it('counts consecutive results tick by tick, each result resetting the other counter', () => {
    const results = [false, false, true, true, true, false, true];
    const expected: Counters[] = [
      { cf: 1, cs: 0 },
      { cf: 2, cs: 0 },
      { cf: 0, cs: 1 },
      { cf: 0, cs: 2 },
      { cf: 0, cs: 3 },
      { cf: 1, cs: 0 },
      { cf: 0, cs: 1 },
    ];
    let c: Counters | undefined;
    results.forEach((ok, i) => {
      c = nextCounters(c, ok);
      expect(c, `tick ${i}`).toEqual(expected[i]);
    });
  });

  it('starts a region never seen from zero', () => {
    expect(nextCounters(undefined, true)).toEqual({ cf: 0, cs: 1 });
    expect(nextCounters(undefined, false)).toEqual({ cf: 1, cs: 0 });
  });
});

describe('judgeCheck', () => {
  const fresh = (cf: number, cs: number, ageMs = 0): RegionCounters => ({ cf, cs, lastAtMs: T0 - ageMs });
  const judge = (
    regions: JudgeInput['regions'],
    expectedRegions: string[],
    extra: Partial<JudgeInput> = {},
  ) =>
    judgeCheck({
      regions,
      expectedRegions,
      failureThreshold: 3,
      successThreshold: 2,
      nowMs: T0,
      staleMs: 3 * MIN,
      ...extra,
    });

  const F = (cf: number) => fresh(cf, 0);
  const P = (cs: number) => fresh(0, cs);
  const STALE = fresh(9, 0, 3 * MIN + 1);

  it.each<[string, JudgeInput['regions'], string[], HealthState, string[], boolean]>([
    // one region: majority is 1
    ['1 region, never seen', {}, [EU], 'unknown', [], false],
    ['1 region, stale', { [EU]: STALE }, [EU], 'unknown', [], false],
    ['1 region, 1st failure', { [EU]: F(1) }, [EU], 'degraded', [EU], false],
    ['1 region, 2nd failure', { [EU]: F(2) }, [EU], 'degraded', [EU], false],
    ['1 region, 3rd failure', { [EU]: F(3) }, [EU], 'down', [EU], false],
    ['1 region, 1st success', { [EU]: P(1) }, [EU], 'degraded', [], false],
    ['1 region, 2nd success', { [EU]: P(2) }, [EU], 'up', [], true],
    // two regions: majority is 2, so one region alone can never take a check down
    ['2 regions, one down one up', { [EU]: F(5), [AF]: P(9) }, [EU, AF], 'degraded', [EU], false],
    ['2 regions, both at threshold', { [EU]: F(3), [AF]: F(4) }, [EU, AF], 'down', [EU, AF], false],
    ['2 regions, one short of threshold', { [EU]: F(3), [AF]: F(2) }, [EU, AF], 'degraded', [EU, AF], false],
    ['2 regions, both up', { [EU]: P(2), [AF]: P(7) }, [EU, AF], 'up', [], true],
    ['2 regions, one up one stale', { [EU]: P(5), [AF]: STALE }, [EU, AF], 'degraded', [], false],
    ['2 regions, one down one stale', { [EU]: F(5) }, [EU, AF], 'degraded', [EU], false],
    // three regions: majority is 2
    ['3 regions, 2 down', { [EU]: F(3), [AF]: F(3), [US]: P(4) }, [EU, AF, US], 'down', [EU, AF], false],
    [
      '3 regions, 2 down 1 stale',
      { [EU]: F(3), [AF]: F(3), [US]: STALE },
      [EU, AF, US],
      'down',
      [EU, AF],
      false,
    ],
    ['3 regions, 1 down 2 stale', { [EU]: F(9) }, [EU, AF, US], 'degraded', [EU], false],
    ['3 regions, 1 down 2 up', { [EU]: F(9), [AF]: P(2), [US]: P(2) }, [EU, AF, US], 'degraded', [EU], true],
    ['3 regions, 2 up 1 stale', { [EU]: P(2), [AF]: P(2), [US]: STALE }, [EU, AF, US], 'up', [], true],
    ['3 regions, 1 recovering', { [EU]: P(1), [AF]: P(2), [US]: P(2) }, [EU, AF, US], 'up', [], true],
    ['3 regions, 2 recovering', { [EU]: P(1), [AF]: P(1), [US]: P(2) }, [EU, AF, US], 'degraded', [], false],
    ['3 regions, all stale', { [EU]: STALE, [AF]: STALE, [US]: STALE }, [EU, AF, US], 'unknown', [], false],
  ])('%s', (_name, regions, expected, state, failing, recovered) => {
    const j = judge(regions, expected);
    expect(j.state).toBe(state);
    expect(j.failingRegions).toEqual(failing);
    expect(j.majorityRecovered).toBe(recovered);
  });

  it('goes degraded, down, degraded (recovering), up tick by tick in two regions', () => {
    // Both regions probe the same minutes. EU and AF fail 3 times, then succeed twice.
    const ticks: [euOk: boolean, afOk: boolean][] = [
      [true, true], // new check: 1 of 2 successes
      [true, true],
      [false, true], // EU failing 1x
      [false, false],
      [false, false], // EU 3x, AF 2x: one region at threshold is no majority of 2
      [false, false], // EU 4x, AF 3x
      [true, false], // EU recovering (cf 0), AF 4x: only 1 of 2 at threshold
      [true, true], // both 1 of 2 successes
      [true, true],
    ];
    let eu: Counters | undefined;
    let af: Counters | undefined;
    const states = ticks.map(([euOk, afOk], i) => {
      eu = nextCounters(eu, euOk);
      af = nextCounters(af, afOk);
      const now = T0 + i * MIN;
      return judge({ [EU]: { ...eu, lastAtMs: now }, [AF]: { ...af, lastAtMs: now } }, [EU, AF], {
        nowMs: now,
      }).state;
    });
    expect(states).toEqual([
      'degraded',
      'up',
      'degraded',
      'degraded',
      'degraded',
      'down',
      'degraded',
      'degraded',
      'up',
    ]);
  });

  it('treats a region exactly staleMs old as fresh and one a millisecond older as stale', () => {
    expect(judge({ [EU]: fresh(3, 0, 3 * MIN) }, [EU]).state).toBe('down');
    expect(judge({ [EU]: fresh(3, 0, 3 * MIN + 1) }, [EU]).state).toBe('unknown');
  });

  it('names stale regions and the numbers in why', () => {
    expect(judge({ [EU]: F(3), [AF]: F(4) }, [EU, AF, US]).why).toBe(
      'down: 2 of 3 regions failed 3+ times in a row (europe-west1 3x, africa-south1 4x); no fresh result from us-central1',
    );
    expect(judge({ [EU]: P(2), [AF]: P(3), [US]: STALE }, [EU, AF, US]).why).toBe(
      'up: 2 of 3 regions passed 2+ times in a row; no fresh result from us-central1',
    );
    expect(judge({ [EU]: F(1), [AF]: P(1) }, [EU, AF]).why).toBe(
      'degraded: failing in europe-west1 1x, short of 2 of 2 at 3x; recovering in africa-south1 1/2',
    );
    expect(judge({ [EU]: P(5) }, [EU, AF]).why).toBe(
      'degraded: 1 of 2 regions reporting, 2 needed; no fresh result from africa-south1',
    );
    expect(judge({}, [EU, AF]).why).toBe(
      'unknown: no result newer than 180 s from any of europe-west1, africa-south1',
    );
  });

  it('ignores regions no longer expected and duplicate expected regions', () => {
    expect(judge({ [EU]: P(2), [US]: F(9) }, [EU]).state).toBe('up');
    expect(judge({ [EU]: F(3) }, [EU, EU, AF]).state).toBe('degraded'); // 2 distinct regions, majority 2
  });

  it('is unknown without expected regions and refuses thresholds below 1', () => {
    expect(judge({ [EU]: F(9) }, []).state).toBe('unknown');
    expect(() => judge({}, [EU], { failureThreshold: 0 })).toThrow(/failureThreshold/);
    expect(() => judge({}, [EU], { successThreshold: 1.5 })).toThrow(/successThreshold/);
  });
});

describe('decideIncident', () => {
  const open = { id: 'inc1', openedAtMs: T0 - 30 * MIN, lastReminderAtMs: T0 - 30 * MIN };
  const base: IncidentInput = {
    state: 'down',
    previousState: 'degraded',
    open: undefined,
    inMaintenance: false,
    majorityRecovered: false,
    nowMs: T0,
    reminderMs: 60 * MIN,
  };
  const decide = (partial: Partial<IncidentInput>) => decideIncident({ ...base, ...partial });

  it.each<[string, Partial<IncidentInput>, string]>([
    ['down, none open: open', {}, 'open'],
    ['down and was down (open lost or maintenance over): open', { previousState: 'down' }, 'open'],
    ['down in maintenance: nothing', { inMaintenance: true }, 'none'],
    ['degraded, none open: nothing', { state: 'degraded' }, 'none'],
    ['unknown, none open: nothing', { state: 'unknown' }, 'none'],
    ['up, none open: nothing', { state: 'up', majorityRecovered: true }, 'none'],
    ['open, still down, reminder not due: nothing', { open }, 'none'],
    ['open, down, reminder due: remind', { open, nowMs: T0 + 30 * MIN }, 'remind'],
    ['open, degraded, reminder due: remind', { open, state: 'degraded', nowMs: T0 + 31 * MIN }, 'remind'],
    ['open, unknown, reminder due: remind', { open, state: 'unknown', nowMs: T0 + 31 * MIN }, 'remind'],
    ['open, reminder due in maintenance: held', { open, nowMs: T0 + 31 * MIN, inMaintenance: true }, 'none'],
    ['open, recovered: resolve', { open, state: 'up', majorityRecovered: true }, 'resolve'],
    [
      'open, recovered but one region failing: resolve',
      { open, state: 'degraded', majorityRecovered: true },
      'resolve',
    ],
    [
      'open, recovered in maintenance: resolve',
      { open, state: 'up', majorityRecovered: true, inMaintenance: true },
      'resolve',
    ],
    [
      'open, recovered with reminder due: resolve wins',
      { open, majorityRecovered: true, nowMs: T0 + 31 * MIN },
      'resolve',
    ],
  ])('%s', (_name, partial, kind) => {
    expect(decide(partial).kind).toBe(kind);
  });

  it('reminds exactly at reminderMs after the last reminder, not a millisecond before', () => {
    const o = { ...open, lastReminderAtMs: T0 };
    expect(decide({ open: o, nowMs: T0 + 60 * MIN - 1 }).kind).toBe('none');
    expect(decide({ open: o, nowMs: T0 + 60 * MIN }).kind).toBe('remind');
  });

  it('reports the duration from opening to resolution', () => {
    expect(decide({ open, state: 'up', majorityRecovered: true, nowMs: T0 + 5 * MIN })).toEqual({
      kind: 'resolve',
      durationMs: 35 * MIN,
      why: 'up (was degraded): a majority of regions recovered',
    });
  });

  it('walks a whole outage tick by tick with one region, thresholds 3/2, reminder 2 min', () => {
    // One result per minute.
    const results = [true, true, false, false, false, false, false, false, true, true, true];
    const kinds: string[] = [];
    let c: Counters | undefined;
    let prev: HealthState | undefined;
    let inc: { id: string; openedAtMs: number; lastReminderAtMs: number } | undefined;
    results.forEach((ok, i) => {
      const now = T0 + i * MIN;
      c = nextCounters(c, ok);
      const j = judgeCheck({
        regions: { [EU]: { ...c, lastAtMs: now } },
        expectedRegions: [EU],
        failureThreshold: 3,
        successThreshold: 2,
        nowMs: now,
        staleMs: 3 * MIN,
      });
      const d = decideIncident({
        state: j.state,
        previousState: prev,
        open: inc,
        inMaintenance: false,
        majorityRecovered: j.majorityRecovered,
        nowMs: now,
        reminderMs: 2 * MIN,
      });
      kinds.push(d.kind);
      if (d.kind === 'open') inc = { id: 'x', openedAtMs: now, lastReminderAtMs: now };
      if (d.kind === 'remind' && inc) inc = { ...inc, lastReminderAtMs: now };
      if (d.kind === 'resolve') inc = undefined;
      prev = j.state;
    });
    expect(kinds).toEqual([
      'none', // cs 1
      'none', // up
      'none', // cf 1
      'none', // cf 2
      'open', // cf 3: down
      'none',
      'remind', // 2 min after opening
      'none',
      'remind', // cs 1: recovering but not resolved, and 2 min since the last reminder
      'resolve', // cs 2
      'none',
    ]);
  });

  it('refuses a non-positive reminder interval', () => {
    expect(() => decide({ reminderMs: 0 })).toThrow(/reminderMs/);
  });
});

describe('inMaintenance', () => {
  const at = (iso: string) => Date.parse(iso);
  const w = (partial: Partial<MaintenanceWindow> & Pick<MaintenanceWindow, 'start' | 'timeZone'>) => [
    { durationMinutes: 60, ...partial },
  ];

  it('covers [start, start + duration) in a zone without DST (Lagos, UTC+1)', () => {
    const once = w({ start: '2026-12-01T02:00', timeZone: 'Africa/Lagos' });
    expect(inMaintenance(once, at('2026-12-01T00:59:59.999Z'))).toBe(false);
    expect(inMaintenance(once, at('2026-12-01T01:00:00Z'))).toBe(true); // 02:00 Lagos
    expect(inMaintenance(once, at('2026-12-01T01:59:00Z'))).toBe(true); // last minute in
    expect(inMaintenance(once, at('2026-12-01T02:00:00Z'))).toBe(false); // 03:00 Lagos: over
    expect(inMaintenance(once, at('2026-12-02T01:30:00Z'))).toBe(false); // does not recur
  });

  it('repeats daily from the start date onward (Johannesburg, UTC+2)', () => {
    const daily = w({ start: '2026-12-01T23:30', timeZone: 'Africa/Johannesburg', every: 'daily' });
    expect(inMaintenance(daily, at('2026-11-30T21:45:00Z'))).toBe(false); // the day before the first
    expect(inMaintenance(daily, at('2026-12-01T21:30:00Z'))).toBe(true); // 23:30 SAST, first
    // Windows crossing local midnight: 00:15 SAST on the 8th is inside the window that began on the 7th.
    expect(inMaintenance(daily, at('2026-12-07T22:15:00Z'))).toBe(true);
    expect(inMaintenance(daily, at('2026-12-07T22:30:00Z'))).toBe(false); // 00:30 SAST, over
    expect(inMaintenance(daily, at('2027-06-15T21:29:00Z'))).toBe(false);
    expect(inMaintenance(daily, at('2027-06-15T21:30:00Z'))).toBe(true);
  });

  it('repeats weekly on the start weekday only', () => {
    // 2026-12-06 is a Sunday.
    const weekly = w({
      start: '2026-12-06T03:00',
      timeZone: 'Africa/Lagos',
      every: 'weekly',
      durationMinutes: 120,
    });
    expect(inMaintenance(weekly, at('2026-12-06T02:00:00Z'))).toBe(true);
    expect(inMaintenance(weekly, at('2026-12-07T02:00:00Z'))).toBe(false); // Monday
    expect(inMaintenance(weekly, at('2026-12-12T02:00:00Z'))).toBe(false); // Saturday
    expect(inMaintenance(weekly, at('2026-12-13T02:00:00Z'))).toBe(true);
    expect(inMaintenance(weekly, at('2026-12-13T03:59:00Z'))).toBe(true);
    expect(inMaintenance(weekly, at('2026-12-13T04:00:00Z'))).toBe(false);
    expect(inMaintenance(weekly, at('2027-03-07T02:30:00Z'))).toBe(true); // 12 weeks on
    expect(inMaintenance(weekly, at('2026-11-29T02:30:00Z'))).toBe(false); // a week before the first
  });

  it('finds a weekly occurrence that began days before the instant', () => {
    // Sundays 22:00 Lagos for 3 days, to Wednesday 22:00.
    const long = w({
      start: '2026-12-06T22:00',
      timeZone: 'Africa/Lagos',
      every: 'weekly',
      durationMinutes: 3 * 1440,
    });
    expect(inMaintenance(long, at('2026-12-16T12:00:00Z'))).toBe(true); // Wednesday 13:00 of the second week
    expect(inMaintenance(long, at('2026-12-16T21:00:00Z'))).toBe(false); // Wednesday 22:00: over
    expect(inMaintenance(long, at('2026-12-19T12:00:00Z'))).toBe(false); // Saturday
  });

  it('follows the wall clock across DST in London (daily 02:00, summer and winter)', () => {
    const daily = w({ start: '2026-01-01T02:00', timeZone: 'Europe/London', every: 'daily' });
    expect(inMaintenance(daily, at('2026-01-15T02:00:00Z'))).toBe(true); // GMT
    expect(inMaintenance(daily, at('2026-07-15T01:00:00Z'))).toBe(true); // 02:00 BST
    expect(inMaintenance(daily, at('2026-07-15T02:00:00Z'))).toBe(false); // 03:00 BST
    // 2026-03-29: 01:00 GMT jumps to 02:00 BST; 02:00 BST exists and is 01:00Z.
    expect(inMaintenance(daily, at('2026-03-29T01:00:00Z'))).toBe(true);
    expect(inMaintenance(daily, at('2026-03-29T00:59:00Z'))).toBe(false);
  });

  it('shifts a window in the spring-forward gap later by the gap, keeping its length (London 01:30)', () => {
    // 2026-03-29 01:30 London does not exist: it starts at 02:30 BST (01:30Z), the 'compatible' rule.
    const daily = w({
      start: '2026-03-01T01:30',
      timeZone: 'Europe/London',
      every: 'daily',
      durationMinutes: 30,
    });
    expect(inMaintenance(daily, at('2026-03-29T01:29:00Z'))).toBe(false);
    expect(inMaintenance(daily, at('2026-03-29T01:30:00Z'))).toBe(true);
    expect(inMaintenance(daily, at('2026-03-29T01:59:00Z'))).toBe(true);
    expect(inMaintenance(daily, at('2026-03-29T02:00:00Z'))).toBe(false);
    // The next day is back at 01:30 BST = 00:30Z.
    expect(inMaintenance(daily, at('2026-03-30T00:30:00Z'))).toBe(true);
    expect(inMaintenance(daily, at('2026-03-30T01:30:00Z'))).toBe(false);
  });

  it('shifts New York 02:30 on the spring-forward day to 03:30 EDT', () => {
    // 2026-03-08: 02:00 EST jumps to 03:00 EDT. 03:30 EDT is 07:30Z.
    const once = w({ start: '2026-03-08T02:30', timeZone: 'America/New_York' });
    expect(inMaintenance(once, at('2026-03-08T07:29:00Z'))).toBe(false);
    expect(inMaintenance(once, at('2026-03-08T07:30:00Z'))).toBe(true);
    expect(inMaintenance(once, at('2026-03-08T08:29:00Z'))).toBe(true);
    expect(inMaintenance(once, at('2026-03-08T08:30:00Z'))).toBe(false);
  });

  it('takes the earlier of a repeated hour at fall-back and counts duration in elapsed time (New York)', () => {
    // 2026-11-01: 01:00-02:00 happens twice, EDT (05:00Z-06:00Z) then EST (06:00Z-07:00Z).
    const daily = w({
      start: '2026-10-01T01:30',
      timeZone: 'America/New_York',
      every: 'daily',
      durationMinutes: 90,
    });
    expect(inMaintenance(daily, at('2026-11-01T05:29:00Z'))).toBe(false);
    expect(inMaintenance(daily, at('2026-11-01T05:30:00Z'))).toBe(true); // first 01:30, EDT
    expect(inMaintenance(daily, at('2026-11-01T06:59:00Z'))).toBe(true); // 01:59 EST: 89 min elapsed
    expect(inMaintenance(daily, at('2026-11-01T07:00:00Z'))).toBe(false); // 02:00 EST: 90 min elapsed
    // A day before and after, 01:30 is unambiguous: EDT on Oct 31 (05:30Z), EST on Nov 2 (06:30Z).
    expect(inMaintenance(daily, at('2026-10-31T05:30:00Z'))).toBe(true);
    expect(inMaintenance(daily, at('2026-11-02T06:29:00Z'))).toBe(false);
    expect(inMaintenance(daily, at('2026-11-02T06:30:00Z'))).toBe(true);
  });

  it('takes the earlier 01:30 at London fall-back (2026-10-25)', () => {
    const once = w({ start: '2026-10-25T01:30', timeZone: 'Europe/London', durationMinutes: 15 });
    expect(inMaintenance(once, at('2026-10-25T00:30:00Z'))).toBe(true); // 01:30 BST
    expect(inMaintenance(once, at('2026-10-25T01:30:00Z'))).toBe(false); // 01:30 GMT, the second one
  });

  it('treats a recurring window as long as its period as continuous from its first start', () => {
    const allDay = w({
      start: '2026-12-01T00:00',
      timeZone: 'Africa/Lagos',
      every: 'daily',
      durationMinutes: 1440,
    });
    expect(inMaintenance(allDay, at('2026-11-30T22:59:00Z'))).toBe(false);
    expect(inMaintenance(allDay, at('2026-11-30T23:00:00Z'))).toBe(true);
    expect(inMaintenance(allDay, at('2027-05-05T12:00:00Z'))).toBe(true);
    // London's 25-hour fall-back day would leave an hour between two 24-hour windows (23:00-00:00 GMT); the
    // rule closes it, because an admin who wrote 1440 minutes daily meant "always".
    const london = w({
      start: '2026-10-01T00:00',
      timeZone: 'Europe/London',
      every: 'daily',
      durationMinutes: 1440,
    });
    expect(inMaintenance(london, at('2026-10-25T23:30:00Z'))).toBe(true);
  });

  it('is in maintenance when any window covers the instant, and never with no windows', () => {
    const windows: MaintenanceWindow[] = [
      { start: '2026-12-01T02:00', durationMinutes: 30, timeZone: 'Africa/Lagos' },
      { start: '2026-12-01T09:00', durationMinutes: 30, timeZone: 'America/New_York', every: 'daily' },
    ];
    expect(inMaintenance(windows, at('2026-12-01T01:10:00Z'))).toBe(true);
    expect(inMaintenance(windows, at('2026-12-03T14:10:00Z'))).toBe(true);
    expect(inMaintenance(windows, at('2026-12-03T15:10:00Z'))).toBe(false);
    expect(inMaintenance([], T0)).toBe(false);
  });

  it('refuses malformed windows rather than guessing', () => {
    expect(() => inMaintenance(w({ start: '2026-12-01 02:00', timeZone: 'Africa/Lagos' }), T0)).toThrow(
      /start/,
    );
    expect(() => inMaintenance(w({ start: '2026-02-30T02:00', timeZone: 'Africa/Lagos' }), T0)).toThrow(
      /valid/,
    );
    expect(() => inMaintenance(w({ start: '2026-12-01T24:00', timeZone: 'Africa/Lagos' }), T0)).toThrow(
      /valid/,
    );
    expect(() => inMaintenance(w({ start: '2026-12-01T02:00', timeZone: 'Mars/Olympus' }), T0)).toThrow(
      /timeZone/,
    );
    expect(() => inMaintenance(w({ start: '2026-12-01T02:00', timeZone: '' }), T0)).toThrow(/timeZone/);
    expect(() =>
      inMaintenance(w({ start: '2026-12-01T02:00', timeZone: 'Africa/Lagos', durationMinutes: 0 }), T0),
    ).toThrow(/durationMinutes/);
  });

  it('accepts seconds in start', () => {
    const once = w({ start: '2026-12-01T02:00:30', timeZone: 'Africa/Lagos', durationMinutes: 1 });
    expect(inMaintenance(once, at('2026-12-01T01:00:29Z'))).toBe(false);
    expect(inMaintenance(once, at('2026-12-01T01:00:30Z'))).toBe(true);
  });
});

describe('uptime and counts', () => {
  const sample = (minute: number, ok: boolean, maintenance = false) => ({
    atMs: T0 + minute * MIN,
    ok,
    maintenance,
  });
  const samples = [
    sample(0, true),
    sample(1, false),
    sample(2, true),
    sample(3, false, true), // failure in maintenance: excluded
    sample(4, true, true),
    sample(5, true),
  ];

  it('excludes maintenance and counts [from, to)', () => {
    expect(countSamples(samples, T0, T0 + 6 * MIN)).toEqual({ total: 4, good: 3, maintenance: 2 });
    expect(uptime(samples, T0, T0 + 6 * MIN)).toBe(0.75);
    expect(uptime(samples, T0 + MIN, T0 + 5 * MIN)).toBe(0.5); // minutes 1..4: 1 good of 2
    expect(uptime(samples, T0 + 2 * MIN, T0 + 3 * MIN)).toBe(1);
  });

  it('is undefined without a sample outside maintenance', () => {
    expect(uptime([], T0, T0 + DAY)).toBeUndefined();
    expect(uptime(samples, T0 + 3 * MIN, T0 + 5 * MIN)).toBeUndefined(); // only maintenance
    expect(uptime(samples, T0 + HOUR, T0 + 2 * HOUR)).toBeUndefined();
  });

  it('adds samples and daily rollups', () => {
    let c = { ...EMPTY_COUNTS };
    c = addSample(c, { ok: true, maintenance: false });
    c = addSample(c, { ok: false, maintenance: false });
    c = addSample(c, { ok: false, maintenance: true });
    expect(c).toEqual({ total: 2, good: 1, maintenance: 1 });
    const days = [
      { total: 1440, good: 1440, maintenance: 0 },
      { total: 1380, good: 1370, maintenance: 60 },
    ];
    expect(addCounts(...days)).toEqual({ total: 2820, good: 2810, maintenance: 60 });
    expect(addCounts()).toEqual({ total: 0, good: 0, maintenance: 0 });
    expect(uptimeOf(addCounts(...days))).toBeCloseTo(2810 / 2820, 12);
    expect(EMPTY_COUNTS).toEqual({ total: 0, good: 0, maintenance: 0 }); // not mutated
  });
});

describe('errorBudget and burnRate', () => {
  it.each([
    // 30 days of minutes = 43,200 samples; 99.9 % allows 43.2 bad.
    [
      { sloTarget: 99.9, good: 43_200, total: 43_200 },
      { allowedBad: 43.2, bad: 0, remaining: 1, exhausted: false },
    ],
    // 10.8 bad used of 43.2: a quarter spent, 0.75 left.
    [
      { sloTarget: 99.9, good: 43_190, total: 43_200 },
      { allowedBad: 43.2, bad: 10, remaining: 1 - 10 / 43.2, exhausted: false },
    ],
    // 1000 samples at 99.9 %: exactly 1 allowed; 1 bad spends it all.
    [
      { sloTarget: 99.9, good: 999, total: 1000 },
      { allowedBad: 1, bad: 1, remaining: 0, exhausted: true },
    ],
    // 3 bad of 1 allowed: 2 budgets overspent.
    [
      { sloTarget: 99.9, good: 997, total: 1000 },
      { allowedBad: 1, bad: 3, remaining: -2, exhausted: true },
    ],
    // 99 % of 200: 2 allowed, 1 bad: half left.
    [
      { sloTarget: 99, good: 199, total: 200 },
      { allowedBad: 2, bad: 1, remaining: 0.5, exhausted: false },
    ],
    // no samples: budget untouched.
    [
      { sloTarget: 99.9, good: 0, total: 0 },
      { allowedBad: 0, bad: 0, remaining: 1, exhausted: false },
    ],
    // 100 % SLO: no budget at all.
    [
      { sloTarget: 100, good: 10, total: 10 },
      { allowedBad: 0, bad: 0, remaining: 1, exhausted: false },
    ],
    [
      { sloTarget: 100, good: 9, total: 10 },
      { allowedBad: 0, bad: 1, remaining: -Infinity, exhausted: true },
    ],
  ])('%j', (input, expected) => {
    const b = errorBudget(input);
    expect(b.allowedBad).toBe(expected.allowedBad);
    expect(b.bad).toBe(expected.bad);
    expect(b.remaining).toBeCloseTo(expected.remaining, 9);
    expect(b.exhausted).toBe(expected.exhausted);
  });

  it.each([
    // 1 bad in 1000 at 99.9 %: error rate 0.1 % = allowed rate, burn 1.
    [{ sloTarget: 99.9, good: 999, total: 1000 }, 1],
    // 1 h of minutes, 60 samples, 1 bad: 1/60 / 0.001 = 16.67 (above the SRE workbook's 14.4 page threshold).
    [{ sloTarget: 99.9, good: 59, total: 60 }, 1000 / 60],
    // 6 h = 360 samples, 2 bad: 2/360 / 0.001 = 5.56.
    [{ sloTarget: 99.9, good: 358, total: 360 }, 2000 / 360],
    [{ sloTarget: 99, good: 90, total: 100 }, 10],
    [{ sloTarget: 99.9, good: 100, total: 100 }, 0],
    [{ sloTarget: 100, good: 99, total: 100 }, Infinity],
  ])('burn rate of %j is %d', (input, expected) => {
    const r = burnRate(input);
    if (expected === Infinity) expect(r).toBe(Infinity);
    else expect(r).toBeCloseTo(expected, 6);
  });

  it('is undefined without samples and refuses impossible inputs', () => {
    expect(burnRate({ sloTarget: 99.9, good: 0, total: 0 })).toBeUndefined();
    expect(() => errorBudget({ sloTarget: 0, good: 1, total: 1 })).toThrow(/sloTarget/);
    expect(() => errorBudget({ sloTarget: 100.1, good: 1, total: 1 })).toThrow(/sloTarget/);
    expect(() => burnRate({ sloTarget: 99.9, good: 2, total: 1 })).toThrow(/good/);
    expect(() => burnRate({ sloTarget: 99.9, good: -1, total: 1 })).toThrow(/good/);
  });
});
