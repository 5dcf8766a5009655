// HTTPS, public: uptime, error budget and burn rate of every health check, for a status page or a badge.
//   GET /status   -> 200 {generatedAtMs, throughMs, checks: [{id, name, tags, state?, uptime, sloTarget,
//                          errorBudget30d, burnRate}]}   (health/domain/summary.ts statusOf: public fields only)
//                 -> 503 {error} until healthRollup has written healthSummary/current; 405 for other methods.
//
// Reads: healthSummary/current (1) plus healthStatus (1 per check) for the current states, which the summary does
// not hold (it is 10 minutes behind; states change within a minute). Both are cached per instance for CACHE_MS and
// the response says `Cache-Control: public, max-age=30`, so browsers and a CDN (Firebase Hosting rewrite) serve
// repeats: at most 2 x (1 + checks) reads a minute per instance, whatever the traffic.
import { type Request } from 'firebase-functions/v2/https';
import type { Response } from 'express';
import { db } from '../platform/firestore';
import { type HealthSummaryDoc } from './docs';
import { HEALTH_STATUS, HEALTH_SUMMARY } from '../platform/collections';
import { parseSummary } from './rollup';
import { logger } from '../platform/logger';
import { systemClock, type Clock } from '../platform/domain/clock';
import type { HealthState } from './domain/health';
import { statusOf, type PublicStatus } from './domain/summary';
import { sendHttpError } from '../platform/error-mapping';

export const CACHE_MS = 30_000;
const STATES: ReadonlySet<string> = new Set<HealthState>(['up', 'degraded', 'down', 'unknown']);

export interface StatusDeps {
  readSummary(): Promise<HealthSummaryDoc | undefined>;
  readStates(): Promise<Record<string, HealthState>>;
  clock: Clock;
  cacheMs: number;
}

const firestoreDeps: StatusDeps = {
  readSummary: async () => await parseSummary(await db().doc(HEALTH_SUMMARY).get()),
  readStates: async () => {
    const snap = await db().collection(HEALTH_STATUS).select('state').get();
    const states: Record<string, HealthState> = {};
    for (const doc of snap.docs) {
      const state: unknown = doc.get('state');
      if (typeof state === 'string' && STATES.has(state)) states[doc.id] = state as HealthState;
    }
    return states;
  },
  clock: systemClock,
  cacheMs: CACHE_MS,
};

/** A handler with its own per-instance cache (tests make a fresh one). */
export function createStatusHandler(deps: StatusDeps = firestoreDeps) {
  let cached: { atMs: number; body: PublicStatus } | undefined;
  return async function handleStatus(req: Request, res: Response): Promise<void> {
    const log = logger({ function: 'status' });
    res.set('Access-Control-Allow-Origin', '*');
    // Emulator only (firebase-tools sets FUNCTIONS_EMULATOR; production never does): the Node.js running the
    // function, which test/integration/runtime.test.ts checks is the runtime fireops deploys to.
    if (process.env.FUNCTIONS_EMULATOR === 'true') res.set('X-Fireops-Emulated-Node', process.version);
    if (req.method !== 'GET') {
      res.set('Allow', 'GET').status(405).json({ error: 'use GET' });
      return;
    }
    try {
      const nowMs = deps.clock.nowMs();
      if (!cached || nowMs - cached.atMs >= deps.cacheMs) {
        const [summary, states] = await Promise.all([deps.readSummary(), deps.readStates()]);
        if (!summary) {
          res
            .set('Cache-Control', 'no-store')
            .status(503)
            .json({ error: 'no health summary yet: healthRollup has not run' });
          return;
        }
        cached = { atMs: nowMs, body: statusOf(summary, nowMs, states) };
      }
      res
        .set('Cache-Control', `public, max-age=${Math.round(deps.cacheMs / 1000)}`)
        .status(200)
        .json(cached.body);
    } catch (err) {
      res.set('Cache-Control', 'no-store');
      await sendHttpError(res, log, err, { fn: 'health.status', clientErrors: false });
    }
  };
}

export const handleStatus = createStatusHandler();
