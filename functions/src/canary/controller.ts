// The canary controller: one tick of one service's rollouts. For each active rollout it gathers the facts (policy,
// deploy freeze, a pending admin command, the router's last result, an analysis when one is due), lets
// canary/domain/canary.ts decideTick choose AT MOST ONE transition, commits it in a transaction guarded by the rollout's
// revision (with its audit entry and alert), and only then acts: sets the router's weight (the result is stored
// for the next tick, which folds it in) or writes the GitHub deployment status. A per-service lease keeps two
// ticks from deciding at once; the revision check keeps a late one from overwriting.
import { FLAGS } from '../platform/collections';
import type { Actor } from '../platform/domain/audit-chain';
import {
  analysisDue,
  analysisWindow,
  decideTick,
  isActive,
  newRollout,
  type CanaryPolicy,
  type RolloutCommand,
  type RolloutState,
  type RouterResult,
  type TickDecision,
} from './domain/canary';
import { FIREOPS_DEPLOYMENT_TASK, type RolloutRequest } from '../webhooks/domain/routing';
import type { Clock } from '../platform/domain/clock';
import { toJsonValue } from '../platform/domain/canonical-json';
import { ValidationError } from '../platform/domain/errors';
import { alertPublish } from '../platform/alerts';
import { appendAudit, openAudit } from '../platform/audit-log';
import { analyse } from './analysis';
import { CloudRunRouter, FirestoreFlagRouter, type TrafficRouter } from './routers';
import { db, firestoreModule, projectId, transact } from '../platform/firestore';
import type { GithubApi } from '../platform/github-api';
import { runOnce } from '../platform/idempotency';
import { withLease } from '../platform/leases';
import { logger } from '../platform/logger';
import { canaryStream } from './names';
import { CANARY_POLICIES, ROLLOUTS } from '../platform/collections';
import { DEPLOY_FREEZE_FLAG } from '../flags/domain/flags';

const ACTIVE_PHASES = ['pending', 'progressing', 'waiting-approval', 'paused', 'promoting', 'rolling-back'];

export interface CanaryDeps {
  clock: Clock;
  github: GithubApi | undefined;
  /** The router a policy names, pinned to the rollout's revisions once chosen (tests may wrap it). */
  routerFor?: (policy: CanaryPolicy, pinned?: PinnedRevisions) => TrafficRouter;
}

/** The Cloud Run revisions a rollout routes between, chosen when it first routes and never re-chosen. */
export interface PinnedRevisions {
  baseline: string;
  canary: string;
}

/** Commands applied one after another in one tickService call, at most (the rest wait for the next tick). */
const MAX_COMMANDS_PER_TICK = 10;

/** A rollout document: the state machine's state plus what the controller keeps beside it. */
export interface RolloutDoc extends RolloutState {
  rev: number;
  request: Pick<RolloutRequest, 'repo' | 'sha' | 'environment' | 'githubDeploymentId' | 'source'> | null;
  /** Written by admins (rules: only this field); appended to pendingCommands by onRolloutCommand. */
  command?: unknown;
  /** Admin commands in the order they were written, each removed once the controller has handled it. */
  pendingCommands?: RolloutCommand[];
  routerResult?: RouterResult | null;
  /** Cloud Run routers: the revisions chosen when the rollout first routed traffic. */
  routerRevisions?: PinnedRevisions | null;
  updatedAtMs: number;
}

export function defaultRouter(policy: CanaryPolicy, pinned?: PinnedRevisions): TrafficRouter {
  if (policy.router.kind === 'firestore-flag') {
    return new FirestoreFlagRouter(policy.router.flag, { type: 'system', id: 'canaryController' });
  }
  const baselineRevision = pinned?.baseline ?? policy.router.baselineRevision;
  const canaryRevision = pinned?.canary ?? policy.router.canaryRevision;
  return new CloudRunRouter({
    project: projectId(),
    region: policy.router.region,
    service: policy.router.service,
    ...(baselineRevision ? { baselineRevision } : {}),
    ...(canaryRevision ? { canaryRevision } : {}),
  });
}

