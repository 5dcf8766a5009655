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
