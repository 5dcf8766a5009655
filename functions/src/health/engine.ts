// One probe cycle of one region: probe the checks due this minute, carry every check's counters forward, judge each
// check across its regions, and record it all in ONE cycle document. `healthStatus/{checkId}` and `incidents/{id}`
// are written only when a check's state changes or its incident opens, reminds or resolves, each in a transaction
// that re-reads the status first (another region may have decided already), with its audit entries and its alert
// (outbox) in the same commit. Decisions are health/domain/health.ts; probes are health/probe.ts.
import { FLAGS } from '../platform/collections';
import { MAINTENANCE_MODE_FLAG } from '../flags/domain/flags';
import type { Alert } from '../platform/schema';
import type { HealthCheck, HealthSettings } from './schema';
import type { Actor } from '../platform/domain/audit-chain';
import type { Clock } from '../platform/domain/clock';
import {
  checkDue,
  decideIncident,
  inMaintenance,
  judgeCheck,
  nextCounters,
  type HealthState,
  type RegionCounters,
} from './domain/health';
import { ValidationError } from '../platform/domain/errors';
import { allowEntriesOutside } from '../platform/domain/ip-ranges';
import { alertPublish } from '../platform/alerts';
import { openAudit } from '../platform/audit-log';
import { db, firestoreModule, transact } from '../platform/firestore';
import {
  HEALTH_STREAM,
  HEALTH_STREAM_SHARDS,
  cycleDocId,
  type CycleCounters,
  type CycleIncident,
  type CycleResult,
  type HealthCycleDoc,
  type HealthStatusDoc,
} from './docs';
import { HEALTH_CYCLES, HEALTH_SETTINGS, HEALTH_STATUS, INCIDENTS } from '../platform/collections';
import type { ProbeOptions, ProbeResult } from './probe';
import { OUTBOX_STALE_MS } from '../platform/idempotency';
import { logger } from '../platform/logger';
import { publishJson } from '../platform/pubsub';
import { shardedStream } from '../platform/domain/audit-chain';
import { FULL_SPAN, instanceCatalog, type CatalogCache, type LiveCheck } from './catalog-cache';
import { planShards, spanKey, spanOf, type ShardPlan, type Span } from './domain/shards';

const MINUTE_MS = 60_000;
/**
 * Probing ends 40 s after the cycle starts, whatever the targets do: the cycle's reads take ~1 s, its commit a few,
 * and probeCycle's timeout is 55 s. A check's own `timeoutMs` is at most 30 s (schema), so one slow check alone
 * never meets the budget; hundreds of hanging ones (a broad outage) do, and are recorded as timeouts.
 */
export const PROBE_BUDGET_MS = 40_000;
export const MAINTENANCE_FLAG = `${FLAGS}/${MAINTENANCE_MODE_FLAG}`;
const DAY_MS = 86_400_000;

export interface HealthDeps {
  clock: Clock;
  /** Every region probeCycle is deployed to (PROBE_REGIONS): a check without `regions` is probed in all. */
  regions: readonly string[];
  concurrency: number;
  /**
   * PROBE_ALLOW_TARGETS: the deploy-time ceiling of `settings/health.allowTargets` (host names, addresses, CIDR
   * blocks). A settings document listing anything outside it is refused whole.
   */
  allowCeiling: readonly string[];
  probeAll: (
    checks: Iterable<readonly [string, HealthCheck]>,
    opts: ProbeOptions & { concurrency?: number; budgetMs?: number },
  ) => Promise<Map<string, ProbeResult>>;
  /**
   * Wall-clock budget for probing, from the cycle's start (default PROBE_BUDGET_MS): the reads before and the
   * commit after must fit in the rest of the function's 55 s.
   */
  probeBudgetMs?: number;
  /** Tests pass their own (platform/infra-alert.ts). */
  alerter?: import('../platform/infra-alert').InfraAlerter;
  secretValue: (secretId: string) => Promise<string>;
  /** Options passed through to the probes (tests: a CA, a resolver). */
  probeOptions?: Partial<ProbeOptions>;
  /** The catalog as this instance sees it (default: the instance's cache, catalog-cache.ts). */
  catalog?: CatalogCache;
  /**
   * How the shards of a fanned-out cycle reach their workers (default: one Pub/Sub message each on the region's
   * shard topic, received by its probeShard function). The bench runs them in-process.
   */
  dispatchShards?: (region: string, shards: ShardMessage[]) => Promise<void>;
}

