// Secret rotation end to end against the emulators: the engine runs in this process (handleSecretEvent,
// handleRotationSweep, handlePolicyWrite) with a clock the tests move by hand, against the Secret Manager emulator,
// Firestore, Pub/Sub, the GitHub stand-in and the real githubWebhook in the Functions emulator.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { db } from '../../functions/src/platform/firestore';
import { setLogSink } from '../../functions/src/platform/logger';
import type { EngineDeps, FaultPoint } from '../../functions/src/rotation/engine';
import { ROTATION_ANNOTATION } from '../../functions/src/rotation/secrets';
import { callbackRefusal } from '../../functions/src/rotation/strategies';
import { accessSecretValue, secretManager, versionName } from '../../functions/src/platform/secret-manager';
import { PREVIOUS_EXPIRES_ANNOTATION } from '../../functions/src/webhooks/webhook-secrets';
import type { RotationStep } from '../../functions/src/rotation/domain/rotation';
import {
  handlePolicyWrite,
  handleRotationSweep,
  handleSecretEvent,
} from '../../functions/src/rotation/handlers';
import { allDocuments } from '../support/all-documents';
import { FUNCTIONS_URL, PROJECT_ID, collectTopic, rest, waitFor } from '../support/emulators';
import {
  createGithubToken,
  WEBHOOK_SECRET_ID,
  WEBHOOK_SECRET_V1,
  deliver,
  example,
  resetWebhookSecret,
  writeGithubSettings,
} from '../support/github';
import {
  DAY_MS,
  MINUTE_MS,
  createTestSecret,
  engineDeps,
  makeClock,
  resetWebhookSecretWithoutAliases,
  rotation,
  rotationAudit,
  rotationsOf,
  secretState,
  sleep,
  standIn,
  startCallbackService,
  startWebhookProxy,
  uniqueSecretId,
  versionStates,
  writePolicy,
  type TestClock,
} from '../support/rotation';

const TOKEN_VALUE = `ghp_rotation_test_token_${randomBytes(6).toString('hex')}`;
const [owner, repo] = ['Codertocat', 'Hello-World'];

/** Every secret value this file created or saw; none may reach a log line or a Firestore document. */
const values = new Set<string>([TOKEN_VALUE]);
const logLines: string[] = [];
/** Firestore is cleared before each test, so each test's documents are scanned after it. */
const documentLeaks: string[] = [];
let documentsScanned = 0;

const notice = (secretId: string, timestamp = '2026-11-28T00:00:00Z', eventType = 'SECRET_ROTATE') => ({
  eventType,
  secretId: `projects/${PROJECT_ID}/secrets/${secretId}`,
  timestamp,
});

const randomTokenPolicy = (extra: Record<string, unknown> = {}) => ({
  strategy: 'random-token',
  enabled: true,
  bytes: 32,
  encoding: 'hex',
  gracePeriodMinutes: 60,
  destroyAfterDays: 1,
  ...extra,
});

/** A fresh secret holding one known value (version 1, `current`). */
async function freshSecret(prefix = 'rot'): Promise<{ id: string; v1: string }> {
  const id = uniqueSecretId(prefix);
  const v1 = `initial-${randomBytes(16).toString('hex')}`;
  values.add(v1);
  await createTestSecret(id, [v1]);
  return { id, v1 };
}

/** Reads a version's value (enabling it for the read if it is disabled) and remembers it for the leak check. */
async function remember(secretId: string, version: number | string): Promise<string> {
  const client = secretManager();
  const name = versionName(secretId, version);
  const [v] = await client.getSecretVersion({ name });
  const disabled = String(v.state) === 'DISABLED';
  if (disabled) await client.enableSecretVersion({ name });
  try {
    const { value } = await accessSecretValue(secretId, version);
    values.add(value);
    return value;
  } finally {
    if (disabled) await client.disableSecretVersion({ name });
  }
}

function sweep(clock: TestClock, scheduleTime: string, deps = engineDeps(clock)) {
  return handleRotationSweep({ jobName: 'j', scheduleTime }, deps);
}

async function rotationActions(): Promise<string[]> {
  return (await rotationAudit()).map((e) => e.action).filter((a) => a.startsWith('rotation.'));
}

async function lockOf(secretId: string) {
  return (await db().collection('rotationLocks').doc(secretId).get()).data();
}

beforeAll(async () => {
  setLogSink((level, message, fields) => logLines.push(JSON.stringify({ level, message, fields })));
  await createGithubToken(TOKEN_VALUE);
});

afterAll(() => setLogSink(undefined));

beforeEach(async () => {
  await rest.clear();
});

afterEach(async () => {
  const docs = await allDocuments();
  documentsScanned += docs.length;
  for (const d of docs) {
    for (const v of values) if (d.json.includes(v)) documentLeaks.push(`${d.path} holds a secret value`);
  }
});

