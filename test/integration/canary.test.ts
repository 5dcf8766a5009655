// The canary controller end to end, Flagger's e2e in spirit: tickService runs in this process with a clock the test
// moves interval by interval, against the Firestore emulator (policies, rollouts, flags, metric windows written as
// the app would), the firestore-flag router, the GitHub stand-in (deployment statuses, through the real Octokit
// adapter) and Pub/Sub (alerts). The Functions emulator's onRolloutCommand moves admin commands into place.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createRollout,
  tickService,
  type CanaryDeps,
  type RolloutDoc,
} from '../../functions/src/canary/controller';
import { CANARY_STREAMS } from '../../functions/src/canary/names';
import { db } from '../../functions/src/platform/firestore';
import { withLease } from '../../functions/src/platform/leases';
import { OctokitGithubApi } from '../../functions/src/platform/github-api';
import { PROJECT_ID, collectAlertsForFile, rest, waitFor } from '../support/emulators';
import {
  createGithubToken,
  deliver,
  example,
  resetWebhookSecret,
  writeGithubSettings,
} from '../support/github';
import { MIN } from '../support/time';
import { scaled } from '../support/time-factor';

const GITHUB = process.env.GITHUB_API_URL!;
const CLOUD_RUN = process.env.CLOUD_RUN_STAND_IN_URL!;
const OWNER = 'bvester';
const REPO = 'payments-api';
const alerts = collectAlertsForFile();

let seq = 0;
function unique(prefix: string): string {
  seq += 1;
  return `${prefix}-${Date.now().toString(36)}-${seq}`;
}

interface TestClock {
  t: number;
  nowMs(): number;
}

async function github(path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${GITHUB}/_stand-in/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return res.status === 204 ? undefined : res.json();
}

async function cloudRun(path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${CLOUD_RUN}/_stand-in/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return res.status === 204 ? undefined : res.json();
}

async function deploymentStates(id: number): Promise<string[]> {
  const state = (await github('state')) as { deployments: { id: number; statuses: { state: string }[] }[] };
  const d = state.deployments.find((x) => x.id === id);
  return (d?.statuses ?? []).map((s) => s.state).reverse(); // oldest first
}

/** Writes one minute of metric windows for both cohorts, as the app's instances would (sharded counters). */
async function windows(service: string, minuteMs: number, canaryErrors: number) {
  const doc = (cohort: string, errors: number) => ({
    service,
    cohort,
    minuteMs,
    shards: {
      s0: { requests: 500, errors, latencyMs: { '100': 400 - errors, '250': 100 } },
      s1: { requests: 500, errors: 0, latencyMs: { '100': 420, '250': 80 } },
    },
  });
  const col = db().collection('metrics').doc(service).collection('windows');
  await Promise.all([
    col.doc(`${minuteMs}_baseline`).set(doc('baseline', 0)),
    col.doc(`${minuteMs}_canary`).set(doc('canary', canaryErrors)),
  ]);
}

function policy(flag: string, extra: Record<string, unknown> = {}) {
  return {
    steps: [5, 25, 50, 100],
    intervalMinutes: 1,
    threshold: 2,
    progressDeadlineMinutes: 30,
    judge: { kind: 'threshold' },
    metrics: [{ name: 'errorRate', source: 'metrics', max: 0.01, direction: 'increase', critical: true }],
    minSamples: 1,
    router: { kind: 'firestore-flag', flag },
    targets: { baseline: { cohort: 'baseline' }, canary: { cohort: 'canary' } },
    ...extra,
  };
}

interface Setup {
  service: string;
  flag: string;
  rolloutId: string;
  deploymentId: number;
  clock: TestClock;
  deps: CanaryDeps;
}

