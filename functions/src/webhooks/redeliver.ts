// redeliverFailedWebhooks (hourly): asks GitHub to redeliver the deliveries of the last 3 days that failed and that
// fireops has not processed. Bounded per run; one run per schedule time (idempotency key) and never two at once
// (lease); every redelivery and every run audited.
import { GITHUB_SETTINGS } from '../platform/collections';
import { REDELIVERIES } from '../platform/collections';
import { appendAudit, openAudit } from '../platform/audit-log';
import type { Actor } from '../platform/domain/audit-chain';
import { type Clock } from '../platform/domain/clock';
import { db, firestoreModule } from '../platform/firestore';
import { type GithubApi } from '../platform/github-api';
import { logger } from '../platform/logger';
import { alertPublish } from '../platform/alerts';
import { runOnce } from '../platform/idempotency';
import { runScheduledOnce } from '../platform/scheduled-run';
import { readValidatedDoc } from '../platform/settings';
import { DELIVERIES } from '../platform/collections';
import {
  type DeliveryAttempt,
  MAX_REDELIVERIES_PER_GUID,
  planRedeliveries,
  RECOVERY_WINDOW_MS,
} from './domain/redelivery';

const LEASE_MS = 15 * 60_000;

export interface RedeliveryDeps {
  api: GithubApi;
  clock: Clock;
  maxPerRun: number;
}

export interface RedeliveryRunResult {
  ran: boolean;
  reason?: string;
  requested: string[];
  skipped?: Record<string, number>;
  /** GUIDs given up on in this run (each alerted once, `delivery.gave-up`). */
  gaveUp?: string[];
}

export async function handleRedeliverFailedWebhooks(
  schedule: { jobName?: string | undefined; scheduleTime?: string | undefined },
  deps: RedeliveryDeps,
): Promise<RedeliveryRunResult> {
  const run = await runScheduledOnce(
    'redeliverFailedWebhooks',
    schedule,
    { ttlMs: LEASE_MS, clock: deps.clock },
    async ({ correlationId, actor }) => {
      const log = logger({ function: 'redeliverFailedWebhooks', correlationId });
      const settings = await readValidatedDoc(
        GITHUB_SETTINGS,
        (await import('./schema.js')).githubSettingsSchema,
      );
      const hooks = settings?.hooks ?? [];
      const requested: string[] = [];
      const gaveUpNow: string[] = [];
      const skipped: Record<string, number> = { delivered: 0, recorded: 0, gaveUp: 0, overLimit: 0 };
      let budget = deps.maxPerRun;
      const since = deps.clock.nowMs() - RECOVERY_WINDOW_MS;
      for (const hook of hooks) {
        const seen = await deps.api.listDeliveriesSince(hook, since);
        const guids = [...new Set(seen.map((d) => d.guid))];
        const { recorded, attempts } = await knownDeliveries(guids);
        const attemptsSeen: DeliveryAttempt[] = seen.map((d) => ({
          id: d.id,
          guid: d.guid,
          deliveredAtMs: d.deliveredAtMs,
          statusCode: d.statusCode,
        }));
        const plan = planRedeliveries(attemptsSeen, recorded, attempts, budget);
        for (const [k, v] of Object.entries(plan.skipped)) skipped[k] = (skipped[k] ?? 0) + v;
        for (const guid of plan.gaveUp) {
          if (await announceGaveUp(hook, guid, actor, correlationId, deps.clock)) gaveUpNow.push(guid);
        }
        for (const item of plan.redeliver) {
          await deps.api.redeliver(hook, item.deliveryId);
          budget -= 1;
          requested.push(item.guid);
          await recordRedelivery(hook, item, actor, correlationId, deps.clock);
        }
      }
      await appendAudit(
        'recovery',
        {
          actor,
          action: 'recovery.run',
          target: 'deliveries',
          reason: `${requested.length} redelivery request(s) for ${hooks.length} hook(s)`,
          correlationId,
          details: {
            requested: requested.length,
            hooks: hooks.length,
            skipped,
            gaveUpNow,
            maxPerRun: deps.maxPerRun,
          },
        },
        deps.clock,
      );
      log.info('recovery run done', { requested: requested.length, skipped, gaveUpNow: gaveUpNow.length });
      return { requested, skipped, gaveUp: gaveUpNow };
    },
  );
  if (run.kind === 'yielded') return { ran: false, reason: `lease held by ${run.heldBy}`, requested: [] };
  if (run.kind === 'duplicate') return { ran: false, reason: 'duplicate schedule time', requested: [] };
  return { ran: true, ...run.value };
}

