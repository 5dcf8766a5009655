// HTTPS, public: the status page Bvester's users load (Firebase Hosting rewrites `/` to it; firebase.json).
//   GET /  -> 200 text/html, one document under 30 KB (domain/status-page.ts renderStatusPage): the components
//             marked public with their state and 90 days of bars, open incidents and those resolved in the last
//             24 h with their updates; readable with scripts off. 405 for other methods.
//
// Reads, per cache miss (CACHE_MS, per instance): healthSummary/public (1), the public components' healthStatus
// (1 each), incidents open or resolved within 24 h (a query each, billed 1 when empty). The answer says
// `Cache-Control: public, max-age=30, s-maxage=60`: Hosting's CDN serves repeats for a minute, so the function
// runs about once a minute per CDN location whatever the traffic.
import type { Request } from 'firebase-functions/v2/https';
import type { Response } from 'express';
import { db } from '../platform/firestore';
import { HEALTH_PUBLIC_STATUS, HEALTH_STATUS, INCIDENTS } from '../platform/collections';
import { logger } from '../platform/logger';
import { systemClock, type Clock } from '../platform/domain/clock';
import { sendHttpError } from '../platform/error-mapping';
import type { HealthState } from './domain/health';
import type { PublicIncident, PublicStatusDoc } from './domain/status-page';
import type { IncidentDoc } from './docs';

export const PAGE_CACHE_MS = 30_000;
const DAY_MS = 86_400_000;
const STATES: ReadonlySet<string> = new Set<HealthState>(['up', 'degraded', 'down', 'unknown']);

export interface StatusPageData {
  doc: PublicStatusDoc | undefined;
  states: Record<string, HealthState>;
  incidents: PublicIncident[];
}

export interface StatusPageDeps {
  read(nowMs: number): Promise<StatusPageData>;
  clock: Clock;
  cacheMs: number;
}

async function readFromFirestore(nowMs: number): Promise<StatusPageData> {
  const snap = await db().doc(HEALTH_PUBLIC_STATUS).get();
  const doc = snap.data() as PublicStatusDoc | undefined;
  const ids = Object.keys(doc?.components ?? {});
  if (!doc || !ids.length) return { doc, states: {}, incidents: [] };
  const incidentsOf = db().collection(INCIDENTS);
  const [statusSnaps, open, resolved] = await Promise.all([
    db().getAll(...ids.map((id) => db().collection(HEALTH_STATUS).doc(id))),
    incidentsOf.where('state', '==', 'open').get(),
    incidentsOf.where('resolvedAtMs', '>=', nowMs - DAY_MS).get(),
  ]);
  const states: Record<string, HealthState> = {};
  statusSnaps.forEach((s, k) => {
    const state: unknown = s.get('state');
    if (typeof state === 'string' && STATES.has(state)) states[ids[k]!] = state as HealthState;
  });
  const incidents: PublicIncident[] = [];
  for (const d of [...open.docs, ...resolved.docs]) {
    const i = d.data() as IncidentDoc;
    const component = doc.components[i.checkId];
    if (!component) continue; // a private check's incident is not public
    incidents.push({
      component: component.name,
      state: i.state,
      openedAtMs: i.openedAtMs,
      resolvedAtMs: i.resolvedAtMs,
      lastReminderAtMs: i.lastReminderAtMs,
      reminders: i.reminders,
    });
  }
  incidents.sort((a, b) => b.openedAtMs - a.openedAtMs);
  return { doc, states, incidents };
}

export function createStatusPageHandler(
  deps: StatusPageDeps = { read: readFromFirestore, clock: systemClock, cacheMs: PAGE_CACHE_MS },
) {
  let cached: { atMs: number; html: string; gzip: Buffer } | undefined;
  return async function handleStatusPage(req: Request, res: Response): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.set('Allow', 'GET, HEAD').status(405).type('text/plain').send('use GET');
      return;
    }
    try {
      const nowMs = deps.clock.nowMs();
      if (!cached || nowMs - cached.atMs >= deps.cacheMs) {
        const [data, { renderStatusPage }] = await Promise.all([
          deps.read(nowMs),
          import('./domain/status-page.js'),
        ]);
        const html = renderStatusPage({ ...data, nowMs });
        const { gzipSync } = await import('node:zlib');
        cached = { atMs: nowMs, html, gzip: gzipSync(html) };
      }
      res
        .set('Cache-Control', `public, max-age=${Math.round(deps.cacheMs / 1000)}, s-maxage=60`)
        .set('X-Content-Type-Options', 'nosniff')
        .set(
          'Content-Security-Policy',
          "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'",
        )
        .set('Vary', 'Accept-Encoding')
        .status(200)
        .type('html');
      // Compressed here, not left to a proxy: the bars' markup repeats, and gzip makes the worst page (20
      // components, a failure every other day) ~12 KB instead of ~85 KB on a metered mobile connection.
      if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
        res.set('Content-Encoding', 'gzip').send(cached.gzip);
      } else {
        res.send(cached.html);
      }
    } catch (err) {
      res.set('Cache-Control', 'no-store');
      await sendHttpError(res, logger({ function: 'statusPage' }), err, {
        fn: 'health.statusPage',
        clientErrors: false,
      });
    }
  };
}

export const handleStatusPage = createStatusPageHandler();