/** Creates `rollouts/{requestId}` for a rollout request, once (onRolloutRequest). */
export async function createRollout(
  request: RolloutRequest,
  clock: Clock,
  correlationId: string,
): Promise<{ created: boolean }> {
  const ref = db().collection(ROLLOUTS).doc(request.id);
  return transact(async (tx) => {
    const snap = await tx.get(ref);
    const stream = canaryStream(request.service);
    const audit = await openAudit(tx, [stream], clock);
    if (snap.exists) return { created: false };
    const doc: RolloutDoc = {
      ...newRollout({ id: request.id, service: request.service, version: request.version }, clock.nowMs()),
      rev: 0,
      request: {
        repo: request.repo,
        sha: request.sha,
        environment: request.environment,
        githubDeploymentId: request.githubDeploymentId,
        source: request.source,
      },
      pendingCommands: [],
      routerResult: null,
      routerRevisions: null,
      updatedAtMs: clock.nowMs(),
    };
    tx.create(ref, doc);
    audit.append(stream, {
      actor: { type: 'github', id: request.requestedBy ?? request.repo },
      action: 'rollout.created',
      target: `${ROLLOUTS}/${request.id}`,
      reason: `${request.source} ${request.version} of ${request.service} to ${request.environment}`,
      correlationId,
      details: { repo: request.repo, sha: request.sha, githubDeploymentId: request.githubDeploymentId },
    });
    return { created: true };
  });
}

async function readPolicy(service: string): Promise<CanaryPolicy | { invalid: string }> {
  const snap = await db().collection(CANARY_POLICIES).doc(service).get();
  if (!snap.exists) return { invalid: `${CANARY_POLICIES}/${service} does not exist` };
  const { canaryPolicySchema, parseOrThrow } = await import('./schema.js');
  try {
    return parseOrThrow(canaryPolicySchema, snap.data(), `${CANARY_POLICIES}/${service}`);
  } catch (err) {
    if (err instanceof ValidationError) return { invalid: err.message };
    throw err;
  }
}

export interface TickOutcome {
  rolloutId: string;
  from: string;
  to: string;
  action: TickDecision['action']['kind'];
  reason: string;
  /** The admin command this transition handled (applied or refused). */
  commandId?: string;
}

/** One tick of every active rollout of `service`, under the service's lease. */
export async function tickService(
  service: string,
  trigger: { correlationId: string; actor: Actor },
  deps: CanaryDeps,
): Promise<{ ran: boolean; outcomes: TickOutcome[]; heldBy?: string }> {
  const run = await withLease(
    `canary-${service}`,
    { ttlMs: 2 * 60_000, clock: deps.clock, actor: trigger.actor, correlationId: trigger.correlationId },
    async () => {
      const rollouts = await readTickable(service);
      const [policy, freeze] = await Promise.all([
        readPolicy(service),
        db().doc(`${FLAGS}/${DEPLOY_FREEZE_FLAG}`).get(),
      ]);
      const deployFreeze = freeze.get('enabled') === true;
      const outcomes: TickOutcome[] = [];
      for (const first of rollouts) {
        // One transition per decision; queued admin commands are applied one after another, in order, each its
        // own transition, so a burst of commands is not spread over several minutes of scheduled ticks.
        let r: RolloutDoc | undefined = first;
        for (let k = 0; r && k < MAX_COMMANDS_PER_TICK; k += 1) {
          const outcome = await tickOne(r, rollouts, policy, deployFreeze, trigger, deps);
          if (outcome) outcomes.push(outcome);
          if (!outcome?.commandId) break;
          const again = await db().collection(ROLLOUTS).doc(r.id).get();
          r = again.exists ? ({ ...again.data(), id: again.id } as RolloutDoc) : undefined;
          if (!r || !nextCommand(r)) break;
        }
      }
      return outcomes;
    },
  );
  if (!run.ran) return { ran: false, outcomes: [], heldBy: run.heldBy };
  return { ran: true, outcomes: run.value };
}