async function setup(policyExtra: Record<string, unknown> = {}): Promise<Setup> {
  const service = unique('svc');
  const flag = unique('canary').replace(/-/g, '_');
  await db().doc(`flags/${flag}`).set({ enabled: true, rolloutPercent: 0, description: 'canary weight' });
  await db().doc(`canaryPolicies/${service}`).set(policy(flag, policyExtra));
  const { id: deploymentId } = (await github('deployments', { owner: OWNER, repo: REPO })) as { id: number };
  const rolloutId = unique('req');
  const clock = { t: Math.floor(Date.now() / MIN) * MIN + 30 * MIN, nowMs: () => clock.t };
  await createRollout(
    {
      id: rolloutId,
      source: 'deployment',
      repo: `${OWNER}/${REPO}`,
      service,
      version: 'v2.0.0',
      sha: 'abc123',
      ref: 'main',
      environment: 'production',
      githubDeploymentId: deploymentId,
      deliveryId: unique('guid'),
      requestedBy: 'octocat',
    },
    clock,
    'test',
  );
  const deps: CanaryDeps = {
    clock,
    github: new OctokitGithubApi('github-token'),
  };
  return { service, flag, rolloutId, deploymentId, clock, deps };
}

async function rollout(id: string): Promise<RolloutDoc> {
  return (await db().collection('rollouts').doc(id).get()).data() as RolloutDoc;
}

/** The canary stream's audit entries about one rollout, oldest first. */
async function canaryEntries(rolloutId: string): Promise<any[]> {
  const snap = await db()
    .collection('auditLog')
    .where('stream', 'in', [...CANARY_STREAMS])
    .where('target', '==', `rollouts/${rolloutId}`)
    .get();
  // One rollout's history is one chain: all of it in its service's shard.
  expect(new Set(snap.docs.map((d) => d.get('stream') as string)).size).toBeLessThanOrEqual(1);
  return snap.docs.map((d) => d.data()).sort((a, b) => a.seq - b.seq);
}

async function canaryAudit(rolloutId: string): Promise<string[]> {
  return (await canaryEntries(rolloutId)).map((e) => String(e.action));
}

/** A rollout routed by the Cloud Run stand-in: `baseline` serves everything, `canary` is the latest revision. */
async function cloudRunSetup({ pinRevisions = true } = {}) {
  const name = unique('api');
  const serviceName = `projects/${PROJECT_ID}/locations/europe-west1/services/${name}`;
  const [baseline, canary] = [`${name}-00001-abc`, `${name}-00002-def`];
  await cloudRun('services', {
    name: serviceName,
    revisions: [baseline, canary],
    traffic: [{ revision: baseline, percent: 100 }],
  });
  const s = await setup({
    router: {
      kind: 'cloud-run',
      service: name,
      region: 'europe-west1',
      ...(pinRevisions ? { baselineRevision: baseline, canaryRevision: canary } : {}),
    },
  });
  const served = async (): Promise<Record<string, number>> => {
    const view = (await cloudRun(`services/${encodeURIComponent(serviceName)}`)) as {
      trafficStatuses: { revision: string; percent: number }[];
    };
    return Object.fromEntries(view.trafficStatuses.map((t) => [t.revision, t.percent]));
  };
  return { s, baseline, canary, served, serviceName };
}

async function flagWeight(flag: string): Promise<number> {
  return (await db().doc(`flags/${flag}`).get()).get('rolloutPercent') as number;
}

/** One tick now (retrying while another tick, e.g. the emulator's kicked one, holds the lease). */
async function tick(s: Setup) {
  return waitFor(
    async () => {
      const r = await tickService(
        s.service,
        { correlationId: unique('tick'), actor: { type: 'system', id: 'test' } },
        s.deps,
      );
      return r.ran ? r : undefined;
    },
    { what: 'a tick' },
  );
}

/** Moves one interval: metric windows for the minute, then ticks until the rollout stops changing. */
async function interval(s: Setup, canaryErrors = 0) {
  await windows(s.service, s.clock.t - MIN, canaryErrors);
  s.clock.t += MIN;
  await windows(s.service, s.clock.t - MIN, canaryErrors);
  for (let k = 0; k < 4; k += 1) {
    const r = await tick(s);
    if (!r.outcomes.length) break;
  }
}

beforeAll(async () => {
  await createGithubToken();
});

beforeEach(async () => {
  await rest.clear();
});

afterEach(async () => {
  await github('reset', {});
  await cloudRun('reset', {});
});