/** What a shard worker is told: probe shard `shard` of `shards` of this region's minute. */
export interface ShardMessage {
  region: string;
  minuteMs: number;
  shard: number;
  shards: number;
  /** When the cycle handed it out (its clock): a shard older than SHARD_STALE_MS is dropped. */
  sentAtMs: number;
  jobName?: string;
}

/**
 * A shard message handed out longer ago than this is dropped: its minute's verdicts are due, and a backlog or a
 * redelivery storm must not write old minutes after newer ones.
 */
export const SHARD_STALE_MS = 2 * 60_000;

export interface Transition {
  checkId: string;
  from: HealthState;
  to: HealthState;
  why: string;
  failingRegions: string[];
  maintenance: boolean;
  incident?: string;
  incidentAction?: 'opened' | 'reminded' | 'resolved';
}

interface Candidate {
  id: string;
  check: HealthCheck;
  judged: ReturnType<typeof judgeCheck>;
  maintenance: boolean;
}

export type CycleOutcome =
  | {
      outcome: 'ran';
      docId: string;
      probed: number;
      assigned: number;
      transitions: Transition[];
      durationMs: number;
    }
  | { outcome: 'duplicate'; docId: string; reason: string }
  | { outcome: 'fanned-out'; shards: number; plan: ShardPlan; dispatched: ShardMessage[] }
  | { outcome: 'stale'; docId: string; reason: string };

const DEFAULT_SETTINGS: HealthSettings = {
  allowTargets: [],
  reminderMinutes: 60,
  cycleTtlDays: 35,
};

async function readSettings(deps: HealthDeps, correlationId: string): Promise<HealthSettings> {
  const snap = await db().doc(HEALTH_SETTINGS).get();
  if (!snap.exists) return DEFAULT_SETTINGS;
  const { healthSettingsSchema, parseOrThrow } = await import('./schema.js');
  try {
    const settings = parseOrThrow(healthSettingsSchema, snap.data(), HEALTH_SETTINGS);
    const outside = allowEntriesOutside(settings.allowTargets, deps.allowCeiling);
    if (outside.length)
      throw new ValidationError(
        `${HEALTH_SETTINGS}: allowTargets lists ${outside.map((t) => `'${t}'`).join(', ')}, outside what this ` +
          `deployment allows (PROBE_ALLOW_TARGETS: ${deps.allowCeiling.join(', ') || 'nothing'}). The SSRF ` +
          'allowlist is widened at deploy time, not in the document',
      );
    return settings;
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    // Probing goes on with the safe defaults (no extra allowed targets) rather than stopping: the refusal is
    // logged on every cycle and alerted once an hour until fixed. The whole document is refused, never half
    // applied.
    const log = logger({ function: 'probeCycle', correlationId });
    log.error('settings/health is invalid: using defaults', { error: err.message });
    const { alertInfrastructureOnce } = await import('../platform/infra-alert.js');
    await alertInfrastructureOnce(
      log,
      { fn: 'health.probeCycle', cause: 'SETTINGS_INVALID', message: err.message, correlationId },
      ...(deps.alerter ? [deps.alerter] : []),
    );
    return DEFAULT_SETTINGS;
  }
}

/**
 * `flags/maintenanceMode` (a reserved flag, README "flags"): while enabled, every check is in planned downtime, as
 * in a maintenance window: no incident opens and results are marked as maintenance, so uptime excludes them. An
 * expired flag is off, as for every flag reader. One read per cycle.
 */
async function maintenanceModeOn(minuteMs: number): Promise<boolean> {
  const snap = await db().doc(MAINTENANCE_FLAG).get();
  if (snap.get('enabled') !== true) return false;
  const expiresAt = snap.get('expiresAt') as { toMillis(): number } | undefined;
  return !(expiresAt && typeof expiresAt.toMillis === 'function' && expiresAt.toMillis() <= minuteMs);
}

/** What a cycle carries forward from an earlier cycle of a region: counters, states, incidents. */
type Carried = Pick<HealthCycleDoc, 'c' | 's' | 'i'>;

/**
 * The latest cycle of each region for this span (its counters, states and incidents carry forward): this region's
 * before this minute, the other regions' up to and including this minute (a region that already ran this minute
 * has the freshest counters). One indexed read per region. When a region has no document for this span (the shard
 * plan changed, or documents of a version before shards), its latest minute's documents of every span are merged
 * instead: a read per shard it had, once per plan change.
 */
