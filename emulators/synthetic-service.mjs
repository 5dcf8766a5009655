// @ts-check
// A local synthetic service for `npm start` and `npm run demo`: what a real service of the platform does for fireops.
//
// - It publishes its metric windows on `canary-metrics` (the Pub/Sub emulator), one message per cohort every few
//   seconds, each carrying the minute's totals so far (requests, errors, latency buckets), as a service's metrics
//   exporter would; canary-ingestMetrics validates and stores them where the canary judges them.
// - It answers health probes on `/healthz` (200 `ok`, or 503 while `failing`), so a health check can go down and
//   come back on demand.
//
// Deterministic on purpose: traffic is a steady rate with a fixed error share per cohort, so a demo run judges the
// same way on a fast and on a slow machine.
import { createServer } from 'node:http';

const MINUTE_MS = 60_000;

/**
 * @typedef {object} CohortProfile
 * @property {number} perMinute Requests a full minute counts.
 * @property {number} errorRate Share of requests that fail (0..1).
 * @property {Record<string, number>} latency Share of successful requests per latency bucket (ms bound).
 */

/** @type {CohortProfile} */
const HEALTHY = { perMinute: 120, errorRate: 0.005, latency: { 25: 0.5, 50: 0.3, 100: 0.15, 250: 0.05 } };

/**
 * Starts the service: its HTTP endpoint at once, its metric windows every `everyMs`.
 * @param {{ pubsubHost: string, project: string, service: string, shard?: string, everyMs?: number,
 *   cohorts?: Record<string, CohortProfile> }} opts
 */
export async function startSyntheticService(opts) {
  const { pubsubHost, project, service, shard = 'synthetic-1', everyMs = 5_000 } = opts;
  /** @type {Record<string, CohortProfile>} */
  const cohorts = { baseline: HEALTHY, canary: HEALTHY, ...opts.cohorts };
  const state = { failing: false, published: 0, refused: 0, lastError: '' };

  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(state.failing ? 503 : 200, { 'content-type': 'text/plain' });
      res.end(state.failing ? 'unavailable' : 'ok');
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = /** @type {import('node:net').AddressInfo} */ (server.address());
  const url = `http://127.0.0.1:${address.port}`;

  /**
   * The window of `cohort` for the minute of `nowMs`, as counted so far.
   * @param {string} cohort
   * @param {number} nowMs
   */
  function windowOf(cohort, nowMs) {
    const p = cohorts[cohort] ?? HEALTHY;
    const minuteMs = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS;
    const requests = Math.max(1, Math.round((p.perMinute * (nowMs - minuteMs)) / MINUTE_MS));
    const errors = Math.round(requests * p.errorRate);
    const ok = requests - errors;
    /** @type {Record<string, number>} */
    const latencyMs = {};
    let left = ok;
    const buckets = Object.entries(p.latency);
    buckets.forEach(([bound, share], i) => {
      const n = i === buckets.length - 1 ? left : Math.min(left, Math.round(ok * share));
      if (n > 0) latencyMs[bound] = n;
      left -= n;
    });
    return { service, cohort, minuteMs, shard, requests, errors, latencyMs };
  }

  /** @param {number} nowMs */
  async function publish(nowMs) {
    const messages = Object.keys(cohorts).map((cohort) => ({
      data: Buffer.from(JSON.stringify(windowOf(cohort, nowMs))).toString('base64'),
      attributes: { writer: `synthetic:${service}` },
    }));
    try {
      const res = await fetch(`http://${pubsubHost}/v1/projects/${project}/topics/canary-metrics:publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages }),
        signal: AbortSignal.timeout(10_000),
      });
      if (res.ok) state.published += messages.length;
      else {
        state.refused += 1;
        state.lastError = `publish answered ${res.status}`;
      }
    } catch (err) {
      state.refused += 1;
      state.lastError = /** @type {Error} */ (err).message;
    }
  }

  let lastMinute = Math.floor(Date.now() / MINUTE_MS);
  const tick = async () => {
    const now = Date.now();
    const minute = Math.floor(now / MINUTE_MS);
    // The minute that just ended is published once more with its full count (as an exporter flushes it).
    if (minute !== lastMinute) await publish(minute * MINUTE_MS - 1);
    lastMinute = minute;
    await publish(now);
  };
  void tick();
  const timer = setInterval(() => void tick(), everyMs);
  timer.unref();

  return {
    url,
    state,
    /**
     * Makes `/healthz` answer 503 (true) or 200 (false).
     * @param {boolean} failing
     */
    setFailing(failing) {
      state.failing = failing;
    },
    /**
     * Changes a cohort's profile from now on (e.g. a canary that errors).
     * @param {string} cohort
     * @param {Partial<CohortProfile>} profile
     */
    setCohort(cohort, profile) {
      cohorts[cohort] = { ...HEALTHY, ...profile };
    },
    async stop() {
      clearInterval(timer);
      await new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
}
