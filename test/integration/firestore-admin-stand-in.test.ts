// The Firestore Admin stand-in (emulators/firestore-admin/server.mjs) as the launcher runs it, driven through the
// real, unmodified FirestoreAdminClient of @google-cloud/firestore: real exports through the Firestore emulator into
// the buckets folder, imports into a mapped emulator project, and the fault injection of its control API.
import { existsSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { emulatorProjectFor } from '../../emulators/firestore-admin/server.mjs';
import { firestoreRest } from '../../emulators/firestore-rest.mjs';
import { fnRequire } from '../support/functions-require';
import { PROJECT_ID, waitFor } from '../support/emulators';

const ADMIN_HOST = process.env.FIRESTORE_ADMIN_EMULATOR_HOST;
const CONTROL_URL = process.env.FIRESTORE_ADMIN_STAND_IN_URL;
const BUCKETS_DIR = process.env.FIREOPS_BUCKETS_DIR;
const FIRESTORE_HOST = process.env.FIRESTORE_EMULATOR_HOST;
if (!ADMIN_HOST || !CONTROL_URL || !BUCKETS_DIR || !FIRESTORE_HOST) {
  throw new Error(
    'FIRESTORE_ADMIN_EMULATOR_HOST, FIRESTORE_ADMIN_STAND_IN_URL, FIREOPS_BUCKETS_DIR and FIRESTORE_EMULATOR_HOST ' +
      'must be set: run under emulators/launcher.mjs',
  );
}

const grpc = fnRequire('@grpc/grpc-js');
const { v1 } = fnRequire('@google-cloud/firestore');

const DATABASE = `projects/${PROJECT_ID}/databases/(default)`;
const DRILL_DATABASE = `projects/${PROJECT_ID}/databases/restore-drill`;
const DRILL_PROJECT = 'demo-fireops-restore-drill';
const BUCKET = 'demo-fireops-backups';
const RUN = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;

let client: any;
/** Folders the stand-in named (exports to a bare bucket), removed after the run. */
const generatedFolders: string[] = [];
let seq = 0;
/** Unique names per test: clearing the emulator would fire late delete triggers in other tests' functions. */
const unique = (what: string) => `sa-${what}-${RUN}-${++seq}`;

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

/** Writes `count` documents into `collection` of the (default) database, 500 per commit. */
async function seed(collection: string, count: number, project = PROJECT_ID) {
  const base = `projects/${project}/databases/(default)/documents`;
  for (let start = 0; start < count; start += 500) {
    const writes = [];
    for (let i = start; i < Math.min(count, start + 500); i += 1) {
      writes.push({
        update: {
          name: `${base}/${collection}/d${String(i).padStart(4, '0')}`,
          fields: { n: { integerValue: String(i) }, label: { stringValue: `${collection} #${i}` } },
        },
      });
    }
    const res = await fetch(`http://${FIRESTORE_HOST}/v1/${base}:commit`, {
      method: 'POST',
      headers: { Authorization: 'Bearer owner', 'content-type': 'application/json' },
      body: JSON.stringify({ writes }),
    });
    expect(res.status).toBe(200);
  }
}

/** COUNT(*) of a root collection in an emulator project. */
async function countIn(project: string, collection: string) {
  const res = await fetch(
    `http://${FIRESTORE_HOST}/v1/projects/${project}/databases/(default)/documents:runAggregationQuery`,
    {
      method: 'POST',
      headers: { Authorization: 'Bearer owner', 'content-type': 'application/json' },
      body: JSON.stringify({
        structuredAggregationQuery: {
          structuredQuery: { from: [{ collectionId: collection }] },
          aggregations: [{ alias: 'n', count: {} }],
        },
      }),
    },
  );
  const rows: any[] = await res.json();
  return Number(rows.find((r) => r.result)?.result.aggregateFields.n.integerValue ?? 0);
}

/** Plain JSON of a decoded metadata message (enums as names, int64 as numbers). */
function plain(message: any): Record<string, any> {
  const json = JSON.stringify(message.toJSON ? message.toJSON() : message);
  return JSON.parse(json, (_k, v: unknown) =>
    typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v,
  ) as Record<string, any>;
}

/** A decoded operation, as the client's check*Progress helpers return it. */
interface DecodedOperation {
  name: string;
  done: boolean;
  error?: { code: number; message: string } | null;
  metadata: any;
  result: any;
}

async function waitDone(name: string, kind: 'Export' | 'Import' = 'Export', timeoutMs = 60_000) {
  return waitFor<DecodedOperation>(
    async () => {
      const op = (await client[`check${kind}DocumentsProgress`](name)) as DecodedOperation;
      return op.done ? op : undefined;
    },
    { timeoutMs, intervalMs: 200, what: `operation ${name}` },
  );
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out.sort();
}

beforeAll(() => {
  const [host, port] = [
    ADMIN_HOST.slice(0, ADMIN_HOST.lastIndexOf(':')),
    ADMIN_HOST.slice(ADMIN_HOST.lastIndexOf(':') + 1),
  ];
  client = new v1.FirestoreAdminClient({
    apiEndpoint: host,
    port: Number(port),
    sslCreds: grpc.credentials.createInsecure(),
    universeDomain: 'googleapis.com',
    projectId: PROJECT_ID,
  });
});

afterAll(async () => {
  await control('POST', '/reset');
  // The exports this file wrote (the buckets folder is .cache/, but keep it small).
  const exports = path.join(BUCKETS_DIR, BUCKET, 'exports');
  for (const name of existsSync(exports) ? readdirSync(exports) : []) {
    if (name.includes(RUN)) rmSync(path.join(exports, name), { recursive: true, force: true });
  }
  for (const folder of generatedFolders)
    rmSync(path.join(BUCKETS_DIR, BUCKET, folder), { recursive: true, force: true });
  try {
    rmdirSync(exports); // when no other run left anything there
  } catch {
    /* not empty, or gone */
  }
  await firestoreRest({ project: DRILL_PROJECT }).clear();
  await client?.close();
});

beforeEach(async () => {
  await control('POST', '/reset');
});

describe('ExportDocuments', () => {
  it('exports the requested collections asynchronously, counted honestly, laid out like a real export', async () => {
    const [a, b, c] = [unique('a'), unique('b'), unique('c')];
    await seed(a, 150);
    await seed(b, 120);
    await seed(c, 90);
    await control('POST', '/delay', { delayMs: 1500 });
    const folder = `exports/${unique('run')}`;

    const [operation] = await client.exportDocuments({
      name: DATABASE,
      outputUriPrefix: `gs://${BUCKET}/${folder}`,
      collectionIds: [a, b],
    });
    expect(operation.name).toMatch(
      new RegExp(`^${DATABASE.replace(/[()]/g, '\\$&')}/operations/[A-Za-z0-9_-]+$`),
    );
    expect(operation.done).toBe(false);
    expect(plain(operation.metadata)).toMatchObject({ operationState: 'PROCESSING', collectionIds: [a, b] });

    // While it runs: not done, through both the typed helper and the raw Operations client.
    const running = await client.checkExportDocumentsProgress(operation.name);
    expect(running.done).toBe(false);
    const [rawRunning] = await client.operationsClient.getOperation({ name: operation.name });
    expect(rawRunning.done).toBe(false);

    const done = await waitDone(operation.name);
    expect(done.error).toBeFalsy();
    const metadata = plain(done.metadata);
    expect(metadata).toMatchObject({
      operationState: 'SUCCESSFUL',
      progressDocuments: { estimatedWork: 270, completedWork: 270 },
      outputUriPrefix: `gs://${BUCKET}/${folder}`,
      collectionIds: [a, b],
    });
    expect(metadata.startTime).toBeTruthy();
    expect(metadata.endTime).toBeTruthy();
    expect(done.result.outputUriPrefix).toBe(`gs://${BUCKET}/${folder}`);

    // The GCS-like layout, directly under the prefix; bytes are the files' sizes.
    const dir = path.join(BUCKETS_DIR, BUCKET, ...folder.split('/'));
    const last = folder.split('/').pop();
    expect(filesUnder(dir)).toEqual([
      'all_namespaces/all_kinds/all_namespaces_all_kinds.export_metadata',
      'all_namespaces/all_kinds/output-0',
      `${last}.overall_export_metadata`,
    ]);
    const bytes = filesUnder(dir).reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
    expect(bytes).toBeGreaterThan(0);
    expect(metadata.progressBytes).toEqual({ estimatedWork: bytes, completedWork: bytes });

    // The raw Operations client gives the same, decodable with the client's own descriptors.
    const [raw] = await client.operationsClient.getOperation({ name: operation.name });
    expect(raw.done).toBe(true);
    expect(raw.metadata.type_url).toBe(
      'type.googleapis.com/google.firestore.admin.v1.ExportDocumentsMetadata',
    );
    const descriptor = client.descriptors.longrunning.exportDocuments;
    expect(plain(descriptor.metadataDecoder(raw.metadata.value)).progressDocuments.completedWork).toBe(270);
    expect(descriptor.responseDecoder(raw.response.value).outputUriPrefix).toBe(`gs://${BUCKET}/${folder}`);

    const [listed] = await client.operationsClient.listOperations({ name: DATABASE, filter: '' });
    expect(listed.map((o: { name: string }) => o.name)).toContain(operation.name);

    const { operations } = await control('GET', '/operations');
    expect(operations).toHaveLength(1);
    expect(operations[0]).toMatchObject({
      documentsCounted: 270,
      documentsByCollection: { [a]: 150, [b]: 120 },
    });
  });

  it('exports every collection to a generated folder when the prefix is a bare bucket', async () => {
    const a = unique('all');
    await seed(a, 40);
    const [operation] = await client.exportDocuments({ name: DATABASE, outputUriPrefix: `gs://${BUCKET}` });
    const done = await waitDone(operation.name);
    expect(done.error).toBeFalsy();
    const prefix: string = done.result.outputUriPrefix;
    expect(prefix).toMatch(new RegExp(`^gs://${BUCKET}/\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d_\\d{5}$`));
    const folder = prefix.slice(`gs://${BUCKET}/`.length);
    generatedFolders.push(folder);
    expect(existsSync(path.join(BUCKETS_DIR, BUCKET, folder, `${folder}.overall_export_metadata`))).toBe(
      true,
    );

    const [view] = (await control('GET', '/operations')).operations;
    // Everything in the database: at least what this test wrote, and exactly what was counted in the export.
    expect(view.documentsByCollection[a]).toBe(40);
    expect(plain(done.metadata).progressDocuments.completedWork).toBe(view.documentsCounted);
    expect(view.documentsCounted).toBeGreaterThanOrEqual(40);
  });

  it('refuses malformed requests', async () => {
    const bad = [
      { name: 'projects/x', outputUriPrefix: `gs://${BUCKET}/x` },
      { name: DATABASE, outputUriPrefix: 'https://example.com/x' },
      { name: DATABASE, outputUriPrefix: `gs://${BUCKET}/../escape` },
      { name: DATABASE },
    ];
    for (const request of bad) {
      await expect(client.exportDocuments(request)).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
      });
    }
    await expect(
      client.operationsClient.getOperation({ name: `${DATABASE}/operations/nope` }),
    ).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });
});