/**
 * The rollouts a tick of `service` looks at: the active ones, and failed ones whose restore of the baseline is not
 * yet confirmed (a rollout fails with a weight change to 0 in flight; the next tick must finish it: GitHub status,
 * audit, and the alert if the restore failed too). Oldest first.
 */
async function readTickable(service: string): Promise<RolloutDoc[]> {
  const rollouts = db().collection(ROLLOUTS).where('service', '==', service);
  const [active, finishing] = await Promise.all([
    rollouts.where('phase', 'in', ACTIVE_PHASES).get(),
    rollouts.where('phase', '==', 'failed').where('routerPending', '==', true).get(),
  ]);
  const all = [...active.docs, ...finishing.docs];
  // The id is the document's, whatever the data says. A rollout without its version or revision (hand-written,
  // or from an older schema) cannot be ticked: it is logged and left for an admin, not allowed to fail the others.
  const malformed = all.filter(
    (d) => typeof d.get('version') !== 'string' || typeof d.get('rev') !== 'number',
  );
  if (malformed.length > 0) {
    logger({ function: 'canaryKick' }).error('malformed rollouts skipped', {
      service,
      rollouts: malformed.map((d) => d.id),
    });
  }
  return all
    .filter((d) => !malformed.includes(d))
    .map((d) => ({ ...d.data(), id: d.id }) as RolloutDoc)
    .sort((a, b) => a.createdAtMs - b.createdAtMs);
}

/**
 * The oldest queued command not handled yet, by the time the admin wrote it (then id): the triggers that queue
 * commands may run in any order, the commands are applied in the order they were written.
 */
export function nextCommand(
  r: Pick<RolloutDoc, 'pendingCommands' | 'commandsSeen'>,
): RolloutCommand | undefined {
  return [...(r.pendingCommands ?? [])]
    .filter((c) => !r.commandsSeen.includes(c.id))
    .sort((a, b) => (a.atMs ?? 0) - (b.atMs ?? 0) || a.id.localeCompare(b.id))[0];
}

/** Every service with a rollout to tick: an active one, or a failed one whose baseline restore is pending. */
export async function servicesToTick(): Promise<string[]> {
  const [active, finishing] = await Promise.all([
    db().collection(ROLLOUTS).where('phase', 'in', ACTIVE_PHASES).select('service').get(),
    db()
      .collection(ROLLOUTS)
      .where('phase', '==', 'failed')
      .where('routerPending', '==', true)
      .select('service')
      .get(),
  ]);
  return [...new Set([...active.docs, ...finishing.docs].map((d) => d.get('service') as string))].sort();
}

/**
 * The scheduled controller's minute: one `canary-kick` message per service, so each service's tick is its own
 * canaryKick invocation (own timeout, in parallel across instances): one service whose Cloud Run traffic change
 * hangs for 60 s no longer delays, or times out, every other service's rollout behind it in one 120 s run.
 */
export async function fanOutTicks(
  trigger: { correlationId: string },
  kick: (service: string, correlationId: string) => Promise<void>,
): Promise<{ services: string[]; failed: string[] }> {
  const services = await servicesToTick();
  const results = await Promise.allSettled(services.map((s) => kick(s, `${trigger.correlationId}:${s}`)));
  const failed = services.filter((_, i) => results[i]!.status === 'rejected');
  return { services, failed };
}

/** Every service with a rollout to tick, in this process, one after another (benchmarks, tests). */
export async function tickAll(trigger: { correlationId: string; actor: Actor }, deps: CanaryDeps) {
  const services = await servicesToTick();
  const results: Record<string, TickOutcome[]> = {};
  for (const service of services) {
    try {
      results[service] = (await tickService(service, trigger, deps)).outcomes;
    } catch (err) {
      // One service's trouble (a router down) must not stop the others' rollouts.
      logger({ function: 'canaryController', correlationId: trigger.correlationId }).error('tick failed', {
        service,
        error: err,
      });
    }
  }
  return results;
}

