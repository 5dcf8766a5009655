// @ts-check
/**
 * Local stand-in for the Cloud Storage JSON API routes fireops uses, backed by a folder tree: bucket `b` is the
 * folder `{bucketsDir}/b` and object `x/y/z` the file `{bucketsDir}/b/x/y/z`. The Firebase Storage emulator cannot
 * start on these machines (it downloads a jar); the real `@google-cloud/storage` client talks to this unchanged when
 * `STORAGE_EMULATOR_HOST=http://127.0.0.1:{port}` is set (or `apiEndpoint` is passed).
 *
 *   node emulators/storage/server.mjs [--host 127.0.0.1] [--port 9332] [--buckets-dir DIR]
 *
 * See README.md next to this file for the routes and the known differences from Cloud Storage.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMain, parseFlags, runUntilSignal } from '../shared/cli.mjs';
import { crc32cBase64 } from '../shared/crc32c.mjs';
import { hostForAddress, listenHttp } from '../shared/servers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUCKET_RE = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
const MAX_UPLOAD_BYTES = 256 * 1024 * 1024;

/** The header naming the caller of `testPermissions` (as the Secret Manager stand-in's); none is the owner. */
export const PRINCIPAL_HEADER = 'x-fireops-principal';

const OBJECT_PERMISSIONS = ['create', 'delete', 'get', 'list', 'update'].map((x) => `storage.objects.${x}`);
/** Bucket-level roles and their permissions (https://cloud.google.com/storage/docs/access-control/iam-roles). */
const STORAGE_ROLES = /** @type {Record<string, string[]>} */ ({
  'roles/storage.admin': [
    ...OBJECT_PERMISSIONS,
    ...['create', 'delete', 'get', 'list', 'update', 'getIamPolicy', 'setIamPolicy'].map(
      (x) => `storage.buckets.${x}`,
    ),
  ],
  'roles/storage.objectAdmin': OBJECT_PERMISSIONS,
  'roles/storage.objectViewer': ['storage.objects.get', 'storage.objects.list'],
  'roles/storage.objectCreator': ['storage.objects.create'],
  'roles/storage.objectUser': OBJECT_PERMISSIONS,
  'roles/storage.legacyBucketReader': ['storage.buckets.get', 'storage.objects.list'],
  'roles/storage.legacyBucketWriter': [
    'storage.buckets.get',
    'storage.objects.list',
    'storage.objects.create',
    'storage.objects.delete',
  ],
});

