// `npm run fire -- ID` (emulators/fire.mjs) fires one scheduled function of the running suite once, through the
// same request `npm start` prints (emulators/scheduler.mjs `scheduledRequest`); dev-session-fire.test.ts checks
// every printed command.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { db } from '../../functions/src/platform/firestore';
import { collectTopic, rest, waitFor } from '../support/emulators';
import { ROOT } from '../support/functions-require';
import { scaled } from '../support/time-factor';

const BASE_URL = process.env.FIREOPS_FUNCTIONS_URL ?? 'http://127.0.0.1:5001';
const fire = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(ROOT, 'emulators', 'fire.mjs'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, FIREOPS_FUNCTIONS_URL: BASE_URL },
    timeout: scaled(120_000),
  });

beforeEach(async () => {
  await rest.clear();
});

describe('npm run fire', () => {
  it('fires one scheduled function in its own region and reports its answer', () => {
    const run = fire('health-probeCycleAfricaSouth1');
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^health-probeCycleAfricaSouth1 \(africa-south1\) @ \S+ -> 200/);
    expect(run.status).toBe(0);
  });

  it('runs a given schedule time, and refuses what it cannot fire, naming what it can', () => {
    const run = fire('health-healthRollup', '2026-12-04T02:00:00Z');
    expect(run.stdout).toMatch(/^health-healthRollup \(europe-west1\) @ 2026-12-04T02:00:00.000Z -> 200/);
    const unknown = fire('noSuchFunction');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('backups-scheduledExport');
    const badTime = fire('health-healthRollup', 'yesterday');
    expect(badTime.status).toBe(2);
    expect(badTime.stderr).toContain('not a time');
  });
});

describe('canary-canaryController fans out', () => {
  it('publishes one canary-kick per service with a rollout to tick, and none for a finished one', async () => {
    const kicks = await collectTopic('canary-kick');
    try {
      const rollouts = db().collection('rollouts');
      // Only what the controller's query reads (phase, service): the kicked ticks skip them as malformed (logged).
      await rollouts.doc('fan-a').set({ service: 'fan-out-a', phase: 'progressing', createdAtMs: 1 });
      await rollouts.doc('fan-b').set({ service: 'fan-out-b', phase: 'paused', createdAtMs: 2 });
      await rollouts.doc('fan-b2').set({ service: 'fan-out-b', phase: 'pending', createdAtMs: 3 });
      await rollouts.doc('fan-c').set({ service: 'fan-out-c', phase: 'promoted', createdAtMs: 4 });
      const run = fire('canary-canaryController');
      expect(run.stdout).toMatch(/^canary-canaryController \(europe-west1\) @ \S+ -> 200/);
      const services = () => kicks.messages.map((m) => m.data.service as string).sort();
      await waitFor(() => services().length >= 2, { what: 'a canary-kick per service' });
      await new Promise((r) => setTimeout(r, 1000)); // a third one, if any, would have arrived by now
      expect(services()).toEqual(['fan-out-a', 'fan-out-b']);
      expect(
        kicks.messages.every((m) => /^canaryController@.+:fan-out-[ab]$/.test(m.data.correlationId)),
      ).toBe(true);
    } finally {
      await kicks.close();
    }
  });
});
