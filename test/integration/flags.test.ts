// Admin flag edits, end to end: the Firestore console's REST API writes, the real onFlagWritten trigger in the
// Functions emulator judges, and the audit log, the flag document and ops-alerts show the outcome.
import { beforeEach, describe, expect, it } from 'vitest';
import { db } from '../../functions/src/platform/firestore';
import { handleFlagWrite } from '../../functions/src/flags/engine';
import { collectAlertsForFile, rest, waitFor } from '../support/emulators';

type Entry = {
  action: string;
  target: string;
  reason: string;
  actor: { type: string; id: string; authType?: string };
  details: any;
  seq: number;
};

async function auditFor(target: string): Promise<Entry[]> {
  const snap = await db().collection('auditLog').where('target', '==', target).get();
  return snap.docs.map((d) => d.data() as Entry).sort((a, b) => a.seq - b.seq);
}

async function flag(key: string) {
  const doc = await rest.get(`flags/${key}`);
  if (!doc) return undefined;
  const { __updateTime: _ignored, ...data } = doc;
  return data;
}

/** Waits until the trigger has settled: the audit entries for `target` stop changing for `quietMs`. */
async function settledAudit(target: string, atLeast: number, quietMs = 1500): Promise<Entry[]> {
  let entries = await waitFor(
    async () => {
      const e = await auditFor(target);
      return e.length >= atLeast ? e : undefined;
    },
    { what: `${atLeast} audit entries for ${target}` },
  );
  for (;;) {
    await new Promise((r) => setTimeout(r, quietMs));
    const again = await auditFor(target);
    if (again.length === entries.length) return again;
    entries = again;
  }
}

const valid = (rolloutPercent: number, description = 'test flag') => ({
  enabled: true,
  rolloutPercent,
  description,
});

// Clearing the emulator fires delete events for the flags of the previous test, which the trigger then judges:
// each test uses keys of its own so those late events cannot touch it.
let run = 0;
const key = (name: string) => `${name}-${run}`;

const alerts = collectAlertsForFile();
/**
 * Alerts about this test's flags: a reserved flag (deployFreeze) deleted by an earlier test's clear is restored
 * by the Functions emulator in the background, and alerted, whenever that event arrives.
 */
const alertsFor = (flagKey: string) => alerts.messages.filter((m) => m.data.target === `flags/${flagKey}`);
beforeEach(async () => {
  await rest.clear();
  run += 1;
  alerts.messages.length = 0;
});