async function tickOne(
  r: RolloutDoc,
  all: readonly RolloutDoc[],
  policy: CanaryPolicy | { invalid: string },
  deployFreeze: boolean,
  trigger: { correlationId: string; actor: Actor },
  deps: CanaryDeps,
): Promise<TickOutcome | undefined> {
  const nowMs = deps.clock.nowMs();
  const others = all.filter((o) => o.id !== r.id);
  const otherActive = others.find((o) => isActive(o))?.id;
  const newer = others
    .filter((o) => o.createdAtMs > r.createdAtMs)
    .sort((a, b) => b.createdAtMs - a.createdAtMs)[0];
  const command = nextCommand(r);
  const routerResult = r.routerPending ? (r.routerResult ?? undefined) : undefined;
  const window = !('invalid' in policy) ? analysisWindow(r, policy, nowMs) : undefined;
  const analysis =
    !('invalid' in policy) && window && analysisDue(r, policy, nowMs)
      ? await analyse(r.service, policy, window.fromMs, window.toMs)
      : undefined;
  const decision = decideTick({
    rollout: stateOf(r),
    policy,
    ...(command ? { command } : {}),
    ...(analysis ? { analysis } : {}),
    ...(routerResult ? { routerResult } : {}),
    deployFreeze,
    nowMs,
    ...(otherActive ? { otherActive } : {}),
    ...(newer ? { supersededBy: newer.id } : {}),
  });
  if (!decision.audit) return undefined;

  const ref = db().collection(ROLLOUTS).doc(r.id);
  const committed = await runOnce(
    'transition',
    `rollout:${r.id}:${r.rev}`,
    async ({ tx }) => {
      const snap = await tx.get(ref);
      const audit = await openAudit(tx, [canaryStream(r.service)], deps.clock);
      if ((snap.get('rev') as number) !== r.rev) return { value: false };
      const { FieldValue } = firestoreModule();
      tx.update(ref, {
        ...toFirestore(decision.next),
        rev: r.rev + 1,
        updatedAtMs: nowMs,
        ...(routerResult ? { routerResult: null } : {}),
        // Removes exactly the handled command (and any already seen): commands queued meanwhile stay.
        ...(command
          ? {
              pendingCommands: FieldValue.arrayRemove(
                ...(r.pendingCommands ?? []).filter(
                  (c) => c.id === command.id || r.commandsSeen.includes(c.id),
                ),
              ),
            }
          : {}),
      });
      audit.append(canaryStream(r.service), {
        actor: decision.audit!.actor,
        action: decision.audit!.action,
        target: `${ROLLOUTS}/${r.id}`,
        reason: decision.audit!.reason,
        correlationId: trigger.correlationId,
        details: decision.audit!.details,
      });
      return {
        value: true,
        publishes: decision.alert
          ? [
              alertPublish({
                alertId: `rollout:${r.id}:${r.rev + 1}`,
                severity: decision.alert.severity,
                kind: decision.alert.kind,
                title: decision.alert.title,
                text: decision.alert.text,
                target: `${ROLLOUTS}/${r.id}`,
                correlationId: trigger.correlationId,
                atMs: nowMs,
              }),
            ]
          : [],
      };
    },
    { clock: deps.clock },
  );
  if (committed.duplicate || !committed.value) return undefined; // another tick moved it first

  await act(r, decision, policy, trigger, deps);
  return {
    rolloutId: r.id,
    from: r.phase,
    to: decision.next.phase,
    action: decision.action.kind,
    reason: decision.audit.reason,
    ...(command ? { commandId: command.id } : {}),
  };
}

