// What `npm start` prints for each function must work (issue 17.6): every scheduled function's printed command
// makes the Functions emulator run it (answer 200 from /{region}/{id}-0 with the scheduler headers; the old
// printed form, /europe-west1/{id}, answered 404), and every HTTP function's printed URL reaches it.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeFunctions } from '../../emulators/scheduler.mjs';
import { ensureAnchorBucket } from '../../emulators/seed/anchor-bucket.mjs';
import { PROJECT_ID, REGION, rest } from '../support/emulators';
import { ROOT } from '../support/functions-require';
import { scaled } from '../support/time-factor';

const run = promisify(execFile);
const functions = describeFunctions(path.join(ROOT, 'functions', 'lib', 'index.js'), {
  baseUrl: process.env.FIREOPS_FUNCTIONS_URL ?? 'http://127.0.0.1:5001',
  project: PROJECT_ID,
  region: REGION,
});
const scheduled = functions.filter((f) => f.kind === 'scheduled');

beforeAll(async () => {
  await rest.clear();
  // As `npm start` leaves it (another test may have removed it): the anchor functions write and read it.
  await ensureAnchorBucket(process.env.STORAGE_EMULATOR_HOST!, PROJECT_ID);
});

describe('npm start prints how to reach each function', () => {
  it('lists every scheduled function, health-probeCycleAfricaSouth1 in africa-south1', () => {
    expect(scheduled.map((f) => f.id)).toEqual(
      expect.arrayContaining([
        'backups-scheduledExport',
        'backups-restoreDrill',
        'health-probeCycleEuropeWest1',
        'health-probeCycleAfricaSouth1',
      ]),
    );
    expect(scheduled.find((f) => f.id === 'health-probeCycleAfricaSouth1')!.how).toContain(
      `/${PROJECT_ID}/africa-south1/health-probeCycleAfricaSouth1-0`,
    );
  });

  it.each(scheduled.map((f) => [f.id, f.how]))(
    'the printed command runs %s (200 once it has run)',
    async (_id, command) => {
      // Retried only while the emulator fails to load the function (status 000: no answer), as a user would.
      let out = '';
      const deadline = Date.now() + scaled(60_000);
      do {
        out = (await run('sh', ['-c', command], { timeout: scaled(60_000) })).stdout.trim();
      } while (out === '000' && Date.now() < deadline);
      expect(out).toBe('200');
    },
  );

  it('every printed HTTP URL reaches its function (not the emulator 404)', async () => {
    const http = functions.filter((f) => f.kind === 'http');
    expect(http.map((f) => f.id)).toEqual(
      expect.arrayContaining(['webhooks-githubWebhook', 'health-status']),
    );
    for (const f of http) {
      const res = await fetch(f.how, { signal: AbortSignal.timeout(scaled(60_000)) });
      expect([f.id, res.status], await res.text()).not.toEqual([f.id, 404]);
    }
  });
});
