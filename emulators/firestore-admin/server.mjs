// @ts-check
/**
 * Local stand-in for the Firestore Admin API's export/import: a gRPC server implementing
 * `google.firestore.admin.v1.FirestoreAdmin` (`ExportDocuments`, `ImportDocuments`) and `google.longrunning.Operations`
 * (`GetOperation`, `ListOperations`, `CancelOperation`, `DeleteOperation`), good enough for the real
 * `FirestoreAdminClient` of `@google-cloud/firestore` to talk to unchanged. The work is real: exports and imports go
 * through the Firestore emulator's own export/import endpoints, and "buckets" are folders under `bucketsDir`
 * (`gs://{bucket}/{path}` is `{bucketsDir}/{bucket}/{path}`, the tree emulators/storage/server.mjs serves).
 *
 *   node emulators/firestore-admin/server.mjs [--port 9330] [--control-port 9331] --buckets-dir DIR
 *                                             [--firestore-host 127.0.0.1:8080] [--delay-ms 0]
 *
 * Operations live in memory. A small HTTP control API (`/_stand-in/...`) injects faults. See README.md next to this
 * file for the layout, the database-to-project mapping and the known differences from the real service.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import { isMain, parseFlags, runUntilSignal } from '../shared/cli.mjs';
import { loadClientProtos } from '../shared/protos.mjs';
import { badRequest, faultAndDelayRoutes, noControlRoute, startControlServer } from '../shared/control.mjs';
import {
  bindInsecure,
  closeGrpcWithControl,
  invalidArgument as invalid,
  msToTimestamp,
  RpcError,
  unaryHandlers,
} from '../shared/grpc.mjs';
import { hostForAddress } from '../shared/servers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// The Google client packages live in functions/node_modules (the copies the functions use).
const fnRequire = createRequire(path.join(ROOT, 'functions', 'package.json'));

// ---------------------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------------------

/** @typedef {{ seconds: number, nanos: number }} Timestamp */
/** @typedef {{ estimatedWork: number, completedWork: number }} Progress */
/**
 * @typedef {'INITIALIZING' | 'PROCESSING' | 'CANCELLING' | 'FINALIZING' | 'SUCCESSFUL' | 'FAILED' | 'CANCELLED'}
 *   OperationState
 */

/**
 * @typedef {object} Fault
 * @property {'fail' | 'stall' | 'shortfall'} next
 * @property {number} count Operations still to be affected.
 * @property {'export' | 'import' | undefined} method Only operations of this kind (both when undefined).
 * @property {number} code gRPC status code for `fail` (default 13 INTERNAL).
 * @property {string} message Error message for `fail`.
 * @property {number} shortfall Documents under-reported for `shortfall`.
 * @property {number | undefined} delayMs Overrides the completion delay of the affected operations.
 */

/**
 * @typedef {object} OperationRecord
 * @property {string} name `projects/{p}/databases/{db}/operations/{id}`
 * @property {string} id
 * @property {'export' | 'import'} kind
 * @property {string} database `projects/{p}/databases/{db}`
 * @property {string} emulatorProject The Firestore emulator project id the database maps to.
 * @property {number} seq Creation order.
 * @property {boolean} done
 * @property {OperationState} state
 * @property {number} startMs
 * @property {number | undefined} endMs
 * @property {string[]} collectionIds
 * @property {string} uriPrefix outputUriPrefix (export) or inputUriPrefix (import).
 * @property {Progress} progressDocuments
 * @property {Progress} progressBytes
 * @property {{ code: number, message: string } | undefined} error
 * @property {Fault | undefined} fault The fault applied to this operation, if any.
 * @property {Record<string, number> | undefined} documentsByCollection Counted documents per requested collection
 *   (collection group) or, when none were requested, per root collection.
 * @property {number | undefined} documentsCounted The honest count (before any `shortfall`).
 * @property {string[] | undefined} files Object names written (export) or read (import), relative to the bucket.
 * @property {string | undefined} bucket
 * @property {boolean} cancelled
 */

/**
 * @typedef {object} StandInState
 * @property {Map<string, OperationRecord>} operations Keyed by operation name.
 * @property {Fault[]} faults Applied in order to new operations.
 * @property {number} delayMs Minimum run time of new operations (ms).
 * @property {Map<string, { name: string, locationId: string, type: string, uid: string, createMs: number }>} databases
 *   Registered databases by name (CreateDatabase), cleared by reset.
 */

// ---------------------------------------------------------------------------------------------------------
// Proto loading
// ---------------------------------------------------------------------------------------------------------

const ADMIN_SERVICE = 'google.firestore.admin.v1.FirestoreAdmin';
const OPERATIONS_SERVICE = 'google.longrunning.Operations';
const ADMIN_TYPES = 'type.googleapis.com/google.firestore.admin.v1';