/** Carries out the committed decision; its outcome is recorded for the next tick, never decided on here. */
async function act(
  r: RolloutDoc,
  decision: TickDecision,
  policy: CanaryPolicy | { invalid: string },
  trigger: { correlationId: string; actor: Actor },
  deps: CanaryDeps,
): Promise<void> {
  const log = logger({ function: 'canaryController', correlationId: trigger.correlationId, rollout: r.id });
  const ref = db().collection(ROLLOUTS).doc(r.id);
  if (decision.action.kind === 'set-weight') {
    let result: RouterResult;
    if ('invalid' in policy) {
      result = { ok: false, error: `no router: ${policy.invalid}` };
    } else {
      try {
        const router = await pinnedRouter(r, policy, deps);
        const confirmed = await router.setCanaryWeight(decision.action.weight);
        result = { ok: true, weight: confirmed.weight, atMs: deps.clock.nowMs() };
      } catch (err) {
        result = { ok: false, error: (err as Error).message.slice(0, 300) };
        log.warn('router failed', { weight: decision.action.weight, error: result.error });
      }
    }
    await ref.update({ routerResult: result });
    return;
  }
  if (decision.action.kind === 'github-status') {
    const req = r.request;
    const [owner, repo] = (req?.repo ?? '').split('/');
    if (!deps.github || !req || !owner || !repo) return;
    let deploymentId = req.githubDeploymentId;
    try {
      if (!deploymentId && req.source === 'release' && deps.github.createDeployment) {
        // A release has no deployment to report on: fireops creates one for the tag, once, at the rollout's first
        // status, and keeps its id on the rollout (a crash in between creates a second one; GitHub shows both).
        ({ id: deploymentId } = await deps.github.createDeployment({
          owner,
          repo,
          ref: r.version,
          environment: req.environment,
          task: FIREOPS_DEPLOYMENT_TASK,
          description: `fireops canary of ${r.service} ${r.version}`,
          payload: { rollout: r.id, version: r.version },
        }));
        await ref.update({ 'request.githubDeploymentId': deploymentId });
      }
      if (!deploymentId) return;
      await deps.github.createDeploymentStatus({
        owner,
        repo,
        deploymentId,
        state: decision.action.state,
        description: decision.action.description,
      });
    } catch (err) {
      // The rollout itself is done; a lost status is audited, not retried forever.
      log.warn('deployment status not written', { error: err });
      await appendAudit(canaryStream(r.service), {
        actor: trigger.actor,
        action: 'rollout.github-status-failed',
        target: `${ROLLOUTS}/${r.id}`,
        reason: (err as Error).message,
        correlationId: trigger.correlationId,
        details: { state: decision.action.state },
      });
    }
  }
}

/**
 * The router for this rollout. A Cloud Run router's revisions are chosen the first time the rollout routes and
 * stored on it (`routerRevisions`) BEFORE any traffic moves, so a revision deployed mid-rollout never takes the
 * canary's weight and the revision analysed is the one that gets promoted.
 */
async function pinnedRouter(r: RolloutDoc, policy: CanaryPolicy, deps: CanaryDeps): Promise<TrafficRouter> {
  const make = deps.routerFor ?? defaultRouter;
  const pinned = r.routerRevisions ?? undefined;
  const router = make(policy, pinned);
  if (pinned || !router.revisions) return router;
  const chosen = await router.revisions();
  await db()
    .collection(ROLLOUTS)
    .doc(r.id)
    .update({ routerRevisions: { baseline: chosen.baseline, canary: chosen.canary } });
  return router;
}

function stateOf(doc: RolloutDoc): RolloutState {
  return {
    id: doc.id,
    service: doc.service,
    version: doc.version,
    phase: doc.phase,
    stepIndex: doc.stepIndex,
    weight: doc.weight,
    routerPending: doc.routerPending,
    routerErrors: doc.routerErrors,
    failedAnalyses: doc.failedAnalyses,
    lastAnalysis: doc.lastAnalysis,
    stepStartedAtMs: doc.stepStartedAtMs,
    phaseSinceMs: doc.phaseSinceMs,
    createdAtMs: doc.createdAtMs,
    lastProgressAtMs: doc.lastProgressAtMs,
    pausedFrom: doc.pausedFrom,
    commandsSeen: doc.commandsSeen,
    commandLog: doc.commandLog ?? [], // rollouts written before the log existed
    reason: doc.reason,
    policyError: doc.policyError,
    supersededBy: doc.supersededBy,
  };
}

function toFirestore(state: RolloutState): Record<string, unknown> {
  return toJsonValue(state) as Record<string, unknown>;
}