describe('random-token rotation', () => {
  it('runs create, apply, test, finish, then retires and destroys the old version on later sweeps', async () => {
    const clock = makeClock();
    const deps = engineDeps(clock);
    const t0 = clock.t;
    const { id } = await freshSecret();
    await writePolicy(id, randomTokenPolicy());

    const result = await handleSecretEvent('evt-1', notice(id), deps);
    expect(result.outcome).toBe('started');
    const rotationId = result.rotationId!;
    expect(rotationId).toBe(`${id}-${t0}`);
    expect(await rotation(rotationId)).toMatchObject({
      secretId: id,
      phase: 'grace',
      oldVersion: '1',
      newVersion: '2',
      failedStep: null,
      error: null,
      graceEndsAtMs: t0 + 60 * MINUTE_MS,
      destroyAtMs: null,
      running: null,
    });
    expect(await secretState(id)).toEqual({
      aliases: { current: 2, previous: 1 },
      annotations: { [PREVIOUS_EXPIRES_ANNOTATION]: new Date(t0 + 60 * MINUTE_MS).toISOString() },
    });
    expect(await remember(id, 2)).toMatch(/^[0-9a-f]{64}$/);
    expect(await versionStates(id)).toEqual({ '1': 'ENABLED', '2': 'ENABLED' });
    expect(await lockOf(id)).toMatchObject({ activeRotationId: rotationId, lastRotatedAtMs: t0 });

    // Still inside the grace period: a sweep changes nothing.
    clock.t = t0 + 59 * MINUTE_MS;
    expect(await sweep(clock, 't0')).toEqual({ ran: true, started: [], advanced: [rotationId] });
    expect((await rotation(rotationId))?.phase).toBe('grace');
    expect(await versionStates(id)).toEqual({ '1': 'ENABLED', '2': 'ENABLED' });

    clock.t = t0 + 61 * MINUTE_MS;
    expect(await sweep(clock, 't1')).toEqual({ ran: true, started: [], advanced: [rotationId] });
    expect(await rotation(rotationId)).toMatchObject({
      phase: 'retired',
      destroyAtMs: t0 + 61 * MINUTE_MS + DAY_MS,
    });
    expect(await versionStates(id)).toEqual({ '1': 'DISABLED', '2': 'ENABLED' });
    expect(await secretState(id)).toEqual({ aliases: { current: 2 }, annotations: {} });
    expect((await lockOf(id))?.activeRotationId).toBeNull();

    clock.t = t0 + 61 * MINUTE_MS + DAY_MS + MINUTE_MS;
    expect(await sweep(clock, 't2')).toEqual({ ran: true, started: [], advanced: [rotationId] });
    expect((await rotation(rotationId))?.phase).toBe('completed');
    expect(await versionStates(id)).toEqual({ '1': 'DESTROYED', '2': 'ENABLED' });
    expect(await secretState(id)).toEqual({ aliases: { current: 2 }, annotations: {} });

    const audit = await rotationAudit();
    const entries = audit.filter((e) => e.action.startsWith('rotation.'));
    expect(entries.map((e) => e.action)).toEqual([
      'rotation.started',
      'rotation.create',
      'rotation.apply',
      'rotation.test',
      'rotation.finish',
      'rotation.retire',
      'rotation.destroy',
    ]);
    expect(new Set(entries.map((e) => e.target))).toEqual(new Set([`rotations/${rotationId}`]));
    expect(entries[0]!.actor).toEqual({ type: 'system', id: 'secret-manager' });
    expect(entries[0]!.correlationId).toBe('notice:2026-11-28T00:00:00Z');
    // The audit trail names versions, never values.
    expect(entries.map((e) => e.details?.newVersion ?? null).slice(1)).toEqual([
      '2',
      '2',
      '2',
      '2',
      '2',
      '2',
    ]);
    expect((await lockOf(id))?.activeRotationId).toBeNull();
    expect(await rotationsOf(id)).toHaveLength(1);
  });

  // A secret created the usual way has versions but no alias; consumers read `latest`. Its first rotation must
  // still retire and destroy the value it replaced: that is what rotating a credential is for.
  it('a secret without aliases: the version it replaced is `previous`, then disabled and destroyed', async () => {
    const id = uniqueSecretId('noalias');
    const v1 = `initial-${randomBytes(16).toString('hex')}`;
    values.add(v1);
    await createTestSecret(id, [v1], { alias: false });
    await writePolicy(id, randomTokenPolicy());
    // The clock starts over a second after version 1 was added: create's crash recovery adopts unaliased versions
    // added since its start (minus 1 s), and version 1 must not look like one.
    await sleep(1_100);
    const clock = makeClock();
    const deps = engineDeps(clock);
    const t0 = clock.t;
    const { rotationId } = await handleSecretEvent('evt-noalias', notice(id), deps);
    await remember(id, 2);
    const afterFinish = await rotation(rotationId!);
    const aliasesAfterFinish = (await secretState(id)).aliases;
    clock.t = t0 + 61 * MINUTE_MS;
    await sweep(clock, 'noalias-1');
    const afterGrace = { phase: (await rotation(rotationId!))?.phase, versions: await versionStates(id) };
    clock.t = t0 + 61 * MINUTE_MS + DAY_MS + MINUTE_MS;
    await sweep(clock, 'noalias-2');
    const afterDestroy = { phase: (await rotation(rotationId!))?.phase, versions: await versionStates(id) };
    expect({
      afterFinish: {
        phase: afterFinish?.phase,
        oldVersion: afterFinish?.oldVersion,
        aliases: aliasesAfterFinish,
      },
      afterGrace,
      afterDestroy,
    }).toEqual({
      afterFinish: { phase: 'grace', oldVersion: '1', aliases: { current: 2, previous: 1 } },
      afterGrace: { phase: 'retired', versions: { '1': 'DISABLED', '2': 'ENABLED' } },
      afterDestroy: { phase: 'completed', versions: { '1': 'DESTROYED', '2': 'ENABLED' } },
    });
  });
});

