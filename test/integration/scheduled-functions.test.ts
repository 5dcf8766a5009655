// `npm run fire -- ID` (emulators/fire.mjs) fires one scheduled function of the running suite once, through the
// same request `npm start` prints (emulators/scheduler.mjs `scheduledRequest`); dev-session-fire.test.ts checks
// every printed command.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { rest } from '../support/emulators';
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
