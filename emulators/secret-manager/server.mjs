// @ts-check
/**
 * Local Secret Manager emulator: an in-memory gRPC implementation of
 * `google.cloud.secretmanager.v1.SecretManagerService`, good enough for the real
 * `SecretManagerServiceClient` from `@google-cloud/secret-manager` to talk to unchanged.
 *
 *   node emulators/secret-manager/server.mjs [--host 127.0.0.1] [--port 9323] [--seed file.json]
 *
 * See README.md next to this file for the seed format and the known differences from the real service.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import grpc from '@grpc/grpc-js';
import { isMain, parseFlags, parsePort, runUntilSignal } from '../shared/cli.mjs';
import { crc32c } from '../shared/crc32c.mjs';
import { badRequest, faultAndDelayRoutes, noControlRoute, startControlServer } from '../shared/control.mjs';
import {
  bindInsecure,
  closeGrpcWithControl,
  failedPrecondition,
  invalidArgument as invalid,
  msToTimestamp,
  notFound,
  RpcError,
  shutdownGrpc,
  unaryHandlers,
} from '../shared/grpc.mjs';
import { loadClientProtos } from '../shared/protos.mjs';
import { hostForAddress } from '../shared/servers.mjs';

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------------------

/** @typedef {{ seconds: number, nanos: number }} Timestamp */
/** @typedef {{ seconds: number, nanos: number }} Duration */
/** @typedef {'ENABLED' | 'DISABLED' | 'DESTROYED'} VersionState */

/**
 * @typedef {object} VersionRecord
 * @property {number} id 1-based version number.
 * @property {Timestamp} createTime
 * @property {Timestamp} [destroyTime]
 * @property {Timestamp} [scheduledDestroyTime] Set while a delayed destroy (version_destroy_ttl) is pending.
 * @property {VersionState} state
 * @property {Buffer | null} data null once destroyed.
 * @property {number | null} crc32c CRC32C of data; null once destroyed.
 * @property {boolean} clientSpecifiedPayloadChecksum
 * @property {string} etag
 * @property {any} [replicationStatus] google.cloud.secretmanager.v1.ReplicationStatus, fixed at creation.
 */

/**
 * @typedef {object} SecretRecord
 * @property {string} name Full resource name as returned to clients.
 * @property {string} key Canonical map key (project numbers mapped to project ids).
 * @property {string} parent `projects/{p}` or `projects/{p}/locations/{l}` as written at creation.
 * @property {string | undefined} location undefined for global secrets.
 * @property {string} secretId
 * @property {number} seq Creation order, used to sort "newest first".
 * @property {Timestamp} createTime
 * @property {any} [replication] google.cloud.secretmanager.v1.Replication (global secrets only).
 * @property {Record<string, string>} labels
 * @property {Record<string, string>} annotations
 * @property {string[]} topics Pub/Sub topic names.
 * @property {Record<string, number>} versionAliases
 * @property {{ nextRotationTime?: Timestamp, rotationPeriod?: Duration } | undefined} rotation
 * @property {Timestamp | undefined} expireTime
 * @property {Duration | undefined} versionDestroyTtl
 * @property {{ kmsKeyName: string } | undefined} customerManagedEncryption
 * @property {string | undefined} secretType
 * @property {string} etag
 * @property {VersionRecord[]} versions versions[n - 1] is version n.
 */

/**
 * @typedef {object} EmulatorState
 * @property {Map<string, SecretRecord>} secrets Keyed by canonical secret name.
 * @property {Map<string, string>} projectNumbers Project number -> project id, from the seed.
 * @property {SecretFault[]} faults Injected failures, matched in order against each call (see `parseFault`).
 * @property {number} delayMs Added before every call (the control API's `POST /delay`).
 * @property {Map<string, IamPolicy>} policies IAM policies: secret key or `projects/{id}` -> policy.
 * @property {Map<string, string[]>} customRoles Custom role name -> its permissions (control API).
 * @property {boolean} enforce When true, a call naming a principal must hold the method's permission.
 */

/**
 * An injected failure: calls to `method` (any method when absent) on a resource whose name contains
 * `/secrets/{secret}` (any when absent) answer `code` with `message`, `count` times (every time until the faults
 * are cleared when absent). For example PERMISSION_DENIED on GetSecret alone, which is what a function whose
 * account holds `roles/secretmanager.secretAccessor` but not `secrets.get` gets (issue 12).
 * @typedef {object} SecretFault
 * @property {string} [method] e.g. `GetSecret`, `AccessSecretVersion`.
 * @property {string} [secret] Secret id.
 * @property {number} code gRPC status code (default 7 PERMISSION_DENIED).
 * @property {string} message
 * @property {number | null} count Calls left to fail; null: until cleared.
 */

/**
 * @typedef {{ role: string, members: string[], condition?: any }} IamBinding
 * @typedef {{ version: number, bindings: IamBinding[], etag: Buffer }} IamPolicy
 */

/**
 * @typedef {string | { base64: string }} SeedData
 * @typedef {{ data?: SeedData, state?: VersionState, createTime?: string }} SeedVersion
 * @typedef {object} SeedSecret
 * @property {Record<string, string>} [labels]
 * @property {Record<string, string>} [annotations]
 * @property {Record<string, number>} [versionAliases]
 * @property {{ nextRotationTime?: string, rotationPeriod?: string | number }} [rotation]
 * @property {Array<string | { name: string }>} [topics]
 * @property {any} [replication] Defaults to `{ automatic: {} }` (global secrets only).
 * @property {string} [expireTime] RFC 3339.
 * @property {string | number} [versionDestroyTtl] "86400s" or seconds.
 * @property {SeedVersion[]} [versions]
 * @typedef {{ secrets?: Record<string, SeedSecret> }} SeedLocation
 * @typedef {{ projectNumber?: string | number, secrets?: Record<string, SeedSecret>, locations?: Record<string, SeedLocation> }} SeedProject
 * @typedef {{ projects?: Record<string, SeedProject> }} Seed
 */

/**
 * @typedef {object} SecretManagerEmulator
 * @property {string} host
 * @property {number} port
 * @property {string} address `host:port` (IPv6 hosts in brackets), e.g. for SECRET_MANAGER_EMULATOR_HOST.
 * @property {string | undefined} controlUrl The control API's base URL, when started with `controlPort`.
 * @property {() => Promise<void>} close Stops the server.
 * @property {() => void} reset Drops all state and re-applies the seed (if any).
 * @property {EmulatorState} state The live in-memory state (read it in tests; mutate at your own risk).
 * @property {(fault: Record<string, any>) => void} injectFault Adds a fault (same shape as `POST /_stand-in/faults`).
 * @property {number | undefined} controlPort The control API's port, when one was asked for.
 * @property {string | undefined} controlUrl e.g. 'http://127.0.0.1:9324' (routes under /_stand-in/).
 */

// ---------------------------------------------------------------------------------------------------------
// Proto loading
// ---------------------------------------------------------------------------------------------------------

const SERVICE_NAME = 'google.cloud.secretmanager.v1.SecretManagerService';

