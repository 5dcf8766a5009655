// The canary traffic routers against the emulators: the firestore-flag router writes flags/{flag}.rolloutPercent in
// the Firestore emulator, where the real onFlagWritten trigger (Functions emulator) judges the write; the cloud-run
// router splits traffic through the real @google-cloud/run client and the Cloud Run stand-in.
import { afterEach, describe, expect, it } from 'vitest';
import { CloudRunRouter, FirestoreFlagRouter } from '../../functions/src/canary/routers';
import { db } from '../../functions/src/platform/firestore';
import { TransientError, ValidationError } from '../../functions/src/platform/domain/errors';
import { PROJECT_ID, REGION, rest, waitFor } from '../support/emulators';

const CONTROL_URL = process.env.CLOUD_RUN_STAND_IN_URL;
if (!CONTROL_URL || !process.env.CLOUD_RUN_EMULATOR_HOST) {
  throw new Error(
    'CLOUD_RUN_EMULATOR_HOST and CLOUD_RUN_STAND_IN_URL must be set: run under emulators/launcher.mjs',
  );
}

const RUN = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
let seq = 0;
const ACTOR = { type: 'system' as const, id: 'canary-controller' };

async function control(method: string, route: string, body?: unknown) {
  const res = await fetch(`${CONTROL_URL}/_stand-in${route}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, any>;
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

afterEach(async () => {
  await control('DELETE', '/faults');
});

describe('FirestoreFlagRouter', () => {
  type Entry = { action: string; actor: Record<string, string>; details: any; seq: number; stream: string };
  /** Unique flag keys: other files clear the emulator, and late trigger events must not touch these tests. */
  const flagKey = () => `canaryRouter${RUN}n${++seq}`;
  const valid = (rolloutPercent: number) => ({
    enabled: true,
    rolloutPercent,
    description: 'checkout v2 canary',
  });

  async function auditFor(key: string): Promise<Entry[]> {
    const snap = await db().collection('auditLog').where('target', '==', `flags/${key}`).get();
    return snap.docs.map((d) => d.data() as Entry).sort((a, b) => a.seq - b.seq);
  }

  it('sets rolloutPercent, keeps the other fields and reads it back', async () => {
    const key = flagKey();
    await rest.set(`flags/${key}`, valid(0));
    const router = new FirestoreFlagRouter(key, ACTOR);
    await expect(router.setCanaryWeight(5)).resolves.toEqual({ weight: 5 });
    expect(await router.currentWeight()).toBe(5);
    await expect(router.setCanaryWeight(40)).resolves.toEqual({ weight: 40 });
    const { __updateTime: _ignored, ...doc } = (await rest.get(`flags/${key}`))!;
    expect(doc).toEqual(valid(40));
  });

  it('refuses a missing flag without creating it, and refuses bad weights and reserved flags', async () => {
    const key = flagKey();
    const router = new FirestoreFlagRouter(key, ACTOR);
    await expect(router.setCanaryWeight(10)).rejects.toThrow(ValidationError);
    await expect(router.setCanaryWeight(10)).rejects.toThrow(`flag '${key}' does not exist`);
    expect(await rest.get(`flags/${key}`)).toBeUndefined();
    await rest.set(`flags/${key}`, valid(0));
    for (const bad of [101, -1, 2.5, Number.NaN]) {
      await expect(router.setCanaryWeight(bad)).rejects.toThrow(ValidationError);
    }
    await expect(new FirestoreFlagRouter('deployFreeze', ACTOR).setCanaryWeight(10)).rejects.toThrow(
      /reserved/,
    );
    await expect(new FirestoreFlagRouter('no/slashes', ACTOR).setCanaryWeight(10)).rejects.toThrow(
      ValidationError,
    );
    expect(await router.currentWeight()).toBe(0);
  });

  it('refuses to write through a flag that is invalid already (the trigger would revert it)', async () => {
    const key = flagKey();
    // Written straight to the emulator without waiting for the trigger's revert: the router reads it first.
    await db()
      .collection('flags')
      .doc(key)
      .set({ ...valid(0), owner: 'someone' });
    // (If the trigger has already removed it, the router refuses the missing flag instead: either way, no write.)
    const refusal = new FirestoreFlagRouter(key, ACTOR).setCanaryWeight(10);
    await expect(refusal).rejects.toThrow(ValidationError);
    await expect(refusal).rejects.toThrow(/unknown field 'owner'|does not exist/);
  });

  it("is accepted and audited by the Functions emulator's onFlagWritten", async () => {
    const key = flagKey();
    await rest.set(`flags/${key}`, valid(0));
    await waitFor(async () => (await auditFor(key)).some((e) => e.action === 'flag.created'), {
      what: 'the creation audited',
      timeoutMs: 30_000,
    });
    await new FirestoreFlagRouter(key, ACTOR).setCanaryWeight(25);
    const updated = await waitFor(
      async () => (await auditFor(key)).find((e) => e.action === 'flag.updated'),
      { what: 'the router write audited', timeoutMs: 30_000 },
    );
    expect(updated.stream).toBe('flags');
    expect(updated.details.changed).toEqual({ rolloutPercent: { from: 0, to: 25 } });
    // The trigger audits by the Firestore auth context: a service account in production (`system`); the emulator
    // reports authType 'unknown' for Admin SDK writes, which the trigger files as an admin edit.
    expect(updated.actor).toMatchObject({ id: expect.any(String), authType: expect.any(String) });
    // Settled: nothing rejected, nothing reverted.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await auditFor(key)).map((e) => e.action)).toEqual(['flag.created', 'flag.updated']);
    expect((await rest.get(`flags/${key}`))?.rolloutPercent).toBe(25);
  });
});

describe('CloudRunRouter', () => {
  async function seedService(traffic?: (baseline: string, canary: string) => unknown[]) {
    const id = `canary-${RUN}-${++seq}`;
    const name = `projects/${PROJECT_ID}/locations/${REGION}/services/${id}`;
    const [baseline, canary] = [`${id}-00001-abc`, `${id}-00002-def`];
    await control('POST', '/services', {
      name,
      revisions: [baseline, canary],
      traffic: traffic?.(baseline, canary) ?? [{ revision: baseline, percent: 100 }],
    });
    return { id, name, baseline, canary };
  }

  type Target = { revision: string; percent: number; tag?: string };
  type ServiceView = { generation: number; traffic: Target[]; trafficStatuses: Target[] };
  const spec = async (name: string) =>
    (await control('GET', `/services/${encodeURIComponent(name)}`)) as unknown as ServiceView;
  const servedOf = (service: ServiceView) =>
    Object.fromEntries(service.trafficStatuses.map((s) => [s.revision, s.percent]));

  it('routes 5, 25, 100 and back to 0 percent, each confirmed', async () => {
    const { id, name, baseline, canary } = await seedService();
    const router = new CloudRunRouter({
      project: PROJECT_ID,
      region: REGION,
      service: id,
      baselineRevision: baseline,
      canaryRevision: canary,
    });
    expect(await router.currentWeight()).toBe(0);
    for (const weight of [5, 25, 100, 0]) {
      await expect(router.setCanaryWeight(weight)).resolves.toEqual({ weight });
      expect(await router.currentWeight()).toBe(weight);
      const service = await spec(name);
      const expected = Object.fromEntries(
        [
          [canary, weight],
          [baseline, 100 - weight],
        ].filter(([, p]) => p !== 0),
      );
      expect(servedOf(service)).toEqual(expected);
      // Untagged 0% entries are dropped from the spec too.
      expect(service.traffic.map((t) => t.revision).sort()).toEqual(Object.keys(expected).sort());
    }
    // Setting the weight already served changes nothing (no new generation).
    const generation = Number((await spec(name)).generation);
    await router.setCanaryWeight(0);
    expect(Number((await spec(name)).generation)).toBe(generation);
  });

  it('derives the canary (latest ready) and baseline (serving) revisions when not given', async () => {
    const { id, baseline, canary } = await seedService();
    const router = new CloudRunRouter({ project: PROJECT_ID, region: REGION, service: id });
    expect(await router.revisions()).toEqual({ baseline, canary });
    await router.setCanaryWeight(10);
    expect(await router.currentWeight()).toBe(10);
  });

  it('keeps traffic tags, at 0% outside the split', async () => {
    const { id, name, baseline, canary } = await seedService((b, c) => [
      { revision: b, percent: 100, tag: 'stable' },
      { revision: c, percent: 0, tag: 'candidate' },
    ]);
    const router = new CloudRunRouter({
      project: PROJECT_ID,
      region: REGION,
      service: id,
      baselineRevision: baseline,
      canaryRevision: canary,
    });
    await router.setCanaryWeight(100);
    const service = await spec(name);
    expect(service.traffic).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ revision: canary, percent: 100, tag: 'candidate' }),
        expect.objectContaining({ revision: baseline, percent: 0, tag: 'stable' }),
      ]),
    );
  });

  it('throws TransientError when an update fails or is unavailable, and the split stays as before', async () => {
    const { id, name, baseline, canary } = await seedService();
    const router = new CloudRunRouter({
      project: PROJECT_ID,
      region: REGION,
      service: id,
      baselineRevision: baseline,
      canaryRevision: canary,
    });
    await router.setCanaryWeight(25);
    await control('POST', '/faults', { next: 'fail' });
    await expect(router.setCanaryWeight(50)).rejects.toThrow(TransientError);
    expect(await router.currentWeight()).toBe(25);
    expect(servedOf(await spec(name))).toEqual({ [canary]: 25, [baseline]: 75 });
    await control('POST', '/faults', { next: 'unavailable' });
    await expect(router.setCanaryWeight(50)).rejects.toThrow(TransientError);
    expect(await router.currentWeight()).toBe(25);
    // Faults used up: the next attempt goes through.
    await expect(router.setCanaryWeight(50)).resolves.toEqual({ weight: 50 });
  });

  it('refuses revisions or services that do not exist with ValidationError', async () => {
    const { id, baseline } = await seedService();
    const missingRevision = new CloudRunRouter({
      project: PROJECT_ID,
      region: REGION,
      service: id,
      baselineRevision: baseline,
      canaryRevision: `${id}-00009-zzz`,
    });
    await expect(missingRevision.setCanaryWeight(5)).rejects.toThrow(ValidationError);
    const missingService = new CloudRunRouter({ project: PROJECT_ID, region: REGION, service: `${id}-gone` });
    await expect(missingService.setCanaryWeight(5)).rejects.toThrow(ValidationError);
    const router = new CloudRunRouter({ project: PROJECT_ID, region: REGION, service: id });
    await expect(router.setCanaryWeight(101)).rejects.toThrow(ValidationError);
  });
});
