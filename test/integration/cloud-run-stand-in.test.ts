// The Cloud Run stand-in (emulators/cloud-run/server.mjs) as the launcher runs it, driven through the real,
// unmodified ServicesClient and RevisionsClient of @google-cloud/run: reads, traffic updates as long-running
// operations, Cloud Run's validation of a split, and the fault injection of its control API.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fnRequire } from '../support/functions-require';
import { PROJECT_ID } from '../support/emulators';

const RUN_HOST = process.env.CLOUD_RUN_EMULATOR_HOST;
const CONTROL_URL = process.env.CLOUD_RUN_STAND_IN_URL;
if (!RUN_HOST || !CONTROL_URL) {
  throw new Error(
    'CLOUD_RUN_EMULATOR_HOST and CLOUD_RUN_STAND_IN_URL must be set: run under emulators/launcher.mjs',
  );
}

const grpc = fnRequire('@grpc/grpc-js');
const { v2 } = fnRequire('@google-cloud/run');

const REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';
const RUN = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
const PARENT = `projects/${PROJECT_ID}/locations/europe-west1`;
let seq = 0;

let services: any;
let revisions: any;

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

/** Seeds a service of its own for each test: `{id}-00001-abc` at 100%, `{id}-00002-def` with no traffic. */
async function seedService() {
  const id = `svc-${RUN}-${++seq}`;
  const name = `${PARENT}/services/${id}`;
  const [baseline, canary] = [`${id}-00001-abc`, `${id}-00002-def`];
  await control('POST', '/services', {
    name,
    revisions: [baseline, canary],
    traffic: [{ revision: baseline, percent: 100 }],
  });
  return { name, baseline, canary };
}

/** Served split as `{revision: percent}`. */
const served = (service: any) =>
  Object.fromEntries(
    (service.trafficStatuses as { revision: string; percent: number }[]).map((s) => [s.revision, s.percent]),
  );

const target = (revision: string, percent: number) => ({ type: REVISION, revision, percent });

beforeAll(() => {
  const [host, port] = [
    RUN_HOST.slice(0, RUN_HOST.lastIndexOf(':')),
    RUN_HOST.slice(RUN_HOST.lastIndexOf(':') + 1),
  ];
  const options = {
    apiEndpoint: host,
    port: Number(port),
    sslCreds: grpc.credentials.createInsecure(),
    universeDomain: 'googleapis.com',
    projectId: PROJECT_ID,
  };
  services = new v2.ServicesClient(options);
  revisions = new v2.RevisionsClient(options);
});

afterAll(async () => {
  await control('DELETE', '/faults');
  await services?.close();
  await revisions?.close();
});

beforeEach(async () => {
  await control('DELETE', '/faults');
});

