// The ops commands of the `fireops` CLI (functions/src/cli/ops.ts) against the local suite: each writes what the
// console would, refused first with the message its trigger gives, and the deployed triggers then take the write
// as they take a console edit.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../functions/src/cli/fireops';
import { validateFlag } from '../../functions/src/flags/engine';
import { db } from '../../functions/src/platform/firestore';
import { PROJECT_ID, rest, waitFor } from '../support/emulators';
import { createTestSecret, uniqueSecretId, writePolicy } from '../support/rotation';

async function cli(...args: string[]) {
  const lines: string[] = [];
  const code = await run([...args, '--project', PROJECT_ID], {
    env: { ...process.env },
    out: (l) => lines.push(l),
  });
  return { code, text: lines.join('\n') };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fireops-cli-ops-'));

beforeEach(async () => {
  await rest.clear();
});

/** `fireops flag set newCheckout --enabled true --percent P --description D` */
const setCheckout = (percent: string, description: string) =>
  cli('flag', 'set', 'newCheckout', '--enabled', 'true', '--percent', percent, '--description', description);

describe('fireops flag', () => {
  it("refuses an invalid value with the trigger's own message and writes nothing", async () => {
    const bad = await setCheckout('150', 'x');
    const expected = await validateFlag('newCheckout', {
      enabled: true,
      rolloutPercent: 150,
      description: 'x',
    });
    expect(expected.kind).toBe('invalid');
    expect(bad).toEqual({ code: 1, text: `refused: ${(expected as { reason: string }).reason}` });
    expect((await db().doc('flags/newCheckout').get()).exists).toBe(false);
    expect((await cli('flag', 'set', 'newCheckout', '--enabled', 'maybe')).code).toBe(1);
  });

  it('writes a valid flag, which flags-onFlagWritten accepts; get shows it, --json for scripts', async () => {
    const set = await setCheckout('25', 'checkout v2');
    expect(set.code).toBe(0);
    expect(set.text).toContain('written: flags/newCheckout');
    await waitFor(async () => (await db().doc('flagState/newCheckout').get()).get('lastValid') as unknown, {
      what: 'the trigger accepting the flag',
    });
    const got = await cli('flag', 'get', 'newCheckout', '--json');
    expect(got.code).toBe(0);
    expect(JSON.parse(got.text)).toMatchObject({
      ok: true,
      document: { enabled: true, rolloutPercent: 25, description: 'checkout v2' },
      lastValid: { enabled: true, rolloutPercent: 25 },
    });
    // An edit keeps the other fields, as a console edit of one field does.
    expect((await cli('flag', 'set', 'newCheckout', '--enabled', 'false')).code).toBe(0);
    expect((await db().doc('flags/newCheckout').get()).data()).toEqual({
      enabled: false,
      rolloutPercent: 25,
      description: 'checkout v2',
    });
  });
});

describe('fireops check', () => {
  const valid = {
    name: 'Investments API',
    type: 'http',
    target: 'https://api.example/health',
    conditions: ['status == 200'],
  };

  it("adds from YAML all or nothing, refusing an invalid definition with the schema's message", async () => {
    const bad = path.join(tmp, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ api: valid, web: { ...valid, conditions: ['status >< 2'] } }));
    const refused = await cli('check', 'add', bad);
    expect(refused.code).toBe(1);
    expect(refused.text).toMatch(/^refused: web: health check: field 'conditions\[0\]'/);
    expect((await db().collection('healthChecks').get()).size).toBe(0);

    const yaml = path.join(tmp, 'checks.yaml');
    fs.writeFileSync(
      yaml,
      [
        'api:',
        '  name: Investments API',
        '  type: http',
        '  target: https://api.example/health',
        '  conditions: ["status == 200"]',
        '  public: { name: Investments API }',
        'db:',
        '  name: Ledger',
        '  type: tcp',
        '  target: db.example:5432',
        '  conditions: ["connected == true"]',
      ].join('\n'),
    );
    const added = await cli('check', 'add', yaml);
    expect(added).toMatchObject({ code: 0 });
    await waitFor(async () => (await db().doc('healthCatalog/db').get()).get('check') as unknown, {
      what: 'the catalog entry written by the trigger',
    });
    expect((await cli('check', 'disable', 'db')).code).toBe(0);
    const listed = JSON.parse((await cli('check', 'list', '--json')).text) as {
      checks: { id: string; enabled: boolean }[];
    };
    expect(listed.checks.map((c) => [c.id, c.enabled])).toEqual([
      ['api', true],
      ['db', false],
    ]);
    expect((await cli('check', 'disable', 'nope')).text).toBe("refused: no check 'nope'");
  });
});

describe('fireops rollout', () => {
  it('lists and shows rollouts, and writes a command as the console does, validated first', async () => {
    await db().doc('rollouts/r1').set({
      service: 'Hello-World',
      version: 'v1.2.0',
      phase: 'progressing',
      weight: 10,
      createdAtMs: Date.now(),
    });
    const list = JSON.parse((await cli('rollout', 'list', '--json')).text) as { rollouts: unknown[] };
    expect(list.rollouts).toEqual([
      { id: 'r1', service: 'Hello-World', version: 'v1.2.0', phase: 'progressing', weight: 10 },
    ]);
    expect((await cli('rollout', 'show', 'r1')).text).toContain('Hello-World v1.2.0, progressing at 10%');

    const blank = await cli('rollout', 'pause', 'r1', '--reason', ' ');
    expect(blank.code).toBe(1);
    expect(blank.text).toMatch(/^refused: .*field 'reason' must not be blank/);
    expect((await cli('rollout', 'pause', 'nope', '--reason', 'x')).text).toBe("refused: no rollout 'nope'");

    const paused = await cli(
      'rollout',
      'pause',
      'r1',
      '--reason',
      'error spike',
      '--actor',
      'ops@bvester.example',
    );
    expect(paused.code).toBe(0);
    // canary-onRolloutCommand takes it from `command` onto `pendingCommands`, as it takes a console edit.
    await waitFor(
      async () => {
        const d = (await db().doc('rollouts/r1').get()).data() ?? {};
        const queued = (d.pendingCommands as { action: string; reason: string }[] | undefined) ?? [];
        return queued.some((c) => c.action === 'pause' && c.reason === 'error spike') ? true : undefined;
      },
      { what: 'the command queued by canary-onRolloutCommand' },
    );
  });
});

