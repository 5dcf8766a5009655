// Which failed GitHub deliveries to ask GitHub to redeliver. GitHub keeps deliveries for 3 days and never retries
// by itself; it recommends exactly this sweep (https://docs.github.com/en/webhooks/using-webhooks/
// handling-failed-webhook-deliveries). Neither Octokit nor Probot does it.

export interface DeliveryAttempt {
  id: number;
  guid: string;
  deliveredAtMs: number;
  statusCode: number;
}

export interface RedeliveryPlan {
  redeliver: { guid: string; deliveryId: number; firstFailedAtMs: number; attemptsSoFar: number }[];
  skipped: { delivered: number; recorded: number; gaveUp: number; overLimit: number };
  /** GUIDs fireops stopped asking for: failed at GitHub, never recorded, MAX_REDELIVERIES_PER_GUID asked already. */
  gaveUp: string[];
}

export const RECOVERY_WINDOW_MS = 3 * 24 * 3600 * 1000;
export const MAX_REDELIVERIES_PER_GUID = 3;

const ok = (code: number) => code >= 200 && code < 300;

/**
 * @param recorded GUIDs fireops has fully processed (in `deliveries/`, outbox flushed): a failure GitHub saw for
 *   them (a 400 for an invalid payload, say) would fail again, or needs nothing.
 * @param attempts redeliveries fireops already asked for, per GUID.
 */
export function planRedeliveries(
  attemptsSeen: readonly DeliveryAttempt[],
  recorded: ReadonlySet<string>,
  attempts: ReadonlyMap<string, number>,
  maxPerRun: number,
  maxPerGuid = MAX_REDELIVERIES_PER_GUID,
): RedeliveryPlan {
  const byGuid = new Map<string, DeliveryAttempt[]>();
  for (const a of attemptsSeen) byGuid.set(a.guid, [...(byGuid.get(a.guid) ?? []), a]);
  const skipped = { delivered: 0, recorded: 0, gaveUp: 0, overLimit: 0 };
  const candidates: RedeliveryPlan['redeliver'] = [];
  const gaveUp: string[] = [];
  for (const [guid, list] of byGuid) {
    if (list.some((a) => ok(a.statusCode))) {
      skipped.delivered += 1;
      continue;
    }
    if (recorded.has(guid)) {
      skipped.recorded += 1;
      continue;
    }
    const soFar = attempts.get(guid) ?? 0;
    if (soFar >= maxPerGuid) {
      skipped.gaveUp += 1;
      gaveUp.push(guid);
      continue;
    }
    const newest = list.reduce((a, b) => (b.deliveredAtMs > a.deliveredAtMs ? b : a));
    const firstFailedAtMs = Math.min(...list.map((a) => a.deliveredAtMs));
    candidates.push({ guid, deliveryId: newest.id, firstFailedAtMs, attemptsSoFar: soFar });
  }
  // Oldest first: they are closest to falling out of GitHub's 3-day window.
  candidates.sort((a, b) => a.firstFailedAtMs - b.firstFailedAtMs || a.guid.localeCompare(b.guid));
  const limit = Math.max(0, maxPerRun);
  skipped.overLimit = Math.max(0, candidates.length - limit);
  return { redeliver: candidates.slice(0, limit), skipped, gaveUp: gaveUp.sort() };
}