/** @param {string} bucket @param {{ bindings: Array<{ role: string, members: string[] }>, metageneration: number }} meta */
function iamPolicy(bucket, meta) {
  return {
    kind: 'storage#policy',
    resourceId: `projects/_/buckets/${bucket}`,
    version: 1,
    bindings: meta.bindings,
    etag: Buffer.from(`iam-${meta.metageneration}`).toString('base64'),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------

class GcsError extends Error {
  /** @param {number} status @param {string} reason @param {string} message */
  constructor(status, reason, message) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
  get body() {
    return {
      error: {
        code: this.status,
        message: this.message,
        errors: [{ message: this.message, domain: 'global', reason: this.reason }],
      },
    };
  }
}
/** @param {string} bucket */
const noBucket = (bucket) => new GcsError(404, 'notFound', `The specified bucket does not exist: ${bucket}`);
/** @param {string} bucket @param {string} name */
const noObject = (bucket, name) => new GcsError(404, 'notFound', `No such object: ${bucket}/${name}`);
/** @param {string} message */
const badRequest = (message) => new GcsError(400, 'invalid', message);

// ---------------------------------------------------------------------------------------------------------
// The folder tree
// ---------------------------------------------------------------------------------------------------------

/** @param {string} name */
function isRepresentable(name) {
  return (
    name.length > 0 &&
    Buffer.byteLength(name) <= 1024 &&
    !name.includes('\0') &&
    !name.includes('\\') &&
    name.split('/').every((s) => s !== '' && s !== '.' && s !== '..')
  );
}

const CONTENT_TYPES = /** @type {Record<string, string>} */ ({
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.csv': 'text/csv',
  '.html': 'text/html',
  '.gz': 'application/gzip',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
});

/**
 * @typedef {object} ObjectInfo
 * @property {string} name
 * @property {string} file
 * @property {number} size
 * @property {number} mtimeMs
 * @property {number} birthtimeMs
 */

/**
 * @typedef {object} StorageStandInState
 * @property {Map<string, { contentType?: string, metadata?: Record<string, string>, generation: string }>} uploaded
 *   Metadata given at upload, by `bucket/name`, kept while the file keeps that generation.
 * @property {Array<{ method: string, path: string, status: number }>} requests Request log (newest last, max 1000).
 * @property {Map<string, BucketMeta>} buckets Bucket metadata by name (location, IAM bindings, lifecycle), in memory.
 */

/**
 * @typedef {object} BucketMeta
 * @property {string} location
 * @property {string} locationType
 * @property {string} storageClass
 * @property {Array<{ role: string, members: string[] }>} bindings
 * @property {number} metageneration
 * @property {unknown} [lifecycle]
 * @property {Record<string, string>} [labels]
 * @property {{ retentionPeriod: string, effectiveTime: string, isLocked?: boolean }} [retentionPolicy]
 *   As Cloud Storage's: objects younger than `retentionPeriod` seconds can be neither overwritten nor deleted.
 */

/**
 * @typedef {object} StorageStandIn
 * @property {string} url e.g. 'http://127.0.0.1:9332': the value for STORAGE_EMULATOR_HOST.
 * @property {number} port
 * @property {string} bucketsDir
 * @property {() => Promise<void>} close
 * @property {() => void} reset Forgets upload metadata and the request log (the folder tree is left alone).
 * @property {StorageStandInState} state
 */

/**
 * @param {{ host?: string, port?: number, bucketsDir: string }} options `port`: 0 for any free port; `bucketsDir`:
 *   the folder holding one folder per bucket (object `a/b` of bucket `x` is the file `{bucketsDir}/x/a/b`).
 * @returns {Promise<StorageStandIn>}
 */
export async function startStorageStandIn(options) {
  const { host = '127.0.0.1', port = 0 } = options;
  if (!options.bucketsDir) throw new Error('bucketsDir is required');
  const bucketsDir = path.resolve(options.bucketsDir);
  fs.mkdirSync(bucketsDir, { recursive: true });
  /** @type {StorageStandInState} */
  const state = { uploaded: new Map(), requests: [], buckets: new Map() };
  /** @type {Map<string, { key: string, md5: string, crc32c: string }>} */
  const hashCache = new Map();

  /** @param {string} bucket */
  const bucketDir = (bucket) => path.join(bucketsDir, bucket);
  /** @param {string} bucket */
  async function requireBucket(bucket) {
    if (!BUCKET_RE.test(bucket)) throw noBucket(bucket);
    const stat = await fsp.stat(bucketDir(bucket)).catch(() => undefined);
    if (!stat?.isDirectory()) throw noBucket(bucket);
    return stat;
  }

  /** @param {string} bucket @param {string} name @returns {Promise<ObjectInfo | undefined>} */
  async function statObject(bucket, name) {
    if (!isRepresentable(name)) return undefined;
    const file = path.join(bucketDir(bucket), ...name.split('/'));
    const stat = await fsp.stat(file).catch(() => undefined);
    if (!stat?.isFile()) return undefined;
    return { name, file, size: stat.size, mtimeMs: stat.mtimeMs, birthtimeMs: stat.birthtimeMs };
  }

  /** @param {string} bucket @returns {Promise<ObjectInfo[]>} every object, sorted by name */
  async function allObjects(bucket) {
    /** @type {ObjectInfo[]} */
    const out = [];
    /** @param {string} rel */
    async function walk(rel) {
      const dir = rel ? path.join(bucketDir(bucket), ...rel.split('/')) : bucketDir(bucket);
      const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const name = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(name);
        else if (e.isFile()) {
          const info = await statObject(bucket, name);
          if (info) out.push(info);
        }
      }
    }
    await walk('');
    // Cloud Storage lists in lexicographic order of the UTF-8 names.
    return out.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  }

  /** Generation: the file's modification time in microseconds (changes whenever the file is rewritten). */
  const generationOf = (/** @type {ObjectInfo} */ o) => String(Math.floor(o.mtimeMs * 1000));

  /** @param {ObjectInfo} o */
  async function hashes(o) {
    const key = `${o.size}:${o.mtimeMs}`;
    const cached = hashCache.get(o.file);
    if (cached?.key === key) return cached;
    const data = await fsp.readFile(o.file);
    const entry = {
      key,
      md5: crypto.createHash('md5').update(data).digest('base64'),
      crc32c: crc32cBase64(data),
    };
    hashCache.set(o.file, entry);
    return entry;
  }

  /** @param {string} bucket @param {ObjectInfo} o @param {string} base */
  async function objectResource(bucket, o, base) {
    const generation = generationOf(o);
    const h = await hashes(o);
    const uploaded = state.uploaded.get(`${bucket}/${o.name}`);
    const extra = uploaded?.generation === generation ? uploaded : undefined;
    const encoded = encodeURIComponent(o.name);
    const updated = new Date(o.mtimeMs).toISOString();
    const created = new Date(Math.min(o.birthtimeMs || o.mtimeMs, o.mtimeMs)).toISOString();
    return {
      kind: 'storage#object',
      id: `${bucket}/${o.name}/${generation}`,
      selfLink: `${base}/storage/v1/b/${bucket}/o/${encoded}`,
      mediaLink: `${base}/download/storage/v1/b/${bucket}/o/${encoded}?generation=${generation}&alt=media`,
      name: o.name,
      bucket,
      generation,
      metageneration: '1',
      contentType:
        extra?.contentType ?? CONTENT_TYPES[path.extname(o.name).toLowerCase()] ?? 'application/octet-stream',
      storageClass: 'STANDARD',
      size: String(o.size),
      md5Hash: h.md5,
      crc32c: h.crc32c,
      etag: crypto.createHash('md5').update(`${o.name}:${generation}`).digest('base64').slice(0, 12),
      timeCreated: created,
      updated,
      timeStorageClassUpdated: created,
      ...(extra?.metadata ? { metadata: extra.metadata } : {}),
    };
  }

  /** Metadata kept in memory per bucket (a folder made by hand has the defaults). @param {string} bucket */
  function bucketMeta(bucket) {
    let meta = state.buckets.get(bucket);
    if (!meta) {
      meta = {
        location: 'US',
        locationType: 'multi-region',
        storageClass: 'STANDARD',
        bindings: [],
        metageneration: 1,
      };
      state.buckets.set(bucket, meta);
    }
    return meta;
  }

  /** @param {string} bucket @param {import('node:fs').Stats} stat @param {string} base */
  function bucketResource(bucket, stat, base) {
    const meta = bucketMeta(bucket);
    return {
      kind: 'storage#bucket',
      id: bucket,
      selfLink: `${base}/storage/v1/b/${bucket}`,
      projectNumber: '0',
      name: bucket,
      timeCreated: new Date(stat.birthtimeMs || stat.mtimeMs).toISOString(),
      updated: new Date(stat.mtimeMs).toISOString(),
      metageneration: String(meta.metageneration),
      location: meta.location,
      locationType: meta.locationType,
      storageClass: meta.storageClass,
      ...(meta.lifecycle ? { lifecycle: meta.lifecycle } : {}),
      ...(meta.labels ? { labels: meta.labels } : {}),
      ...(meta.retentionPolicy ? { retentionPolicy: meta.retentionPolicy } : {}),
      etag: Buffer.from(`meta-${meta.metageneration}`).toString('base64'),
    };
  }

  /** Removes empty folders from `dir` up to (not including) the bucket folder. @param {string} bucket @param {string} dir */
  async function prune(bucket, dir) {
    const top = bucketDir(bucket);
    let current = dir;
    while (current.startsWith(`${top}${path.sep}`)) {
      try {
        await fsp.rmdir(current);
      } catch {
        return; // not empty (or gone)
      }
      current = path.dirname(current);
    }
  }

  /**
   * Cloud Storage refuses to overwrite or delete an object younger than its bucket's retention period (403
   * `retentionPolicyNotMet`). The object's age counts from its creation (here: its last write, i.e. its generation).
   * @param {string} bucket @param {ObjectInfo | undefined} o
   */
  function checkRetention(bucket, o) {
    const policy = state.buckets.get(bucket)?.retentionPolicy;
    if (!o || !policy) return;
    const until = o.mtimeMs + Number(policy.retentionPeriod) * 1000;
    if (Date.now() < until) {
      throw new GcsError(
        403,
        'retentionPolicyNotMet',
        `Object '${bucket}/${o.name}' is subject to bucket's retention policy or object retention and cannot be ` +
          `deleted or overwritten until ${new Date(until).toISOString()}`,
      );
    }
  }

  /** @param {unknown} raw @returns {BucketMeta['retentionPolicy']} */
  function retentionFrom(raw) {
    if (raw === null || raw === undefined) return undefined;
    const period = Number(/** @type {any} */ (raw).retentionPeriod);
    if (!Number.isInteger(period) || period < 1 || period > 3_155_760_000) {
      throw badRequest('Invalid argument: retentionPolicy.retentionPeriod must be 1 to 3155760000 seconds.');
    }
    return { retentionPeriod: String(period), effectiveTime: new Date().toISOString() };
  }

  /** @param {URLSearchParams} q @param {ObjectInfo | undefined} o */
  function checkPreconditions(q, o) {
    const match = q.get('ifGenerationMatch');
    if (match !== null) {
      const current = o ? generationOf(o) : '0';
      if (match !== current)
        throw new GcsError(
          412,
          'conditionNotMet',
          'At least one of the pre-conditions you specified did not hold.',
        );
    }
    const notMatch = q.get('ifGenerationNotMatch');
    if (notMatch !== null && o && notMatch === generationOf(o)) {
      throw new GcsError(304, 'notModified', 'Not Modified');
    }
  }

  /** @param {URLSearchParams} q @param {string} bucket @param {string} base */
  async function listObjects(q, bucket, base) {
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const startOffset = q.get('startOffset') ?? '';
    const endOffset = q.get('endOffset') ?? '';
    const maxResults = Math.min(1000, Math.max(1, Number(q.get('maxResults') ?? 1000) || 1000));
    const pageToken = q.get('pageToken');
    const after = pageToken ? Buffer.from(pageToken, 'base64url').toString('utf8') : undefined;
    if (pageToken && after === undefined) throw badRequest('Invalid pageToken.');

    /** @type {Array<{ key: string, object?: ObjectInfo, prefix?: string }>} */
    const entries = [];
    const seenPrefixes = new Set();
    for (const o of await allObjects(bucket)) {
      if (!o.name.startsWith(prefix)) continue;
      if (startOffset && o.name < startOffset) continue;
      if (endOffset && o.name >= endOffset) continue;
      const rest = o.name.slice(prefix.length);
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      if (cut >= 0) {
        const p = prefix + rest.slice(0, cut + delimiter.length);
        if (!seenPrefixes.has(p)) {
          seenPrefixes.add(p);
          entries.push({ key: p, prefix: p });
        }
        continue;
      }
      entries.push({ key: o.name, object: o });
    }
    entries.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    const remaining =
      after === undefined
        ? entries
        : entries.filter((e) => Buffer.compare(Buffer.from(e.key), Buffer.from(after)) > 0);
    const page = remaining.slice(0, maxResults);
    const items = [];
    for (const e of page) if (e.object) items.push(await objectResource(bucket, e.object, base));
    const prefixes = page.flatMap((e) => (e.prefix ? [e.prefix] : []));
    /** @type {Record<string, unknown>} */
    const body = { kind: 'storage#objects' };
    if (remaining.length > page.length) {
      body.nextPageToken = Buffer.from(/** @type {{ key: string }} */ (page[page.length - 1]).key).toString(
        'base64url',
      );
    }
    if (prefixes.length) body.prefixes = prefixes;
    if (items.length) body.items = items;
    return body;
  }

  /**
   * Writes an object (media or multipart upload).
   * @param {string} bucket @param {string} name @param {Buffer} data
   * @param {{ contentType?: string, metadata?: Record<string, string> }} meta @param {URLSearchParams} q @param {string} base
   */
  async function writeObject(bucket, name, data, meta, q, base) {
    if (!isRepresentable(name)) {
      throw badRequest(
        `Object name [${name}] cannot be stored by the stand-in (empty, "." or ".." segments).`,
      );
    }
    const existing = await statObject(bucket, name);
    checkPreconditions(q, existing);
    checkRetention(bucket, existing);
    const file = path.join(bucketDir(bucket), ...name.split('/'));
    try {
      await fsp.mkdir(path.dirname(file), { recursive: true });
      // Written beside the buckets first (a name starting with "." is no bucket), then renamed into place.
      const tmpDir = path.join(bucketsDir, '.storage-stand-in-uploads');
      await fsp.mkdir(tmpDir, { recursive: true });
      const tmp = path.join(tmpDir, crypto.randomBytes(8).toString('hex'));
      await fsp.writeFile(tmp, data);
      await fsp.rename(tmp, file);
    } catch (err) {
      throw new GcsError(
        409,
        'conflict',
        `Cannot store ${name}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const o = /** @type {ObjectInfo} */ (await statObject(bucket, name));
    if (meta.contentType || meta.metadata) {
      state.uploaded.set(`${bucket}/${name}`, { ...meta, generation: generationOf(o) });
    }
    return objectResource(bucket, o, base);
  }

  /** @param {string} contentType @param {Buffer} raw */
  function parseMultipart(contentType, raw) {
    const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
    if (!boundary) throw badRequest('multipart upload without a boundary');
    const delimiter = Buffer.from(`--${boundary}`);
    /** @type {Array<{ headers: Record<string, string>, body: Buffer }>} */
    const parts = [];
    let pos = raw.indexOf(delimiter);
    while (pos >= 0) {
      const start = pos + delimiter.length;
      if (raw.subarray(start, start + 2).toString() === '--') break;
      const next = raw.indexOf(delimiter, start);
      if (next < 0) break;
      const part = raw.subarray(start, next);
      const headerEnd = part.indexOf('\r\n\r\n');
      const headerText = part.subarray(0, headerEnd).toString('utf8');
      /** @type {Record<string, string>} */
      const headers = {};
      for (const line of headerText.split('\r\n')) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      let body = part.subarray(headerEnd + 4);
      if (body.subarray(-2).toString() === '\r\n') body = body.subarray(0, -2);
      parts.push({ headers, body });
      pos = next;
    }
    if (parts.length < 2) throw badRequest('multipart upload needs a metadata part and a media part');
    const meta = JSON.parse(/** @type {{ body: Buffer }} */ (parts[0]).body.toString('utf8') || '{}');
    const media = /** @type {{ headers: Record<string, string>, body: Buffer }} */ (parts[1]);
    return { meta, data: media.body, mediaType: media.headers['content-type'] };
  }

  /**
   * @param {http.IncomingMessage} req @param {http.ServerResponse} res @param {URL} url @param {Buffer} raw
   * @returns {Promise<{ status: number, body?: unknown } | undefined>} undefined when the response was streamed
   */
  async function handle(req, res, url, raw) {
    const method = (req.method ?? 'GET').toUpperCase();
    const base = `http://${req.headers.host ?? `${host}:${boundPort}`}`;
    const q = url.searchParams;
    // The client sends /b/... when STORAGE_EMULATOR_HOST is set, /storage/v1/b/... with apiEndpoint; uploads and
    // media links use /upload/storage/v1 and /download/storage/v1.
    let p = url.pathname;
    let upload = false;
    if (p.startsWith('/upload/storage/v1/')) {
      upload = true;
      p = p.slice('/upload/storage/v1'.length);
    } else if (p.startsWith('/download/storage/v1/')) p = p.slice('/download/storage/v1'.length);
    else if (p.startsWith('/storage/v1/')) p = p.slice('/storage/v1'.length);
    const segments = p.split('/').slice(1);
    if (segments[0] !== 'b') throw new GcsError(404, 'notFound', `Not Found: ${url.pathname}`);

    // Buckets
    if (segments.length === 1) {
      if (method === 'GET') {
        const names = (await fsp.readdir(bucketsDir, { withFileTypes: true }))
          .filter((e) => e.isDirectory() && BUCKET_RE.test(e.name))
          .map((e) => e.name)
          .sort();
        const items = [];
        for (const name of names) items.push(bucketResource(name, await fsp.stat(bucketDir(name)), base));
        return { status: 200, body: { kind: 'storage#buckets', ...(items.length ? { items } : {}) } };
      }
      if (method === 'POST') {
        const body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
        const name = String(body.name ?? '');
        if (!BUCKET_RE.test(name)) throw badRequest(`Invalid bucket name: ${name}`);
        if (fs.existsSync(bucketDir(name))) {
          throw new GcsError(
            409,
            'conflict',
            'Your previous request to create the named bucket succeeded and you already own it.',
          );
        }
        await fsp.mkdir(bucketDir(name));
        const location = String(body.location ?? 'US').toUpperCase();
        state.buckets.set(name, {
          location,
          // Multi-regions are US, EU, ASIA; dual-regions are not modelled.
          locationType: ['US', 'EU', 'ASIA'].includes(location) ? 'multi-region' : 'region',
          storageClass: String(body.storageClass ?? 'STANDARD'),
          bindings: [],
          metageneration: 1,
          ...(body.lifecycle ? { lifecycle: body.lifecycle } : {}),
          ...(body.labels ? { labels: body.labels } : {}),
          ...(body.retentionPolicy ? { retentionPolicy: retentionFrom(body.retentionPolicy) } : {}),
        });
        return { status: 200, body: bucketResource(name, await fsp.stat(bucketDir(name)), base) };
      }
    }
    const bucket = decodeURIComponent(segments[1] ?? '');
    if (segments.length === 2) {
      const stat = await requireBucket(bucket);
      if (method === 'GET') return { status: 200, body: bucketResource(bucket, stat, base) };
      if (method === 'PATCH' || method === 'PUT') {
        // Location and storage class cannot change (as in Cloud Storage: a new bucket is the only way).
        const body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
        const meta = bucketMeta(bucket);
        if ('lifecycle' in body) meta.lifecycle = body.lifecycle ?? undefined;
        if ('labels' in body) meta.labels = body.labels ?? undefined;
        if ('retentionPolicy' in body) {
          if (meta.retentionPolicy?.isLocked) {
            const period = Number(body.retentionPolicy?.retentionPeriod ?? 0);
            // A locked policy may only grow (Cloud Storage: 403 on shortening or removing it).
            if (period < Number(meta.retentionPolicy.retentionPeriod)) {
              throw new GcsError(
                403,
                'forbidden',
                'Cannot reduce retention period of a locked retention policy.',
              );
            }
          }
          const next = retentionFrom(body.retentionPolicy);
          meta.retentionPolicy = next && meta.retentionPolicy?.isLocked ? { ...next, isLocked: true } : next;
        }
        meta.metageneration += 1;
        return { status: 200, body: bucketResource(bucket, stat, base) };
      }
      if (method === 'DELETE') {
        if ((await allObjects(bucket)).length > 0) {
          throw new GcsError(409, 'conflict', 'The bucket you tried to delete is not empty.');
        }
        await fsp.rm(bucketDir(bucket), { recursive: true });
        state.buckets.delete(bucket);
        return { status: 204 };
      }
    }
    if (segments[2] === 'lockRetentionPolicy' && method === 'POST') {
      const stat = await requireBucket(bucket);
      const meta = bucketMeta(bucket);
      if (!meta.retentionPolicy) throw badRequest('The bucket has no retention policy to lock.');
      meta.retentionPolicy = { ...meta.retentionPolicy, isLocked: true };
      meta.metageneration += 1;
      return { status: 200, body: bucketResource(bucket, stat, base) };
    }
    if (segments[2] === 'iam') {
      await requireBucket(bucket);
      const meta = bucketMeta(bucket);
      if (segments.length === 3 && method === 'GET') return { status: 200, body: iamPolicy(bucket, meta) };
      if (segments.length === 3 && method === 'PUT') {
        const body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
        meta.bindings = (body.bindings ?? [])
          .map((/** @type {any} */ b) => ({
            role: String(b.role),
            members: [...new Set((b.members ?? []).map(String))],
          }))
          .filter((/** @type {{ members: string[] }} */ b) => b.members.length > 0);
        meta.metageneration += 1;
        return { status: 200, body: iamPolicy(bucket, meta) };
      }
      if (segments[3] === 'testPermissions' && method === 'GET') {
        const asked = q.getAll('permissions');
        const caller = req.headers[PRINCIPAL_HEADER];
        // No named caller: the stand-in's owner, who holds everything.
        if (typeof caller !== 'string' || !caller) {
          return { status: 200, body: { kind: 'storage#testIamPermissionsResponse', permissions: asked } };
        }
        const held = new Set();
        for (const b of meta.bindings) {
          if (b.members.includes(caller)) for (const perm of STORAGE_ROLES[b.role] ?? []) held.add(perm);
        }
        const permissions = asked.filter((x) => held.has(x));
        return {
          status: 200,
          body: {
            kind: 'storage#testIamPermissionsResponse',
            ...(permissions.length ? { permissions } : {}),
          },
        };
      }
    }
    if (segments[2] !== 'o') throw new GcsError(404, 'notFound', `Not Found: ${url.pathname}`);
    await requireBucket(bucket);

    // Objects of a bucket
    if (segments.length === 3) {
      if (method === 'GET' && !upload) return { status: 200, body: await listObjects(q, bucket, base) };
      if (method === 'POST' && upload) {
        const type = q.get('uploadType') ?? 'media';
        if (type === 'media') {
          const name = q.get('name') ?? '';
          const contentType = req.headers['content-type'];
          return { status: 200, body: await writeObject(bucket, name, raw, { contentType }, q, base) };
        }
        if (type === 'multipart') {
          const { meta, data, mediaType } = parseMultipart(String(req.headers['content-type'] ?? ''), raw);
          const name = q.get('name') ?? String(meta.name ?? '');
          const contentType = meta.contentType ?? mediaType;
          return {
            status: 200,
            body: await writeObject(bucket, name, data, { contentType, metadata: meta.metadata }, q, base),
          };
        }
        throw new GcsError(
          501,
          'notImplemented',
          `uploadType=${type} is not supported by the stand-in: pass resumable: false.`,
        );
      }
    }

    // One object
    if (segments.length >= 4) {
      // Names are one URL-encoded segment ("a%2Fb"); tolerate raw slashes too.
      const name = segments.slice(3).map(decodeURIComponent).join('/');
      const o = await statObject(bucket, name);
      if (method === 'GET') {
        if (!o) throw noObject(bucket, name);
        checkPreconditions(q, o);
        if (q.get('alt') !== 'media') return { status: 200, body: await objectResource(bucket, o, base) };
        const resource = await objectResource(bucket, o, base);
        /** @type {Record<string, string>} */
        const headers = {
          'content-type': String(resource.contentType),
          'x-goog-hash': `crc32c=${resource.crc32c},md5=${resource.md5Hash}`,
          'x-goog-generation': resource.generation,
          'x-goog-metageneration': '1',
          'x-goog-stored-content-encoding': 'identity',
          'x-goog-stored-content-length': String(o.size),
          'x-goog-storage-class': 'STANDARD',
          etag: resource.etag,
          'last-modified': new Date(o.mtimeMs).toUTCString(),
          'accept-ranges': 'bytes',
        };
        const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ''));
        let start = 0;
        let end = o.size - 1;
        let status = 200;
        if (range && (range[1] || range[2])) {
          if (range[1]) {
            start = Number(range[1]);
            if (range[2]) end = Math.min(end, Number(range[2]));
          } else start = Math.max(0, o.size - Number(range[2])); // suffix range: the last N bytes
          if (start >= o.size || start > end) {
            res.writeHead(416, { 'content-range': `bytes */${o.size}` });
            res.end();
            return undefined;
          }
          status = 206;
          headers['content-range'] = `bytes ${start}-${end}/${o.size}`;
        }
        headers['content-length'] = String(o.size === 0 ? 0 : end - start + 1);
        res.writeHead(status, headers);
        if (method === 'GET' && o.size > 0) {
          await new Promise((resolve, reject) => {
            fs.createReadStream(o.file, { start, end }).on('error', reject).pipe(res).on('finish', resolve);
          });
        } else res.end();
        return undefined;
      }
      if (method === 'DELETE') {
        if (!o) throw noObject(bucket, name);
        checkPreconditions(q, o);
        checkRetention(bucket, o);
        await fsp.unlink(o.file);
        state.uploaded.delete(`${bucket}/${name}`);
        hashCache.delete(o.file);
        await prune(bucket, path.dirname(o.file));
        return { status: 204 };
      }
    }
    throw new GcsError(
      501,
      'notImplemented',
      `${method} ${url.pathname} is not implemented by the storage stand-in.`,
    );
  }

  const server = http.createServer((req, res) => {
    /** @type {Buffer[]} */
    const chunks = [];
    let size = 0;
    req.on('data', (/** @type {Buffer} */ c) => {
      size += c.length;
      if (size <= MAX_UPLOAD_BYTES) chunks.push(c);
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stand-in.invalid');
      const log = { method: req.method ?? 'GET', path: url.pathname, status: 0 };
      state.requests.push(log);
      if (state.requests.length > 1000) state.requests.shift();
      void (async () => {
        /** @type {{ status: number, body?: unknown } | undefined} */
        let reply;
        try {
          if (size > MAX_UPLOAD_BYTES)
            throw new GcsError(413, 'uploadTooLarge', 'Upload too large for the stand-in.');
          reply = await handle(req, res, url, Buffer.concat(chunks));
        } catch (err) {
          if (err instanceof GcsError)
            reply = { status: err.status, body: err.status === 304 ? undefined : err.body };
          else {
            console.error('[storage-stand-in]', err);
            const message = err instanceof Error ? err.message : String(err);
            reply = { status: 500, body: new GcsError(500, 'backendError', message).body };
          }
        }
        if (!reply) {
          log.status = res.statusCode;
          return;
        }
        log.status = reply.status;
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (reply.body === undefined) {
          res.writeHead(reply.status);
          res.end();
          return;
        }
        const text = JSON.stringify(reply.body);
        res.writeHead(reply.status, {
          'content-type': 'application/json; charset=UTF-8',
          'content-length': String(Buffer.byteLength(text)),
        });
        res.end(text);
      })();
    });
  });

  const boundPort = await listenHttp(server, port, host);
  const urlHost = hostForAddress(host);

  let closing = /** @type {Promise<void> | undefined} */ (undefined);
  function close() {
    closing ??= new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  }

  return {
    url: `http://${urlHost}:${boundPort}`,
    port: boundPort,
    bucketsDir,
    close,
    /** Forgets upload metadata and the request log (the folder tree is left alone). */
    reset: () => {
      state.uploaded.clear();
      state.requests.length = 0;
      state.buckets.clear();
      hashCache.clear();
    },
    state,
  };
}

// ---------------------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------------------

if (isMain(import.meta.url)) {
  await runUntilSignal('storage stand-in', async () => {
    const args = parseFlags(
      process.argv.slice(2),
      { host: String, port: String, 'buckets-dir': String },
      'usage: node emulators/storage/server.mjs [--host 127.0.0.1] [--port 9332] [--buckets-dir DIR]',
    );
    const standIn = await startStorageStandIn({
      host: args.host ?? '127.0.0.1',
      port: Number(args.port ?? 9332 + Number(process.env.FIREOPS_PORT_OFFSET ?? 0)),
      bucketsDir:
        args['buckets-dir'] ?? process.env.FIREOPS_BUCKETS_DIR ?? path.join(ROOT, '.cache', 'buckets'),
    });
    console.log(`Storage stand-in listening on ${standIn.url} (buckets in ${standIn.bucketsDir})`);
    return standIn;
  });
}