describe('canary controller', () => {
  it('promotes a healthy canary through every step, with GitHub deployment statuses', async () => {
    const s = await setup();
    const weights: number[] = [];
    // Each step: one interval of complete minutes after the minute its weight went live (see analysisWindow).
    for (let k = 0; k < 12 && !['succeeded'].includes((await rollout(s.rolloutId)).phase); k += 1) {
      await interval(s);
      weights.push(await flagWeight(s.flag));
    }
    const done = await rollout(s.rolloutId);
    expect(done.phase).toBe('succeeded');
    expect(done.weight).toBe(100);
    expect([...new Set(weights)]).toEqual([5, 25, 50, 100]);
    const states = await deploymentStates(s.deploymentId);
    expect(states.filter((x) => x === 'in_progress').length).toBeGreaterThanOrEqual(3);
    expect(states.at(-1)).toBe('success');
  });

  it('rolls an erroring canary back within threshold intervals plus one, and says why on GitHub', async () => {
    const s = await setup();
    await interval(s); // starts at 5%
    expect(await flagWeight(s.flag)).toBe(5);
    let intervals = 0;
    while (!['rolled-back', 'failed'].includes((await rollout(s.rolloutId)).phase) && intervals < 5) {
      await interval(s, 50); // 5% errors in one shard of the canary
      intervals += 1;
    }
    const r = await rollout(s.rolloutId);
    expect(r.phase).toBe('rolled-back');
    expect(intervals).toBeLessThanOrEqual(2 + 1);
    expect(await flagWeight(s.flag)).toBe(0);
    expect((await deploymentStates(s.deploymentId)).at(-1)).toBe('failure');
    await waitFor(
      () =>
        alerts.messages.find(
          (a) => a.data.target === `rollouts/${s.rolloutId}` && a.data.severity === 'critical',
        ),
      {
        what: 'the rollback alert',
      },
    );
  });

  it('waits at an approval step until an admin approves', async () => {
    const s = await setup({ approvals: [50] });
    for (let k = 0; k < 10 && (await rollout(s.rolloutId)).phase !== 'waiting-approval'; k += 1)
      await interval(s);
    expect((await rollout(s.rolloutId)).phase).toBe('waiting-approval');
    expect(await flagWeight(s.flag)).toBe(25);
    await interval(s);
    await interval(s);
    expect(await flagWeight(s.flag)).toBe(25); // still waiting
    // The admin's command, as the console writes it; onRolloutCommand (Functions emulator) moves it into place.
    await db()
      .collection('rollouts')
      .doc(s.rolloutId)
      .update({ command: { action: 'approve', reason: 'looks good' } });
    await waitFor(
      async () =>
        (await rollout(s.rolloutId)).pendingCommands?.some((c) => c.action === 'approve') ||
        (await rollout(s.rolloutId)).commandsSeen.length > 0,
      {
        what: 'the command to be taken in',
      },
    );
    for (let k = 0; k < 3 && (await flagWeight(s.flag)) < 50; k += 1) await interval(s);
    expect(await flagWeight(s.flag)).toBe(50);
    expect((await rollout(s.rolloutId)).commandsSeen).toHaveLength(1);
  });

  it('holds the weight while deployFreeze is on', async () => {
    const s = await setup();
    await interval(s);
    expect(await flagWeight(s.flag)).toBe(5);
    await db().doc('flags/deployFreeze').set({ enabled: true, rolloutPercent: 0, description: 'freeze' });
    await interval(s);
    await interval(s);
    expect(await flagWeight(s.flag)).toBe(5);
    await db().doc('flags/deployFreeze').set({ enabled: false, rolloutPercent: 0, description: 'freeze' });
    await interval(s);
    expect(await flagWeight(s.flag)).toBe(25);
  });

  it('starts nothing from an invalid policy, and says why', async () => {
    const s = await setup({ steps: [50, 5] });
    await tick(s);
    const r = await rollout(s.rolloutId);
    expect(r.phase).toBe('failed');
    expect(r.reason + (r.policyError ?? '')).toMatch(/steps/);
    expect(await flagWeight(s.flag)).toBe(0);
  });

  it('supersedes a pending rollout by a newer request; the old one never routes traffic', async () => {
    const s = await setup();
    // Hold the first at pending with a freeze, then a newer request arrives.
    await db().doc('flags/deployFreeze').set({ enabled: true, rolloutPercent: 0, description: 'freeze' });
    await tick(s);
    const newer = unique('req');
    s.clock.t += 1000;
    await createRollout(
      {
        id: newer,
        source: 'release',
        repo: `${OWNER}/${REPO}`,
        service: s.service,
        version: 'v2.0.1',
        sha: 'def456',
        ref: null,
        environment: 'production',
        githubDeploymentId: null,
        deliveryId: unique('guid'),
        requestedBy: 'octocat',
      },
      s.clock,
      'test',
    );
    await db().doc('flags/deployFreeze').set({ enabled: false, rolloutPercent: 0, description: 'freeze' });
    await interval(s);
    expect((await rollout(s.rolloutId)).phase).toBe('superseded');
    expect((await rollout(newer)).weight).toBe(5);
    expect((await deploymentStates(s.deploymentId)).filter((x) => x === 'in_progress')).toEqual([]);
  });

  it('fails the rollout after repeated Cloud Run failures, with traffic restored to the baseline', async () => {
    const { s, baseline, canary, served } = await cloudRunSetup();
    await interval(s);
    expect(await served()).toEqual({ [baseline]: 95, [canary]: 5 });
    // Cloud Run starts refusing updates: the controller retries, then gives up and restores the baseline.
    await cloudRun('faults', { next: 'unavailable', count: 3 });
    for (let k = 0; k < 8 && (await rollout(s.rolloutId)).phase !== 'failed'; k += 1) await interval(s);
    const r = await rollout(s.rolloutId);
    expect(r.phase).toBe('failed');
    expect(r.routerErrors).toBeGreaterThanOrEqual(3);
    await waitFor(async () => (await tick(s)) && (await served())[baseline] === 100, {
      what: 'traffic back on the baseline',
    });
    expect(await served()).toEqual({ [baseline]: 100 });
    // The failed rollout is finished by the next tick: the restore confirmed, audited, GitHub told.
    await waitFor(async () => (await tick(s)) && !(await rollout(s.rolloutId)).routerPending, {
      what: 'the restore to be folded in',
    });
    expect((await deploymentStates(s.deploymentId)).at(-1)).toBe('failure');
    expect(await canaryAudit(s.rolloutId)).toContain('rollout.baseline-restored');
    // Nothing more to do for it: further ticks leave it alone.
    const finished = await rollout(s.rolloutId);
    await tick(s);
    expect((await rollout(s.rolloutId)).rev).toBe(finished.rev);
  });

  it('alerts when restoring the baseline after router failures fails too', async () => {
    const { s, baseline, canary, served } = await cloudRunSetup();
    await interval(s);
    expect(await served()).toEqual({ [baseline]: 95, [canary]: 5 });
    // Three failures fail the rollout; the fourth is the restore.
    await cloudRun('faults', { next: 'unavailable', count: 4 });
    for (let k = 0; k < 8 && (await rollout(s.rolloutId)).phase !== 'failed'; k += 1) await interval(s);
    expect((await rollout(s.rolloutId)).phase).toBe('failed');
    await waitFor(async () => (await tick(s)) && !(await rollout(s.rolloutId)).routerPending, {
      what: 'the failed restore to be folded in',
    });
    expect(await canaryAudit(s.rolloutId)).toContain('rollout.baseline-restore-failed');
    expect((await deploymentStates(s.deploymentId)).at(-1)).toBe('failure');
    await waitFor(
      () =>
        alerts.messages.find(
          (a) =>
            a.data.target === `rollouts/${s.rolloutId}` &&
            a.data.severity === 'critical' &&
            String(a.data.title).includes('may still reach the canary'),
        ),
      { what: 'the critical alert for the failed restore' },
    );
  });

  it('routes to the revisions chosen at the start, even when a new revision is deployed mid-rollout', async () => {
    const { s, baseline, canary, served, serviceName } = await cloudRunSetup({ pinRevisions: false });
    await interval(s);
    expect(await served()).toEqual({ [baseline]: 95, [canary]: 5 });
    expect((await rollout(s.rolloutId)).routerRevisions).toEqual({ baseline, canary });
    // A newer revision is deployed with no traffic: it becomes the service's latest ready revision.
    const intruder = `${serviceName.split('/').at(-1)}-00003-ghi`;
    await cloudRun('revisions', { service: serviceName, revision: intruder });
    for (let k = 0; k < 6 && (await served())[canary] !== 25; k += 1) await interval(s);
    expect(await served()).toEqual({ [baseline]: 75, [canary]: 25 });
    expect((await rollout(s.rolloutId)).routerRevisions).toEqual({ baseline, canary });
  });

  it('judges complete minutes only: a service that writes each minute when it ends gets promoted', async () => {
    const s = await setup();
    // Ticks land mid-minute (a scheduled run starts a few seconds late; a kick comes any time).
    s.clock.t += 30_000;
    for (let k = 0; k < 8 && (await flagWeight(s.flag)) < 25; k += 1) {
      s.clock.t += MIN;
      // The service flushes a minute's counters when that minute ends: the current minute is never there.
      await windows(s.service, Math.floor(s.clock.t / MIN) * MIN - MIN, 0);
      for (let j = 0; j < 4; j += 1) if (!(await tick(s)).outcomes.length) break;
    }
    expect(await flagWeight(s.flag)).toBe(25);
    const last = (await rollout(s.rolloutId)).lastAnalysis!;
    expect(last.verdict).toBe('pass');
    // The judged minutes had all ended, with their lateness, when the analysis ran.
    expect(last.toMs! + 15_000).toBeLessThanOrEqual(last.atMs);
    expect(last.toMs! - last.fromMs!).toBe(MIN);
  });

  it('queues a second command behind the first: pause then abort are both applied, in order, audited', async () => {
    const s = await setup();
    await interval(s);
    expect(await flagWeight(s.flag)).toBe(5);
    const ref = db().collection('rollouts').doc(s.rolloutId);
    // Two commands written before any tick applies the first (the console, a second apart). The test holds the
    // service's lease meanwhile, so the ticks each command kicks (canaryKick in the Functions emulator) skip.
    const held = await withLease(
      `canary-${s.service}`,
      { ttlMs: 2 * MIN, clock: s.clock, correlationId: 'test-hold', actor: { type: 'system', id: 'test' } },
      async () => {
        await ref.update({ command: { action: 'pause', reason: 'look at the logs' } });
        await waitFor(async () => (await rollout(s.rolloutId)).command === undefined, {
          what: 'the pause to be taken in',
        });
        await ref.update({ command: { action: 'abort', reason: 'bad release' } });
        await waitFor(async () => (await rollout(s.rolloutId)).command === undefined, {
          what: 'the abort to be taken in',
        });
        return (await rollout(s.rolloutId)).commandsSeen.length;
      },
    );
    expect(held).toMatchObject({ ran: true, value: 0 });
    await waitFor(
      async () => {
        await tick(s);
        return (await rollout(s.rolloutId)).commandsSeen.length >= 2;
      },
      { what: 'both commands to be applied' },
    );
    for (let k = 0; k < 3; k += 1) await tick(s); // fold in the router's answer
    const r = await rollout(s.rolloutId);
    expect(r.phase).toBe('rolled-back');
    expect(await flagWeight(s.flag)).toBe(0);
    const applied = (await canaryAudit(s.rolloutId)).filter((a) =>
      ['rollout.pause', 'rollout.abort'].includes(a),
    );
    expect(applied).toEqual(['rollout.pause', 'rollout.abort']);
    // Each applied command's audit entry carries the write's auth type (refused ones always did).
    const entries = await canaryEntries(s.rolloutId);
    for (const action of ['rollout.pause', 'rollout.abort']) {
      const entry = entries.find((e) => e.action === action)!;
      expect(entry.actor).toMatchObject({ type: 'admin', authType: expect.any(String) });
      expect(entry.details.authType).toBe(entry.actor.authType);
    }
    expect(r.pendingCommands ?? []).toEqual([]);
  });

  it('a burst of 5 commands in one second: every one handled once, in the order written, each outcome on the rollout', async () => {
    const s = await setup();
    await interval(s);
    const ref = db().collection('rollouts').doc(s.rolloutId);
    const burst = [
      { action: 'pause', reason: 'burst 1' },
      { action: 'resume', reason: 'burst 2' },
      { action: 'pause', reason: 'burst 3' },
      { action: 'resume', reason: 'burst 4' },
      { action: 'abort', reason: 'burst 5' },
    ];
    // Written back to back (well within a second) while the test holds the service's lease, so the kicked ticks
    // skip and the five triggers race each other to queue them.
    const held = await withLease(
      `canary-${s.service}`,
      { ttlMs: 2 * MIN, clock: s.clock, correlationId: 'test-burst', actor: { type: 'system', id: 'test' } },
      async () => {
        for (const command of burst) await ref.update({ command });
        await waitFor(async () => ((await rollout(s.rolloutId)).pendingCommands ?? []).length === 5, {
          what: 'the five commands to be queued',
        });
        return true;
      },
    );
    expect(held).toMatchObject({ ran: true });
    await waitFor(
      async () => {
        await tick(s);
        return ((await rollout(s.rolloutId)).commandLog ?? []).length >= 5;
      },
      { what: 'all five commands to be handled' },
    );
    const r = await rollout(s.rolloutId);
    const log = r.commandLog as { action: string; outcome: string; writtenAtMs: number; why: string }[];
    expect(log.map((c) => `${c.action}:${c.outcome}`)).toEqual([
      'pause:applied',
      'resume:applied',
      'pause:applied',
      'resume:applied',
      'abort:applied',
    ]);
    const written = log.map((c) => c.writtenAtMs);
    expect(written).toEqual([...written].sort((a, b) => a - b));
    expect(written.at(-1)! - written[0]!).toBeLessThan(scaled(5_000));
    const applied = (await canaryAudit(s.rolloutId)).filter((a) =>
      ['rollout.pause', 'rollout.resume', 'rollout.abort'].includes(a),
    );
    expect(applied).toEqual([
      'rollout.pause',
      'rollout.resume',
      'rollout.pause',
      'rollout.resume',
      'rollout.abort',
    ]);
  });

  it('refuses an invalid command from the console (which bypasses the rules), audited with its auth type', async () => {
    const s = await setup();
    await interval(s);
    const before = await rollout(s.rolloutId);
    await db()
      .collection('rollouts')
      .doc(s.rolloutId)
      .update({ command: { action: 'explode', reason: 'typo' } });
    const refused: any = await waitFor(
      async (): Promise<unknown> =>
        (await canaryEntries(s.rolloutId)).find((e) => e.action === 'rollout.command-refused'),
      { what: 'the refusal in the audit log' },
    );
    expect(refused.reason).toMatch(/action/);
    expect(refused.actor.authType).toEqual(expect.any(String));
    expect(refused.details.authType).toBe(refused.actor.authType);
    const after = await waitFor(
      async () => {
        const r = await rollout(s.rolloutId);
        return r.command === undefined ? r : undefined;
      },
      { what: 'the command to be cleared' },
    );
    expect(after.pendingCommands ?? []).toEqual([]);
    expect(after.phase).toBe(before.phase);
    expect(after.weight).toBe(before.weight);
  });

  it('applies abort, pause, resume, promote-now and rollback-now exactly once each', async () => {
    const command = async (s: Setup, action: string) => {
      const before = (await rollout(s.rolloutId)).commandsSeen.length;
      await db()
        .collection('rollouts')
        .doc(s.rolloutId)
        .update({ command: { action, reason: `test ${action}` } });
      await waitFor(
        async () => {
          await tick(s);
          return (await rollout(s.rolloutId)).commandsSeen.length > before;
        },
        { what: `${action} to be applied` },
      );
      for (let k = 0; k < 3; k += 1) await tick(s); // fold in the router's answer
      return rollout(s.rolloutId);
    };
    const a = await setup();
    await interval(a);
    expect((await command(a, 'pause')).phase).toBe('paused');
    await interval(a);
    expect(await flagWeight(a.flag)).toBe(5); // paused: held
    expect((await command(a, 'resume')).phase).toBe('progressing');
    expect((await command(a, 'promote-now')).phase).toBe('succeeded');
    expect(await flagWeight(a.flag)).toBe(100);
    expect((await rollout(a.rolloutId)).commandsSeen).toHaveLength(3);

    const b = await setup();
    await interval(b);
    expect((await command(b, 'abort')).phase).toBe('rolled-back');
    expect(await flagWeight(b.flag)).toBe(0);

    const c = await setup();
    await interval(c);
    await interval(c);
    expect((await command(c, 'rollback-now')).phase).toBe('rolled-back');
    expect(await flagWeight(c.flag)).toBe(0);
    // Every command was audited once, with its reason.
    const audited = await db()
      .collection('auditLog')
      .where('stream', 'in', [...CANARY_STREAMS])
      .get();
    const reasons = audited.docs.map((d) => String(d.get('reason')));
    for (const action of ['pause', 'resume', 'promote-now', 'abort', 'rollback-now']) {
      expect(reasons.filter((r) => r.includes(`test ${action}`)).length).toBeGreaterThanOrEqual(1);
    }
  });

  it('starts a rollout from a GitHub deployment webhook, end to end through the Functions emulator', async () => {
    await resetWebhookSecret();
    await writeGithubSettings();
    const payload = example('deployment', (p) => p.deployment.environment === 'production');
    const [owner, repo] = (payload.repository.full_name as string).split('/');
    await github('deployments', { owner, repo, id: payload.deployment.id });
    const flag = unique('hello').replace(/-/g, '_');
    await db()
      .doc(`flags/${flag}`)
      .set({ enabled: true, rolloutPercent: 0, description: 'Hello-World canary' });
    await db().doc('canaryPolicies/Hello-World').set(policy(flag));
    const res = await deliver({ event: 'deployment', payload });
    expect(res.status).toBe(202);
    // githubWebhook -> onDeliveryRecorded -> onOpsEvent (rolloutRequests) -> onRolloutRequest (rollouts) ->
    // canaryKick (first tick: the canary gets its first step's weight).
    const started = await waitFor(
      async () => {
        const snap = await db().collection('rollouts').where('service', '==', 'Hello-World').get();
        const r = snap.docs[0]?.data() as RolloutDoc | undefined;
        return r && r.phase === 'progressing' ? r : undefined;
      },
      { timeoutMs: 30_000, what: 'the rollout to start' },
    );
    expect(started.request).toMatchObject({
      githubDeploymentId: payload.deployment.id,
      source: 'deployment',
    });
    await waitFor(async () => (await flagWeight(flag)) === 5, { what: 'the first step on the flag' });
    // The next tick folds the router's answer in and tells GitHub.
    const s: Setup = {
      service: 'Hello-World',
      flag,
      rolloutId: started.id,
      deploymentId: payload.deployment.id as number,
      clock: { t: Date.now(), nowMs: () => Date.now() },
      deps: { clock: { nowMs: () => Date.now() }, github: new OctokitGithubApi('github-token') },
    };
    await waitFor(
      async () => {
        await tick(s);
        return (await deploymentStates(s.deploymentId)).includes('in_progress');
      },
      { what: 'the in_progress deployment status' },
    );
  });

  it('never commits two transitions from one state when ticks race', async () => {
    const s = await setup();
    const ticks = await Promise.all(
      Array.from({ length: 5 }, (_, k) =>
        tickService(
          s.service,
          { correlationId: `race-${k}`, actor: { type: 'system', id: `t${k}` } },
          s.deps,
        ),
      ),
    );
    const transitions = ticks.flatMap((t) => t.outcomes);
    const r = await rollout(s.rolloutId);
    // Every reported transition was committed exactly once, each from the revision the one before it left.
    expect(transitions.length).toBeGreaterThanOrEqual(1);
    expect(r.rev).toBe(transitions.length);
    const audited = await db()
      .collection('auditLog')
      .where('stream', 'in', [...CANARY_STREAMS])
      .where('target', '==', `rollouts/${s.rolloutId}`)
      .get();
    expect(audited.docs.filter((d) => d.get('action') !== 'rollout.created')).toHaveLength(
      transitions.length,
    );
  });
});