async function latestCycles(
  regions: readonly string[],
  own: string,
  minuteMs: number,
  span: string,
): Promise<Map<string, Carried>> {
  const out = new Map<string, Carried>();
  await Promise.all(
    regions.map(async (region) => {
      const op = region === own ? '<' : '<=';
      const base = db().collection(HEALTH_CYCLES).where('region', '==', region);
      const same = await base
        .where('span', '==', span)
        .where('minuteMs', op, minuteMs)
        .orderBy('minuteMs', 'desc')
        .limit(1)
        .get();
      const doc = same.docs[0];
      if (doc) {
        out.set(region, doc.data() as HealthCycleDoc);
        return;
      }
      const latest = await base.where('minuteMs', op, minuteMs).orderBy('minuteMs', 'desc').limit(1).get();
      const at = latest.docs[0]?.get('minuteMs') as number | undefined;
      if (at === undefined) return;
      const all = await base.where('minuteMs', '==', at).get();
      const merged: Carried = { c: {}, s: {}, i: {} };
      for (const d of all.docs) {
        const data = d.data() as HealthCycleDoc;
        Object.assign(merged.c, data.c);
        Object.assign(merged.s, data.s);
        Object.assign(merged.i, data.i);
      }
      out.set(region, merged);
    }),
  );
  return out;
}

/**
 * The scheduled cycle of a region and minute. It reads the catalog (cached per instance), sizes the shards from
 * the probe budget (domain/shards.ts), and either runs the one shard itself (most deployments: up to ~200 checks
 * at the default timeout) or hands each shard to the region's probeShard function and returns.
 */
export async function runProbeCycle(
  trigger: { region: string; scheduleTime?: string | undefined; jobName?: string | undefined },
  deps: HealthDeps,
): Promise<CycleOutcome> {
  const parsed = trigger.scheduleTime ? Date.parse(trigger.scheduleTime) : NaN;
  const minuteMs =
    Math.floor((Number.isFinite(parsed) ? parsed : deps.clock.nowMs()) / MINUTE_MS) * MINUTE_MS;
  const catalog = await (deps.catalog ?? instanceCatalog()).read(FULL_SPAN, deps.clock.nowMs());
  const plan = planShards({
    checks: [...catalog.checks.values()]
      .filter((e) => e.check.enabled)
      .map((e) => ({ bucket: e.bucket, timeoutMs: e.check.timeoutMs })),
    concurrency: deps.concurrency,
    budgetMs: deps.probeBudgetMs ?? PROBE_BUDGET_MS,
  });
  if (!plan.fits) {
    const { alertInfrastructureOnce } = await import('../platform/infra-alert.js');
    await alertInfrastructureOnce(
      logger({ function: 'probeCycle', correlationId: `probeCycle:${cycleDocId(trigger.region, minuteMs)}` }),
      {
        fn: `health.probeCycle:${trigger.region}`,
        cause: 'SHARDS_EXHAUSTED',
        message:
          `the catalog needs more than ${plan.shards} shards to probe every check within the budget in the ` +
          `worst minute (largest shard at ${Math.round(plan.load * 100)}% of its budget, ${plan.largest} checks): ` +
          'checks still unprobed when the budget ends are recorded as timeouts. Raise PROBE_CONCURRENCY or ' +
          'lower timeouts',
      },
      ...(deps.alerter ? [deps.alerter] : []),
    );
  }
  const jobName = trigger.jobName;
  if (plan.shards === 1) {
    return runProbeShard(
      {
        region: trigger.region,
        minuteMs,
        shard: 0,
        shards: 1,
        sentAtMs: deps.clock.nowMs(),
        ...(jobName ? { jobName } : {}),
      },
      deps,
      catalog.checks,
    );
  }
  const messages: ShardMessage[] = Array.from({ length: plan.shards }, (_, shard) => ({
    region: trigger.region,
    minuteMs,
    shard,
    shards: plan.shards,
    sentAtMs: deps.clock.nowMs(),
    ...(jobName ? { jobName } : {}),
  }));
  await (deps.dispatchShards ?? publishShards)(trigger.region, messages);
  logger({ function: 'probeCycle' }).info('probe cycle fanned out', {
    region: trigger.region,
    minuteMs,
    shards: plan.shards,
    load: plan.load,
    largest: plan.largest,
    catalogReads: catalog.reads,
  });
  return { outcome: 'fanned-out', shards: plan.shards, plan, dispatched: messages };
}