describe('fireops audit, status, backup', () => {
  it('verifies the audit log, says when there is no summary, lists backups, and shows usage', async () => {
    await cli('flag', 'set', 'audited', '--enabled', 'true', '--percent', '100', '--description', 'x');
    await waitFor(async () => (await db().doc('flagState/audited').get()).exists || undefined, {
      what: 'the flag',
    });
    const verified = await cli('audit', 'verify', '--json');
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.text.split('\n').at(-1)!)).toMatchObject({ ok: true, problems: [] });
    expect(await cli('status')).toEqual({
      code: 1,
      text: 'refused: no health summary yet: health-healthRollup has not run',
    });
    expect(await cli('backup', 'list')).toEqual({ code: 0, text: 'no backups' });
    expect((await cli('flag', 'frobnicate')).code).toBe(1);
  });
});

describe('fireops rotate, backup now, drill now: work started in the deployed functions, followed', () => {
  it('rotate refuses a secret without a policy, an invalid or disabled policy; rotates one with a policy', async () => {
    const id = uniqueSecretId('cli-rotate');
    expect(await cli('rotate', id)).toEqual({
      code: 1,
      text: `refused: no rotation policy secretPolicies/${id}: fireops rotates only secrets with a policy (docs/capabilities/rotation.md)`,
    });
    const policy = {
      strategy: 'random-token',
      enabled: true,
      bytes: 32,
      encoding: 'hex',
      gracePeriodMinutes: 60,
      destroyAfterDays: 30,
    };
    await writePolicy(id, { ...policy, bytes: 8 });
    const invalid = await cli('rotate', id);
    expect(invalid.code).toBe(1);
    expect(invalid.text).toMatch(/^refused: .*'bytes'/);
    await writePolicy(id, { ...policy, enabled: false });
    expect((await cli('rotate', id)).text).toBe(`refused: secretPolicies/${id} is disabled (enabled: false)`);
    expect((await db().doc(`secretPolicies/${id}`).get()).get('rotateRequestedAt')).toBeUndefined();

    await createTestSecret(id, ['v1-value-not-a-real-secret']);
    await writePolicy(id, policy);
    // Followed until the new version is current (grace): rotation-onSecretPolicyWritten runs it as the admin.
    const rotated = await cli('rotate', id);
    expect(rotated.text).toContain(`requested: secretPolicies/${id}.rotateRequestedAt`);
    expect(rotated.text).toMatch(/done: rotations\/.*: grace \(version 2\)/);
    expect(rotated.code).toBe(0);
    const detached = await cli('rotate', id, '--detach', '--json');
    expect(JSON.parse(detached.text)).toEqual({
      ok: true,
      started: `secretPolicies/${id}.rotateRequestedAt`,
    });
  });

  it('backup now runs the export job and follows it to verified; drill now drills it, and again on request', async () => {
    const bucket = 'demo-fireops-backups'; // EXPORT_BUCKETS of the local suite (functions/.env.demo-fireops)
    await db().doc('cliBackups/a').set({ n: 1 });
    await db().doc('cliBackups/b').set({ n: 2 });
    await db()
      .doc('settings/backups')
      .set({ bucket, collectionIds: ['cliBackups'], drill: { enabled: false, everyDays: 7, sampleSize: 2 } });
    const exported = await cli('backup', 'now');
    expect(exported.text).toContain('starting: backups-scheduledExport now');
    expect(exported.text).toMatch(/done: backups\/\S+: verified/);
    expect(exported.code).toBe(0);

    expect((await cli('drill', 'now')).text).toBe(
      'refused: drills are disabled in settings/backups (drill.enabled)',
    );
    await db().doc('settings/backups').update({ 'drill.enabled': true });
    const first = await cli('drill', 'now', '--json');
    expect(first.code).toBe(0);
    const firstDrill = JSON.parse(first.text.split('\n').at(-1)!) as { ok: boolean; id: string };
    expect(firstDrill.ok).toBe(true);
    // The newest export was drilled and passed: only the request makes a second drill due.
    const second = await cli('drill', 'now', '--json');
    expect(second.code).toBe(0);
    const secondDrill = JSON.parse(second.text.split('\n').at(-1)!) as { ok: boolean; id: string };
    expect(secondDrill.id).not.toBe(firstDrill.id);
    const started = (await db().doc(`drills/${secondDrill.id}`).get()).get('startedAtMs') as number;
    const requested = (
      (await db().doc('settings/backups').get()).get('drill.requestedAt') as FirebaseFirestore.Timestamp
    ).toMillis();
    expect(started).toBeGreaterThanOrEqual(requested);
  }, 300_000);

  it('says so when the job ran but started nothing (a bucket outside EXPORT_BUCKETS is refused)', async () => {
    await db()
      .doc('settings/backups')
      .set({ bucket: 'not-an-export-bucket', collectionIds: ['cliBackups'] });
    const refused = await cli('backup', 'now');
    expect(refused.code).toBe(1);
    expect(refused.text).toContain('nothing recorded within 60 s');
  }, 120_000);
});