function loadServiceDefinitions() {
  const definition = loadClientProtos(
    fnRequire.resolve('@google-cloud/firestore/package.json'),
    ['google/firestore/admin/v1/firestore_admin.proto', 'google/longrunning/operations.proto'],
    { longs: Number },
  );
  const admin = definition[ADMIN_SERVICE];
  const operations = definition[OPERATIONS_SERVICE];
  if (!admin || !operations)
    throw new Error('FirestoreAdmin/Operations services not found in the Firestore protos');
  return {
    admin: /** @type {grpc.ServiceDefinition} */ (admin),
    operations: /** @type {grpc.ServiceDefinition} */ (operations),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Errors and small helpers
// ---------------------------------------------------------------------------------------------------------

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The Firestore emulator project id a Firestore database maps to. The emulator cannot import into a named database,
 * so `(default)` maps to the project itself and any other database `{db}` to the project `{project}-{db}`.
 * @param {string} project @param {string} database
 */
export function emulatorProjectFor(project, database) {
  return database === '(default)' ? project : `${project}-${database}`;
}

const DATABASE_RE = /^projects\/([^/]+)\/databases\/([^/]+)$/;
const OPERATION_RE = /^(projects\/[^/]+\/databases\/[^/]+)\/operations\/([^/]+)$/;
const BUCKET_RE = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
const COLLECTION_ID_RE = /^[^/]{1,1500}$/;

/** @param {unknown} value */
function parseDatabase(value) {
  const name = typeof value === 'string' ? value : '';
  const m = DATABASE_RE.exec(name);
  if (!m)
    throw invalid(`Invalid resource name [${name}]: must be projects/{project_id}/databases/{database_id}.`);
  const project = /** @type {string} */ (m[1]);
  const database = /** @type {string} */ (m[2]);
  return { name, project, database, emulatorProject: emulatorProjectFor(project, database) };
}

/**
 * `gs://bucket[/path]` -> bucket and `/`-separated path without leading/trailing slashes. Refuses `.`/`..` and
 * empty segments, so a prefix never leaves its bucket folder.
 * @param {unknown} value @param {string} field
 */
function parseGcsUri(value, field) {
  const uri = typeof value === 'string' ? value : '';
  const m = /^gs:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
  if (!m) throw invalid(`${field} must be a Cloud Storage URI of the form gs://BUCKET[/PATH], got [${uri}].`);
  const bucket = /** @type {string} */ (m[1]);
  if (!BUCKET_RE.test(bucket)) throw invalid(`${field}: invalid bucket name [${bucket}].`);
  const objectPath = (m[2] ?? '').replace(/\/+$/, '');
  if (objectPath && objectPath.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw invalid(`${field}: invalid object path [${objectPath}].`);
  }
  return { bucket, objectPath };
}

/** @param {unknown} ids @returns {string[]} */
function parseCollectionIds(ids) {
  const list = Array.isArray(ids) ? ids.map(String) : [];
  for (const id of list) if (!COLLECTION_ID_RE.test(id)) throw invalid(`Invalid collection id [${id}].`);
  return [...new Set(list)];
}

/**
 * Real exports to a bare bucket get a folder named after the start time, e.g. `2024-05-03T10:15:30_48213`.
 * @param {number} ms
 */
function generatedExportFolder(ms) {
  const stamp = new Date(ms).toISOString().slice(0, 19);
  return `${stamp}_${String(crypto.randomInt(0, 100_000)).padStart(5, '0')}`;
}

/** @param {string} dir @returns {Promise<string[]>} files under dir, relative, `/`-separated */
async function listFiles(dir) {
  /** @type {string[]} */
  const out = [];
  /** @param {string} sub */
  async function walk(sub) {
    const entries = await fsp.readdir(path.join(dir, sub), { withFileTypes: true });
    for (const e of entries) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(rel);
      else if (e.isFile()) out.push(rel);
    }
  }
  await walk('');
  return out.sort();
}

/** @param {string} dir @param {string[]} files */
async function totalSize(dir, files) {
  let bytes = 0;
  for (const f of files) bytes += (await fsp.stat(path.join(dir, f))).size;
  return bytes;
}

// ---------------------------------------------------------------------------------------------------------
// The Firestore emulator, over its REST API
// ---------------------------------------------------------------------------------------------------------

/** @param {string} host */
function emulatorApi(host) {
  const base = `http://${host}`;
  /**
   * @param {string} method @param {string} url @param {unknown} [body]
   * @returns {Promise<any>}
   */
  async function call(method, url, body) {
    let res;
    try {
      res = await fetch(`${base}${url}`, {
        method,
        headers: { Authorization: 'Bearer owner', 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(120_000),
      });
    } catch (err) {
      throw new RpcError(
        grpc.status.UNAVAILABLE,
        `Firestore emulator at ${host} unreachable: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const text = await res.text();
    if (!res.ok) {
      throw new RpcError(
        grpc.status.INTERNAL,
        `Firestore emulator: ${method} ${url}: ${res.status} ${text.trim()}`,
      );
    }
    return text ? JSON.parse(text) : {};
  }
  /** @param {string} project */
  const docs = (project) => `/v1/projects/${project}/databases/(default)/documents`;
  /** @param {string} project */
  const database = (project) => `projects/${project}/databases/(default)`;

  return {
    /** Exports the whole (default) database of `project` into the existing folder `dir`. */
    /** @param {string} project @param {string} dir */
    exportTo: (project, dir) =>
      call('POST', `/emulator/v1/projects/${project}:export`, {
        database: database(project),
        export_directory: dir,
      }),
    /** @param {string} project @param {string} metadataFile path of an `.overall_export_metadata` file */
    importFrom: (project, metadataFile) =>
      call('POST', `/emulator/v1/projects/${project}:import`, {
        database: database(project),
        export_directory: metadataFile,
      }),
    /** @param {string} project */
    clear: async (project) => {
      // 409 while a transaction still holds a lock: retry for a while.
      for (let attempt = 0; ; attempt += 1) {
        try {
          await call('DELETE', `/emulator/v1/projects/${project}/databases/(default)/documents`);
          return;
        } catch (err) {
          if (attempt >= 20 || !(err instanceof Error) || !/: 409 /.test(err.message)) throw err;
          await sleep(250);
        }
      }
    },
    /** @param {string} project @returns {Promise<string[]>} root collection ids */
    rootCollectionIds: async (project) => {
      /** @type {string[]} */
      const ids = [];
      let pageToken;
      do {
        const res = await call('POST', `${docs(project)}:listCollectionIds`, {
          pageSize: 1000,
          ...(pageToken ? { pageToken } : {}),
        });
        ids.push(...(res.collectionIds ?? []));
        pageToken = res.nextPageToken;
      } while (pageToken);
      return ids.sort();
    },
    /**
     * COUNT(*) over `from`: `{}` counts every document (kindless, all descendants), `{collectionId}` a root
     * collection, `{collectionId, allDescendants: true}` a collection group.
     * @param {string} project @param {{ collectionId?: string, allDescendants?: boolean }} from
     */
    count: async (project, from) => {
      const res = await call('POST', `${docs(project)}:runAggregationQuery`, {
        structuredAggregationQuery: {
          structuredQuery: { from: [{ allDescendants: true, ...from }] },
          aggregations: [{ alias: 'n', count: {} }],
        },
      });
      const row = (Array.isArray(res) ? res : [res]).find((r) => r.result);
      return Number(row?.result?.aggregateFields?.n?.integerValue ?? 0);
    },
    /** @param {string} project @returns {Promise<string[]>} every document name */
    allDocumentNames: async (project) => {
      const res = await call('POST', `${docs(project)}:runQuery`, {
        structuredQuery: {
          from: [{ allDescendants: true }],
          select: { fields: [{ fieldPath: '__name__' }] },
        },
      });
      return (Array.isArray(res) ? res : []).flatMap((r) => (r.document ? [String(r.document.name)] : []));
    },
    /** @param {string} project @param {string[]} names */
    deleteDocuments: async (project, names) => {
      for (let i = 0; i < names.length; i += 500) {
        await call('POST', `${docs(project)}:commit`, {
          writes: names.slice(i, i + 500).map((name) => ({ delete: name })),
        });
      }
    },
  };
}

/** @typedef {ReturnType<typeof emulatorApi>} EmulatorApi */

/** The collection id of a document name (`.../documents/a/x/b/y` -> `b`). @param {string} name */
function collectionOf(name) {
  const segments = name.split('/documents/')[1]?.split('/') ?? [];
  return segments[segments.length - 2] ?? '';
}

/**
 * The one `firestore_export_*` folder the emulator wrote into `dir`, with its metadata file.
 * @param {string} dir
 */
async function emulatorExportIn(dir) {
  const folders = (await fsp.readdir(dir)).filter((n) => n.startsWith('firestore_export_'));
  if (folders.length !== 1)
    throw new Error(`expected one emulator export in ${dir}, found ${folders.length}`);
  const folder = path.join(dir, /** @type {string} */ (folders[0]));
  const metadata = (await fsp.readdir(folder)).find((n) => n.endsWith('.overall_export_metadata'));
  if (!metadata) throw new Error(`no .overall_export_metadata file in ${folder}`);
  return { folder, metadataFile: path.join(folder, metadata) };
}

/**
 * The `.overall_export_metadata` file of an export folder: `{folder}/{last segment}.overall_export_metadata`
 * (the real layout), else the only one there, else one in a `firestore_export_*` subfolder (the emulator's layout).
 * @param {string} folder
 * @returns {Promise<string | undefined>}
 */
async function findMetadataFile(folder) {
  let entries;
  try {
    entries = await fsp.readdir(folder, { withFileTypes: true });
  } catch {
    return undefined;
  }
  const own = `${path.basename(folder)}.overall_export_metadata`;
  const files = entries.filter((e) => e.isFile() && e.name.endsWith('.overall_export_metadata'));
  const preferred = files.find((e) => e.name === own) ?? (files.length === 1 ? files[0] : undefined);
  if (preferred) return path.join(folder, preferred.name);
  for (const e of entries.filter((x) => x.isDirectory() && x.name.startsWith('firestore_export_'))) {
    const inner = (await fsp.readdir(path.join(folder, e.name))).find((n) =>
      n.endsWith('.overall_export_metadata'),
    );
    if (inner) return path.join(folder, e.name, inner);
  }
  return undefined;
}

/** The files an export consists of: its metadata file and the `all_namespaces/` tree beside it. @param {string} metadataFile */
async function exportFiles(metadataFile) {
  const dir = path.dirname(metadataFile);
  const files = [path.basename(metadataFile)];
  if (fs.existsSync(path.join(dir, 'all_namespaces'))) {
    files.push(...(await listFiles(path.join(dir, 'all_namespaces'))).map((f) => `all_namespaces/${f}`));
  }
  return { dir, files, bytes: await totalSize(dir, files) };
}

// ---------------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------------

/**
 * @typedef {object} StandInOptions
 * @property {string} [host] Default 127.0.0.1.
 * @property {number} [port] gRPC port (0: any free port).
 * @property {number} [controlPort] HTTP control API port (0: any free port).
 * @property {string} bucketsDir Folder holding one folder per bucket.
 * @property {string | (() => string | undefined)} [firestoreHost] The Firestore emulator `host:port`, or a function
 *   asked on every operation (default: env FIRESTORE_EMULATOR_HOST, read on every operation).
 * @property {number} [delayMs] Minimum run time of every operation (default 0).
 * @property {boolean} [createBuckets] Create a missing bucket folder on export (default true); false fails the call.
 */

/**
 * @typedef {object} FirestoreAdminStandIn
 * @property {string} host
 * @property {number} port gRPC port.
 * @property {string} address `host:port` of the gRPC server, e.g. for FIRESTORE_ADMIN_EMULATOR_HOST.
 * @property {number} controlPort
 * @property {string} controlUrl e.g. 'http://127.0.0.1:9331' (routes under /_stand-in/).
 * @property {string} bucketsDir
 * @property {() => Promise<void>} close
 * @property {() => void} reset Clears operations and faults and restores the initial delay.
 * @property {() => Promise<void>} idle Resolves once no operation work is running (stalled operations do not count).
 * @property {StandInState} state
 */

/** @param {StandInOptions} options @returns {Promise<FirestoreAdminStandIn>} */
export async function startFirestoreAdminStandIn(options) {
  const { host = '127.0.0.1', port = 0, controlPort = 0, createBuckets = true } = options;
  if (!options.bucketsDir) throw new Error('bucketsDir is required');
  const bucketsDir = path.resolve(options.bucketsDir);
  fs.mkdirSync(bucketsDir, { recursive: true });
  // Work folders live beside the buckets (same file system, so results are renamed into place); a name starting
  // with "." is never a valid bucket name, so the storage stand-in does not list it.
  const workDir = path.join(bucketsDir, '.firestore-admin-work');
  const initialDelayMs = Math.max(0, Number(options.delayMs ?? 0));
  const resolveHost = () => {
    const h =
      typeof options.firestoreHost === 'function'
        ? options.firestoreHost()
        : (options.firestoreHost ?? process.env.FIRESTORE_EMULATOR_HOST);
    if (!h)
      throw new RpcError(
        grpc.status.UNAVAILABLE,
        'The Firestore emulator host is not known (FIRESTORE_EMULATOR_HOST).',
      );
    return h.replace(/^https?:\/\//, '');
  };

  /** @type {StandInState} */
  const state = { operations: new Map(), faults: [], delayMs: initialDelayMs, databases: new Map() };
  let seq = 0;
  /** Background work in flight, so close() and tests can wait for it. */
  const running = new Set();

  const bucketFolder = (/** @type {string} */ bucket) => path.join(bucketsDir, bucket);

  /** @param {'export' | 'import'} kind */
  function takeFault(kind) {
    const i = state.faults.findIndex((f) => !f.method || f.method === kind);
    if (i < 0) return undefined;
    const fault = /** @type {Fault} */ (state.faults[i]);
    fault.count -= 1;
    if (fault.count <= 0) state.faults.splice(i, 1);
    return { ...fault };
  }

  /**
   * @param {'export' | 'import'} kind @param {ReturnType<typeof parseDatabase>} db @param {string[]} collectionIds
   * @param {string} uriPrefix @param {string} bucket
   * @returns {OperationRecord}
   */
  function newOperation(kind, db, collectionIds, uriPrefix, bucket) {
    const id = crypto.randomBytes(15).toString('base64url');
    const op = {
      name: `${db.name}/operations/${id}`,
      id,
      kind,
      database: db.name,
      emulatorProject: db.emulatorProject,
      seq: ++seq,
      done: false,
      state: /** @type {OperationState} */ ('PROCESSING'),
      startMs: Date.now(),
      endMs: undefined,
      collectionIds,
      uriPrefix,
      progressDocuments: { estimatedWork: 0, completedWork: 0 },
      progressBytes: { estimatedWork: 0, completedWork: 0 },
      error: undefined,
      fault: takeFault(kind),
      documentsByCollection: undefined,
      documentsCounted: undefined,
      files: undefined,
      bucket,
      cancelled: false,
    };
    state.operations.set(op.name, op);
    return op;
  }

  /** Whether `op` is still the live record (not reset, deleted or cancelled). @param {OperationRecord} op */
  const live = (op) => state.operations.get(op.name) === op && !op.cancelled;

  /** @param {OperationRecord} op @param {() => Promise<void>} work */
  function runInBackground(op, work) {
    const fault = op.fault;
    const delayMs = fault?.delayMs ?? state.delayMs;
    if (fault?.next === 'stall') return; // stays PROCESSING, progress frozen, until reset/cancel/delete
    const task = (async () => {
      try {
        if (fault?.next === 'fail') {
          await sleep(delayMs);
          if (live(op)) finish(op, { code: fault.code, message: fault.message });
          return;
        }
        await work();
        const wait = op.startMs + delayMs - Date.now();
        if (wait > 0) await sleep(wait);
        if (live(op)) finish(op);
      } catch (err) {
        if (!live(op)) return;
        const code = err instanceof RpcError ? err.code : grpc.status.INTERNAL;
        const message = err instanceof Error ? err.message : String(err);
        if (!(err instanceof RpcError)) console.error(`[firestore-admin-stand-in] ${op.name} failed:`, err);
        finish(op, { code, message });
      }
    })();
    running.add(task);
    void task.finally(() => running.delete(task));
  }

  /** @param {OperationRecord} op @param {{ code: number, message: string }} [error] */
  function finish(op, error) {
    op.done = true;
    op.endMs = Date.now();
    if (error) {
      op.state = 'FAILED';
      op.error = error;
      return;
    }
    op.state = 'SUCCESSFUL';
    const counted = op.documentsCounted ?? 0;
    const shortfall = op.fault?.next === 'shortfall' ? op.fault.shortfall : 0;
    op.progressDocuments = { estimatedWork: counted, completedWork: Math.max(0, counted - shortfall) };
    op.progressBytes = { ...op.progressBytes, completedWork: op.progressBytes.estimatedWork };
  }

  /** Throws CANCELLED once the operation was cancelled, reset or deleted, so the work stops early. */
  const checkLive = (/** @type {OperationRecord} */ op) => {
    if (!live(op)) throw new RpcError(grpc.status.CANCELLED, 'The operation was cancelled.');
  };

  /**
   * Imports the emulator export `metadataFile` into a temporary emulator project, keeps only `collectionIds` (all
   * when empty), counts what is there and calls `use(tmp)` while it exists. The temporary project is cleared after.
   * @param {EmulatorApi} api @param {OperationRecord} op @param {string} metadataFile
   * @param {(tmp: string) => Promise<void>} use
   */
  async function withFilteredCopy(api, op, metadataFile, use) {
    const tmp = `stand-in-tmp-${op.id.toLowerCase().replace(/[^a-z0-9]/g, '')}-${op.seq}`;
    try {
      await api.importFrom(tmp, metadataFile);
      checkLive(op);
      const wanted = new Set(op.collectionIds);
      if (wanted.size > 0) {
        const unwanted = (await api.allDocumentNames(tmp)).filter((n) => !wanted.has(collectionOf(n)));
        await api.deleteDocuments(tmp, unwanted);
      }
      /** @type {Record<string, number>} */
      const byCollection = {};
      if (wanted.size > 0) {
        for (const id of op.collectionIds) byCollection[id] = await api.count(tmp, { collectionId: id });
      } else {
        for (const id of await api.rootCollectionIds(tmp)) {
          byCollection[id] = await api.count(tmp, { collectionId: id, allDescendants: false });
        }
      }
      op.documentsByCollection = byCollection;
      op.documentsCounted = await api.count(tmp, {});
      op.progressDocuments = { estimatedWork: op.documentsCounted, completedWork: 0 };
      checkLive(op);
      await use(tmp);
    } finally {
      await api.clear(tmp).catch(() => undefined);
    }
  }

  /**
   * @param {OperationRecord} op @param {string} sourceProject @param {string} dest folder the export goes to
   */
  async function doExport(op, sourceProject, dest) {
    const api = emulatorApi(resolveHost());
    const work = path.join(workDir, op.id);
    try {
      await fsp.mkdir(path.join(work, 'all'), { recursive: true });
      await api.exportTo(sourceProject, path.join(work, 'all'));
      checkLive(op);
      const all = await emulatorExportIn(path.join(work, 'all'));
      /** @type {{ folder: string, metadataFile: string }} */
      let result = all;
      await withFilteredCopy(api, op, all.metadataFile, async (tmp) => {
        if (op.collectionIds.length === 0) return; // the full export is the result
        // The emulator always exports everything: export the filtered copy instead.
        await fsp.mkdir(path.join(work, 'filtered'), { recursive: true });
        await api.exportTo(tmp, path.join(work, 'filtered'));
        result = await emulatorExportIn(path.join(work, 'filtered'));
      });
      checkLive(op);
      // Into place, laid out like a real export: {dest}/{last segment}.overall_export_metadata and
      // {dest}/all_namespaces/all_kinds/{all_namespaces_all_kinds.export_metadata, output-N}.
      await fsp.mkdir(dest, { recursive: true });
      const kinds = path.join(dest, 'all_namespaces');
      await fsp.rm(kinds, { recursive: true, force: true });
      await fsp.rename(path.join(result.folder, 'all_namespaces'), kinds);
      const metadataFile = path.join(dest, `${path.basename(dest)}.overall_export_metadata`);
      await fsp.rename(result.metadataFile, metadataFile);
      const written = await exportFiles(metadataFile);
      const rel = path
        .relative(bucketFolder(/** @type {string} */ (op.bucket)), dest)
        .split(path.sep)
        .join('/');
      op.files = written.files.map((f) => (rel ? `${rel}/${f}` : f));
      op.progressBytes = { estimatedWork: written.bytes, completedWork: 0 };
    } finally {
      await fsp.rm(work, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** @param {OperationRecord} op @param {string} metadataFile */
  async function doImport(op, metadataFile) {
    const api = emulatorApi(resolveHost());
    const work = path.join(workDir, op.id);
    try {
      const read = await exportFiles(metadataFile);
      const rel = path
        .relative(bucketFolder(/** @type {string} */ (op.bucket)), read.dir)
        .split(path.sep)
        .join('/');
      op.files = read.files.map((f) => (rel ? `${rel}/${f}` : f));
      op.progressBytes = { estimatedWork: read.bytes, completedWork: 0 };
      await withFilteredCopy(api, op, metadataFile, async (tmp) => {
        let source = metadataFile;
        if (op.collectionIds.length > 0) {
          // The emulator imports everything: import a filtered re-export instead.
          await fsp.mkdir(work, { recursive: true });
          await api.exportTo(tmp, work);
          source = (await emulatorExportIn(work)).metadataFile;
        }
        checkLive(op);
        await api.importFrom(op.emulatorProject, source);
      });
    } finally {
      await fsp.rm(work, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Operation protos
  // -------------------------------------------------------------------------------------------------------

  /** @param {OperationRecord} op */
  function metadataFields(op) {
    return {
      startTime: msToTimestamp(op.startMs),
      ...(op.endMs === undefined ? {} : { endTime: msToTimestamp(op.endMs) }),
      operationState: op.state,
      progressDocuments: op.progressDocuments,
      progressBytes: op.progressBytes,
      collectionIds: op.collectionIds,
      ...(op.kind === 'export' ? { outputUriPrefix: op.uriPrefix } : { inputUriPrefix: op.uriPrefix }),
    };
  }

  /** google.longrunning.Operation; Any values are encoded by protobufjs from their `@type`. @param {OperationRecord} op */
  function toOperationProto(op) {
    const kind = op.kind === 'export' ? 'Export' : 'Import';
    /** @type {Record<string, unknown>} */
    const proto = {
      name: op.name,
      metadata: { '@type': `${ADMIN_TYPES}.${kind}DocumentsMetadata`, ...metadataFields(op) },
      done: op.done,
    };
    if (op.done && op.error) proto.error = { code: op.error.code, message: op.error.message, details: [] };
    else if (op.done) {
      proto.response =
        op.kind === 'export'
          ? { '@type': `${ADMIN_TYPES}.ExportDocumentsResponse`, outputUriPrefix: op.uriPrefix }
          : { '@type': 'type.googleapis.com/google.protobuf.Empty' };
    }
    return proto;
  }

  /** The control API's JSON view of an operation. @param {OperationRecord} op */
  function operationView(op) {
    const iso = (/** @type {number | undefined} */ ms) =>
      ms === undefined ? undefined : new Date(ms).toISOString();
    return {
      name: op.name,
      kind: op.kind,
      database: op.database,
      emulatorProject: op.emulatorProject,
      done: op.done,
      state: op.state,
      startTime: iso(op.startMs),
      endTime: iso(op.endMs),
      collectionIds: op.collectionIds,
      uriPrefix: op.uriPrefix,
      progressDocuments: op.progressDocuments,
      progressBytes: op.progressBytes,
      error: op.error,
      fault: op.fault ? { ...op.fault, count: undefined } : undefined,
      documentsCounted: op.documentsCounted,
      documentsByCollection: op.documentsByCollection,
      files: op.files,
    };
  }

  // -------------------------------------------------------------------------------------------------------
  // gRPC handlers
  // -------------------------------------------------------------------------------------------------------

  /** @param {{ name: string, locationId: string, type: string, uid: string, createMs: number }} d */
  const databaseProto = (d) => ({
    name: d.name,
    uid: d.uid,
    locationId: d.locationId,
    type: d.type,
    concurrencyMode: 'PESSIMISTIC',
    createTime: msToTimestamp(d.createMs),
    etag: d.uid,
  });

  /** @type {Record<string, (req: any) => Promise<unknown> | unknown>} */
  const adminImpl = {
    // Databases: a registry only (README). The Firestore emulator serves any database id whether it is
    // registered or not; the registry is what `fireops doctor` and `bootstrap` see, empty until created.
    GetDatabase(req) {
      const db = parseDatabase(req.name);
      const d = state.databases.get(db.name);
      if (!d) throw new RpcError(grpc.status.NOT_FOUND, `Database '${db.name}' does not exist.`);
      return databaseProto(d);
    },

    ListDatabases(req) {
      const parent = String(req.parent ?? '');
      return {
        databases: [...state.databases.values()]
          .filter((d) => d.name.startsWith(`${parent}/databases/`))
          .map(databaseProto),
      };
    },

    CreateDatabase(req) {
      const db = parseDatabase(`${req.parent}/databases/${req.databaseId}`);
      if (state.databases.has(db.name))
        throw new RpcError(grpc.status.ALREADY_EXISTS, `Database '${db.name}' already exists.`);
      const locationId = String(req.database?.locationId ?? '');
      if (!locationId) throw invalid('database.location_id is required.');
      const d = {
        name: db.name,
        uid: crypto.randomUUID(),
        locationId,
        type: String(req.database?.type ?? 'FIRESTORE_NATIVE'),
        createMs: Date.now(),
      };
      state.databases.set(db.name, d);
      // Created at once: the operation is answered done (not kept for GetOperation).
      return {
        name: `${db.name}/operations/create-${d.uid}`,
        done: true,
        response: { '@type': `${ADMIN_TYPES}.Database`, ...databaseProto(d) },
      };
    },

    async ExportDocuments(req) {
      const db = parseDatabase(req.name);
      const collectionIds = parseCollectionIds(req.collectionIds);
      if ((req.namespaceIds ?? []).length > 0)
        throw invalid('namespace_ids are not supported (Firestore Native mode).');
      const { bucket, objectPath } = parseGcsUri(req.outputUriPrefix, 'output_uri_prefix');
      if (!fs.existsSync(bucketFolder(bucket))) {
        if (!createBuckets) throw invalid(`Bucket ${bucket} does not exist.`);
        await fsp.mkdir(bucketFolder(bucket), { recursive: true });
      }
      const folder = objectPath || generatedExportFolder(Date.now());
      const op = newOperation('export', db, collectionIds, `gs://${bucket}/${folder}`, bucket);
      const dest = path.join(bucketFolder(bucket), ...folder.split('/'));
      runInBackground(op, () => doExport(op, db.emulatorProject, dest));
      return toOperationProto(op);
    },

    async ImportDocuments(req) {
      const db = parseDatabase(req.name);
      const collectionIds = parseCollectionIds(req.collectionIds);
      if ((req.namespaceIds ?? []).length > 0)
        throw invalid('namespace_ids are not supported (Firestore Native mode).');
      const { bucket, objectPath } = parseGcsUri(req.inputUriPrefix, 'input_uri_prefix');
      const folder = path.join(bucketFolder(bucket), ...(objectPath ? objectPath.split('/') : []));
      const metadataFile = await findMetadataFile(folder);
      if (!metadataFile) {
        throw invalid(`No export found at ${req.inputUriPrefix}: it holds no .overall_export_metadata file.`);
      }
      const op = newOperation(
        'import',
        db,
        collectionIds,
        `gs://${bucket}${objectPath ? `/${objectPath}` : ''}`,
        bucket,
      );
      runInBackground(op, () => doImport(op, metadataFile));
      return toOperationProto(op);
    },
  };

  /** @param {unknown} value */
  function getOperationRecord(value) {
    const name = typeof value === 'string' ? value : '';
    if (!OPERATION_RE.test(name)) throw invalid(`Invalid operation name [${name}].`);
    const op = state.operations.get(name);
    if (!op) throw new RpcError(grpc.status.NOT_FOUND, `Operation ${name} not found.`);
    return op;
  }

  /** @type {Record<string, (req: any) => Promise<unknown> | unknown>} */
  const operationsImpl = {
    GetOperation(req) {
      return toOperationProto(getOperationRecord(req.name));
    },

    ListOperations(req) {
      const name = String(req.name ?? '').replace(/\/operations$/, '');
      parseDatabase(name);
      const filter = String(req.filter ?? '').trim();
      const all = [...state.operations.values()]
        .filter((op) => op.database === name)
        .filter(
          (op) => !filter || (filter === 'done=true' ? op.done : filter === 'done=false' ? !op.done : true),
        )
        .sort((a, b) => b.seq - a.seq);
      const pageSize = Number(req.pageSize ?? 0) > 0 ? Number(req.pageSize) : 100;
      const offset = req.pageToken ? Number(Buffer.from(String(req.pageToken), 'base64url').toString()) : 0;
      if (!Number.isInteger(offset) || offset < 0) throw invalid('Invalid page_token.');
      const page = all.slice(offset, offset + pageSize);
      const next =
        offset + pageSize < all.length ? Buffer.from(String(offset + pageSize)).toString('base64url') : '';
      return { operations: page.map(toOperationProto), nextPageToken: next };
    },

    CancelOperation(req) {
      const op = getOperationRecord(req.name);
      if (!op.done) {
        op.cancelled = true;
        op.done = true;
        op.endMs = Date.now();
        op.state = 'CANCELLED';
        op.error = { code: grpc.status.CANCELLED, message: 'The operation was cancelled.' };
      }
      return {};
    },

    DeleteOperation(req) {
      const op = getOperationRecord(req.name);
      op.cancelled = true;
      state.operations.delete(op.name);
      return {};
    },
  };

  const defs = loadServiceDefinitions();
  const server = new grpc.Server();
  const label = 'Firestore Admin stand-in';
  server.addService(defs.admin, unaryHandlers(defs.admin, adminImpl, { service: ADMIN_SERVICE, label }));
  server.addService(
    defs.operations,
    unaryHandlers(defs.operations, operationsImpl, { service: OPERATIONS_SERVICE, label }),
  );
  const hostForBind = hostForAddress(host);
  const boundPort = await bindInsecure(server, host, port);

  // -------------------------------------------------------------------------------------------------------
  // Control API (HTTP, JSON, no auth)
  // -------------------------------------------------------------------------------------------------------

  function reset() {
    for (const op of state.operations.values()) op.cancelled = true;
    state.operations.clear();
    state.databases.clear();
    state.faults.length = 0;
    state.delayMs = initialDelayMs;
  }

  /** @param {any} body @returns {Fault} */
  function parseFault(body) {
    const next = body?.next;
    if (next !== 'fail' && next !== 'stall' && next !== 'shortfall') {
      throw badRequest("next must be 'fail', 'stall' or 'shortfall'");
    }
    const num = (/** @type {unknown} */ v, /** @type {number} */ dflt, /** @type {string} */ what) => {
      if (v === undefined || v === null) return dflt;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
        throw badRequest(`${what} must be a non-negative integer`);
      }
      return v;
    };
    const method = body.method;
    if (method !== undefined && method !== 'export' && method !== 'import') {
      throw badRequest("method must be 'export' or 'import'");
    }
    return {
      next,
      count: Math.max(1, num(body.count, 1, 'count')),
      method,
      code: num(body.code, grpc.status.INTERNAL, 'code'),
      message:
        typeof body.message === 'string' ? body.message : 'Injected failure (Firestore Admin stand-in).',
      shortfall: num(body.shortfall, 1, 'shortfall'),
      delayMs: body.delayMs === undefined ? undefined : num(body.delayMs, 0, 'delayMs'),
    };
  }

  const commonRoutes = faultAndDelayRoutes(state, { reset, parseFault });

  /** @param {string} method @param {string} sub @param {any} body @returns {import('../shared/control.mjs').JsonReply} */
  function control(method, sub, body) {
    const common = commonRoutes(method, sub, body);
    if (common) return common;
    if (method === 'GET' && (sub === '/' || sub === '/health')) {
      let firestoreHost;
      try {
        firestoreHost = resolveHost();
      } catch {
        firestoreHost = null;
      }
      return {
        status: 200,
        body: {
          ok: true,
          grpcAddress: `${hostForBind}:${boundPort}`,
          bucketsDir,
          firestoreHost,
          delayMs: state.delayMs,
        },
      };
    }
    if (method === 'GET' && sub === '/operations') {
      const ops = [...state.operations.values()].sort((a, b) => a.seq - b.seq).map(operationView);
      return { status: 200, body: { operations: ops } };
    }
    const one = /^\/operations\/(.+)$/.exec(sub);
    if (method === 'GET' && one) {
      const key = decodeURIComponent(/** @type {string} */ (one[1]));
      const op = state.operations.get(key) ?? [...state.operations.values()].find((o) => o.id === key);
      if (!op) return { status: 404, body: { error: `no operation ${key}` } };
      return { status: 200, body: operationView(op) };
    }
    return noControlRoute(method, sub);
  }

  const { server: controlServer, port: boundControlPort } = await startControlServer(
    control,
    host,
    controlPort,
  );

  let closing = /** @type {Promise<void> | undefined} */ (undefined);
  function close() {
    closing ??= (async () => {
      reset();
      await closeGrpcWithControl(server, controlServer);
      // Let background work notice the reset and clean its temporary folders and projects up (bounded).
      await Promise.race([Promise.allSettled([...running]), sleep(5000)]);
    })();
    return closing;
  }

  return {
    host,
    port: boundPort,
    address: `${hostForBind}:${boundPort}`,
    controlPort: boundControlPort,
    controlUrl: `http://${hostForBind}:${boundControlPort}`,
    bucketsDir,
    close,
    reset,
    /** Resolves once no operation work is running (stalled operations do not count). */
    idle: async () => {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    state,
  };
}

// ---------------------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------------------

if (isMain(import.meta.url)) {
  await runUntilSignal('firestore-admin stand-in', async () => {
    const args = parseFlags(
      process.argv.slice(2),
      {
        host: String,
        port: String,
        'control-port': String,
        'buckets-dir': String,
        'firestore-host': String,
        'delay-ms': String,
      },
      'usage: node emulators/firestore-admin/server.mjs [--host 127.0.0.1] [--port 9330] [--control-port 9331]\n' +
        '         --buckets-dir DIR [--firestore-host HOST:PORT] [--delay-ms 0]',
    );
    const offset = Number(process.env.FIREOPS_PORT_OFFSET ?? 0);
    const standIn = await startFirestoreAdminStandIn({
      host: args.host ?? '127.0.0.1',
      port: Number(args.port ?? 9330 + offset),
      controlPort: Number(args['control-port'] ?? 9331 + offset),
      bucketsDir:
        args['buckets-dir'] ?? process.env.FIREOPS_BUCKETS_DIR ?? path.join(ROOT, '.cache', 'buckets'),
      firestoreHost: args['firestore-host'],
      delayMs: Number(args['delay-ms'] ?? 0),
    });
    console.log(`Firestore Admin stand-in listening on ${standIn.address} (control ${standIn.controlUrl})`);
    return standIn;
  });
}
