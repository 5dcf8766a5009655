// The public status page as a Bvester user on a slow mobile network sees it: Debian's Chromium (installed by the
// test when missing), driven by playwright-core, loads `/` from Firebase Hosting's emulator (rewritten to the
// deployed health-statusPage) under a slow-3G profile. It checks what is on screen (public components under their
// public names, their states, 90 days of bars; nothing private), that it reads with scripts off, that times are in
// the reader's time zone when scripts run, an incident appearing once opened, and prints the bytes and time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { db, firestoreModule } from '../../functions/src/platform/firestore';
import { catalogEntry } from '../../functions/src/health/catalog';
import { CatalogCache } from '../../functions/src/health/catalog-cache';
import { cycleDocId } from '../../functions/src/health/docs';
import { runHealthRollup } from '../../functions/src/health/rollup';
import { healthCheckSchema } from '../../functions/src/health/schema';
import {
  HEALTH_CATALOG,
  HEALTH_CYCLES,
  HEALTH_PUBLIC_STATUS,
} from '../../functions/src/platform/collections';
import { HOSTING_URL, rest, waitFor } from '../support/emulators';
import { CHROMIUM_ARGS, ensureChromium } from '../support/chromium';
import { scaled } from '../support/time-factor';

const MIN = 60_000;
const DAY = 86_400_000;
/** Chrome DevTools' "Slow 3G": 400 ms round trip, 400 kbit/s each way. */
const SLOW_3G = { offline: false, latency: 400, downloadThroughput: 50_000, uploadThroughput: 50_000 };
const MAX_BYTES = 30 * 1024;

let browser: Browser;

beforeAll(async () => {
  const executablePath = ensureChromium();
  browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  await rest.clear();
  const definition = (extra: Record<string, unknown>) =>
    healthCheckSchema.parse({
      type: 'http',
      target: 'https://internal.example/health',
      conditions: ['status == 200'],
      ...extra,
    });
  const col = db().collection(HEALTH_CATALOG);
  await col
    .doc('api')
    .set(
      catalogEntry(
        'api',
        definition({ name: 'api-eu-prod', public: { name: 'Investments API', group: 'Platform' } }),
      ),
    );
  await col
    .doc('web')
    .set(catalogEntry('web', definition({ name: 'web-prod', public: { name: 'Web app' } })));
  await col.doc('db').set(catalogEntry('db', definition({ name: 'Internal ledger DB' })));
  // Cycles of the last hour: everything passes but the private check.
  const now = Date.now();
  const { Timestamp } = firestoreModule();
  const writer = db().bulkWriter();
  for (let m = Math.floor(now / MIN) * MIN - 60 * MIN; m < now - 3 * MIN; m += MIN) {
    void writer.set(db().collection(HEALTH_CYCLES).doc(cycleDocId('europe-west1', m)), {
      region: 'europe-west1',
      minuteMs: m,
      startedAtMs: m,
      durationMs: 1,
      r: { api: [1, 120, 200, '', 0], web: [1, 90, 200, '', 0], db: [0, 10_000, 0, 'timeout', 0] },
      c: {},
      s: {},
      i: {},
      expireAt: Timestamp.fromMillis(m + 35 * DAY),
    });
  }
  await writer.close();
  // What an earlier rollup remembered beyond the summary's 30 days: a bad day 45 days ago.
  const bad = new Date(Math.floor(now / DAY) * DAY - 45 * DAY).toISOString().slice(0, 10);
  await db()
    .doc(HEALTH_PUBLIC_STATUS)
    .set({
      updatedAtMs: 0,
      throughMs: 0,
      components: { api: { name: 'Investments API', group: 'Platform', days: { [bad]: [1440, 1300, 0] } } },
    });
  const rolled = await runHealthRollup(
    { nowMs: now, correlationId: 'status-page' },
    { catalog: new CatalogCache() },
  );
  expect(rolled.outcome).toBe('folded');
  for (const [id, state] of [
    ['api', 'up'],
    ['web', 'up'],
    ['db', 'down'],
  ] as const)
    await db()
      .doc(`healthStatus/${id}`)
      .set({ checkId: id, name: id, state, updatedAtMs: now, incident: null });
}, scaled(600_000));

afterAll(async () => {
  await browser?.close();
});

