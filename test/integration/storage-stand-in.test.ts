// The Cloud Storage stand-in (emulators/storage/server.mjs) as the launcher runs it, driven through the real,
// unmodified @google-cloud/storage client, which honours STORAGE_EMULATOR_HOST: objects are the files of the
// buckets folder.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fnRequire } from '../support/functions-require';
import { PROJECT_ID } from '../support/emulators';

const BUCKETS_DIR = process.env.FIREOPS_BUCKETS_DIR ?? '';
if (!process.env.STORAGE_EMULATOR_HOST || !BUCKETS_DIR) {
  throw new Error(
    'STORAGE_EMULATOR_HOST and FIREOPS_BUCKETS_DIR must be set: run under emulators/launcher.mjs',
  );
}

const { Storage } = fnRequire('@google-cloud/storage');
const BUCKET = 'demo-fireops-backups';
const RUN = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
let seq = 0;
/** A fresh folder of the bucket per test. */
const unique = (what: string) => `storage-test/${RUN}-${++seq}-${what}`;

let storage: any;
let bucket: any;

/** Writes a file straight into the buckets folder, as an export does. */
function put(name: string, content: string | Buffer) {
  const file = path.join(BUCKETS_DIR, BUCKET, ...name.split('/'));
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
}

beforeAll(() => {
  mkdirSync(path.join(BUCKETS_DIR, BUCKET), { recursive: true });
  storage = new Storage({ projectId: PROJECT_ID });
  bucket = storage.bucket(BUCKET);
});

afterAll(() => {
  const dir = path.join(BUCKETS_DIR, BUCKET, 'storage-test');
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    if (name.startsWith(RUN)) rmSync(path.join(dir, name), { recursive: true, force: true });
  }
  try {
    rmdirSync(dir); // when no other run left anything there
  } catch {
    /* not empty, or gone */
  }
});

