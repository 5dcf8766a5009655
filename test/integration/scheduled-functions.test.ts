// Scheduled functions never fire by themselves in the Functions emulator: `npm start` prints, for each one, the
// command that fires it (`npm run fire -- ID`, emulators/fire.mjs) and the request it makes. This fires every
// scheduled function of the build through that same request (emulators/scheduler.mjs `scheduledRequest`), in the
// function's own region, and checks that each one actually ran.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { findScheduledFunctions, scheduledRequest } from '../../emulators/scheduler.mjs';
import { PROJECT_ID, REGION, rest } from '../support/emulators';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BASE_URL = process.env.FIREOPS_FUNCTIONS_URL ?? 'http://127.0.0.1:5001';
const scheduled = findScheduledFunctions(path.join(ROOT, 'functions', 'lib', 'index.js'));

beforeEach(async () => {
  await rest.clear();
});

describe('firing scheduled functions locally', () => {
  it('finds every scheduled function, probe cycles in their own regions', () => {
    const ids = scheduled.map((f) => f.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'scheduledExport',
        'restoreDrill',
        'canaryController',
        'probeCycleAfricaSouth1',
      ]),
    );
    const africa = scheduled.find((f) => f.id === 'probeCycleAfricaSouth1')!;
    const { url } = scheduledRequest(africa, { baseUrl: BASE_URL, project: PROJECT_ID, region: REGION });
    expect(url).toBe(`${BASE_URL}/${PROJECT_ID}/africa-south1/probeCycleAfricaSouth1-0`);
  });

  it.each(scheduled.map((f) => [f.id, f] as const))('%s runs from the printed request', async (_id, fn) => {
    const { url, init } = scheduledRequest(fn, { baseUrl: BASE_URL, project: PROJECT_ID, region: REGION });
    const res = await fetch(url, init);
    expect(res.status).toBe(200);
  });

  it('a plain function URL is not how a scheduled function is reached (what npm start used to print)', async () => {
    const fn = scheduled.find((f) => f.id === 'probeCycleAfricaSouth1')!;
    const res = await fetch(`${BASE_URL}/${PROJECT_ID}/${REGION}/${fn.id}`, { method: 'POST' });
    expect(res.status).toBe(404);
  });

  it('`npm run fire -- ID` fires one and reports its answer', () => {
    const run = spawnSync(process.execPath, [path.join(ROOT, 'emulators', 'fire.mjs'), 'healthRollup'], {
      encoding: 'utf8',
      env: { ...process.env, FIREOPS_FUNCTIONS_URL: BASE_URL },
      timeout: 120_000,
    });
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^healthRollup \(europe-west1\) @ \S+ -> 200/);
    expect(run.status).toBe(0);
    const unknown = spawnSync(
      process.execPath,
      [path.join(ROOT, 'emulators', 'fire.mjs'), 'noSuchFunction'],
      {
        encoding: 'utf8',
      },
    );
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('scheduledExport');
  });
});