async function publishShards(_region: string, messages: ShardMessage[]): Promise<void> {
  const { HEALTH_SHARDS_TOPIC } = await import('../platform/topics.js');
  await Promise.all(messages.map((m) => publishJson({ topic: HEALTH_SHARDS_TOPIC, data: m })));
}

/**
 * One shard of a region's minute: probe the span's checks due now and write the span's cycle document. Run by the
 * cycle itself when there is one shard, by probeShard<Region> for each shard otherwise. `catalog` is the
 * orchestrator's read when it runs the shard itself.
 */
export async function runProbeShard(
  message: ShardMessage,
  deps: HealthDeps,
  catalog?: ReadonlyMap<string, LiveCheck>,
): Promise<CycleOutcome> {
  const { region, minuteMs, shard, shards } = message;
  const span = spanOf(shard, shards);
  const key = spanKey(span);
  const docId = shards === 1 ? cycleDocId(region, minuteMs) : cycleDocId(region, minuteMs, key);
  const correlationId = `probeCycle:${docId}`;
  const actor: Actor = { type: 'scheduler', id: message.jobName ?? `probeCycle-${region}` };
  if (deps.clock.nowMs() - message.sentAtMs > SHARD_STALE_MS)
    return { outcome: 'stale', docId, reason: 'handed out over 2 minutes ago: its verdicts were due' };
  // No lease: it would cost two writes a minute. Overlapping runs of one minute (Cloud Scheduler and Pub/Sub
  // deliver at least once) may both probe, but only one creates the cycle document, and state transitions
  // re-check in their transaction, so nothing is recorded twice.
  const existing = await db().collection(HEALTH_CYCLES).doc(docId).get();
  if (existing.exists) {
    // The outbox is never cleared (that would be a write per change): a run that crashed between its commit and
    // publishing is covered by a later run of the same minute publishing it again, once the first had time to.
    const outbox = (existing.get('o') as Alert[] | undefined) ?? [];
    const writtenAtMs = (existing.get('startedAtMs') as number) + (existing.get('durationMs') as number);
    if (outbox.length && deps.clock.nowMs() - writtenAtMs >= OUTBOX_STALE_MS) await publishAlerts(outbox);
    return { outcome: 'duplicate', docId, reason: 'this region already ran this minute' };
  }
  const checks = catalog ?? (await (deps.catalog ?? instanceCatalog()).read(span, deps.clock.nowMs())).checks;
  return cycle(region, minuteMs, { span, key, shard, shards }, checks, docId, correlationId, actor, deps);
}