describe('reads', () => {
  it('GetService returns the seeded service with its split, latest revision and etag', async () => {
    const { name, baseline, canary } = await seedService();
    const [service] = await services.getService({ name });
    expect(service.name).toBe(name);
    expect(service.traffic).toEqual([
      expect.objectContaining({ type: REVISION, revision: baseline, percent: 100 }),
    ]);
    expect(served(service)).toEqual({ [baseline]: 100 });
    expect(service.latestReadyRevision).toBe(`${name}/revisions/${canary}`);
    expect(service.etag).toMatch(/^".+"$/);
    expect(service.uri).toMatch(/^https:\/\/svc-.*\.a\.run\.app$/);
  });

  it('ListServices lists the location, GetRevision and ListRevisions read revisions, unknown names are NOT_FOUND', async () => {
    const { name, baseline, canary } = await seedService();
    const [listed] = await services.listServices({ parent: PARENT });
    expect((listed as { name: string }[]).map((s) => s.name)).toContain(name);
    const [revs] = await revisions.listRevisions({ parent: name });
    expect((revs as { name: string }[]).map((r) => r.name)).toEqual([
      `${name}/revisions/${canary}`,
      `${name}/revisions/${baseline}`,
    ]);
    const [rev] = await revisions.getRevision({ name: `${name}/revisions/${baseline}` });
    expect(rev.service).toBe(name);
    expect(rev.conditions[0]).toMatchObject({ type: 'Ready', state: 'CONDITION_SUCCEEDED' });
    await expect(revisions.getRevision({ name: `${name}/revisions/${baseline}x` })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
    await expect(services.getService({ name: `${name}-missing` })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
  });
});

describe('UpdateService', () => {
  it('changes the split through a long-running operation that completes with the service', async () => {
    const { name, baseline, canary } = await seedService();
    const [before] = await services.getService({ name });
    const [operation] = await services.updateService({
      service: { ...before, traffic: [target(canary, 10), target(baseline, 90)] },
    });
    expect(operation.name).toMatch(new RegExp(`^${PARENT}/operations/`));
    const [response] = await operation.promise();
    expect(served(response)).toEqual({ [canary]: 10, [baseline]: 90 });
    expect(Number(response.generation)).toBe(Number(before.generation) + 1);
    expect(Number(response.observedGeneration)).toBe(Number(response.generation));
    expect(response.reconciling).toBe(false);
    const [after] = await services.getService({ name });
    expect(served(after)).toEqual({ [canary]: 10, [baseline]: 90 });
    const progress = await services.checkUpdateServiceProgress(operation.name);
    expect(progress.done).toBe(true);
  });

  it.each([
    [
      'percents that do not add up to 100',
      (b: string, c: string) => [target(c, 10), target(b, 80)],
      /add up to 100, got 90/,
    ],
    [
      'a revision that does not exist',
      (b: string) => [target(`${b}-gone`, 10), target(b, 90)],
      /does not exist/,
    ],
    [
      'an unspecified allocation type',
      (b: string) => [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_UNSPECIFIED', revision: b, percent: 100 }],
      /type: must be/,
    ],
    ['a percent above 100', (b: string, c: string) => [target(c, 150), target(b, -50)], /percent/],
    ['a revision listed twice', (b: string) => [target(b, 50), target(b, 50)], /listed twice/],
  ])('refuses %s with INVALID_ARGUMENT and leaves the service alone', async (_what, traffic, message) => {
    const { name, baseline, canary } = await seedService();
    const [before] = await services.getService({ name });
    await expect(
      services.updateService({ service: { ...before, traffic: traffic(baseline, canary) } }),
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(message) });
    const [after] = await services.getService({ name });
    expect(served(after)).toEqual({ [baseline]: 100 });
    expect(after.etag).toBe(before.etag);
  });

  it('refuses a stale etag with ABORTED (a lost read-modify-write race)', async () => {
    const { name, baseline, canary } = await seedService();
    const [stale] = await services.getService({ name });
    const [op] = await services.updateService({
      service: { ...stale, traffic: [target(canary, 5), target(baseline, 95)] },
    });
    await op.promise();
    await expect(
      services.updateService({ service: { ...stale, traffic: [target(canary, 50), target(baseline, 50)] } }),
    ).rejects.toMatchObject({ code: grpc.status.ABORTED });
    expect(served((await services.getService({ name }))[0])).toEqual({ [canary]: 5, [baseline]: 95 });
  });
});

describe('fault injection', () => {
  it('unavailable: the next calls answer UNAVAILABLE, then updates work again', async () => {
    const { name, baseline, canary } = await seedService();
    await control('POST', '/faults', { next: 'unavailable', count: 2 });
    const [service] = await services.getService({ name });
    const update = () =>
      services.updateService({
        service: { ...service, traffic: [target(canary, 20), target(baseline, 80)] },
      }) as Promise<[any]>;
    await expect(update()).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    await expect(update()).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    expect(served((await services.getService({ name }))[0])).toEqual({ [baseline]: 100 });
    const [op] = await update();
    expect(served((await op.promise())[0])).toEqual({ [canary]: 20, [baseline]: 80 });
  });

  it('fail: the operation ends with the error and the split stays as before', async () => {
    const { name, baseline, canary } = await seedService();
    await control('POST', '/faults', { next: 'fail', code: 9, message: 'revision not ready' });
    const [service] = await services.getService({ name });
    const [op] = await services.updateService({
      service: { ...service, traffic: [target(canary, 30), target(baseline, 70)] },
    });
    await expect(op.promise()).rejects.toMatchObject({
      code: 9,
      message: expect.stringContaining('revision not ready'),
    });
    const [after] = await services.getService({ name });
    expect(served(after)).toEqual({ [baseline]: 100 });
    expect(after.traffic).toEqual([expect.objectContaining({ revision: baseline, percent: 100 })]);
    expect(after.terminalCondition).toMatchObject({
      state: 'CONDITION_FAILED',
      message: 'revision not ready',
    });
    const { updates } = await control('GET', '/updates');
    expect(
      (updates as { service: string; outcome: string }[])
        .filter((u) => u.service === name)
        .map((u) => u.outcome),
    ).toEqual(['failed']);
  });

  it('refuses malformed faults and seeds', async () => {
    await expect(control('POST', '/faults', { next: 'explode' })).rejects.toThrow(/400/);
    await expect(
      control('POST', '/services', {
        name: `${PARENT}/services/x-${RUN}`,
        revisions: ['a-1'],
        traffic: [{ revision: 'b', percent: 100 }],
      }),
    ).rejects.toThrow(/does not exist/);
  });
});
