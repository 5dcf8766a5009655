// The Functions emulator runs fireops on the runtime it deploys to (`nodejs22`): the deployed `status` function
// reports the Node.js running it in a header it sets only in the emulator (functions/src/health/status.ts).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS_URL, waitFor } from '../support/emulators';

const engines = (file: string): unknown =>
  (JSON.parse(readFileSync(new URL(file, import.meta.url), 'utf8')) as { engines?: { node?: unknown } })
    .engines?.node;

describe('runtime', () => {
  it('the Functions emulator runs the functions on the Node.js major of functions/package.json engines', async () => {
    const major = engines('../../functions/package.json');
    expect(major).toBe('22');
    // A POST is answered 405 before any read: nothing but the function's own process is involved. The emulator
    // can fail to load a function on a loaded machine: ask again until it answers.
    const res = await waitFor(
      async () => {
        const r = await fetch(`${FUNCTIONS_URL}/health-status`, { method: 'POST' });
        return r.status === 405 ? r : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 500, what: 'status to answer 405' },
    );
    const version = res.headers.get('x-fireops-emulated-node');
    expect(version, 'the emulated function reports its Node.js version').toMatch(/^v\d+\./);
    expect(version?.slice(1).split('.')[0]).toBe(major);
  });
});