/** GUIDs recorded (the relay audits and announces them), and how often fireops already asked to redeliver each. */
async function knownDeliveries(guids: string[]) {
  const firestore = db();
  const recorded = new Set<string>();
  const attempts = new Map<string, number>();
  for (let i = 0; i < guids.length; i += 100) {
    const chunk = guids.slice(i, i + 100);
    const [deliveries, redeliveries] = await Promise.all([
      firestore.getAll(...chunk.map((g) => firestore.collection(DELIVERIES).doc(g))),
      firestore.getAll(...chunk.map((g) => firestore.collection(REDELIVERIES).doc(g))),
    ]);
    chunk.forEach((guid, j) => {
      if (deliveries[j]?.exists) recorded.add(guid);
      const n = redeliveries[j]?.get('attempts') as number | undefined;
      if (n) attempts.set(guid, n);
    });
  }
  return { recorded, attempts };
}

async function recordRedelivery(
  hook: { owner: string; repo: string; hookId: number },
  item: { guid: string; deliveryId: number; attemptsSoFar: number },
  actor: Actor,
  correlationId: string,
  clock: Clock,
) {
  const { Timestamp, FieldValue } = firestoreModule();
  await db()
    .collection(REDELIVERIES)
    .doc(item.guid)
    .set(
      {
        attempts: FieldValue.increment(1),
        lastRequestedAt: Timestamp.fromMillis(clock.nowMs()),
        lastDeliveryId: item.deliveryId,
        hook: `${hook.owner}/${hook.repo}#${hook.hookId}`,
      },
      { merge: true },
    );
  await appendAudit(
    'recovery',
    {
      actor,
      action: 'delivery.redelivery-requested',
      target: `deliveries/${item.guid}`,
      reason: `failed delivery ${item.deliveryId} not processed by fireops; attempt ${item.attemptsSoFar + 1}`,
      correlationId,
      details: { hookId: hook.hookId, repo: `${hook.owner}/${hook.repo}`, deliveryId: item.deliveryId },
    },
    clock,
  );
}

/**
 * A delivery fireops stopped asking GitHub to redeliver is lost unless a human acts (GitHub keeps it 3 days):
 * one `delivery.gave-up` alert and audit entry per GUID, ever (idempotency key `transition:gave-up:<guid>`; the
 * alert goes through the key's outbox, so a crash cannot lose it). Returns whether this run announced it.
 */
async function announceGaveUp(
  hook: { owner: string; repo: string; hookId: number },
  guid: string,
  actor: Actor,
  correlationId: string,
  clock: Clock,
): Promise<boolean> {
  const repo = `${hook.owner}/${hook.repo}`;
  const outcome = await runOnce(
    'transition',
    `gave-up:${guid}`,
    async ({ tx }) => {
      const audit = await openAudit(tx, ['recovery'], clock);
      audit.append('recovery', {
        actor,
        action: 'delivery.redelivery-gave-up',
        target: `${DELIVERIES}/${guid}`,
        reason: `delivery ${guid} to ${repo} hook ${hook.hookId} failed and was redelivered ${MAX_REDELIVERIES_PER_GUID} times without reaching fireops: giving up`,
        correlationId,
        details: { hookId: hook.hookId, repo },
      });
      return {
        value: true,
        publishes: [
          alertPublish({
            alertId: `delivery-gave-up:${guid}`,
            severity: 'warning',
            kind: 'delivery.gave-up',
            title: `GitHub delivery ${guid} lost after ${MAX_REDELIVERIES_PER_GUID} redeliveries`,
            text:
              `GitHub delivery ${guid} (${repo}, hook ${hook.hookId}) failed at GitHub and never reached fireops, ` +
              `after ${MAX_REDELIVERIES_PER_GUID} redelivery requests. Find it under the hook's Recent Deliveries, ` +
              'fix what made it fail (webhook secret, settings/github, the function), and redeliver it by hand ' +
              "within GitHub's 3-day window.",
            target: `${DELIVERIES}/${guid}`,
            correlationId,
            atMs: clock.nowMs(),
          }),
        ],
      };
    },
    { clock, meta: { guid } },
  );
  return !outcome.duplicate;
}