describe('duplicates', () => {
  it('one SECRET_ROTATE notice delivered three times (three message ids) rotates once', async () => {
    const clock = makeClock();
    const deps = engineDeps(clock);
    const { id } = await freshSecret();
    await writePolicy(id, randomTokenPolicy());

    const outcomes = await Promise.all(
      ['evt-a', 'evt-b', 'evt-c'].map((e) => handleSecretEvent(e, notice(id), deps)),
    );
    expect(outcomes.map((o) => o.outcome).sort()).toEqual([
      'duplicate request',
      'duplicate request',
      'started',
    ]);
    const rotations = await rotationsOf(id);
    expect(rotations.map((r) => r.phase)).toEqual(['grace']);
    expect(await versionStates(id)).toEqual({ '1': 'ENABLED', '2': 'ENABLED' });
    expect((await secretState(id)).aliases).toEqual({ current: 2, previous: 1 });
    await remember(id, 2);

    // A fourth copy, after the rotation finished, starts nothing; it hands back the rotation it belongs to (still
    // in its grace period), which a redelivered notice after a crash would resume.
    expect(await handleSecretEvent('evt-d', notice(id), deps)).toEqual({
      outcome: 'duplicate request',
      rotationId: rotations[0]!.id,
    });
    expect(await rotationsOf(id)).toHaveLength(1);
    expect(await versionStates(id)).toEqual({ '1': 'ENABLED', '2': 'ENABLED' });
  });

  it('two sweeps started together rotate a due secret once', async () => {
    const clock = makeClock();
    const { id } = await freshSecret();
    await writePolicy(id, randomTokenPolicy({ intervalDays: 1 }));

    const [a, b] = await Promise.all([sweep(clock, 's-a'), sweep(clock, 's-b')]);
    expect([...a.started, ...b.started]).toHaveLength(1);
    const rotations = await rotationsOf(id);
    expect(rotations).toHaveLength(1);
    expect(rotations[0]!.phase).toBe('grace');
    expect(await versionStates(id)).toEqual({ '1': 'ENABLED', '2': 'ENABLED' });
    await remember(id, 2);

    // Not due again until intervalDays have passed.
    expect((await sweep(clock, 's-c')).started).toEqual([]);
    expect(await rotationsOf(id)).toHaveLength(1);
  });
});