async function cycle(
  region: string,
  minuteMs: number,
  shardOf: { span: Span; key: string; shard: number; shards: number },
  catalog: ReadonlyMap<string, LiveCheck>,
  docId: string,
  correlationId: string,
  actor: Actor,
  deps: HealthDeps,
): Promise<CycleOutcome> {
  const startedAtMs = deps.clock.nowMs();
  const wallStart = performance.now();
  const [settings, previous, platformMaintenance] = await Promise.all([
    readSettings(deps, correlationId),
    latestCycles(deps.regions, region, minuteMs, shardOf.key),
    maintenanceModeOn(minuteMs),
  ]);
  const own = previous.get(region);
  const regionsOf = (check: HealthCheck) => check.regions ?? [...deps.regions];
  const assigned: (readonly [string, HealthCheck])[] = [];
  for (const [id, { bucket, check }] of catalog)
    if (
      check.enabled &&
      regionsOf(check).includes(region) &&
      bucket >= shardOf.span.lo &&
      bucket < shardOf.span.hi
    )
      assigned.push([id, check]);
  // Sorted, so a cycle probes (and a budget cuts) in the same order every minute.
  assigned.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const due = assigned.filter(([, check]) => checkDue(check.intervalSeconds, minuteMs));
  const probes = await deps.probeAll(due, {
    allowTargets: settings.allowTargets,
    secretValue: deps.secretValue,
    concurrency: deps.concurrency,
    budgetMs: Math.max(0, (deps.probeBudgetMs ?? PROBE_BUDGET_MS) - (performance.now() - wallStart)),
    ...deps.probeOptions,
  });
  const nowMs = deps.clock.nowMs();

  const r: Record<string, CycleResult> = {};
  const c: Record<string, CycleCounters> = {};
  const s: Record<string, HealthState> = {};
  const i: Record<string, CycleIncident> = {};
  const transitions: Transition[] = [];
  const candidates: Candidate[] = [];
  const proberErrors: string[] = [];
  for (const [id, check] of assigned) {
    const maintenance =
      platformMaintenance || (check.maintenance.length > 0 && inMaintenance(check.maintenance, minuteMs));
    const probed = probes.get(id);
    if (probed?.proberError) proberErrors.push(`${id}: ${probed.proberError}`);
    // A prober error says nothing about the target: not counted for or against the check (as if not due).
    const result = probed?.proberError ? undefined : probed;
    const before = own?.c[id];
    if (result) {
      r[id] = [
        result.ok ? 1 : 0,
        Math.round(result.ms),
        result.status ?? 0,
        result.failed ?? '',
        maintenance ? 1 : 0,
      ];
      const next = nextCounters(before ? { cf: before[0], cs: before[1] } : undefined, result.ok);
      c[id] = [next.cf, next.cs, nowMs];
    } else if (before) {
      c[id] = before;
    }
    const counters: Record<string, RegionCounters | undefined> = {};
    for (const x of regionsOf(check)) {
      const t = x === region ? c[id] : previous.get(x)?.c[id];
      counters[x] = t ? { cf: t[0], cs: t[1], lastAtMs: t[2] } : undefined;
    }
    const judged = judgeCheck({
      regions: counters,
      expectedRegions: regionsOf(check),
      failureThreshold: check.failureThreshold,
      successThreshold: check.successThreshold,
      nowMs,
      staleMs: 2 * check.intervalSeconds * 1000 + MINUTE_MS,
    });
    const knownState = own?.s[id] ?? 'unknown';
    const knownIncident = own?.i[id];
    const decision = decideIncident({
      state: judged.state,
      previousState: knownState,
      open: knownIncident
        ? { id: knownIncident[0], openedAtMs: knownIncident[1], lastReminderAtMs: knownIncident[2] }
        : undefined,
      inMaintenance: maintenance,
      majorityRecovered: judged.majorityRecovered,
      nowMs,
      reminderMs: settings.reminderMinutes * MINUTE_MS,
    });
    s[id] = knownState;
    if (knownIncident) i[id] = knownIncident;
    if (judged.state === knownState && decision.kind === 'none') continue;
    candidates.push({ id, check, judged, maintenance });
  }
  if (proberErrors.length) {
    // One critical alert per region and hour for the prober's own trouble (infra-alert.ts), not a page per check.
    const { alertInfrastructureOnce } = await import('../platform/infra-alert.js');
    await alertInfrastructureOnce(
      logger({ function: 'probeCycle', correlationId }),
      {
        fn: `health.probeCycle:${region}`,
        cause: 'PROBER_ERROR',
        message:
          `${proberErrors.length} check(s) could not be probed, not counted for or against them this minute ` +
          `(they turn unknown if it lasts): ${proberErrors.slice(0, 5).join('; ')}`,
        correlationId,
      },
      ...(deps.alerter ? [deps.alerter] : []),
    );
  }

  const { Timestamp } = firestoreModule();
  const cycleRef = db().collection(HEALTH_CYCLES).doc(docId);
  const doc = () => ({
    region,
    minuteMs,
    span: shardOf.key,
    shard: shardOf.shard,
    shards: shardOf.shards,
    startedAtMs,
    durationMs: deps.clock.nowMs() - startedAtMs,
    r,
    c,
    s,
    i,
    expireAt: Timestamp.fromMillis(minuteMs + settings.cycleTtlDays * DAY_MS),
  });
  const reminderMs = settings.reminderMinutes * MINUTE_MS;
  const stream = shardedStream(HEALTH_STREAM, shardOf.key, HEALTH_STREAM_SHARDS);
  try {
    if (!candidates.length) {
      // The steady state: one write.
      await cycleRef.create(doc());
    } else {
      // Changes: the cycle document, every status and incident touched, ONE audit entry listing them, and the
      // alerts (the outbox, field `o` of the cycle document) commit together. The cycle document is created once
      // per region and minute, so it is also the idempotency key: no separate key, no write to clear the outbox.
      const outcome = await transact(async (tx) => {
        const refs = candidates.map((t) => db().collection(HEALTH_STATUS).doc(t.id));
        const [already, ...snaps] = await tx.getAll(cycleRef, ...refs);
        if (already!.exists) return { duplicate: true as const };
        const audit = await openAudit(tx, [stream], deps.clock);
        const alerts: Alert[] = [];
        const done: typeof transitions = [];
        candidates.forEach((t, k) => {
          const applied = applyTransition(tx, snaps[k]!.data() as HealthStatusDoc | undefined, {
            ...t,
            nowMs,
            minuteMs,
            region,
            correlationId,
            reminderMs,
          });
          s[t.id] = applied.state;
          if (applied.incident) i[t.id] = applied.incident;
          else delete i[t.id];
          alerts.push(...applied.alerts);
          if (applied.changed || applied.incidentAction) done.push(applied.transition);
        });
        tx.create(cycleRef, alerts.length ? { ...doc(), o: alerts } : doc());
        if (done.length) {
          audit.append(stream, {
            actor,
            action: 'health.transitions',
            target: `${HEALTH_CYCLES}/${docId}`,
            reason: done
              .map(
                (t) =>
                  `${t.checkId} ${t.from}->${t.to}${t.incident ? ` (${t.incidentAction} ${t.incident})` : ''}`,
              )
              .join('; ')
              .slice(0, 1000),
            correlationId,
            details: done.map((t) => ({
              checkId: t.checkId,
              from: t.from,
              to: t.to,
              why: t.why,
              failingRegions: t.failingRegions,
              incident: t.incident ?? null,
              incidentAction: t.incidentAction ?? null,
              maintenance: t.maintenance,
            })),
          });
        }
        return { duplicate: false as const, done, alerts };
      });
      if (outcome.duplicate)
        return { outcome: 'duplicate', docId, reason: 'this minute was already recorded' };
      transitions.push(...outcome.done);
      // Published after the commit (at least once; notifyAlerts drops repeats by alertId). A crash before this
      // leaves the outbox on the cycle document, and a second run of the minute publishes it (runProbeCycle).
      await publishAlerts(outcome.alerts);
    }
  } catch (err) {
    // ALREADY_EXISTS: an overlapping run of this minute got there first.
    if ((err as { code?: number }).code === 6) {
      return { outcome: 'duplicate', docId, reason: 'another run wrote this minute first' };
    }
    throw err;
  }
  const durationMs = deps.clock.nowMs() - startedAtMs;
  logger({ function: 'probeCycle', correlationId }).info('probe cycle done', {
    region,
    shard: shardOf.shard,
    shards: shardOf.shards,
    probed: due.length,
    assigned: assigned.length,
    transitions: transitions.length,
    durationMs,
  });
  return { outcome: 'ran', docId, probed: due.length, assigned: assigned.length, transitions, durationMs };
}