describe('listing', () => {
  it('lists by prefix, in name order, across pages', async () => {
    const dir = unique('list');
    const names = Array.from({ length: 25 }, (_, i) => `${dir}/obj-${String(i).padStart(2, '0')}`);
    for (const n of names) put(n, `content of ${n}`);
    put(`${dir}/nested/deep/x.json`, '{}');
    put(`${dir}-sibling/not-me`, 'x');

    const [all] = await bucket.getFiles({ prefix: `${dir}/` });
    expect(all.map((f: { name: string }) => f.name)).toEqual([`${dir}/nested/deep/x.json`, ...names]);

    const seen: string[] = [];
    let query: any = { prefix: `${dir}/`, autoPaginate: false, maxResults: 10 };
    let pages = 0;
    while (query) {
      const [files, next] = await bucket.getFiles(query);
      expect(files.length).toBeLessThanOrEqual(10);
      seen.push(...files.map((f: { name: string }) => f.name));
      pages += 1;
      query = next;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(all.map((f: { name: string }) => f.name));
  });

  it('rolls deeper names into prefixes with a delimiter', async () => {
    const dir = unique('delim');
    put(`${dir}/top.txt`, 'a');
    put(`${dir}/a/1`, 'b');
    put(`${dir}/a/2`, 'c');
    put(`${dir}/b/c/3`, 'd');
    const [files, , response] = await bucket.getFiles({
      prefix: `${dir}/`,
      delimiter: '/',
      autoPaginate: false,
    });
    expect(files.map((f: { name: string }) => f.name)).toEqual([`${dir}/top.txt`]);
    expect(response.prefixes).toEqual([`${dir}/a/`, `${dir}/b/`]);
  });

  it('answers 404 for a missing bucket', async () => {
    await expect(storage.bucket('no-such-bucket-here').getFiles()).rejects.toMatchObject({ code: 404 });
    expect((await storage.bucket('no-such-bucket-here').exists())[0]).toBe(false);
    expect((await bucket.exists())[0]).toBe(true);
  });
});

describe('objects', () => {
  it('gives metadata like Cloud Storage, with hashes the client can check on download', async () => {
    const name = `${unique('meta')}/report.json`;
    const content = JSON.stringify({ hello: 'world', n: [1, 2, 3] });
    put(name, content);
    const file = bucket.file(name);
    const [metadata] = await file.getMetadata();
    expect(metadata).toMatchObject({
      kind: 'storage#object',
      name,
      bucket: BUCKET,
      size: String(Buffer.byteLength(content)),
      contentType: 'application/json',
      md5Hash: createHash('md5').update(content).digest('base64'),
      storageClass: 'STANDARD',
    });
    expect(metadata.generation).toMatch(/^\d+$/);
    expect(metadata.crc32c).toMatch(/^[A-Za-z0-9+/]{6}==$/);
    expect(Date.parse(metadata.updated)).not.toBeNaN();

    // download() validates the crc32c/md5 the stand-in sends in x-goog-hash.
    const [data] = await file.download();
    expect(data.toString('utf8')).toBe(content);
    const [slice] = await file.download({ start: 2, end: 6 });
    expect(slice.toString('utf8')).toBe(content.slice(2, 7));
  });

  it('exists() and 404s in the GCS error shape', async () => {
    const name = `${unique('exists')}/here`;
    put(name, 'x');
    expect((await bucket.file(name).exists())[0]).toBe(true);
    expect((await bucket.file(`${name}-not`).exists())[0]).toBe(false);
    const err: any = await bucket
      .file(`${name}-not`)
      .getMetadata()
      .catch((e: unknown) => e);
    expect(err.code).toBe(404);
    expect(err.message).toBe(`No such object: ${BUCKET}/${name}-not`);
    await expect(bucket.file(`${name}-not`).download()).rejects.toMatchObject({ code: 404 });
    await expect(bucket.file(`${name}-not`).delete()).rejects.toMatchObject({ code: 404 });

    const res = await fetch(
      `${process.env.STORAGE_EMULATOR_HOST}/storage/v1/b/${BUCKET}/o/${encodeURIComponent(`${name}-not`)}`,
    );
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: {
        code: 404,
        message: `No such object: ${BUCKET}/${name}-not`,
        errors: [{ message: `No such object: ${BUCKET}/${name}-not`, domain: 'global', reason: 'notFound' }],
      },
    });
  });

  it('delete() removes the file and prunes empty folders', async () => {
    const dir = unique('delete');
    put(`${dir}/a/b/only`, 'x');
    put(`${dir}/keep`, 'y');
    await bucket.file(`${dir}/a/b/only`).delete();
    expect(existsSync(path.join(BUCKETS_DIR, BUCKET, dir, 'a'))).toBe(false);
    expect(existsSync(path.join(BUCKETS_DIR, BUCKET, dir, 'keep'))).toBe(true);
  });

  it('deleteFiles({ prefix }) deletes exactly the prefix', async () => {
    const dir = unique('deletefiles');
    for (let i = 0; i < 30; i += 1) put(`${dir}/export/all_namespaces/all_kinds/output-${i}`, `${i}`);
    put(`${dir}/export/export.overall_export_metadata`, 'm');
    put(`${dir}/other/keep`, 'k');
    await bucket.deleteFiles({ prefix: `${dir}/export/` });
    const [left] = await bucket.getFiles({ prefix: `${dir}/` });
    expect(left.map((f: { name: string }) => f.name)).toEqual([`${dir}/other/keep`]);
    expect(existsSync(path.join(BUCKETS_DIR, BUCKET, dir, 'export'))).toBe(false);
  });

  it('uploads without resumable sessions (save with resumable: false)', async () => {
    const name = `${unique('upload')}/notes.txt`;
    await bucket.file(name).save('saved through the client', {
      resumable: false,
      contentType: 'text/plain',
      metadata: { metadata: { origin: 'test' } },
    });
    const [metadata] = await bucket.file(name).getMetadata();
    expect(metadata).toMatchObject({ contentType: 'text/plain', metadata: { origin: 'test' } });
    expect((await bucket.file(name).download())[0].toString()).toBe('saved through the client');
  });
});