describe('crash at any point of any step resumes on the next sweep without repeating an effect', () => {
  const steps: RotationStep[] = ['create', 'apply', 'test', 'finish'];
  const points: FaultPoint[] = ['before-effect', 'after-effect'];
  const cases = steps.flatMap((s) => points.map((p) => [s, p] as const));

  it.each(cases)('crash at %s / %s', async (step, point) => {
    const clock = makeClock();
    const { id } = await freshSecret('crash');
    await writePolicy(id, randomTokenPolicy());
    let crashes = 0;
    const faulty = engineDeps(clock, {
      fault: (s, p) => {
        if (crashes === 0 && s === step && p === point) {
          crashes += 1;
          throw new Error('crash');
        }
      },
    });
    const first = await handleSecretEvent('evt-crash', notice(id), faulty).then(
      (r) => r,
      (err: unknown) => err,
    );
    expect(crashes).toBe(1);
    // Either the crash surfaces, or the rotation stopped where it crashed; both leave it at that step.
    if (!(first instanceof Error)) expect(first).toMatchObject({ outcome: 'started' });
    else expect(first.message).toBe('crash');
    const [stopped] = await rotationsOf(id);
    expect(stopped).toMatchObject({ phase: step, running: { step } });

    const resumed = await sweep(clock, `after-crash-${step}-${point}`);
    expect(resumed).toEqual({ ran: true, started: [], advanced: [stopped!.id] });
    expect(await rotation(stopped!.id)).toMatchObject({
      phase: 'grace',
      oldVersion: '1',
      newVersion: '2',
      running: null,
    });
    expect(await versionStates(id)).toEqual({ '1': 'ENABLED', '2': 'ENABLED' });
    const state = await secretState(id);
    expect(state.aliases).toEqual({ current: 2, previous: 1 });
    expect(state.annotations[ROTATION_ANNOTATION]).toBeUndefined();
    expect(await rotationActions()).toEqual([
      'rotation.started',
      'rotation.create',
      'rotation.apply',
      'rotation.test',
      'rotation.finish',
    ]);
    expect(await remember(id, 2)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('crash in the later steps (retire, destroy, rollback) resumes without repeating an effect', () => {
  const points: FaultPoint[] = ['before-effect', 'after-effect'];

  /** A deps whose fault throws once at (step, point), and a probe telling whether it did. */
  function crashOnce(clock: TestClock, step: RotationStep, point: FaultPoint) {
    let crashes = 0;
    const deps = engineDeps(clock, {
      fault: (s, p) => {
        if (crashes === 0 && s === step && p === point) {
          crashes += 1;
          throw new Error('crash');
        }
      },
    });
    return { deps, crashes: () => crashes };
  }

  it.each(points)('crash at retire, then at destroy / %s', async (point) => {
    const clock = makeClock();
    const t0 = clock.t;
    const { id } = await freshSecret('crash-late');
    await writePolicy(id, randomTokenPolicy());
    const { rotationId } = await handleSecretEvent('evt-late', notice(id), engineDeps(clock));
    await remember(id, 2);

    clock.t = t0 + 61 * MINUTE_MS;
    const retireCrash = crashOnce(clock, 'retire', point);
    await expect(sweep(clock, 'retire-crash', retireCrash.deps)).rejects.toThrow('crash');
    expect(retireCrash.crashes()).toBe(1);
    expect(await rotation(rotationId!)).toMatchObject({ phase: 'grace', running: { step: 'retire' } });
    await sweep(clock, 'retire-resume');
    expect((await rotation(rotationId!))?.phase).toBe('retired');
    expect(await versionStates(id)).toEqual({ '1': 'DISABLED', '2': 'ENABLED' });
    expect(await secretState(id)).toEqual({ aliases: { current: 2 }, annotations: {} });

    clock.t = t0 + 61 * MINUTE_MS + DAY_MS + MINUTE_MS;
    const destroyCrash = crashOnce(clock, 'destroy', point);
    await expect(sweep(clock, 'destroy-crash', destroyCrash.deps)).rejects.toThrow('crash');
    expect(destroyCrash.crashes()).toBe(1);
    expect(await rotation(rotationId!)).toMatchObject({ phase: 'retired', running: { step: 'destroy' } });
    await sweep(clock, 'destroy-resume');
    expect((await rotation(rotationId!))?.phase).toBe('completed');
    expect(await versionStates(id)).toEqual({ '1': 'DESTROYED', '2': 'ENABLED' });
    expect(await rotationActions()).toEqual([
      'rotation.started',
      'rotation.create',
      'rotation.apply',
      'rotation.test',
      'rotation.finish',
      'rotation.retire',
      'rotation.destroy',
    ]);
  });

  it.each(points)('crash at rollback / %s', async (point) => {
    const clock = makeClock();
    const issued = `issued-by-service-${randomBytes(16).toString('hex')}`;
    values.add(issued);
    const service = await startCallbackService((step) =>
      step === 'create'
        ? { status: 200, body: { value: issued } }
        : step === 'test'
          ? { status: 400, body: {} }
          : { status: 200, body: {} },
    );
    try {
      const { id } = await freshSecret('crash-rb');
      await writePolicy(id, {
        strategy: 'http-callback',
        enabled: true,
        url: service.url,
      });
      const crash = crashOnce(clock, 'rollback', point);
      await expect(handleSecretEvent('evt-rb', notice(id), crash.deps)).rejects.toThrow('crash');
      expect(crash.crashes()).toBe(1);
      const [stopped] = await rotationsOf(id);
      expect(stopped).toMatchObject({ phase: 'rollback', failedStep: 'test' });
      await sweep(clock, 'rollback-resume');
      expect(await rotation(stopped!.id)).toMatchObject({
        phase: 'failed',
        failedStep: 'test',
        running: null,
      });
      expect(await secretState(id)).toEqual({ aliases: { current: 1 }, annotations: {} });
      expect(await versionStates(id)).toEqual({ '1': 'ENABLED', '2': 'DISABLED' });
      // The service's rollback is repeated only if the crash came after it (restoring twice is harmless).
      expect(service.calls.map((c) => c.step)).toEqual(
        point === 'before-effect'
          ? ['create', 'apply', 'test', 'rollback']
          : ['create', 'apply', 'test', 'rollback', 'rollback'],
      );
      expect(await rotationActions()).toEqual([
        'rotation.started',
        'rotation.create',
        'rotation.apply',
        'rotation.rollback-started',
        'rotation.rolled-back',
      ]);
      expect((await lockOf(id))?.activeRotationId).toBeNull();
    } finally {
      await service.close();
    }
  });
});

describe('github-webhook strategy', () => {
  afterAll(async () => {
    await resetWebhookSecret();
    await sleep(3_500); // githubWebhook's cached copy of the rotated secret expires
  });

  const payload = example('push', (p) => p.ref === 'refs/heads/master');

  /**
   * Puts the webhook secret (version 1 = WEBHOOK_SECRET_V1, with or without alias `current`), a hook signing with
   * it and the policy in place, then rotates while a steady stream of deliveries arrives through the stand-in (each
   * signed with the hook's secret of that instant): one at a time, 150 ms apart (the Functions emulator starts a
   * slow new worker for each concurrent request, and each delivery sets off background functions), until ~2 s
   * after the rotation returned.
   */
  async function rotateUnderDeliveries(
    clock: TestClock,
    deps: EngineDeps,
    eventId: string,
    { aliased }: { aliased: boolean },
  ) {
    values.add(WEBHOOK_SECRET_V1);
    if (aliased) await resetWebhookSecret();
    else await resetWebhookSecretWithoutAliases(WEBHOOK_SECRET_V1);
    await writeGithubSettings();
    const { id: hookId } = (await standIn('POST', '/hooks', {
      owner,
      repo,
      url: `${FUNCTIONS_URL}/webhooks-githubWebhook`,
      secret: WEBHOOK_SECRET_V1,
    })) as { id: number };
    await writePolicy(WEBHOOK_SECRET_ID, {
      strategy: 'github-webhook',
      enabled: true,
      owner,
      repo,
      hookId,
      gracePeriodMinutes: 60,
      destroyAfterDays: 30,
    });
    // Whatever githubWebhook cached before the reset expires first.
    await sleep(3_500);
    // Status 0 is GitHub's "failed to connect": the Functions emulator occasionally resets a connection under load.
    // A 503 is githubWebhook's own "try again" when Secret Manager or Firestore miss its deadline (a loaded CI
    // machine); it records nothing. GitHub records both as failed and redeliverFailedWebhooks recovers them; here
    // they are sent again, up to 3 times, so that the stream judges what githubWebhook decided (a 401 is a consumer
    // locked out), never the transport or the machine's load.
    const viaGithub = async () => {
      let sent = (await standIn('POST', `/hooks/${hookId}/deliver`, { event: 'push', payload })) as {
        status_code: number;
      };
      for (let k = 0; k < 3 && (sent.status_code === 0 || sent.status_code === 503); k += 1) {
        await sleep(200);
        sent = (await standIn('POST', `/hooks/${hookId}/deliver`, { event: 'push', payload })) as {
          status_code: number;
        };
      }
      return sent;
    };
    // Before the rotation: version 1 works (and githubWebhook's instance is warm).
    expect((await viaGithub()).status_code).toBe(202);

    const codes: number[] = [];
    let stop = false;
    const stream = (async () => {
      // Past the stop, the stream goes on until 20 deliveries were sent (a slow machine sends fewer per second).
      while (!stop || codes.length < 20) {
        codes.push((await viaGithub()).status_code);
        await sleep(150);
      }
    })();
    let result: Awaited<ReturnType<typeof handleSecretEvent>>;
    // The engine's clock is now, well after version 1 was added (create adopts unaliased versions added since it
    // began, minus 1 s).
    clock.t = Date.now();
    try {
      result = await handleSecretEvent(eventId, notice(WEBHOOK_SECRET_ID), deps);
      await sleep(2_000);
    } finally {
      stop = true;
      await stream;
    }
    console.log(`github-webhook rotation (${eventId}): ${codes.length} deliveries during the rotation`);
    return { hookId, result, codes };
  }

  it('rotates the hook secret while deliveries keep arriving: none refused; the old value stops after retire', async () => {
    const clock = makeClock();
    const deps = engineDeps(clock);
    const { hookId, result, codes } = await rotateUnderDeliveries(clock, deps, 'evt-gh', { aliased: true });

    expect(result.outcome).toBe('started');
    expect(await rotation(result.rotationId!)).toMatchObject({
      phase: 'grace',
      failedStep: null,
      error: null,
      oldVersion: '1',
      newVersion: '2',
    });
    expect(codes.length).toBeGreaterThanOrEqual(20);
    expect(codes.filter((c) => c !== 202)).toEqual([]);
    expect((await secretState(WEBHOOK_SECRET_ID)).aliases).toEqual({ current: 2, previous: 1 });
    // The stream spanned the switch: deliveries verified with version 1, then with version 2.
    const pushes = await db().collection('deliveries').where('event', '==', 'push').get();
    const byVersion = new Map<string, number>();
    for (const d of pushes.docs) {
      const v = d.get('secretVersion') as string;
      byVersion.set(v, (byVersion.get(v) ?? 0) + 1);
    }
    console.log(`deliveries by secret version: ${JSON.stringify(Object.fromEntries(byVersion))}`);
    expect([...byVersion.keys()].sort()).toEqual(['1', '2']);
    expect(pushes.size).toBe(codes.length + 1);
    const pings = await db().collection('deliveries').where('event', '==', 'ping').get();
    expect(pings.docs.map((d) => d.get('secretVersion') as string)).toContain('2');
    const v2 = await remember(WEBHOOK_SECRET_ID, 2);
    const hooks = (await standIn('GET', '/state')).hooks as { id: number; secretFingerprint: string }[];
    expect(hooks.find((h) => h.id === hookId)?.secretFingerprint).toBe(
      createHash('sha256').update(v2).digest('hex').slice(0, 12),
    );

    // Past the grace period the sweep retires version 1: a delivery signed with it is refused within seconds.
    clock.t += 61 * MINUTE_MS;
    await sweep(clock, 'gh-retire', deps);
    expect((await rotation(result.rotationId!))?.phase).toBe('retired');
    expect(await versionStates(WEBHOOK_SECRET_ID)).toEqual({ '1': 'DISABLED', '2': 'ENABLED' });
    const refusedAfter = Date.now();
    await waitFor(
      async () => (await deliver({ event: 'push', payload, secret: WEBHOOK_SECRET_V1 })).status === 401,
      { timeoutMs: 10_000, intervalMs: 250, what: 'a delivery signed with version 1 to be refused' },
    );
    console.log(`version 1 refused ${Date.now() - refusedAfter} ms after retirement`);
    expect((await deliver({ event: 'push', payload, secret: v2 })).status).toBe(202);
  });

  // A webhook secret created the usual way (versions, no alias) is read by githubWebhook as `latest`. Its first
  // rotation must keep the README's promise all the same: no delivery refused, the old version `previous` for the
  // grace period.
  it('rotates a webhook secret that has no alias yet (read as latest) without refusing deliveries', async () => {
    const clock = makeClock();
    const deps = engineDeps(clock);
    const { result, codes } = await rotateUnderDeliveries(clock, deps, 'evt-gh-latest', {
      aliased: false,
    });
    await remember(WEBHOOK_SECRET_ID, 2);
    const stored = await rotation(result.rotationId!);
    expect({
      phase: stored?.phase,
      oldVersion: stored?.oldVersion,
      aliases: (await secretState(WEBHOOK_SECRET_ID)).aliases,
      refused: codes.filter((c) => c !== 202),
    }).toEqual({ phase: 'grace', oldVersion: '1', aliases: { current: 2, previous: 1 }, refused: [] });
  });

  // GitHub delivers a ping once; if the receiver has a bad moment (a 503, a cold start past GitHub's 10 s), that
  // delivery is simply recorded as failed. One lost delivery is a transient failure: the rotation should ping again
  // or retry the test on the next sweep, not roll back for good.
  it('a ping delivery lost once (503 at the receiver) does not roll the rotation back for good', async () => {
    const clock = makeClock();
    const deps = engineDeps(clock, { pingTimeoutMs: 6_000 });
    values.add(WEBHOOK_SECRET_V1);
    await resetWebhookSecret();
    await writeGithubSettings();
    let pingsRefused = 0;
    const proxy = await startWebhookProxy(
      `${FUNCTIONS_URL}/webhooks-githubWebhook`,
      (event) => event === 'ping' && pingsRefused++ === 0,
    );
    try {
      const { id: hookId } = (await standIn('POST', '/hooks', {
        owner,
        repo,
        url: proxy.url,
        secret: WEBHOOK_SECRET_V1,
      })) as { id: number };
      await writePolicy(WEBHOOK_SECRET_ID, {
        strategy: 'github-webhook',
        enabled: true,
        owner,
        repo,
        hookId,
        gracePeriodMinutes: 60,
        destroyAfterDays: 30,
      });
      const result = await handleSecretEvent('evt-gh-ping', notice(WEBHOOK_SECRET_ID), deps);
      const afterNotice = await rotation(result.rotationId!);
      console.log(
        `after the lost ping: phase ${afterNotice?.phase}, failedStep ${afterNotice?.failedStep}, error ${afterNotice?.error}`,
      );
      // Retried as a transient failure: the next sweep runs the test again.
      if (afterNotice?.phase === 'test') await sweep(clock, 'ping-retry', deps);
      const final = await rotation(result.rotationId!);
      await remember(WEBHOOK_SECRET_ID, 2);
      expect(proxy.seen.find((d) => d.event === 'ping')).toEqual({ event: 'ping', status: 503 });
      expect({
        phase: final?.phase,
        failedStep: final?.failedStep,
        aliases: (await secretState(WEBHOOK_SECRET_ID)).aliases,
      }).toEqual({ phase: 'grace', failedStep: null, aliases: { current: 2, previous: 1 } });
    } finally {
      await proxy.close();
    }
  });
});

describe('rollback', () => {
  it('http-callback: test answers 400, the service is rolled back and the new version disabled', async () => {
    const clock = makeClock();
    const deps = engineDeps(clock);
    const alerts = await collectTopic('ops-alerts');
    const issued = `issued-by-service-${randomBytes(16).toString('hex')}`;
    values.add(issued);
    const service = await startCallbackService((step) =>
      step === 'create'
        ? { status: 200, body: { value: issued } }
        : step === 'test'
          ? { status: 400, body: { error: 'the new credential does not work' } }
          : { status: 200, body: {} },
    );
    try {
      const { id } = await freshSecret('cb');
      await writePolicy(id, {
        strategy: 'http-callback',
        enabled: true,
        url: service.url,
        gracePeriodMinutes: 60,
        destroyAfterDays: 1,
      });
      const result = await handleSecretEvent('evt-cb-fail', notice(id), deps);
      expect(result.outcome).toBe('started');
      const rotationId = result.rotationId!;
      expect(await rotation(rotationId)).toMatchObject({
        phase: 'failed',
        failedStep: 'test',
        error: 'callback test answered 400',
        oldVersion: '1',
        newVersion: '2',
      });
      expect(service.calls.map((c) => c.step)).toEqual(['create', 'apply', 'test', 'rollback']);
      expect(service.calls.map((c) => c.version ?? null)).toEqual([null, '2', '2', '1']);
      expect(new Set(service.calls.map((c) => `${c.secretId} ${c.rotationId}`))).toEqual(
        new Set([`${id} ${rotationId}`]),
      );
      expect(await secretState(id)).toEqual({ aliases: { current: 1 }, annotations: {} });
      expect(await versionStates(id)).toEqual({ '1': 'ENABLED', '2': 'DISABLED' });
      expect(await remember(id, 2)).toBe(issued);
      expect(await rotationActions()).toEqual([
        'rotation.started',
        'rotation.create',
        'rotation.apply',
        'rotation.rollback-started',
        'rotation.rolled-back',
      ]);
      expect((await lockOf(id))?.activeRotationId).toBeNull();
      const alert = await waitFor(
        () =>
          alerts.messages.find(
            (m) => m.data.kind === 'rotation.rolled-back' && m.data.target === `rotations/${rotationId}`,
          ),
        { what: 'the rolled-back alert' },
      );
      expect(alert.data.severity).toBe('critical');
      expect(alert.attributes).toMatchObject({ kind: 'rotation.rolled-back', severity: 'critical' });
      expect(JSON.stringify(alert.data)).not.toContain(issued);
    } finally {
      await service.close();
      await alerts.close();
    }
  });

  it('github-webhook: GitHub refuses the config update (403), the rotation rolls back at apply', async () => {
    const clock = makeClock();
    const deps = engineDeps(clock);
    const { id, v1 } = await freshSecret('ghfail');
    const { id: hookId } = (await standIn('POST', '/hooks', {
      owner,
      repo,
      url: `${FUNCTIONS_URL}/webhooks-githubWebhook`,
      secret: v1,
    })) as { id: number };
    const configPath = `/repos/${owner}/${repo}/hooks/${hookId}/config`;
    await standIn('DELETE', '/requests');
    await standIn('POST', '/faults', { path: configPath, method: 'PATCH', status: 403 });
    try {
      await writePolicy(id, {
        strategy: 'github-webhook',
        enabled: true,
        owner,
        repo,
        hookId,
        gracePeriodMinutes: 60,
        destroyAfterDays: 30,
      });
      const result = await handleSecretEvent('evt-gh-fail', notice(id), deps);
      expect(result.outcome).toBe('started');
      const failed = await rotation(result.rotationId!);
      expect(failed).toMatchObject({
        phase: 'failed',
        failedStep: 'apply',
        oldVersion: '1',
        newVersion: '2',
      });
      expect(failed?.error).toMatch(/^GitHub config of hook \d+: 403 /);
      expect(await secretState(id)).toEqual({ aliases: { current: 1 }, annotations: {} });
      expect(await versionStates(id)).toEqual({ '1': 'ENABLED', '2': 'DISABLED' });
      expect(await rotationActions()).toEqual([
        'rotation.started',
        'rotation.create',
        'rotation.rollback-started',
        'rotation.rolled-back',
      ]);
      // The refused update, then the restore of the old value.
      const requests = (await standIn('GET', '/requests')) as {
        method: string;
        path: string;
        status: number;
      }[];
      expect(
        requests.filter((r) => r.method === 'PATCH' && r.path === configPath).map((r) => r.status),
      ).toEqual([403, 200]);
      const hooks = (await standIn('GET', '/state')).hooks as { id: number; secretFingerprint: string }[];
      expect(hooks.find((h) => h.id === hookId)?.secretFingerprint).toBe(
        createHash('sha256').update(v1).digest('hex').slice(0, 12),
      );
      await remember(id, 2);
    } finally {
      await standIn('DELETE', '/faults');
    }
  });
});

describe('http-callback strategy', () => {
  it('stores the value the service issued as the new current version', async () => {
    const clock = makeClock();
    const deps = engineDeps(clock);
    const issued = `issued-by-service-${randomBytes(16).toString('hex')}`;
    values.add(issued);
    const service = await startCallbackService((step) =>
      step === 'create' ? { status: 200, body: { value: issued } } : { status: 200, body: {} },
    );
    try {
      const { id } = await freshSecret('cb');
      await writePolicy(id, {
        strategy: 'http-callback',
        enabled: true,
        url: service.url,
        gracePeriodMinutes: 60,
        destroyAfterDays: 1,
      });
      const result = await handleSecretEvent('evt-cb-ok', notice(id), deps);
      expect(await rotation(result.rotationId!)).toMatchObject({
        phase: 'grace',
        oldVersion: '1',
        newVersion: '2',
        failedStep: null,
      });
      expect(service.calls.map((c) => c.step)).toEqual(['create', 'apply', 'test']);
      // Locally no ID token is attached (idToken answers undefined).
      expect(service.calls.map((c) => c.authorization)).toEqual([undefined, undefined, undefined]);
      expect((await secretState(id)).aliases).toEqual({ current: 2, previous: 1 });
      expect(await remember(id, 2)).toBe(issued);
    } finally {
      await service.close();
    }
  });
});

describe('http-callback: what fireops sends and reads', () => {
  it("mints the ID token for the callback's origin, whatever the policy says", async () => {
    const clock = makeClock();
    const audiences: string[] = [];
    const deps = engineDeps(clock, {
      idToken: (audience) => {
        audiences.push(audience);
        return Promise.resolve(undefined);
      },
    });
    const issued = `issued-by-service-${randomBytes(16).toString('hex')}`;
    values.add(issued);
    const service = await startCallbackService((step) =>
      step === 'create' ? { status: 200, body: { value: issued } } : { status: 200, body: {} },
    );
    try {
      const { id } = await freshSecret('aud');
      await writePolicy(id, { strategy: 'http-callback', enabled: true, url: service.url });
      await handleSecretEvent('evt-aud', notice(id), deps);
      expect(new Set(audiences)).toEqual(new Set([new URL(service.url).origin]));
    } finally {
      await service.close();
    }
  });

  it.each([
    ['a body that is not JSON', `<html>leaked-${'Z'.repeat(8)} token=sk_live_marker</html>`, 'not JSON'],
    ['a body over 64 KiB', `{"value":"${'v'.repeat(70_000)}"}`, 'more than 65536 bytes'],
  ])('a create answering %s fails the rotation, and no byte of it is kept anywhere', async (_n, raw, why) => {
    const clock = makeClock();
    const deps = engineDeps(clock);
    const service = await startCallbackService(() => ({ status: 200, raw }));
    try {
      const { id } = await freshSecret('cbbody');
      await writePolicy(id, { strategy: 'http-callback', enabled: true, url: service.url });
      const result = await handleSecretEvent(`evt-body-${raw.length}`, notice(id), deps);
      const r = await rotation(result.rotationId!);
      expect(r).toMatchObject({ phase: 'failed', failedStep: 'create' });
      expect(String(r!.error)).toContain(why);
      const everything = JSON.stringify(await allDocuments());
      expect(everything).not.toContain('sk_live_marker');
      expect(everything).not.toContain('v'.repeat(100));
    } finally {
      await service.close();
    }
  });
});

describe('policies', () => {
  it('an invalid policy is rejected and refuses rotation; a valid edit with rotateRequestedAt rotates as the admin', async () => {
    const clock = makeClock();
    const deps = engineDeps(clock);
    const { id } = await freshSecret('policy');
    const invalid = { strategy: 'random-token', enabled: true, bytes: 8, encoding: 'hex' };
    await writePolicy(id, invalid);
    const rejected = await handlePolicyWrite(
      { id: 'e1', secretId: id, authType: 'unknown', authId: 'admin@x', after: invalid },
      deps,
    );
    expect(rejected).toEqual({ outcome: 'rejected' });
    const rejection = (await rotationAudit()).filter(
      (e) => e.action === 'policy.rejected' && e.correlationId === 'e1',
    );
    expect(rejection).toHaveLength(1);
    expect(rejection[0]!.reason).toBe(`secretPolicies/${id}: field 'bytes' must be >= 32`);
    expect(rejection[0]!.details).toEqual({ field: 'bytes' });
    expect(rejection[0]!.actor).toEqual({ type: 'admin', id: 'admin@x', authType: 'unknown' });

    expect(await handleSecretEvent('evt-7', notice(id), deps)).toEqual({ outcome: 'refused' });
    const refusal = (await rotationAudit()).filter(
      (e) => e.action === 'rotation.refused' && e.correlationId === 'evt-7',
    );
    expect(refusal.map((e) => e.reason)).toEqual([`secretPolicies/${id}: field 'bytes' must be >= 32`]);
    expect(await rotationsOf(id)).toEqual([]);
    expect(await versionStates(id)).toEqual({ '1': 'ENABLED' });

    const valid = { ...invalid, bytes: 32, rotateRequestedAt: new Date(clock.t) };
    const started = await handlePolicyWrite(
      { id: 'e2', secretId: id, authType: 'unknown', authId: 'admin@x', before: invalid, after: valid },
      deps,
    );
    expect(started.outcome).toBe('rotation-started');
    const rotationId = started.rotationId!;
    const audit = await rotationAudit();
    const startEntry = audit.find(
      (e) => e.action === 'rotation.started' && e.target === `rotations/${rotationId}`,
    );
    expect(startEntry?.actor).toEqual({ type: 'admin', id: 'admin@x', authType: 'unknown' });
    const update = audit.find((e) => e.action === 'policy.updated' && e.correlationId === 'e2');
    expect(Object.keys((update?.details as { changed: Record<string, unknown> }).changed).sort()).toEqual([
      'bytes',
      'rotateRequestedAt',
    ]);
    expect(await rotation(rotationId)).toMatchObject({ phase: 'grace', newVersion: '2' });
    expect(await remember(id, 2)).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    [
      'a secret fireops may not rotate (no fireops- prefix)',
      'db-password-prod',
      { strategy: 'random-token', enabled: true, bytes: 32, encoding: 'hex' },
      'secretId',
      "secret 'db-password-prod' is not one fireops may rotate",
    ],
    [
      'destroyAfterDays 0',
      undefined,
      { strategy: 'random-token', enabled: true, bytes: 32, encoding: 'hex', destroyAfterDays: 0 },
      'destroyAfterDays',
      'must be >= 1',
    ],
    [
      'an http-callback to an origin CALLBACK_ORIGINS does not list',
      undefined,
      { strategy: 'http-callback', enabled: true, url: 'https://evil.example/rotate' },
      'url',
      'origin https://evil.example is not one this deployment may call',
    ],
    [
      'an admin-chosen ID-token audience',
      undefined,
      {
        strategy: 'http-callback',
        enabled: true,
        url: 'http://127.0.0.1:9/rotate',
        audience: 'https://payments.example',
      },
      'audience',
      "the ID token's audience is the callback URL's origin",
    ],
  ])(
    'refuses %s: policy.rejected naming the field, and no rotation',
    async (_n, secretId, policy, field, why) => {
      const clock = makeClock();
      const deps = engineDeps(clock);
      const id = secretId ?? (await freshSecret('trust')).id;
      const rejected = await handlePolicyWrite(
        { id: `e-trust-${field}`, secretId: id, authType: 'unknown', authId: 'admin@x', after: policy },
        deps,
      );
      expect(rejected).toEqual({ outcome: 'rejected' });
      const entry = (await rotationAudit()).find(
        (e) => e.action === 'policy.rejected' && e.correlationId === `e-trust-${field}`,
      );
      expect(entry?.reason).toContain(why);
      expect(entry?.details).toEqual({ field });
      expect(await rotationsOf(id)).toEqual([]);
    },
  );

  it('http is refused outside demo- projects, https origins are matched exactly', () => {
    const prod = {
      callbackOrigins: ['https://payments.example', 'http://10.0.0.5'],
      extraSecretIds: [],
      projectId: 'bvester-prod',
    };
    expect(callbackRefusal('https://payments.example/rotate', prod)).toBeNull();
    expect(callbackRefusal('https://payments.example:8443/rotate', prod)).toContain(
      'is not one this deployment',
    );
    expect(callbackRefusal('http://10.0.0.5/rotate', prod)).toContain('https only');
    expect(callbackRefusal('https://user:pw@payments.example/', prod)).toContain('no credentials');
  });

  it('other Secret Manager notices are audited only', async () => {
    const clock = makeClock();
    const deps = engineDeps(clock);
    const { id } = await freshSecret('notice');
    await writePolicy(id, randomTokenPolicy());
    for (const [i, eventType] of [
      'SECRET_VERSION_ADD',
      'SECRET_UPDATE',
      'SECRET_VERSION_DISABLE',
    ].entries()) {
      const attributes = {
        ...notice(id, `2026-11-28T0${i}:00:00Z`, eventType),
        versionId: `projects/${PROJECT_ID}/secrets/${id}/versions/1`,
      };
      expect(await handleSecretEvent(`evt-8-${i}`, attributes, deps)).toEqual({ outcome: 'audited' });
    }
    const entries = (await rotationAudit()).filter((e) => e.action === 'secret.notification');
    expect(entries.map((e) => [e.correlationId, e.target, e.details])).toEqual(
      ['SECRET_VERSION_ADD', 'SECRET_UPDATE', 'SECRET_VERSION_DISABLE'].map((eventType, i) => [
        `evt-8-${i}`,
        `secrets/${id}`,
        { eventType, versionId: `projects/${PROJECT_ID}/secrets/${id}/versions/1` },
      ]),
    );
    expect(await rotationsOf(id)).toEqual([]);
    expect(await versionStates(id)).toEqual({ '1': 'ENABLED' });
    expect(await lockOf(id)).toBeUndefined();
  });
});

describe('no secret value leaks', () => {
  it('no value created or seen in this file is in any log line or Firestore document', () => {
    // 1 token + 1 initial value per secret + new versions: well over 20 by now.
    expect(values.size).toBeGreaterThanOrEqual(20);
    expect(logLines.length).toBeGreaterThan(20);
    expect(documentsScanned).toBeGreaterThan(100);
    const leakingLines = logLines.filter((l) => [...values].some((v) => l.includes(v)));
    expect(leakingLines).toEqual([]);
    expect(documentLeaks).toEqual([]);
  });
});