interface TransitionInput extends Candidate {
  nowMs: number;
  minuteMs: number;
  region: string;
  correlationId: string;
  reminderMs: number;
}

/**
 * Decides again with what `healthStatus/{id}` holds (another region may have moved it already) and writes, in the
 * cycle's transaction, the state change and the incident opened, reminded or resolved, with its alert.
 */
function applyTransition(
  tx: FirebaseFirestore.Transaction,
  current: HealthStatusDoc | undefined,
  t: TransitionInput,
): {
  state: HealthState;
  incident?: CycleIncident;
  changed: boolean;
  incidentAction?: Transition['incidentAction'];
  transition: Transition;
  alerts: Alert[];
} {
  const statusRef = db().collection(HEALTH_STATUS).doc(t.id);
  const from: HealthState = current?.state ?? 'unknown';
  const open = current?.incident ?? undefined;
  const decision = decideIncident({
    state: t.judged.state,
    previousState: from,
    open: open
      ? { id: open.id, openedAtMs: open.openedAtMs, lastReminderAtMs: open.lastReminderAtMs }
      : undefined,
    inMaintenance: t.maintenance,
    majorityRecovered: t.judged.majorityRecovered,
    nowMs: t.nowMs,
    reminderMs: t.reminderMs,
  });
  const stateChanged = from !== t.judged.state;
  const alerts: Alert[] = [];
  let incident: HealthStatusDoc['incident'] = open ?? null;
  let incidentId: string | undefined;
  let incidentAction: Transition['incidentAction'];
  if (decision.kind === 'open') {
    incidentId = `${t.id}_${new Date(t.minuteMs).toISOString().slice(0, 16)}Z`;
    incidentAction = 'opened';
    incident = { id: incidentId, openedAtMs: t.nowMs, lastReminderAtMs: t.nowMs, reminders: 0 };
    tx.set(db().collection(INCIDENTS).doc(incidentId), {
      id: incidentId,
      checkId: t.id,
      name: t.check.name,
      state: 'open',
      openedAtMs: t.nowMs,
      resolvedAtMs: null,
      durationMs: null,
      failingRegions: t.judged.failingRegions,
      why: t.judged.why,
      reminders: 0,
      lastReminderAtMs: t.nowMs,
    });
    alerts.push({
      alertId: `incident-opened:${incidentId}`,
      severity: 'critical',
      kind: 'incident.opened',
      title: `${t.check.name} is down`,
      text: `${t.judged.why}. Failing in ${t.judged.failingRegions.join(', ') || 'no fresh region'}.`,
      target: `${INCIDENTS}/${incidentId}`,
      correlationId: t.correlationId,
      atMs: t.nowMs,
    });
  } else if (decision.kind === 'remind' && open) {
    incidentId = open.id;
    incidentAction = 'reminded';
    incident = { ...open, lastReminderAtMs: t.nowMs, reminders: open.reminders + 1 };
    tx.update(db().collection(INCIDENTS).doc(open.id), {
      reminders: incident.reminders,
      lastReminderAtMs: t.nowMs,
      failingRegions: t.judged.failingRegions,
    });
    alerts.push({
      alertId: `incident-reminder:${open.id}:${incident.reminders}`,
      severity: 'critical',
      kind: 'incident.reminder',
      title: `${t.check.name} is still down (${Math.round((t.nowMs - open.openedAtMs) / MINUTE_MS)} min)`,
      text: t.judged.why,
      target: `${INCIDENTS}/${open.id}`,
      correlationId: t.correlationId,
      atMs: t.nowMs,
    });
  } else if (decision.kind === 'resolve' && open) {
    incidentId = open.id;
    incidentAction = 'resolved';
    incident = null;
    tx.update(db().collection(INCIDENTS).doc(open.id), {
      state: 'resolved',
      resolvedAtMs: t.nowMs,
      durationMs: decision.durationMs,
    });
    alerts.push({
      alertId: `incident-resolved:${open.id}`,
      severity: 'info',
      kind: 'incident.resolved',
      title: `${t.check.name} recovered after ${Math.round(decision.durationMs / MINUTE_MS)} min`,
      text: t.judged.why,
      target: `${INCIDENTS}/${open.id}`,
      correlationId: t.correlationId,
      atMs: t.nowMs,
    });
  }
  const transition: Transition = {
    checkId: t.id,
    from,
    to: t.judged.state,
    why: t.judged.why,
    failingRegions: t.judged.failingRegions,
    maintenance: t.maintenance,
    ...(incidentId ? { incident: incidentId } : {}),
    ...(incidentAction ? { incidentAction } : {}),
  };
  const asCycle = (inc: HealthStatusDoc['incident']): CycleIncident | undefined =>
    inc ? [inc.id, inc.openedAtMs, inc.lastReminderAtMs] : undefined;
  if (!stateChanged && decision.kind === 'none') {
    // Another region got there first: nothing to write, but this region learns the current state.
    const inc = asCycle(open ?? null);
    return { state: from, ...(inc ? { incident: inc } : {}), changed: false, transition, alerts };
  }
  const next: HealthStatusDoc = {
    checkId: t.id,
    name: t.check.name,
    state: t.judged.state,
    sinceMs: stateChanged ? t.nowMs : (current?.sinceMs ?? t.nowMs),
    why: t.judged.why,
    failingRegions: t.judged.failingRegions,
    incident,
    updatedAtMs: t.nowMs,
  };
  tx.set(statusRef, next);
  const inc = asCycle(incident);
  return {
    state: t.judged.state,
    ...(inc ? { incident: inc } : {}),
    changed: stateChanged,
    ...(incidentAction ? { incidentAction } : {}),
    transition,
    alerts,
  };
}

async function publishAlerts(alerts: readonly Alert[]): Promise<void> {
  for (const a of alerts) await publishJson(alertPublish(a));
}