describe('ImportDocuments', () => {
  it('imports an export into database restore-drill, i.e. emulator project demo-fireops-restore-drill', async () => {
    expect(emulatorProjectFor(PROJECT_ID, 'restore-drill')).toBe(DRILL_PROJECT);
    expect(emulatorProjectFor(PROJECT_ID, '(default)')).toBe(PROJECT_ID);
    const [a, b] = [unique('a'), unique('b')];
    await seed(a, 120);
    await seed(b, 80);
    const folder = `exports/${unique('drill')}`;
    const [exp] = await client.exportDocuments({
      name: DATABASE,
      outputUriPrefix: `gs://${BUCKET}/${folder}`,
      collectionIds: [a, b],
    });
    expect((await waitDone(exp.name)).error).toBeFalsy();

    const [operation] = await client.importDocuments({
      name: DRILL_DATABASE,
      inputUriPrefix: `gs://${BUCKET}/${folder}`,
    });
    expect(operation.done).toBe(false);
    const done = await waitDone(operation.name, 'Import');
    expect(done.error).toBeFalsy();
    expect(plain(done.metadata)).toMatchObject({
      operationState: 'SUCCESSFUL',
      progressDocuments: { completedWork: 200 },
      inputUriPrefix: `gs://${BUCKET}/${folder}`,
    });
    expect(plain(done.metadata).progressBytes.completedWork).toBeGreaterThan(0);

    const drill = firestoreRest({ project: DRILL_PROJECT });
    expect(await drill.get(`${a}/d0007`)).toMatchObject({ n: 7, label: `${a} #7` });
    expect(await drill.get(`${b}/d0079`)).toMatchObject({ n: 79 });
    expect(await countIn(DRILL_PROJECT, a)).toBe(120);
    expect(await countIn(DRILL_PROJECT, b)).toBe(80);
    // The source database is untouched by the import.
    expect(await countIn(PROJECT_ID, a)).toBe(120);
  });

  it('imports only the requested collections', async () => {
    const [a, b] = [unique('a'), unique('b')];
    await seed(a, 30);
    await seed(b, 20);
    const folder = `exports/${unique('partial')}`;
    const [exp] = await client.exportDocuments({
      name: DATABASE,
      outputUriPrefix: `gs://${BUCKET}/${folder}`,
      collectionIds: [a, b],
    });
    await waitDone(exp.name);
    const [operation] = await client.importDocuments({
      name: DRILL_DATABASE,
      inputUriPrefix: `gs://${BUCKET}/${folder}`,
      collectionIds: [b],
    });
    const done = await waitDone(operation.name, 'Import');
    expect(plain(done.metadata).progressDocuments.completedWork).toBe(20);
    expect(await countIn(DRILL_PROJECT, b)).toBe(20);
    expect(await countIn(DRILL_PROJECT, a)).toBe(0);
  });

  it('refuses a prefix that holds no export', async () => {
    await expect(
      client.importDocuments({ name: DRILL_DATABASE, inputUriPrefix: `gs://${BUCKET}/${unique('missing')}` }),
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });
});

describe('fault injection', () => {
  async function exportOne(collection: string) {
    const [operation] = await client.exportDocuments({
      name: DATABASE,
      outputUriPrefix: `gs://${BUCKET}/exports/${unique('fault')}`,
      collectionIds: [collection],
    });
    return operation.name as string;
  }

  it('fail: the operation ends done with the given error (INTERNAL by default)', async () => {
    const a = unique('a');
    await seed(a, 5);
    await control('POST', '/faults', { next: 'fail', count: 2, code: 9, message: 'bucket gone' });
    await control('POST', '/faults', { next: 'fail' });

    const first = await waitDone(await exportOne(a));
    expect(first.error).toMatchObject({ code: 9, message: 'bucket gone' });
    const second = await waitDone(await exportOne(a));
    expect(second.error).toMatchObject({ code: 9 });
    const third = await waitDone(await exportOne(a));
    expect(third.error).toMatchObject({ code: grpc.status.INTERNAL });
    // Faults used up: the next one succeeds.
    const fourth = await waitDone(await exportOne(a));
    expect(fourth.error).toBeFalsy();

    // gax does not decode the metadata of a failed operation; the raw operation carries it.
    const [raw] = await client.operationsClient.getOperation({ name: third.name });
    expect(raw.error).toMatchObject({ code: grpc.status.INTERNAL });
    const meta = plain(client.descriptors.longrunning.exportDocuments.metadataDecoder(raw.metadata.value));
    expect(meta.operationState).toBe('FAILED');
  });

  it('stall: the operation stays running with frozen progress until reset; it can be cancelled', async () => {
    const a = unique('a');
    await seed(a, 5);
    await control('POST', '/faults', { next: 'stall', count: 2 });
    const stalled = await exportOne(a);
    await new Promise((r) => setTimeout(r, 1500));
    const op = await client.checkExportDocumentsProgress(stalled);
    expect(op.done).toBe(false);
    expect(plain(op.metadata)).toMatchObject({
      operationState: 'PROCESSING',
      progressDocuments: { completedWork: 0 },
    });

    const cancelled = await exportOne(a);
    await client.operationsClient.cancelOperation({ name: cancelled });
    const [raw] = await client.operationsClient.getOperation({ name: cancelled });
    expect(raw.done).toBe(true);
    expect(raw.error).toMatchObject({ code: grpc.status.CANCELLED });

    await control('POST', '/reset');
    await expect(client.checkExportDocumentsProgress(stalled)).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
  });

  it('shortfall: the reported documents fall short of what the export holds', async () => {
    const a = unique('a');
    await seed(a, 60);
    await control('POST', '/faults', { next: 'shortfall', shortfall: 7 });
    const done = await waitDone(await exportOne(a));
    expect(done.error).toBeFalsy();
    expect(plain(done.metadata).progressDocuments).toEqual({ estimatedWork: 60, completedWork: 53 });
    const { operations } = await control('GET', '/operations');
    expect(operations[0]).toMatchObject({ documentsCounted: 60, fault: { next: 'shortfall', shortfall: 7 } });
  });

  it('method: a fault can target imports only', async () => {
    const a = unique('a');
    await seed(a, 10);
    await control('POST', '/faults', { next: 'fail', method: 'import', message: 'import refused' });
    const folder = `exports/${unique('m')}`;
    const [exp] = await client.exportDocuments({
      name: DATABASE,
      outputUriPrefix: `gs://${BUCKET}/${folder}`,
    });
    expect((await waitDone(exp.name)).error).toBeFalsy();
    const [imp] = await client.importDocuments({
      name: DRILL_DATABASE,
      inputUriPrefix: `gs://${BUCKET}/${folder}`,
    });
    expect((await waitDone(imp.name, 'Import')).error).toMatchObject({ message: 'import refused' });
  });

  it('rejects unknown faults', async () => {
    await expect(control('POST', '/faults', { next: 'explode' })).rejects.toThrow(/400/);
  });
});
