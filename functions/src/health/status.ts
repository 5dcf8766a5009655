// HTTPS, public: uptime, error budget and burn rate of every health check, for a status page or a badge.
//   GET /status   -> 200 {generatedAtMs, throughMs, checks: [{id, name, tags, state?, uptime, sloTarget,
//                          errorBudget30d, burnRate}]}   (health/domain/summary.ts statusOf: public fields only)
//                 -> 503 {error} until healthRollup has written healthSummary/current; 405 for other methods.
//
// Reads: the summary's head (its parts, ~1 per 120 checks, only when the rollup wrote a new one, every 10 minutes)
// plus the current states, which the summary does not hold (it is 10 minutes behind; states change within a
// minute): healthStatus whole every 10 minutes, in between only the statuses updated since (statesReader). The
// answer is cached per instance for CACHE_MS and says `Cache-Control: public, max-age=30`, so browsers and a CDN
// (Firebase Hosting rewrite) serve repeats: about 4 reads a minute per instance, plus the parts and the checks
// once every 10 minutes.
import { type Request } from 'firebase-functions/v2/https';
import type { Response } from 'express';
import { db } from '../platform/firestore';
import { type HealthSummaryDoc } from './docs';
import { HEALTH_STATUS } from '../platform/collections';
import { readSummary, type StoredSummary } from './rollup';
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

/** States are re-read whole at least this often; in between only the ones updated since (see below). */
export const STATES_RELOAD_MS = 60 * 60_000;
/** Writers stamp `updatedAtMs` with their own clock: the delta reaches back this far to cover their skew. */
const STATES_SKEW_MS = 2 * 60_000;

/**
 * `healthStatus` states, kept per instance: a whole read every STATES_RELOAD_MS, and in between only the documents
 * whose `updatedAtMs` moved (a probe cycle writes a status only when its state changes), so a refresh costs a read
 * or two, not one per check.
 */
export function statesReader(nowMs: () => number = () => systemClock.nowMs()) {
  let known: { states: Record<string, HealthState>; latestMs: number; loadedAtMs: number } | undefined;
  const take = (docs: FirebaseFirestore.QueryDocumentSnapshot[], into: Record<string, HealthState>) => {
    let latest = 0;
    for (const doc of docs) {
      const state: unknown = doc.get('state');
      if (typeof state === 'string' && STATES.has(state)) into[doc.id] = state as HealthState;
      latest = Math.max(latest, Number(doc.get('updatedAtMs') ?? 0));
    }
    return latest;
  };
  return async (): Promise<Record<string, HealthState>> => {
    const now = nowMs();
    const col = db().collection(HEALTH_STATUS);
    if (known && now - known.loadedAtMs < STATES_RELOAD_MS) {
      const snap = await col
        .where('updatedAtMs', '>', known.latestMs - STATES_SKEW_MS)
        .select('state', 'updatedAtMs')
        .get();
      known.latestMs = Math.max(known.latestMs, take(snap.docs, known.states));
    } else {
      const snap = await col.select('state', 'updatedAtMs').get();
      const states: Record<string, HealthState> = {};
      known = { states, latestMs: take(snap.docs, states), loadedAtMs: now };
    }
    return { ...known.states };
  };
}

let lastSummary: StoredSummary | undefined;

const firestoreDeps: StatusDeps = {
  // The parts are read again only when the rollup has written a new summary (every 10 minutes).
  readSummary: async () => (lastSummary = await readSummary(undefined, lastSummary))?.summary,
  readStates: statesReader(),
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