/** Loads the page under slow 3G; returns what was transferred and how long the load took. */
async function load(page: Page): Promise<{ bytes: number; ms: number; requests: number }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Network.emulateNetworkConditions', SLOW_3G);
  let bytes = 0;
  let requests = 0;
  cdp.on('Network.requestWillBeSent', () => (requests += 1));
  cdp.on('Network.loadingFinished', (e: { encodedDataLength: number }) => (bytes += e.encodedDataLength));
  const t0 = performance.now();
  const res = await page.goto(`${HOSTING_URL}/`, { waitUntil: 'load', timeout: scaled(60_000) });
  const ms = performance.now() - t0;
  expect(res?.status()).toBe(200);
  return { bytes, ms, requests };
}

describe('the public status page in a real browser on slow 3G', () => {
  it('shows the public components, their states and 90 days, nothing private, in under 30 KB', async () => {
    // Warm the function (the emulator's first request starts a worker), then measure a user's load.
    await fetch(`${HOSTING_URL}/`);
    const context = await browser.newContext({ timezoneId: 'Africa/Lagos', locale: 'en-GB' });
    const page = await context.newPage();
    const { bytes, ms, requests } = await load(page);
    const html = await (await fetch(`${HOSTING_URL}/`)).text();
    console.log(
      `status page on slow 3G (400 ms, 400 kbit/s): ${requests} request(s), ${bytes} bytes transferred ` +
        `(HTML ${Buffer.byteLength(html)} bytes), loaded in ${Math.round(ms)} ms`,
    );
    expect(requests).toBe(1);
    expect(bytes).toBeGreaterThan(500);
    expect(bytes).toBeLessThan(MAX_BYTES);
    expect(ms).toBeLessThan(scaled(15_000));

    const text = await page.locator('body').innerText();
    expect(text).toContain('All systems operational');
    expect(text).toContain('Investments API');
    expect(text).toContain('Web app');
    expect(text).toContain('Platform');
    expect(text).not.toMatch(/ledger|Internal|api-eu-prod|internal\.example/);
    const components = page.locator('.c');
    expect(await components.count()).toBe(2);
    for (let k = 0; k < 2; k += 1) {
      await expect.poll(() => components.nth(k).locator('.s').innerText()).toBe('Operational');
      expect(await components.nth(k).locator('svg').getAttribute('aria-label')).toBe('last 90 days');
    }
    // The bad day 45 days ago is a bar of its own, with its date.
    const bad = new Date(Math.floor(Date.now() / DAY) * DAY - 45 * DAY).toISOString().slice(0, 10);
    expect(await page.locator(`.c rect.x title:text-is("${bad}: failures")`).count()).toBe(1);
    // Times are the reader's (Lagos, UTC+1): the script rewrote the UTC text.
    const updated = await page.locator('time').last().innerText();
    expect(updated).not.toContain('UTC');
    await context.close();
  });

  it('reads the same with scripts off (server-rendered), times in UTC', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await load(page);
    const text = await page.locator('body').innerText();
    expect(text).toContain('Investments API');
    expect(text).toContain('Operational');
    expect(await page.locator('time').last().innerText()).toContain('UTC');
    await context.close();
  });

  it(
    'shows an incident once it opens, with its component down',
    async () => {
      const now = Date.now();
      await db()
        .doc('healthStatus/api')
        .set({ checkId: 'api', name: 'api', state: 'down', updatedAtMs: now, incident: null });
      await db()
        .doc('incidents/api_test')
        .set({
          id: 'api_test',
          checkId: 'api',
          name: 'api-eu-prod',
          state: 'open',
          openedAtMs: now - 5 * MIN,
          resolvedAtMs: null,
          durationMs: null,
          failingRegions: ['europe-west1'],
          why: 'down: status == 200 failed (503) in europe-west1',
          reminders: 0,
          lastReminderAtMs: now - 5 * MIN,
        });
      // The function caches the page for 30 s per instance: reload until it shows.
      const context = await browser.newContext();
      const page = await context.newPage();
      const text = await waitFor(
        async () => {
          await load(page);
          const t = await page.locator('body').innerText();
          return t.includes('Investigating') ? t : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 5_000, what: 'the incident on the page' },
      );
      expect(text).toContain('Some systems are down');
      expect(text).toMatch(/Investments API: Investigating since/);
      expect(text).toContain('Outage');
      expect(text).not.toContain('503'); // the reason stays private
      await context.close();
    },
    scaled(180_000),
  );
});
