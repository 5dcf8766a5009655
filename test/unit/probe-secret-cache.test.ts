// health/deps.ts cachedSecretReader: headerSecrets read once a minute per secret, served stale while Secret
// Manager fails (up to 15 minutes), never invented.
import { describe, expect, it } from 'vitest';
import {
  PROBE_SECRET_FRESH_MS,
  PROBE_SECRET_STALE_MS,
  cachedSecretReader,
} from '../../functions/src/health/deps';

function fakeSecretManager() {
  const sm = { reads: 0, fail: false, value: 'v1' };
  const read = (id: string) => {
    sm.reads += 1;
    return sm.fail ? Promise.reject(new Error(`14 UNAVAILABLE: ${id}`)) : Promise.resolve(sm.value);
  };
  return { sm, read };
}

describe('cachedSecretReader', () => {
  it('reads once per minute per secret, and shares one read between concurrent probes', async () => {
    const { sm, read } = fakeSecretManager();
    let now = 0;
    const get = cachedSecretReader(read, () => now);
    expect(await Promise.all([get('fireops-a'), get('fireops-a'), get('fireops-a')])).toEqual([
      'v1',
      'v1',
      'v1',
    ]);
    expect(sm.reads).toBe(1);
    now = PROBE_SECRET_FRESH_MS - 1;
    await get('fireops-a');
    expect(sm.reads).toBe(1);
    sm.value = 'v2'; // rotated
    now = PROBE_SECRET_FRESH_MS;
    expect(await get('fireops-a')).toBe('v2');
    expect(sm.reads).toBe(2);
    await get('fireops-b');
    expect(sm.reads).toBe(3);
  });

  it('serves the last value while Secret Manager fails, up to the stale limit, then fails', async () => {
    const { sm, read } = fakeSecretManager();
    let now = 0;
    const get = cachedSecretReader(read, () => now);
    await get('fireops-a');
    sm.fail = true;
    now = PROBE_SECRET_FRESH_MS + 1;
    expect(await get('fireops-a')).toBe('v1'); // a blip: nobody paged
    now = PROBE_SECRET_STALE_MS;
    await expect(get('fireops-a')).rejects.toThrow('UNAVAILABLE');
    await expect(get('fireops-never-read')).rejects.toThrow('UNAVAILABLE');
  });
});
