// The health functions (group `health`): admin edits of healthChecks/{id}, the probe cycle (one scheduled
// function per probe region), the rollup, and the public status endpoint. Wiring only: the probe cycle decides in
// domain/health.ts and applies in engine.ts; the rollup is rollup.ts; the status handler is status.ts.
import { onDocumentWrittenWithAuthContext } from 'firebase-functions/v2/firestore';
import { onRequest } from 'firebase-functions/v2/https';
import { onSchedule } from 'firebase-functions/v2/scheduler';
import { onMessagePublished } from 'firebase-functions/v2/pubsub';
import { HEALTH_SHARDS_TOPIC } from '../platform/topics';
import { eventMeta, runEventHandler } from '../platform/error-mapping';
import { scheduleKey } from '../platform/idempotency';
import { logger } from '../platform/logger';
import { groupOptions, readerAccount } from '../platform/options';
import { PROBE_REGIONS } from '../platform/params';
import { handleHealthCheckWrite } from './catalog';
import { healthDeps, probeFunctionId, probeShardFunctionId } from './deps';
import { HEALTH_CHECKS } from '../platform/collections';
import { runHealthRollup } from './rollup';
import { handleStatus } from './status';

const options = groupOptions('health');

/**
 * onHealthCheckWritten: admin edits of `healthChecks/{id}`; a valid definition goes into `healthCatalog/{id}`
 * (what the probe cycle runs), an invalid one is refused with the field named (catalog.ts).
 */
export const onHealthCheckWritten = onDocumentWrittenWithAuthContext(
  { ...options, document: `${HEALTH_CHECKS}/{checkId}`, retry: true },
  async (event) => {
    const after = event.data?.after;
    const log = logger({ correlationId: event.id, function: 'onHealthCheckWritten' });
    await runEventHandler(
      log,
      async () => {
        const result = await handleHealthCheckWrite({
          id: event.id,
          checkId: event.params.checkId,
          authType: event.authType,
          authId: event.authId,
          after: after?.exists ? after.data() : undefined,
          sourceTimeMs:
            after?.exists && after.updateTime ? after.updateTime.toMillis() : Date.parse(event.time),
        });
        log.info('health check edit judged', { checkId: event.params.checkId, ...result });
      },
      { event: eventMeta(event) },
    );
  },
);

/**
 * healthRollup (every 10 minutes, UTC): folds the probe cycles written since the last run into
 * healthSummary/current and writes the daily rollups of completed days.
 */
export const healthRollup = onSchedule(
  // A catch-up run reads at most 24 h of cycles (1,440 per region and shard): well within 5 minutes. Memory from
  // the largest catalog planned for (10,000 checks): the summary is ~27 MB as JSON (~40 MB as objects, measured),
  // held twice (before and after folding) plus its encoding for the commit; 256 MiB is not enough for that.
  {
    ...options,
    schedule: 'every 10 minutes',
    timeZone: 'UTC',
    retryCount: 1,
    timeoutSeconds: 300,
    memory: '1GiB',
  },
  async (event) => {
    await runHealthRollup({
      nowMs: Date.now(),
      correlationId: scheduleKey(event.jobName, event.scheduleTime, 'healthRollup'),
    });
  },
);

/** status (HTTPS, public): uptime, error budget and burn rate of every check; see status.ts. */
// maxInstances: the answer is cached per instance (30 s) and by browsers/CDN (max-age 30), so 5 instances serve any
// realistic status-page traffic; the cap bounds what a public endpoint can cost under a flood.
export const status = onRequest({ ...options, serviceAccount: readerAccount, maxInstances: 5 }, (req, res) =>
  handleStatus(req, res),
);

/**
 * statusPage (HTTPS, public): the HTML status page of the checks marked public, behind Firebase Hosting (`/`); see
 * status-page.ts. Same account and cap as `status`: it only reads, and Hosting's CDN caches it for a minute.
 */
export const statusPage = onRequest(
  { ...options, serviceAccount: readerAccount, maxInstances: 5 },
  async (req, res) => {
    const { handleStatusPage } = await import('./status-page.js');
    await handleStatusPage(req, res);
  },
);

// probeCycle (every minute, one function per region in PROBE_REGIONS): probes the checks due in its region and
// writes one cycle document per shard; healthStatus and incidents only on change. With more than one shard it
// publishes the shards to its region's probeShard function and returns.

function probeCycleIn(region: string) {
  return onSchedule(
    {
      region,
      serviceAccount: options.serviceAccount,
      schedule: 'every 1 minutes',
      timeZone: 'UTC',
      // No retries: a late retry would be a different minute's work, and the next minute comes anyway.
      retryCount: 0,
      timeoutSeconds: 55,
      memory: '512MiB',
    },
    async (event) => {
      // The engine loads with the first cycle, not with every function of the codebase (issue 16.7).
      const { runProbeCycle } = await import('./engine.js');
      const outcome = await runProbeCycle(
        { region, scheduleTime: event.scheduleTime, jobName: event.jobName },
        healthDeps(),
      );
      if (outcome.outcome === 'stale')
        logger({ function: 'probeCycle' }).warn('probe cycle skipped', { ...outcome });
    },
  );
}

/**
 * probeShard (one per probe region, Pub/Sub on `health-probe-shards`): one shard of its region's cycle that fanned
 * out (engine.ts runProbeShard); shards of other regions are dropped unread. The same 55 s timeout and budget as the cycle; no retries (a retry would probe a
 * minute that is over; a message older than 2 minutes is dropped for the same reason). Duplicate deliveries find
 * the shard's cycle document written and stop.
 */
function probeShardIn(region: string) {
  return onMessagePublished(
    {
      topic: HEALTH_SHARDS_TOPIC,
      region,
      serviceAccount: options.serviceAccount,
      retry: false,
      timeoutSeconds: 55,
      memory: '512MiB',
    },
    async (event) => {
      const { runProbeShard } = await import('./engine.js');
      const { shardMessageSchema } = await import('./schema.js');
      const parsed = shardMessageSchema.safeParse(event.data.message.json);
      const log = logger({ correlationId: event.id, function: 'probeShard' });
      if (parsed.success && parsed.data.region !== region) return;
      if (!parsed.success) {
        // Only probeCycle publishes here; anything else is a bug or a stray publisher: logged, never retried.
        log.error('probe shard message refused', { region, issues: parsed.error?.issues.length ?? 0 });
        return;
      }
      const outcome = await runProbeShard(parsed.data, healthDeps());
      if (outcome.outcome !== 'ran') log.info('probe shard skipped', { ...outcome });
    },
  );
}

/**
 * One scheduled function per probe region (a scheduled function has exactly one region): `probeCycleEuropeWest1`,
 * `probeCycleAfricaSouth1`, ... from PROBE_REGIONS, and its shard worker `probeShardEuropeWest1`, ... They are
 * added to this module's exports by name, and index.ts re-exports this module as the `health` group, so
 * firebase-tools sees each as a function of its own (`health-probeCycleEuropeWest1`).
 */
for (const region of PROBE_REGIONS) {
  (exports as Record<string, unknown>)[probeFunctionId(region)] = probeCycleIn(region);
  (exports as Record<string, unknown>)[probeShardFunctionId(region)] = probeShardIn(region);
}