describe('buckets: location and IAM', () => {
  it('keeps the location given at creation, the IAM policy, and answers testPermissions per member', async () => {
    const name = `cli-iam-${RUN}`;
    const [created] = await storage.createBucket(name, { location: 'europe-west1' });
    try {
      const [meta] = await created.getMetadata();
      expect(meta).toMatchObject({ location: 'EUROPE-WEST1', locationType: 'region' });
      const sa = 'serviceAccount:fn@demo-fireops.iam.gserviceaccount.com';
      await created.iam.setPolicy({ bindings: [{ role: 'roles/storage.objectViewer', members: [sa] }] });
      const [policy] = await created.iam.getPolicy();
      expect(policy.bindings).toEqual([{ role: 'roles/storage.objectViewer', members: [sa] }]);
      const asked = ['storage.objects.get', 'storage.objects.delete'];
      const url = `${process.env.STORAGE_EMULATOR_HOST}/b/${name}/iam/testPermissions?${asked
        .map((p) => `permissions=${p}`)
        .join('&')}`;
      const asSa = (await (await fetch(url, { headers: { 'x-fireops-principal': sa } })).json()) as {
        permissions?: string[];
      };
      expect(asSa.permissions).toEqual(['storage.objects.get']);
      // Without the header: the owner, who holds everything (what the client's testPermissions sends).
      const [owner] = await created.iam.testPermissions(asked);
      expect(owner).toEqual({ 'storage.objects.get': true, 'storage.objects.delete': true });
    } finally {
      await created.delete();
    }
  });
});

describe('retention policy', () => {
  const name = `ret-${RUN}`.toLowerCase();
  afterAll(() => rmSync(path.join(BUCKETS_DIR, name), { recursive: true, force: true }));

  it('refuses to overwrite or delete an object younger than the retention period (403 retentionPolicyNotMet)', async () => {
    const [b] = await storage.createBucket(name, { retentionPolicy: { retentionPeriod: 3600 } });
    const [meta] = await b.getMetadata();
    expect(meta.retentionPolicy).toMatchObject({ retentionPeriod: '3600' });
    const file = b.file('anchors/a.json');
    await file.save('{"v":1}', { resumable: false });
    const refused = async (p: Promise<unknown>) => {
      const err: any = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err?.code).toBe(403);
      expect(err?.errors?.[0]?.reason).toBe('retentionPolicyNotMet');
    };
    await refused(file.save('{"v":2}', { resumable: false }));
    await refused(file.delete());
    const [content] = await file.download();
    expect(content.toString()).toBe('{"v":1}');
    // New names are still accepted.
    await b.file('anchors/b.json').save('{}', { resumable: false });

    // Locking keeps the policy from being shortened.
    await b.lock(meta.metageneration);
    const [locked] = await b.getMetadata();
    expect(locked.retentionPolicy.isLocked).toBe(true);
    const shorten: any = await b
      .setMetadata({ retentionPolicy: { retentionPeriod: 1 } })
      .catch((e: unknown) => e);
    expect(shorten?.code).toBe(403);
  });

  it('allows delete and overwrite once the object is older than the period', async () => {
    const short = `${name}-s`;
    const [b] = await storage.createBucket(short, { retentionPolicy: { retentionPeriod: 1 } });
    try {
      const file = b.file('x.json');
      await file.save('1', { resumable: false });
      await new Promise((r) => setTimeout(r, 1200));
      await file.save('2', { resumable: false });
      await new Promise((r) => setTimeout(r, 1200));
      await file.delete();
    } finally {
      rmSync(path.join(BUCKETS_DIR, short), { recursive: true, force: true });
    }
  });
});