describe('onFlagWritten (through the Functions emulator)', () => {
  it('audits a valid creation and a valid edit with the diff and who made it', async () => {
    await rest.set(`flags/${key('checkout')}`, valid(10));
    await settledAudit(`flags/${key('checkout')}`, 1);
    await rest.set(`flags/${key('checkout')}`, valid(25));
    const entries = await settledAudit(`flags/${key('checkout')}`, 2);
    expect(entries.map((e) => e.action)).toEqual(['flag.created', 'flag.updated']);
    expect(entries[1]!.actor).toEqual({
      type: 'admin',
      id: expect.any(String),
      authType: expect.any(String),
    });
    expect(entries[1]!.details.changed).toEqual({ rolloutPercent: { from: 10, to: 25 } });
    expect(await flag(key('checkout'))).toEqual(valid(25));
    expect(alertsFor(key('checkout'))).toHaveLength(0);
  });

  it('reverts an invalid edit to the last valid state, audits the reason and alerts, without looping', async () => {
    await rest.set(`flags/${key('checkout')}`, valid(10));
    await settledAudit(`flags/${key('checkout')}`, 1);
    await rest.set(`flags/${key('checkout')}`, valid(150));
    await waitFor(async () => (await flag(key('checkout')))?.rolloutPercent === 10, { what: 'the revert' });
    const entries = await settledAudit(`flags/${key('checkout')}`, 2);
    // created, rejected; the revert's own write event is recognised and not audited as an edit (no loop).
    expect(entries.map((e) => e.action)).toEqual(['flag.created', 'flag.rejected']);
    expect(entries[1]!.reason).toBe(`flags/${key('checkout')}: field 'rolloutPercent' must be <= 100`);
    expect(entries[1]!.details).toMatchObject({ field: 'rolloutPercent', reverted: true });
    const alert = await waitFor(
      () => alertsFor(key('checkout')).find((m) => m.data.kind === 'flag.rejected'),
      {
        what: 'alert',
      },
    );
    expect(alert.data.target).toBe(`flags/${key('checkout')}`);
    expect(alert.attributes.severity).toBe('warning');
    expect(await flag(key('checkout'))).toEqual(valid(10));
  });

  it.each([
    ['an unknown field', { ...valid(5), owner: 'me' }, "unknown field 'owner'"],
    [
      'a wrong type',
      { enabled: 'yes', rolloutPercent: 5, description: 'x' },
      "field 'enabled' must be a boolean",
    ],
    ['a missing field', { enabled: true, description: 'x' }, "field 'rolloutPercent' is required"],
    ['a fraction', { ...valid(5), rolloutPercent: 12.5 }, "field 'rolloutPercent' must be an integer"],
  ])('refuses %s, naming the field', async (_name, data, message) => {
    await rest.set(`flags/${key('beta')}`, valid(5));
    await settledAudit(`flags/${key('beta')}`, 1);
    await rest.set(`flags/${key('beta')}`, data);
    const entries = await settledAudit(`flags/${key('beta')}`, 2);
    expect(entries[1]!.action).toBe('flag.rejected');
    expect(entries[1]!.reason).toContain(message);
    expect(await flag(key('beta'))).toEqual(valid(5));
  });

  it('removes an invalid new flag (no valid state to return to)', async () => {
    await rest.set(`flags/${key('bogus')}`, { enabled: 1 });
    await waitFor(async () => (await flag(key('bogus'))) === undefined, { what: 'the removal' });
    const entries = await settledAudit(`flags/${key('bogus')}`, 1);
    expect(entries.map((e) => e.action)).toEqual(['flag.rejected']);
  });

  it('restores a reserved flag that an admin deletes, and accepts deleting an ordinary one', async () => {
    // deployFreeze is shared by every test file (a clear deletes it and the emulator restores it in the background),
    // so only the entries written after this test's own deletion are judged.
    const seen = (await auditFor('flags/deployFreeze')).length;
    await rest.set('flags/deployFreeze', { enabled: true, rolloutPercent: 0, description: 'freeze' });
    await rest.set(`flags/${key('old')}`, valid(0));
    await settledAudit('flags/deployFreeze', seen + 1);
    await settledAudit(`flags/${key('old')}`, 1);
    const beforeDelete = (await auditFor('flags/deployFreeze')).length;
    await rest.delete('flags/deployFreeze');
    await rest.delete(`flags/${key('old')}`);
    await waitFor(async () => (await flag('deployFreeze'))?.enabled === true, {
      what: 'deployFreeze restored',
    });
    const rejected = await waitFor(
      async () =>
        (await auditFor('flags/deployFreeze'))
          .slice(beforeDelete)
          .find((e) => e.reason === "flag 'deployFreeze' is reserved and cannot be deleted"),
      { what: 'the refused deletion in the audit log' },
    );
    expect(rejected.action).toBe('flag.rejected');
    const old = await settledAudit(`flags/${key('old')}`, 2);
    expect(old.map((e) => e.action)).toEqual(['flag.created', 'flag.deleted']);
    expect(await flag(key('old'))).toBeUndefined();
  });

  it('never loses a valid edit that quickly follows an invalid one', async () => {
    await rest.set(`flags/${key('race')}`, valid(10));
    await settledAudit(`flags/${key('race')}`, 1);
    await rest.set(`flags/${key('race')}`, valid(999));
    await rest.set(`flags/${key('race')}`, valid(40));
    const entries = await settledAudit(`flags/${key('race')}`, 3);
    expect(await flag(key('race'))).toEqual(valid(40));
    expect(entries.map((e) => e.action).sort()).toEqual(['flag.created', 'flag.rejected', 'flag.updated']);
  });

  it('returns to the last valid state when a valid edit is followed by an invalid one', async () => {
    await rest.set(`flags/${key('race2')}`, valid(10));
    await settledAudit(`flags/${key('race2')}`, 1);
    await rest.set(`flags/${key('race2')}`, valid(20));
    await rest.set(`flags/${key('race2')}`, { ...valid(30), extra: true });
    await settledAudit(`flags/${key('race2')}`, 3);
    await waitFor(async () => (await flag(key('race2')))?.rolloutPercent === 20, { what: 'revert to 20' });
    expect(await flag(key('race2'))).toEqual(valid(20));
  });

  it('accepts the canary controller writing rolloutPercent through the Admin SDK', async () => {
    await rest.set(`flags/${key('canaryFlag')}`, valid(0));
    await settledAudit(`flags/${key('canaryFlag')}`, 1);
    await db().collection('flags').doc(key('canaryFlag')).update({ rolloutPercent: 25 });
    const entries = await settledAudit(`flags/${key('canaryFlag')}`, 2);
    expect(entries[1]).toMatchObject({
      action: 'flag.updated',
      details: { changed: { rolloutPercent: { from: 0, to: 25 } } },
    });
  });
});

describe('handleFlagWrite (in process)', () => {
  it('applies a redelivered event once', async () => {
    const event = {
      id: `evt-duplicate-${run}`,
      key: key('dup'),
      timeMs: Date.now(),
      authType: 'unknown',
      authId: 'admin@example.com',
      before: undefined,
      after: valid(5),
      afterUpdateTime: undefined,
    };
    await handleFlagWrite(event);
    await handleFlagWrite(event);
    await handleFlagWrite(event);
    const entries = await auditFor(`flags/${key('dup')}`);
    expect(entries).toHaveLength(1);
    expect(entries[0]!.actor).toEqual({ type: 'admin', id: 'admin@example.com', authType: 'unknown' });
  });
});