/** @returns {grpc.ServiceDefinition} */
function loadServiceDefinition() {
  const definition = loadClientProtos(
    require.resolve('@google-cloud/secret-manager/package.json'),
    'google/cloud/secretmanager/v1/service.proto',
    { longs: String },
  );
  const service = definition[SERVICE_NAME];
  if (!service) throw new Error(`${SERVICE_NAME} not found in the Secret Manager protos`);
  return /** @type {grpc.ServiceDefinition} */ (service);
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers: time, etags
// ---------------------------------------------------------------------------------------------------------

/** @param {Timestamp | Duration} t */
const toMs = (t) => t.seconds * 1000 + t.nanos / 1e6;

const nowTimestamp = () => msToTimestamp(Date.now());

/**
 * Normalises a google.protobuf.Timestamp/Duration as decoded by proto-loader (int64 seconds as strings).
 * @param {any} value
 * @returns {{ seconds: number, nanos: number }}
 */
function fromProtoTime(value) {
  const seconds = Number(value?.seconds ?? 0);
  const nanos = Number(value?.nanos ?? 0);
  if (!Number.isFinite(seconds) || !Number.isInteger(nanos) || nanos < -999_999_999 || nanos > 999_999_999) {
    throw invalid('Invalid timestamp or duration.');
  }
  return { seconds, nanos };
}

let etagCounter = 0;
/** Etags are quoted opaque strings, like the real service's, and differ on every change. */
function newEtag() {
  etagCounter += 1;
  return `"${Date.now().toString(16)}${etagCounter.toString(16).padStart(6, '0')}"`;
}

// ---------------------------------------------------------------------------------------------------------
// Resource names and field validation
// ---------------------------------------------------------------------------------------------------------

// Project ids (optionally domain-scoped, e.g. example.com:my-project) or project numbers.
const PROJECT_RE = /^(?:(?:[a-z0-9-]+\.)+[a-z]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$|^[0-9]{1,20}$/;
const LOCATION_RE = /^[a-z][a-z0-9-]{0,62}$/;
const SECRET_ID_RE = /^[A-Za-z0-9_-]{1,255}$/;
const VERSION_NUMBER_RE = /^[1-9][0-9]{0,15}$/;
const ALIAS_RE = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
const LABEL_KEY_RE = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE_RE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;
const ANNOTATION_KEY_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
const TOPIC_RE = /^projects\/[^/]+\/topics\/[^/]+$/;
const KMS_KEY_RE = /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/;
const MAX_PAYLOAD_BYTES = 64 * 1024;
const MAX_PAGE_SIZE = 25_000;

/**
 * @typedef {{ project: string, location: string | undefined, parent: string }} ParsedParent
 * @typedef {ParsedParent & { secretId: string, name: string }} ParsedSecretName
 * @typedef {ParsedSecretName & { version: string }} ParsedVersionName
 */

/** @param {string} project @param {string | undefined} location @param {string} what */
function checkProjectAndLocation(project, location, what) {
  if (!PROJECT_RE.test(project)) throw invalid(`Invalid project in ${what}.`);
  if (location !== undefined && !LOCATION_RE.test(location)) throw invalid(`Invalid location in ${what}.`);
}

/** @param {unknown} value @returns {ParsedParent} */
function parseParent(value) {
  const parent = typeof value === 'string' ? value : '';
  const m = /^projects\/([^/]+)(?:\/locations\/([^/]+))?$/.exec(parent);
  if (!m) {
    throw invalid(`Invalid resource field value in the request: parent [${parent}] must be projects/*.`);
  }
  const project = /** @type {string} */ (m[1]);
  checkProjectAndLocation(project, m[2], `parent [${parent}]`);
  return { project, location: m[2], parent };
}

/** @param {unknown} value @param {string} field @returns {ParsedSecretName} */
function parseSecretName(value, field = 'name') {
  const name = typeof value === 'string' ? value : '';
  const m = /^projects\/([^/]+)(?:\/locations\/([^/]+))?\/secrets\/([^/]+)$/.exec(name);
  if (!m) {
    throw invalid(
      `Invalid resource field value in the request: ${field} [${name}] must be projects/*/secrets/*.`,
    );
  }
  const project = /** @type {string} */ (m[1]);
  const secretId = /** @type {string} */ (m[3]);
  checkProjectAndLocation(project, m[2], `${field} [${name}]`);
  if (!SECRET_ID_RE.test(secretId)) throw invalid(`Invalid secret id in ${field} [${name}].`);
  const parent = m[2] === undefined ? `projects/${project}` : `projects/${project}/locations/${m[2]}`;
  return { project, location: m[2], parent, secretId, name };
}

/** @param {unknown} value @param {string} field @returns {ParsedVersionName} */
function parseVersionName(value, field = 'name') {
  const name = typeof value === 'string' ? value : '';
  const m = /^(projects\/[^/]+(?:\/locations\/[^/]+)?\/secrets\/[^/]+)\/versions\/([^/]+)$/.exec(name);
  if (!m) {
    throw invalid(
      `Invalid resource field value in the request: ${field} [${name}] must be projects/*/secrets/*/versions/*.`,
    );
  }
  const version = /** @type {string} */ (m[2]);
  if (version !== 'latest' && !VERSION_NUMBER_RE.test(version) && !ALIAS_RE.test(version)) {
    throw invalid(`Invalid secret version id in ${field} [${name}].`);
  }
  return { ...parseSecretName(m[1], field), version };
}

/** @param {Record<string, string> | undefined} labels @returns {Record<string, string>} */
function validateLabels(labels) {
  const entries = Object.entries(labels ?? {});
  if (entries.length > 64) throw invalid('Secret.labels: no more than 64 labels can be assigned.');
  for (const [k, v] of entries) {
    if (!LABEL_KEY_RE.test(k) || Buffer.byteLength(k) > 128)
      throw invalid(`Secret.labels: invalid key [${k}].`);
    if (!LABEL_VALUE_RE.test(v) || Buffer.byteLength(v) > 128) {
      throw invalid(`Secret.labels: invalid value for key [${k}].`);
    }
  }
  return Object.fromEntries(entries);
}

/** @param {Record<string, string> | undefined} annotations @returns {Record<string, string>} */
function validateAnnotations(annotations) {
  const entries = Object.entries(annotations ?? {});
  let size = 0;
  for (const [k, v] of entries) {
    if (!ANNOTATION_KEY_RE.test(k)) throw invalid(`Secret.annotations: invalid key [${k}].`);
    size += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (size >= 16 * 1024) throw invalid('Secret.annotations: total size must be less than 16KiB.');
  return Object.fromEntries(entries);
}

/** @param {Array<{ name?: string }> | undefined} topics @returns {string[]} */
function validateTopics(topics) {
  const names = (topics ?? []).map((t) => t?.name ?? '');
  if (names.length > 10) throw invalid('Secret.topics: at most 10 topics can be configured.');
  for (const n of names) if (!TOPIC_RE.test(n)) throw invalid(`Secret.topics: invalid topic name [${n}].`);
  return names;
}

/** @param {any} cmek @param {string} field @returns {{ kmsKeyName: string } | undefined} */
function validateCmek(cmek, field) {
  if (cmek === undefined || cmek === null) return undefined;
  const kmsKeyName = cmek.kmsKeyName ?? '';
  if (!KMS_KEY_RE.test(kmsKeyName)) throw invalid(`${field}.kms_key_name is invalid [${kmsKeyName}].`);
  return { kmsKeyName };
}

/** @param {any} replication @returns {any} a normalised google.cloud.secretmanager.v1.Replication */
function validateReplication(replication) {
  if (replication?.automatic) {
    const cmek = validateCmek(
      replication.automatic.customerManagedEncryption,
      'Secret.replication.automatic',
    );
    return { automatic: cmek ? { customerManagedEncryption: cmek } : {} };
  }
  if (replication?.userManaged) {
    /** @type {any[]} */
    const replicas = replication.userManaged.replicas ?? [];
    if (replicas.length === 0) throw invalid('Secret.replication.user_managed.replicas cannot be empty.');
    const seen = new Set();
    return {
      userManaged: {
        replicas: replicas.map((r) => {
          const location = r?.location ?? '';
          if (!LOCATION_RE.test(location)) throw invalid(`Invalid replica location [${location}].`);
          if (seen.has(location)) throw invalid(`Duplicate replica location [${location}].`);
          seen.add(location);
          const cmek = validateCmek(r.customerManagedEncryption, 'Secret.replication.user_managed.replicas');
          return cmek ? { location, customerManagedEncryption: cmek } : { location };
        }),
      },
    };
  }
  throw invalid('Secret.replication must be provided: set automatic or user_managed.');
}

/**
 * @param {any} rotation
 * @param {number} nowMs
 * @param {boolean} strict false for seeds (no "at least 5 minutes in the future" check)
 * @returns {{ nextRotationTime?: Timestamp, rotationPeriod?: Duration } | undefined}
 */
function validateRotation(rotation, nowMs, strict = true) {
  if (!rotation) return undefined;
  /** @type {{ nextRotationTime?: Timestamp, rotationPeriod?: Duration }} */
  const out = {};
  if (rotation.nextRotationTime) {
    out.nextRotationTime = fromProtoTime(rotation.nextRotationTime);
    const delta = toMs(out.nextRotationTime) - nowMs;
    if (strict && (delta < 300_000 || delta > 3_153_600_000_000)) {
      throw invalid(
        'Secret.rotation.next_rotation_time must be between 5 minutes and 100 years in the future.',
      );
    }
  }
  if (rotation.rotationPeriod) {
    out.rotationPeriod = fromProtoTime(rotation.rotationPeriod);
    const seconds = toMs(out.rotationPeriod) / 1000;
    if (seconds < 3600 || seconds > 3_153_600_000 || out.rotationPeriod.nanos !== 0) {
      throw invalid('Secret.rotation.rotation_period must be whole seconds between 3600s and 3153600000s.');
    }
    if (!out.nextRotationTime) {
      throw invalid('Secret.rotation.next_rotation_time must be set if rotation_period is set.');
    }
  }
  return out.nextRotationTime || out.rotationPeriod ? out : undefined;
}

/** @param {any} ttl @returns {Duration | undefined} */
function validateVersionDestroyTtl(ttl) {
  if (!ttl) return undefined;
  const d = fromProtoTime(ttl);
  const seconds = toMs(d) / 1000;
  if (seconds === 0) return undefined;
  if (seconds < 86_400 || seconds > 86_400_000) {
    throw invalid('Secret.version_destroy_ttl must be between 1 day and 1000 days.');
  }
  return d;
}

/**
 * @param {Record<string, string | number> | undefined} aliases
 * @param {VersionRecord[]} versions
 * @returns {Record<string, number>}
 */
function validateVersionAliases(aliases, versions) {
  const entries = Object.entries(aliases ?? {});
  if (entries.length > 50) throw invalid('Secret.version_aliases: no more than 50 aliases can be assigned.');
  /** @type {Record<string, number>} */
  const out = {};
  for (const [alias, raw] of entries) {
    if (!ALIAS_RE.test(alias) || /^(latest|new)$/i.test(alias)) {
      throw invalid(`Secret.version_aliases: invalid alias [${alias}].`);
    }
    const n = Number(raw);
    const version = Number.isInteger(n) && n > 0 ? versions[n - 1] : undefined;
    if (!version)
      throw invalid(
        `Secret.version_aliases: alias [${alias}] points to version [${raw}] which does not exist.`,
      );
    if (version.state === 'DESTROYED') {
      throw invalid(
        `Secret.version_aliases: alias [${alias}] points to version [${raw}] which is destroyed.`,
      );
    }
    out[alias] = n;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// List filtering and pagination
// ---------------------------------------------------------------------------------------------------------

/**
 * A small subset of https://cloud.google.com/secret-manager/docs/filtering: whitespace/AND-separated terms
 * `field:value`, `field=value`, `field!=value` over `name`, `labels.<key>`, `annotations.<key>` (secrets) and
 * `name`, `state` (versions); `field:*` tests presence and `*` is a wildcard in values. Anything else is
 * refused with INVALID_ARGUMENT rather than silently ignored.
 * @param {string} filter
 * @param {'secret' | 'version'} kind
 * @returns {(fields: (key: string) => string | undefined) => boolean}
 */
function compileFilter(filter, kind) {
  const tokens = (filter.match(/(?:[^\s"]+|"[^"]*")+/g) ?? []).filter((t) => t !== 'AND');
  const terms = tokens.map((token) => {
    if (/^(OR|NOT)$/.test(token) || /^[-(]|\)$/.test(token)) {
      throw invalid(`The emulator's filter support is limited to AND-ed terms; unsupported: [${filter}].`);
    }
    const m = /^([A-Za-z_][A-Za-z0-9_.-]*)(!=|=|:)(.*)$/.exec(token);
    const key = m?.[1] ?? '';
    const supported =
      kind === 'secret'
        ? key === 'name' || /^(labels|annotations)\.[^.]+$/.test(key)
        : key === 'name' || key === 'state';
    if (!m || !supported) throw invalid(`Unsupported filter term [${token}] in the Secret Manager emulator.`);
    let value = /** @type {string} */ (m[3]);
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    return { key, op: /** @type {string} */ (m[2]), value };
  });
  return (fields) =>
    terms.every(({ key, op, value }) => {
      let actual = fields(key);
      let expected = value;
      if (key === 'state') {
        actual = actual?.toUpperCase();
        expected = expected.toUpperCase();
      }
      if (op === ':' && expected === '*') return actual !== undefined;
      if (actual === undefined) return op === '!=';
      if (expected.includes('*')) {
        const pattern = expected
          .split('*')
          .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*');
        // `:` ("has") matches anywhere in the value; `=` and `!=` match the whole value.
        const re = new RegExp(op === ':' && key !== 'state' ? pattern : `^${pattern}$`);
        return op === '!=' ? !re.test(actual) : re.test(actual);
      }
      if (op === '=') return actual === expected;
      if (op === '!=') return actual !== expected;
      return key === 'state' ? actual === expected : actual.includes(expected);
    });
}

/**
 * @template T
 * @param {T[]} items already filtered and sorted
 * @param {any} request with pageSize / pageToken
 * @param {string} query identifies the listing (parent + filter), so a token can't be replayed elsewhere
 * @returns {{ page: T[], nextPageToken: string }}
 */
function paginate(items, request, query) {
  const pageSize = Number(request.pageSize ?? 0);
  if (!Number.isInteger(pageSize) || pageSize < 0) throw invalid('page_size must not be negative.');
  const size = pageSize === 0 ? MAX_PAGE_SIZE : Math.min(pageSize, MAX_PAGE_SIZE);
  let offset = 0;
  if (request.pageToken) {
    try {
      const decoded = JSON.parse(Buffer.from(String(request.pageToken), 'base64url').toString('utf8'));
      if (decoded.q !== query || !Number.isInteger(decoded.o) || decoded.o < 0) throw new Error('mismatch');
      offset = decoded.o;
    } catch {
      throw invalid('Invalid page_token.');
    }
  }
  const page = items.slice(offset, offset + size);
  const next = offset + size;
  const nextPageToken =
    next < items.length ? Buffer.from(JSON.stringify({ o: next, q: query })).toString('base64url') : '';
  return { page, nextPageToken };
}

// ---------------------------------------------------------------------------------------------------------
// State, output conversion
// ---------------------------------------------------------------------------------------------------------

/** @returns {EmulatorState} */
function createState() {
  return {
    secrets: new Map(),
    projectNumbers: new Map(),
    faults: [],
    delayMs: 0,
    policies: new Map(),
    customRoles: new Map(),
    enforce: false,
  };
}

/**
 * Parses a fault as the control API and `injectFault` take it.
 * @param {Record<string, any>} body
 * @returns {SecretFault}
 */
function parseFault(body) {
  const { method, secret, code = grpc.status.PERMISSION_DENIED, message, count } = body ?? {};
  if (method !== undefined && (typeof method !== 'string' || !/^[A-Z][A-Za-z]+$/.test(method)))
    throw badRequest('method must be a SecretManagerService method name, e.g. GetSecret');
  if (secret !== undefined && (typeof secret !== 'string' || !/^[A-Za-z0-9_-]{1,255}$/.test(secret)))
    throw badRequest('secret must be a secret id');
  if (!Number.isInteger(code) || code < 1 || code > 16)
    throw badRequest('code must be a gRPC status code 1..16');
  if (message !== undefined && typeof message !== 'string') throw badRequest('message must be a string');
  if (count !== undefined && count !== null && !(Number.isInteger(count) && count >= 1))
    throw badRequest('count must be a positive integer (or absent: until cleared)');
  return {
    ...(method ? { method } : {}),
    ...(secret ? { secret } : {}),
    code,
    message:
      message ??
      `Permission '${method ?? 'call'}' denied on resource (or it may not exist). (Injected by the Secret Manager stand-in.)`,
    count: count ?? null,
  };
}

/**
 * The fault this call meets, if any (its count is used up).
 * @param {EmulatorState} state @param {string} method @param {any} request
 */
function takeFault(state, method, request) {
  const resource = String(request?.name ?? request?.parent ?? request?.secret?.name ?? '');
  const i = state.faults.findIndex(
    (f) =>
      (!f.method || f.method === method) &&
      (!f.secret || resource.includes(`/secrets/${f.secret}/`) || resource.endsWith(`/secrets/${f.secret}`)),
  );
  if (i < 0) return undefined;
  const fault = /** @type {SecretFault} */ (state.faults[i]);
  if (fault.count !== null) {
    fault.count -= 1;
    if (fault.count <= 0) state.faults.splice(i, 1);
  }
  return fault;
}

// ---------------------------------------------------------------------------------------------------------
// IAM: policies on secrets and projects, and opt-in per-RPC enforcement for a named caller
// ---------------------------------------------------------------------------------------------------------

/** The metadata header naming the caller (`serviceAccount:x@p.iam.gserviceaccount.com`, `user:...`). */
export const PRINCIPAL_HEADER = 'x-fireops-principal';

const SM = 'secretmanager';
const ALL_SECRET_PERMISSIONS = [
  'secrets.create',
  'secrets.delete',
  'secrets.get',
  'secrets.getIamPolicy',
  'secrets.list',
  'secrets.setIamPolicy',
  'secrets.update',
  'versions.access',
  'versions.add',
  'versions.destroy',
  'versions.disable',
  'versions.enable',
  'versions.get',
  'versions.list',
].map((x) => `${SM}.${x}`);

/** Predefined roles, as documented at https://cloud.google.com/secret-manager/docs/access-control. */
const PREDEFINED_ROLES = /** @type {Record<string, string[]>} */ ({
  'roles/owner': ALL_SECRET_PERMISSIONS,
  'roles/secretmanager.admin': ALL_SECRET_PERMISSIONS,
  'roles/secretmanager.secretAccessor': [`${SM}.versions.access`],
  'roles/secretmanager.viewer': ['secrets.get', 'secrets.list', 'versions.get', 'versions.list'].map(
    (x) => `${SM}.${x}`,
  ),
  'roles/secretmanager.secretVersionAdder': [`${SM}.versions.add`],
  'roles/secretmanager.secretVersionManager': [
    'versions.add',
    'versions.destroy',
    'versions.disable',
    'versions.enable',
    'versions.get',
    'versions.list',
  ].map((x) => `${SM}.${x}`),
});

/** The permission each RPC needs, and whether it is checked on the secret or on the project. */
const METHOD_PERMISSIONS = /** @type {Record<string, [string, 'secret' | 'version' | 'project']>} */ ({
  CreateSecret: [`${SM}.secrets.create`, 'project'],
  ListSecrets: [`${SM}.secrets.list`, 'project'],
  GetSecret: [`${SM}.secrets.get`, 'secret'],
  UpdateSecret: [`${SM}.secrets.update`, 'secret'],
  DeleteSecret: [`${SM}.secrets.delete`, 'secret'],
  AddSecretVersion: [`${SM}.versions.add`, 'secret'],
  ListSecretVersions: [`${SM}.versions.list`, 'secret'],
  GetSecretVersion: [`${SM}.versions.get`, 'version'],
  AccessSecretVersion: [`${SM}.versions.access`, 'version'],
  EnableSecretVersion: [`${SM}.versions.enable`, 'version'],
  DisableSecretVersion: [`${SM}.versions.disable`, 'version'],
  DestroySecretVersion: [`${SM}.versions.destroy`, 'version'],
  GetIamPolicy: [`${SM}.secrets.getIamPolicy`, 'secret'],
  SetIamPolicy: [`${SM}.secrets.setIamPolicy`, 'secret'],
});

/** @param {EmulatorState} state @param {string} role */
function rolePermissions(state, role) {
  return state.customRoles.get(role) ?? PREDEFINED_ROLES[role] ?? [];
}

/**
 * Permissions `member` holds on a secret: its own policy plus its project's (IAM inherits downwards). Conditions
 * are not evaluated: a conditional binding grants (README: differences).
 * @param {EmulatorState} state @param {string[]} keys Policy keys, most specific first. @param {string} member
 */
function heldPermissions(state, keys, member) {
  const held = new Set();
  for (const key of keys) {
    for (const b of state.policies.get(key)?.bindings ?? []) {
      if (b.members.includes(member)) for (const perm of rolePermissions(state, b.role)) held.add(perm);
    }
  }
  return held;
}

/** @param {any} policy @returns {IamPolicy} */
function normalisePolicy(policy) {
  const bindings = (policy?.bindings ?? []).map((/** @type {any} */ b) => {
    if (typeof b.role !== 'string' || !b.role) throw invalid('Policy binding needs a role.');
    const members = [...new Set((b.members ?? []).map(String))];
    for (const m of members) {
      if (
        !/^(user|serviceAccount|group|domain|principal|principalSet):.+|^allUsers$|^allAuthenticatedUsers$/.test(
          m,
        )
      )
        throw invalid(`Invalid member '${m}' in policy binding for role ${b.role}.`);
    }
    return { role: b.role, members, ...(b.condition ? { condition: b.condition } : {}) };
  });
  return {
    version: Number(policy?.version ?? 1) || 1,
    bindings: bindings.filter((/** @type {IamBinding} */ b) => b.members.length),
    etag: Buffer.from(newEtag()),
  };
}

/** @param {IamPolicy | undefined} policy */
const policyProto = (policy) => ({
  version: policy?.version ?? 1,
  bindings: policy?.bindings ?? [],
  etag: policy?.etag ?? Buffer.from('ACAB'),
});

let secretSeq = 0;

/** @param {EmulatorState} state @param {string} project */
function canonicalProject(state, project) {
  return state.projectNumbers.get(project) ?? project;
}

/** @param {EmulatorState} state @param {{ project: string, location: string | undefined }} p */
function canonicalParent(state, p) {
  const project = canonicalProject(state, p.project);
  return p.location === undefined ? `projects/${project}` : `projects/${project}/locations/${p.location}`;
}

/** @param {EmulatorState} state @param {ParsedSecretName} p */
const secretKey = (state, p) => `${canonicalParent(state, p)}/secrets/${p.secretId}`;

/** @param {SecretRecord} rec @param {number} n */
const versionName = (rec, n) => `${rec.name}/versions/${n}`;

/**
 * Applies time-based changes lazily: expired secrets disappear, delayed destroys come due.
 * @param {EmulatorState} state
 */
function sweep(state) {
  const nowMs = Date.now();
  for (const [key, rec] of state.secrets) {
    if (rec.expireTime && toMs(rec.expireTime) <= nowMs) {
      state.secrets.delete(key);
      continue;
    }
    for (const v of rec.versions) {
      if (v.scheduledDestroyTime && toMs(v.scheduledDestroyTime) <= nowMs)
        destroyNow(v, v.scheduledDestroyTime);
    }
  }
}

/** @param {VersionRecord} v @param {Timestamp} at */
function destroyNow(v, at) {
  v.state = 'DESTROYED';
  v.data = null;
  v.crc32c = null;
  v.destroyTime = at;
  delete v.scheduledDestroyTime;
  v.etag = newEtag();
}

/** @param {SecretRecord} rec @param {VersionRecord} v */
function toVersionProto(rec, v) {
  /** @type {any} */
  const out = {
    name: versionName(rec, v.id),
    createTime: v.createTime,
    state: v.state,
    etag: v.etag,
    clientSpecifiedPayloadChecksum: v.clientSpecifiedPayloadChecksum,
  };
  if (v.destroyTime) out.destroyTime = v.destroyTime;
  if (v.scheduledDestroyTime) out.scheduledDestroyTime = v.scheduledDestroyTime;
  if (v.replicationStatus) out.replicationStatus = v.replicationStatus;
  return out;
}

/** @param {SecretRecord} rec */
function toSecretProto(rec) {
  /** @type {any} */
  const out = {
    name: rec.name,
    createTime: rec.createTime,
    labels: rec.labels,
    annotations: rec.annotations,
    topics: rec.topics.map((name) => ({ name })),
    versionAliases: Object.fromEntries(Object.entries(rec.versionAliases).map(([k, v]) => [k, String(v)])),
    etag: rec.etag,
  };
  if (rec.replication) out.replication = rec.replication;
  if (rec.expireTime) out.expireTime = rec.expireTime;
  if (rec.rotation) out.rotation = rec.rotation;
  if (rec.versionDestroyTtl) out.versionDestroyTtl = rec.versionDestroyTtl;
  if (rec.customerManagedEncryption) out.customerManagedEncryption = rec.customerManagedEncryption;
  if (rec.secretType) out.secretType = rec.secretType;
  return out;
}

/** @param {SecretRecord} rec @returns {any} */
function replicationStatusFor(rec) {
  const r = rec.replication;
  /** @param {{ kmsKeyName: string } | undefined} cmek */
  const status = (cmek) =>
    cmek ? { kmsKeyVersionName: `${cmek.kmsKeyName}/cryptoKeyVersions/1` } : undefined;
  if (r?.automatic) {
    const cmek = status(r.automatic.customerManagedEncryption);
    return { automatic: cmek ? { customerManagedEncryption: cmek } : {} };
  }
  if (r?.userManaged) {
    return {
      userManaged: {
        replicas: r.userManaged.replicas.map((/** @type {any} */ replica) => {
          const cmek = status(replica.customerManagedEncryption);
          return cmek
            ? { location: replica.location, customerManagedEncryption: cmek }
            : { location: replica.location };
        }),
      },
    };
  }
  return undefined;
}

/**
 * @param {SecretRecord} rec
 * @param {Buffer} data
 * @param {{ state?: VersionState, createTime?: Timestamp, clientSpecifiedPayloadChecksum?: boolean }} [opts]
 */
function appendVersion(rec, data, opts = {}) {
  /** @type {VersionRecord} */
  const v = {
    id: rec.versions.length + 1,
    createTime: opts.createTime ?? nowTimestamp(),
    state: 'ENABLED',
    data,
    crc32c: crc32c(data),
    clientSpecifiedPayloadChecksum: opts.clientSpecifiedPayloadChecksum ?? false,
    etag: newEtag(),
    replicationStatus: replicationStatusFor(rec),
  };
  rec.versions.push(v);
  if (opts.state === 'DISABLED') v.state = 'DISABLED';
  if (opts.state === 'DESTROYED') destroyNow(v, v.createTime);
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// Seed
// ---------------------------------------------------------------------------------------------------------

/** @param {string | number | undefined} value @param {string} where @returns {Duration | undefined} */
function seedDuration(value, where) {
  if (value === undefined) return undefined;
  const m = typeof value === 'number' ? [String(value), String(value)] : /^(\d+(?:\.\d+)?)s$/.exec(value);
  if (!m) throw new Error(`seed: ${where} must be a number of seconds or a string like "3600s"`);
  return msToTimestamp(Number(m[1]) * 1000);
}

/** @param {string | undefined} value @param {string} where @returns {Timestamp | undefined} */
function seedTimestamp(value, where) {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new Error(`seed: ${where} must be an RFC 3339 timestamp`);
  return msToTimestamp(ms);
}

/**
 * @param {EmulatorState} state
 * @param {Seed} seed
 */
function applySeed(state, seed) {
  if (typeof seed !== 'object' || seed === null) throw new Error('seed: expected an object');
  for (const [project, projectSeed] of Object.entries(seed.projects ?? {})) {
    if (!PROJECT_RE.test(project)) throw new Error(`seed: invalid project id [${project}]`);
    if (projectSeed.projectNumber !== undefined) {
      const number = String(projectSeed.projectNumber);
      if (!/^[0-9]{1,20}$/.test(number)) throw new Error(`seed: invalid projectNumber for [${project}]`);
      state.projectNumbers.set(number, project);
    }
    /** @type {Array<[string | undefined, Record<string, SeedSecret>]>} */
    const groups = [[undefined, projectSeed.secrets ?? {}]];
    for (const [location, loc] of Object.entries(projectSeed.locations ?? {})) {
      if (!LOCATION_RE.test(location)) throw new Error(`seed: invalid location [${location}]`);
      groups.push([location, loc.secrets ?? {}]);
    }
    for (const [location, secrets] of groups) {
      for (const [secretId, s] of Object.entries(secrets)) seedSecret(state, project, location, secretId, s);
    }
  }
}

/**
 * @param {EmulatorState} state
 * @param {string} project
 * @param {string | undefined} location
 * @param {string} secretId
 * @param {SeedSecret} s
 */
function seedSecret(state, project, location, secretId, s) {
  const parent = location === undefined ? `projects/${project}` : `projects/${project}/locations/${location}`;
  const where = `${parent}/secrets/${secretId}`;
  if (!SECRET_ID_RE.test(secretId)) throw new Error(`seed: invalid secret id [${secretId}]`);
  try {
    const createTime = nowTimestamp();
    /** @type {SecretRecord} */
    const rec = {
      name: where,
      key: where,
      parent,
      location,
      secretId,
      seq: ++secretSeq,
      createTime,
      replication:
        location === undefined ? validateReplication(s.replication ?? { automatic: {} }) : undefined,
      labels: validateLabels(s.labels),
      annotations: validateAnnotations(s.annotations),
      topics: validateTopics((s.topics ?? []).map((t) => (typeof t === 'string' ? { name: t } : t))),
      versionAliases: {},
      rotation: s.rotation
        ? {
            nextRotationTime: seedTimestamp(s.rotation.nextRotationTime, 'rotation.nextRotationTime'),
            rotationPeriod: seedDuration(s.rotation.rotationPeriod, 'rotation.rotationPeriod'),
          }
        : undefined,
      expireTime: seedTimestamp(s.expireTime, 'expireTime'),
      versionDestroyTtl: seedDuration(s.versionDestroyTtl, 'versionDestroyTtl'),
      customerManagedEncryption: undefined,
      secretType: undefined,
      etag: newEtag(),
      versions: [],
    };
    for (const [i, v] of (s.versions ?? []).entries()) {
      const raw = v.data ?? '';
      const data = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : Buffer.from(raw.base64, 'base64');
      if (data.length > MAX_PAYLOAD_BYTES) throw new Error(`versions[${i}].data is larger than 64KiB`);
      if (v.state !== undefined && !['ENABLED', 'DISABLED', 'DESTROYED'].includes(v.state)) {
        throw new Error(`versions[${i}].state must be ENABLED, DISABLED or DESTROYED`);
      }
      appendVersion(rec, data, {
        state: v.state,
        createTime: seedTimestamp(v.createTime, `versions[${i}].createTime`) ?? createTime,
      });
    }
    rec.versionAliases = validateVersionAliases(s.versionAliases, rec.versions);
    const key = secretKey(state, { project, location, parent, secretId, name: where });
    if (state.secrets.has(key)) throw new Error('declared twice');
    rec.key = key;
    state.secrets.set(key, rec);
  } catch (err) {
    throw new Error(`seed: ${where}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** @param {Seed | string | undefined} seed @returns {Seed | undefined} */
function loadSeed(seed) {
  if (seed === undefined || seed === null) return undefined;
  if (typeof seed === 'string') return JSON.parse(fs.readFileSync(seed, 'utf8'));
  return seed;
}

// ---------------------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------------------

/** @param {EmulatorState} state @param {grpc.ServiceDefinition} definition */
function createHandlers(state, definition) {
  /** @param {ParsedSecretName} p */
  function getSecretRecord(p) {
    const rec = state.secrets.get(secretKey(state, p));
    if (!rec) throw notFound(`Secret [${p.name}] not found.`);
    return rec;
  }

  /** @param {ParsedVersionName} p */
  function getVersionRecord(p) {
    const rec = state.secrets.get(secretKey(state, p));
    if (!rec) throw notFound(`Secret [${p.parent}/secrets/${p.secretId}] not found or has no versions.`);
    /** @type {VersionRecord | undefined} */
    let v;
    if (p.version === 'latest') {
      v = rec.versions[rec.versions.length - 1];
      if (!v) throw notFound(`Secret [${rec.name}] not found or has no versions.`);
    } else if (VERSION_NUMBER_RE.test(p.version)) {
      v = rec.versions[Number(p.version) - 1];
    } else {
      const n = rec.versionAliases[p.version];
      v = n === undefined ? undefined : rec.versions[n - 1];
    }
    if (!v) throw notFound(`Secret Version [${p.name}] not found.`);
    return { rec, v };
  }

  /** @param {string | undefined} requestEtag @param {string} currentEtag @param {string} what */
  function checkEtag(requestEtag, currentEtag, what) {
    if (requestEtag && requestEtag !== currentEtag) {
      throw new RpcError(
        grpc.status.ABORTED,
        `The etag provided for ${what} does not match the current etag.`,
      );
    }
  }

  /** @param {any} secret @param {number} nowMs @returns {Timestamp | undefined} */
  function expirationFrom(secret, nowMs) {
    if (secret.ttl) {
      const ttlMs = toMs(fromProtoTime(secret.ttl));
      if (ttlMs <= 0) throw invalid('Secret.ttl must be positive.');
      return msToTimestamp(nowMs + ttlMs);
    }
    if (secret.expireTime) {
      const t = fromProtoTime(secret.expireTime);
      if (toMs(t) <= nowMs) throw invalid('Secret.expire_time must be in the future.');
      return t;
    }
    return undefined;
  }

  /** @param {SecretRecord | { rotation: unknown, topics: string[] }} s */
  function checkRotationNeedsTopics(s) {
    if (s.rotation && s.topics.length === 0) {
      throw invalid('Secret.topics must be set to configure rotation.');
    }
  }

  /** @type {Record<string, (request: any, metadata?: any) => any>} */
  const impl = {
    ListSecrets(req) {
      const p = parseParent(req.parent);
      const parent = canonicalParent(state, p);
      const filter = String(req.filter ?? '');
      const match = compileFilter(filter, 'secret');
      const all = [...state.secrets.values()]
        .filter((rec) => rec.key.startsWith(`${parent}/secrets/`))
        .filter((rec) =>
          match((key) => {
            if (key === 'name') return rec.name;
            const [group, sub] = /** @type {[string, string]} */ (key.split(/\.(.*)/s));
            return group === 'labels' ? rec.labels[sub] : rec.annotations[sub];
          }),
        )
        .sort((a, b) => b.seq - a.seq);
      const { page, nextPageToken } = paginate(all, req, `${parent}\n${filter}`);
      return { secrets: page.map(toSecretProto), nextPageToken, totalSize: filter ? 0 : all.length };
    },

    CreateSecret(req) {
      const p = parseParent(req.parent);
      const secretId = String(req.secretId ?? '');
      if (!SECRET_ID_RE.test(secretId)) {
        throw invalid(
          `Invalid secret_id [${secretId}]: must be 1-255 characters of letters, numerals, hyphens and underscores.`,
        );
      }
      const secret = req.secret;
      if (!secret) throw invalid('Secret must be provided.');
      const nowMs = Date.now();
      let replication;
      if (p.location === undefined) {
        replication = validateReplication(secret.replication);
      } else if (secret.replication) {
        throw invalid('Secret.replication should not be provided for regional secrets.');
      }
      const topics = validateTopics(secret.topics);
      const rotation = validateRotation(secret.rotation, nowMs);
      checkRotationNeedsTopics({ rotation, topics });
      const name = `${p.parent}/secrets/${secretId}`;
      /** @type {SecretRecord} */
      const rec = {
        name,
        key: '',
        parent: p.parent,
        location: p.location,
        secretId,
        seq: ++secretSeq,
        createTime: msToTimestamp(nowMs),
        replication,
        labels: validateLabels(secret.labels),
        annotations: validateAnnotations(secret.annotations),
        topics,
        versionAliases: validateVersionAliases(secret.versionAliases, []),
        rotation,
        expireTime: expirationFrom(secret, nowMs),
        versionDestroyTtl: validateVersionDestroyTtl(secret.versionDestroyTtl),
        customerManagedEncryption: validateCmek(
          secret.customerManagedEncryption,
          'Secret.customer_managed_encryption',
        ),
        secretType:
          secret.secretType && secret.secretType !== 'SECRET_TYPE_UNSPECIFIED'
            ? secret.secretType
            : undefined,
        etag: newEtag(),
        versions: [],
      };
      rec.key = secretKey(state, { ...p, secretId, name });
      if (state.secrets.has(rec.key))
        throw new RpcError(grpc.status.ALREADY_EXISTS, `Secret [${name}] already exists.`);
      state.secrets.set(rec.key, rec);
      return toSecretProto(rec);
    },

    AddSecretVersion(req) {
      const rec = getSecretRecord(parseSecretName(req.parent, 'parent'));
      const payload = req.payload;
      if (!payload) throw invalid('Field [payload] is required.');
      const data = Buffer.from(payload.data ?? []);
      if (data.length > MAX_PAYLOAD_BYTES) throw invalid('SecretPayload.data must be no larger than 64KiB.');
      const computed = crc32c(data);
      const clientSpecified = payload.dataCrc32c !== undefined && payload.dataCrc32c !== null;
      if (clientSpecified && BigInt(payload.dataCrc32c) !== BigInt(computed)) {
        throw invalid('Checksum mismatch: SecretPayload.data_crc32c does not match the CRC32C of the data.');
      }
      const v = appendVersion(rec, data, { clientSpecifiedPayloadChecksum: clientSpecified });
      return toVersionProto(rec, v);
    },

    GetSecret(req) {
      return toSecretProto(getSecretRecord(parseSecretName(req.name)));
    },

    UpdateSecret(req) {
      const secret = req.secret;
      if (!secret) throw invalid('Secret must be provided.');
      const rec = getSecretRecord(parseSecretName(secret.name, 'secret.name'));
      /** @type {string[]} */
      const paths = (req.updateMask?.paths ?? []).map((/** @type {string} */ path) =>
        path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
      );
      if (paths.length === 0) throw invalid('update_mask must be provided and non-empty.');
      checkEtag(secret.etag, rec.etag, `secret [${rec.name}]`);
      const nowMs = Date.now();
      const next = {
        labels: rec.labels,
        annotations: rec.annotations,
        topics: rec.topics,
        versionAliases: rec.versionAliases,
        rotation: rec.rotation,
        expireTime: rec.expireTime,
        versionDestroyTtl: rec.versionDestroyTtl,
      };
      for (const path of paths) {
        switch (path) {
          case 'labels':
            next.labels = validateLabels(secret.labels);
            break;
          case 'annotations':
            next.annotations = validateAnnotations(secret.annotations);
            break;
          case 'topics':
            next.topics = validateTopics(secret.topics);
            break;
          case 'version_aliases':
            next.versionAliases = validateVersionAliases(secret.versionAliases, rec.versions);
            break;
          case 'rotation':
            next.rotation = validateRotation(secret.rotation, nowMs);
            break;
          case 'rotation.next_rotation_time':
          case 'rotation.rotation_period': {
            const field = path === 'rotation.next_rotation_time' ? 'nextRotationTime' : 'rotationPeriod';
            const merged = { ...next.rotation, [field]: secret.rotation?.[field] };
            if (!merged[field]) delete merged[field];
            next.rotation = validateRotation(merged, nowMs);
            break;
          }
          case 'expire_time':
          case 'ttl':
            // An empty expire_time/ttl with the path in the mask removes the expiration.
            next.expireTime = expirationFrom(secret, nowMs);
            break;
          case 'version_destroy_ttl':
            next.versionDestroyTtl = validateVersionDestroyTtl(secret.versionDestroyTtl);
            break;
          default:
            throw invalid(
              `update_mask path [${path}] is not supported: the field is immutable, output only or unknown.`,
            );
        }
      }
      checkRotationNeedsTopics(next);
      Object.assign(rec, next, { etag: newEtag() });
      return toSecretProto(rec);
    },

    DeleteSecret(req) {
      const p = parseSecretName(req.name);
      const rec = getSecretRecord(p);
      checkEtag(req.etag, rec.etag, `secret [${rec.name}]`);
      state.secrets.delete(rec.key);
      return {};
    },

    ListSecretVersions(req) {
      const rec = getSecretRecord(parseSecretName(req.parent, 'parent'));
      const filter = String(req.filter ?? '');
      const match = compileFilter(filter, 'version');
      const all = rec.versions
        .filter((v) => match((key) => (key === 'name' ? versionName(rec, v.id) : v.state)))
        .reverse();
      const { page, nextPageToken } = paginate(all, req, `${rec.key}\n${filter}`);
      return {
        versions: page.map((v) => toVersionProto(rec, v)),
        nextPageToken,
        totalSize: filter ? 0 : all.length,
      };
    },

    GetSecretVersion(req) {
      const { rec, v } = getVersionRecord(parseVersionName(req.name));
      return toVersionProto(rec, v);
    },

    AccessSecretVersion(req) {
      const { rec, v } = getVersionRecord(parseVersionName(req.name));
      const name = versionName(rec, v.id);
      if (v.state !== 'ENABLED' || !v.data)
        throw failedPrecondition(`Secret Version [${name}] is in ${v.state} state.`);
      return { name, payload: { data: v.data, dataCrc32c: String(v.crc32c) } };
    },

    DisableSecretVersion(req) {
      const { rec, v } = getVersionRecord(parseVersionName(req.name));
      checkEtag(req.etag, v.etag, `secret version [${versionName(rec, v.id)}]`);
      if (v.state === 'DESTROYED') {
        throw failedPrecondition(`Secret Version [${versionName(rec, v.id)}] is in DESTROYED state.`);
      }
      v.state = 'DISABLED';
      delete v.scheduledDestroyTime;
      v.etag = newEtag();
      return toVersionProto(rec, v);
    },

    EnableSecretVersion(req) {
      const { rec, v } = getVersionRecord(parseVersionName(req.name));
      checkEtag(req.etag, v.etag, `secret version [${versionName(rec, v.id)}]`);
      if (v.state === 'DESTROYED') {
        throw failedPrecondition(`Secret Version [${versionName(rec, v.id)}] is in DESTROYED state.`);
      }
      v.state = 'ENABLED';
      delete v.scheduledDestroyTime;
      v.etag = newEtag();
      return toVersionProto(rec, v);
    },

    GetIamPolicy(req) {
      const rec = getSecretRecord(parseSecretName(req.resource, 'resource'));
      return policyProto(state.policies.get(rec.key));
    },

    SetIamPolicy(req) {
      const rec = getSecretRecord(parseSecretName(req.resource, 'resource'));
      const current = state.policies.get(rec.key);
      const etag = req.policy?.etag?.length ? Buffer.from(req.policy.etag).toString() : '';
      if (etag && current && etag !== current.etag.toString()) {
        throw new RpcError(
          grpc.status.ABORTED,
          'There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.',
        );
      }
      const policy = normalisePolicy(req.policy);
      state.policies.set(rec.key, policy);
      return policyProto(policy);
    },

    TestIamPermissions(req, metadata) {
      const rec = getSecretRecord(parseSecretName(req.resource, 'resource'));
      const asked = (req.permissions ?? []).map(String);
      const member = callerOf(metadata);
      // No named caller: the stand-in's owner, who holds everything (as the real API answers a project owner).
      if (!member) return { permissions: asked };
      const held = heldPermissions(state, [rec.key, projectKey(rec.key)], member);
      return { permissions: asked.filter((/** @type {string} */ x) => held.has(x)) };
    },

    DestroySecretVersion(req) {
      const { rec, v } = getVersionRecord(parseVersionName(req.name));
      const name = versionName(rec, v.id);
      checkEtag(req.etag, v.etag, `secret version [${name}]`);
      if (v.state === 'DESTROYED') throw failedPrecondition(`Secret Version [${name}] is already DESTROYED.`);
      const aliases = Object.entries(rec.versionAliases)
        .filter(([, n]) => n === v.id)
        .map(([alias]) => alias);
      if (aliases.length > 0) {
        throw failedPrecondition(
          `Secret Version [${name}] is referenced by version aliases [${aliases.join(', ')}]; ` +
            'remove or repoint them with UpdateSecret before destroying it.',
        );
      }
      const nowMs = Date.now();
      if (rec.versionDestroyTtl && toMs(rec.versionDestroyTtl) > 0) {
        // Delayed destruction: disabled now, destroyed once scheduled_destroy_time has passed.
        v.state = 'DISABLED';
        v.scheduledDestroyTime = msToTimestamp(nowMs + toMs(rec.versionDestroyTtl));
        v.etag = newEtag();
      } else {
        destroyNow(v, msToTimestamp(nowMs));
      }
      return toVersionProto(rec, v);
    },
  };

  /** @param {any} metadata @returns {string | undefined} */
  function callerOf(metadata) {
    const value = metadata?.get?.(PRINCIPAL_HEADER)?.[0];
    return value ? String(value) : undefined;
  }

  /** @param {string} key */
  function projectKey(key) {
    return key.split('/').slice(0, 2).join('/');
  }

  /**
   * With enforcement on, a call naming its caller needs the method's permission on the resource, else
   * PERMISSION_DENIED worded like the real API's. A call naming no caller is the owner's (the suite's own setup).
   * @param {string} method @param {any} request @param {any} metadata
   */
  function enforce(method, request, metadata) {
    const member = callerOf(metadata);
    const need = METHOD_PERMISSIONS[method];
    if (!member || !need) return;
    const [permission, scope] = need;
    let resource;
    /** @type {string[]} */
    let keys;
    if (scope === 'project') {
      const p = parseParent(request.parent);
      resource = p.parent;
      keys = [`projects/${canonicalProject(state, p.project)}`];
    } else {
      const raw = request.name ?? request.parent ?? request.resource ?? request.secret?.name;
      const p = scope === 'version' ? parseVersionName(raw) : parseSecretName(raw, 'name');
      const key = secretKey(state, p);
      resource = raw;
      keys = [key, projectKey(key)];
    }
    if (!heldPermissions(state, keys, member).has(permission)) {
      throw new RpcError(
        grpc.status.PERMISSION_DENIED,
        `Permission '${permission}' denied for resource '${resource}' (or it may not exist).`,
      );
    }
  }

  // Every other method (managed rotation...) answers UNIMPLEMENTED.
  /** @type {Record<string, number>} */
  const calls = {};
  Object.defineProperty(state, 'calls', { value: calls, enumerable: false });
  return unaryHandlers(definition, impl, {
    service: SERVICE_NAME,
    label: 'Secret Manager emulator',
    before: (method, request, metadata) => {
      // Calls per method, for benchmarks that count what an operation costs.
      calls[method] = (calls[method] ?? 0) + 1;
      const fault = takeFault(state, method, request);
      if (fault) throw new RpcError(fault.code, fault.message);
      sweep(state);
      if (state.enforce) enforce(method, request, metadata);
      return state.delayMs > 0 ? new Promise((resolve) => setTimeout(resolve, state.delayMs)) : undefined;
    },
  });
}

// ---------------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------------

/**
 * Starts the emulator. `port: 0` picks a free port; `seed` is a seed object or a path to a seed JSON file;
 * `controlPort` (0: any free port) starts the control API (faults, reset), absent: none.
 * @param {{ host?: string, port?: number, seed?: Seed | string, controlPort?: number }} [options]
 * @returns {Promise<SecretManagerEmulator>}
 */
export async function startSecretManagerEmulator({ host = '127.0.0.1', port = 0, seed, controlPort } = {}) {
  const seedObject = loadSeed(seed);
  const state = createState();
  const reset = () => {
    state.secrets.clear();
    state.projectNumbers.clear();
    state.faults.length = 0;
    state.delayMs = 0;
    state.policies.clear();
    state.customRoles.clear();
    state.enforce = false;
    if (seedObject) applySeed(state, seedObject);
  };
  reset();

  const server = new grpc.Server();
  const definition = loadServiceDefinition();
  server.addService(definition, createHandlers(state, definition));
  const hostForBind = hostForAddress(host);
  const boundPort = await bindInsecure(server, host, port);

  const common = faultAndDelayRoutes(state, { reset, parseFault });
  const iam = iamControlRoutes(state);
  /** @type {import('../shared/control.mjs').ControlRoutes} */
  const routes = (method, sub, body) => common(method, sub, body) ?? iam(method, sub, body);
  const control = controlPort === undefined ? undefined : await startControlServer(routes, host, controlPort);

  /** @type {Promise<void> | undefined} */
  let closing;
  const close = () =>
    (closing ??= control ? closeGrpcWithControl(server, control.server) : shutdownGrpc(server));

  return {
    host,
    port: boundPort,
    address: `${hostForBind}:${boundPort}`,
    close,
    reset,
    state,
    injectFault: (fault) => void state.faults.push(parseFault(fault)),
    controlPort: control?.port,
    controlUrl: control ? `http://${hostForBind}:${control.port}` : undefined,
  };
}

/**
 * IAM control routes (README: Control API), beside the shared reset, faults and delay routes: `POST /enforce` (`{ "enabled": bool }`), `POST /roles`
 * (`{ "name", "permissions" }`: a custom role), `POST /project-iam` (`{ "project", "bindings" }`: the project's
 * policy, inherited by its secrets), `GET /` (a summary).
 * @param {EmulatorState} state
 * @returns {import('../shared/control.mjs').ControlRoutes}
 */
function iamControlRoutes(state) {
  return (method, sub, body) => {
    if (method === 'POST' && sub === '/enforce') {
      if (typeof body.enabled !== 'boolean') throw badRequest('enabled must be a boolean');
      state.enforce = body.enabled;
      return { status: 200, body: { enforce: state.enforce } };
    }
    if (method === 'POST' && sub === '/roles') {
      if (typeof body.name !== 'string' || !Array.isArray(body.permissions))
        throw badRequest('a role needs a name and permissions');
      state.customRoles.set(body.name, body.permissions.map(String));
      return { status: 200, body: { name: body.name, permissions: state.customRoles.get(body.name) } };
    }
    if (method === 'POST' && sub === '/project-iam') {
      if (typeof body.project !== 'string') throw badRequest('project must be a project id');
      state.policies.set(`projects/${body.project}`, normalisePolicy({ bindings: body.bindings ?? [] }));
      return { status: 200, body: { ok: true } };
    }
    if (method === 'GET' && sub === '/') {
      return {
        status: 200,
        body: {
          enforce: state.enforce,
          secrets: [...state.secrets.keys()],
          policies: Object.fromEntries([...state.policies].map(([k, v]) => [k, v.bindings])),
        },
      };
    }
    return noControlRoute(method, sub);
  };
}

// ---------------------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------------------

if (isMain(import.meta.url)) {
  await runUntilSignal('secret-manager emulator', async () => {
    const args = parseFlags(
      process.argv.slice(2),
      { host: String, port: parsePort, seed: String, 'control-port': parsePort },
      'usage: node emulators/secret-manager/server.mjs [--host 127.0.0.1] [--port 9323] [--control-port 9324] [--seed file.json]',
    );
    const { 'control-port': controlPort, ...rest } = args;
    // The control API beside the gRPC port (9324 by default); any free port when the gRPC one is any free port.
    const port = rest.port ?? 9323;
    const emulator = await startSecretManagerEmulator({
      ...rest,
      port,
      controlPort: controlPort ?? (port === 0 ? 0 : port + 1),
    });
    console.log(`Secret Manager emulator listening on ${emulator.address}`);
    console.log(`Secret Manager emulator control API on ${emulator.controlUrl}`);
    return emulator;
  });
}
