// @ts-check
/**
 * Local stand-in for the Cloud Run Admin API v2, the part a canary router uses: a gRPC server implementing
 * `google.cloud.run.v2.Services` (`GetService`, `ListServices`, `UpdateService` as a long-running operation),
 * `google.cloud.run.v2.Revisions` (`GetRevision`, `ListRevisions`) and `google.longrunning.Operations`
 * (`GetOperation`), good enough for the real `ServicesClient`/`RevisionsClient` of `@google-cloud/run` to talk to
 * unchanged. Google ships no emulator for it.
 *
 *   node emulators/cloud-run/server.mjs [--port 9335] [--control-port 9336] [--delay-ms 50]
 *
 * Services and revisions live in memory and are seeded through a small HTTP control API (`/_stand-in/...`), which
 * also injects faults. See README.md next to this file for the routes and the known differences from Cloud Run.
 */
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import { isMain, parseFlags, parsePort, runUntilSignal } from '../shared/cli.mjs';
import { loadClientProtos } from '../shared/protos.mjs';
import { badRequest, faultAndDelayRoutes, noControlRoute, startControlServer } from '../shared/control.mjs';
import {
  bindInsecure,
  closeGrpcWithControl,
  invalidArgument as invalid,
  msToTimestamp,
  notFound,
  RpcError,
  unaryHandlers,
} from '../shared/grpc.mjs';
import { hostForAddress } from '../shared/servers.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// The Google client packages live in functions/node_modules (the copies the functions use).
const fnRequire = createRequire(path.join(ROOT, 'functions', 'package.json'));

const SERVICES = 'google.cloud.run.v2.Services';
const REVISIONS = 'google.cloud.run.v2.Revisions';
const OPERATIONS = 'google.longrunning.Operations';
const RUN_TYPES = 'type.googleapis.com/google.cloud.run.v2';
const REVISION_TYPE = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';
const LATEST_TYPE = 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST';

// ---------------------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------------------

/** @typedef {{ type: string, revision: string, percent: number, tag: string }} Target */
/** @typedef {{ seconds: number, nanos: number }} Timestamp */

/**
 * @typedef {object} ServiceRecord
 * @property {string} name `projects/{p}/locations/{l}/services/{s}`
 * @property {string} uid
 * @property {number} generation Bumped by every accepted update.
 * @property {number} observedGeneration The generation the traffic statuses reflect.
 * @property {number} createMs
 * @property {number} updateMs
 * @property {string[]} revisions Short revision names, oldest first; the last is the latest (ready and created).
 * @property {Target[]} traffic The desired split (the spec).
 * @property {Target[]} trafficStatuses The split being served.
 * @property {Record<string, string>} labels
 * @property {Record<string, string>} annotations
 * @property {string} description
 * @property {unknown} template Echoed back as given at seeding (updates to it create no revision here).
 * @property {boolean} reconciling
 * @property {{ type: string, state: string, message: string, ms: number } | undefined} terminalCondition
 */

/**
 * @typedef {object} Fault
 * @property {'fail' | 'unavailable'} next `fail`: the operation ends with an error and the service is left as it
 *   was; `unavailable`: the UpdateService call itself answers UNAVAILABLE.
 * @property {number} count Updates still to be affected.
 * @property {number} code gRPC code of the operation error (`fail`; default 13 INTERNAL).
 * @property {string} message
 */

/**
 * @typedef {object} OperationRecord
 * @property {string} name `projects/{p}/locations/{l}/operations/{id}`
 * @property {string} service
 * @property {boolean} done
 * @property {{ code: number, message: string } | undefined} error
 * @property {number} seq
 */

// ---------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------

const SERVICE_RE = /^projects\/([^/]+)\/locations\/([^/]+)\/services\/([a-z]([-a-z0-9]{0,47}[a-z0-9])?)$/;
const PARENT_RE = /^projects\/([^/]+)\/locations\/([^/]+)$/;
const REVISION_NAME_RE = /^(projects\/[^/]+\/locations\/[^/]+\/services\/[^/]+)\/revisions\/([^/]+)$/;
const OPERATION_RE = /^projects\/[^/]+\/locations\/[^/]+\/operations\/[^/]+$/;
const SHORT_REVISION_RE = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const TAG_RE = /^[a-z]([-a-z0-9]{0,44}[a-z0-9])?$/;

/** @param {unknown} value */
function parseServiceName(value) {
  const name = typeof value === 'string' ? value : '';
  const m = SERVICE_RE.exec(name);
  if (!m) {
    throw invalid(
      `Invalid resource name [${name}]: must be projects/{project}/locations/{location}/services/{service}.`,
    );
  }
  return {
    name,
    project: /** @type {string} */ (m[1]),
    location: /** @type {string} */ (m[2]),
    id: /** @type {string} */ (m[3]),
  };
}

/** @param {Target[]} targets @returns {Record<string, unknown>[]} */
const targetProtos = (targets) =>
  targets.map((t) => ({
    type: t.type,
    ...(t.revision ? { revision: t.revision } : {}),
    percent: t.percent,
    ...(t.tag ? { tag: t.tag } : {}),
  }));

// ---------------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------------

/**
 * @typedef {object} StandInOptions
 * @property {string} [host] Default 127.0.0.1.
 * @property {number} [port] gRPC port (0: any free port).
 * @property {number} [controlPort] HTTP control API port (0: any free port).
 * @property {number} [delayMs] How long an UpdateService operation runs before it completes (default 50).
 */

/**
 * @typedef {object} CloudRunStandIn
 * @property {string} host
 * @property {number} port
 * @property {string} address `host:port` of the gRPC server, for CLOUD_RUN_EMULATOR_HOST.
 * @property {number} controlPort
 * @property {string} controlUrl e.g. 'http://127.0.0.1:9336' (routes under /_stand-in/).
 * @property {() => Promise<void>} close
 * @property {() => void} reset Forgets services, operations, faults and recorded updates; restores the initial delay.
 * @property {(body: any) => Record<string, unknown>} seedService Seeds or replaces a service (the body of
 *   `POST /_stand-in/services`); returns it as a google.cloud.run.v2.Service object.
 * @property {{ services: Map<string, ServiceRecord>, operations: Map<string, OperationRecord>, faults: Fault[],
 *   delayMs: number, updates: { service: string, traffic: Target[], outcome: string }[] }} state
 */

/** @param {StandInOptions} [options] @returns {Promise<CloudRunStandIn>} */
export async function startCloudRunStandIn(options = {}) {
  const { host = '127.0.0.1', port = 0, controlPort = 0 } = options;
  const initialDelayMs = Math.max(0, Number(options.delayMs ?? 50));

  const state = {
    /** @type {Map<string, ServiceRecord>} */
    services: new Map(),
    /** @type {Map<string, OperationRecord>} */
    operations: new Map(),
    /** @type {Fault[]} */
    faults: [],
    delayMs: initialDelayMs,
    /** Every UpdateService call that reached the stand-in, in order (for tests). */
    updates: /** @type {{ service: string, traffic: Target[], outcome: string }[]} */ ([]),
  };
  let seq = 0;
  /** @type {Set<NodeJS.Timeout>} */
  const timers = new Set();

  /** @param {string} name */
  function getServiceRecord(name) {
    parseServiceName(name);
    const svc = state.services.get(name);
    if (!svc)
      throw notFound(`Resource '${name.split('/').pop()}' of kind 'SERVICE' in region does not exist.`);
    return svc;
  }

  /** @param {ServiceRecord} svc @param {string} revision short name */
  const revisionName = (svc, revision) => `${svc.name}/revisions/${revision}`;
  /** @param {ServiceRecord} svc */
  const latest = (svc) => /** @type {string} */ (svc.revisions[svc.revisions.length - 1]);
  /** @param {ServiceRecord} svc */
  const serviceUri = (svc) => {
    const { id } = parseServiceName(svc.name);
    const hash = crypto.createHash('sha256').update(svc.name).digest('hex').slice(0, 10);
    return `https://${id}-${hash}.a.run.app`;
  };

  /**
   * What is served for a desired split: LATEST resolved to the latest ready revision, untagged 0% entries
   * dropped (tagged ones stay: a tag has a URL of its own even without traffic).
   * @param {ServiceRecord} svc @param {Target[]} traffic @returns {Target[]}
   */
  function statusesFor(svc, traffic) {
    return traffic
      .filter((t) => t.percent > 0 || t.tag)
      .map((t) => ({
        type: t.type,
        revision: t.type === LATEST_TYPE ? latest(svc) : t.revision,
        percent: t.percent,
        tag: t.tag,
      }));
  }

  /**
   * Validates a split the way Cloud Run does; returns it normalised (short revision names, integer percents).
   * @param {ServiceRecord} svc @param {unknown} raw @returns {Target[]}
   */
  function parseTraffic(svc, raw) {
    const list = Array.isArray(raw) ? raw : [];
    if (list.length === 0) return [{ type: LATEST_TYPE, revision: '', percent: 100, tag: '' }];
    /** @type {Target[]} */
    const out = [];
    const seenRevisions = new Set();
    const seenTags = new Set();
    let sum = 0;
    for (const [i, t] of list.entries()) {
      const type = String(t?.type ?? 'TRAFFIC_TARGET_ALLOCATION_TYPE_UNSPECIFIED');
      let revision = String(t?.revision ?? '');
      const percent = Number(t?.percent ?? 0);
      const tag = String(t?.tag ?? '');
      if (type !== REVISION_TYPE && type !== LATEST_TYPE) {
        throw invalid(`spec.traffic[${i}].type: must be ${REVISION_TYPE} or ${LATEST_TYPE}, got ${type}.`);
      }
      if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
        throw invalid(`spec.traffic[${i}].percent: must be an integer between 0 and 100, got ${percent}.`);
      }
      if (tag && !TAG_RE.test(tag)) throw invalid(`spec.traffic[${i}].tag: invalid tag '${tag}'.`);
      if (tag && seenTags.has(tag)) throw invalid(`spec.traffic[${i}].tag: tag '${tag}' is used twice.`);
      if (tag) seenTags.add(tag);
      if (type === LATEST_TYPE) {
        if (revision) throw invalid(`spec.traffic[${i}].revision: must be empty for ${LATEST_TYPE}.`);
      } else {
        // The full revision name of this service is accepted too; it is kept in its short form, as Cloud Run does.
        const full = REVISION_NAME_RE.exec(revision);
        if (full) {
          if (full[1] !== svc.name) {
            throw invalid(`spec.traffic[${i}].revision: '${revision}' belongs to another service.`);
          }
          revision = /** @type {string} */ (full[2]);
        }
        if (!revision) throw invalid(`spec.traffic[${i}].revision: required for ${REVISION_TYPE}.`);
        if (!svc.revisions.includes(revision)) {
          throw invalid(
            `Revision named '${revision}' with traffic percent ${percent} does not exist (service ${svc.name}).`,
          );
        }
      }
      const key = type === LATEST_TYPE ? '@latest' : revision;
      if (seenRevisions.has(key) && !tag) {
        throw invalid(
          `spec.traffic[${i}]: ${type === LATEST_TYPE ? 'LATEST' : `revision '${revision}'`} is listed twice.`,
        );
      }
      seenRevisions.add(key);
      sum += percent;
      out.push({ type, revision: type === LATEST_TYPE ? '' : revision, percent, tag });
    }
    if (sum !== 100) throw invalid(`spec.traffic: percents must add up to 100, got ${sum}.`);
    return out;
  }

  /** @param {ServiceRecord} svc */
  function etagOf(svc) {
    return `"${crypto.createHash('sha256').update(`${svc.uid}:${svc.generation}`).digest('base64url').slice(0, 16)}"`;
  }

  /** google.cloud.run.v2.Service @param {ServiceRecord} svc */
  function serviceProto(svc) {
    return {
      name: svc.name,
      description: svc.description,
      uid: svc.uid,
      generation: svc.generation,
      labels: svc.labels,
      annotations: svc.annotations,
      createTime: msToTimestamp(svc.createMs),
      updateTime: msToTimestamp(svc.updateMs),
      creator: 'stand-in@fireops.local',
      lastModifier: 'stand-in@fireops.local',
      launchStage: 'GA',
      template: svc.template,
      traffic: targetProtos(svc.traffic),
      observedGeneration: svc.observedGeneration,
      ...(svc.terminalCondition
        ? {
            terminalCondition: {
              type: svc.terminalCondition.type,
              state: svc.terminalCondition.state,
              message: svc.terminalCondition.message,
              lastTransitionTime: msToTimestamp(svc.terminalCondition.ms),
            },
          }
        : {}),
      conditions: [],
      latestReadyRevision: revisionName(svc, latest(svc)),
      latestCreatedRevision: revisionName(svc, latest(svc)),
      trafficStatuses: targetProtos(svc.trafficStatuses).map((t) =>
        t.tag ? { ...t, uri: `https://${t.tag}---${serviceUri(svc).slice('https://'.length)}` } : t,
      ),
      uri: serviceUri(svc),
      urls: [serviceUri(svc)],
      reconciling: svc.reconciling,
      etag: etagOf(svc),
    };
  }

  /** google.cloud.run.v2.Revision @param {ServiceRecord} svc @param {string} revision */
  function revisionProto(svc, revision) {
    const index = svc.revisions.indexOf(revision);
    return {
      name: revisionName(svc, revision),
      uid: crypto.createHash('sha256').update(revisionName(svc, revision)).digest('hex').slice(0, 32),
      generation: 1,
      createTime: msToTimestamp(svc.createMs + index * 1000),
      updateTime: msToTimestamp(svc.createMs + index * 1000),
      launchStage: 'GA',
      service: svc.name,
      conditions: [
        {
          type: 'Ready',
          state: 'CONDITION_SUCCEEDED',
          lastTransitionTime: msToTimestamp(svc.createMs + index * 1000),
        },
      ],
      observedGeneration: 1,
      reconciling: false,
      etag: `"${revision}"`,
    };
  }

  /** @param {OperationRecord} op */
  function operationProto(op) {
    const svc = state.services.get(op.service);
    /** @type {Record<string, unknown>} */
    const proto = {
      name: op.name,
      ...(svc ? { metadata: { '@type': `${RUN_TYPES}.Service`, ...serviceProto(svc) } } : {}),
      done: op.done,
    };
    if (op.done && op.error) proto.error = { code: op.error.code, message: op.error.message, details: [] };
    else if (op.done && svc) proto.response = { '@type': `${RUN_TYPES}.Service`, ...serviceProto(svc) };
    return proto;
  }

  function takeFault() {
    const fault = state.faults[0];
    if (!fault) return undefined;
    fault.count -= 1;
    if (fault.count <= 0) state.faults.shift();
    return { ...fault };
  }

  /** @param {() => void} fn @param {number} ms */
  function later(fn, ms) {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  }

  // -------------------------------------------------------------------------------------------------------
  // gRPC handlers
  // -------------------------------------------------------------------------------------------------------

  /** @type {Record<string, (req: any) => unknown>} */
  const servicesImpl = {
    GetService(req) {
      return serviceProto(getServiceRecord(req.name));
    },

    ListServices(req) {
      const parent = String(req.parent ?? '');
      if (!PARENT_RE.test(parent)) {
        throw invalid(`Invalid parent [${parent}]: must be projects/{project}/locations/{location}.`);
      }
      const all = [...state.services.values()]
        .filter((s) => s.name.startsWith(`${parent}/services/`))
        .sort((a, b) => b.createMs - a.createMs || b.name.localeCompare(a.name));
      return { services: all.map(serviceProto), nextPageToken: '', unreachable: [] };
    },

    UpdateService(req) {
      const body = req.service ?? {};
      const svc = getServiceRecord(body.name);
      const paths = /** @type {string[]} */ (req.updateMask?.paths ?? []);
      const touches = (/** @type {string} */ field) => paths.length === 0 || paths.includes(field);
      if (body.etag && body.etag !== etagOf(svc)) {
        throw new RpcError(grpc.status.ABORTED, `The service ${svc.name} was modified (etag mismatch).`);
      }
      const traffic = touches('traffic') ? parseTraffic(svc, body.traffic) : svc.traffic;
      const fault = req.validateOnly ? undefined : takeFault();
      const record = (/** @type {string} */ outcome) =>
        state.updates.push({ service: svc.name, traffic, outcome });
      if (fault?.next === 'unavailable') {
        record('unavailable');
        throw new RpcError(grpc.status.UNAVAILABLE, fault.message);
      }
      const op = {
        name: `projects/${parseServiceName(svc.name).project}/locations/${parseServiceName(svc.name).location}/operations/${crypto.randomUUID()}`,
        service: svc.name,
        done: false,
        error: /** @type {{ code: number, message: string } | undefined} */ (undefined),
        seq: ++seq,
      };
      if (req.validateOnly) {
        record('validated');
        return { ...operationProto({ ...op, done: true }) };
      }
      state.operations.set(op.name, op);
      // The spec changes at once (generation bumps, reconciling); what is served changes when the operation ends.
      const previous = {
        traffic: svc.traffic,
        labels: svc.labels,
        annotations: svc.annotations,
        description: svc.description,
      };
      svc.traffic = traffic;
      if (touches('labels') && body.labels) svc.labels = { ...body.labels };
      if (touches('annotations') && body.annotations) svc.annotations = { ...body.annotations };
      if (touches('description') && typeof body.description === 'string') svc.description = body.description;
      svc.generation += 1;
      svc.updateMs = Date.now();
      svc.reconciling = true;
      const generation = svc.generation;
      later(() => {
        if (state.services.get(svc.name) !== svc) return; // reset or reseeded meanwhile
        op.done = true;
        svc.reconciling = false;
        svc.observedGeneration = generation;
        if (fault?.next === 'fail') {
          // Simplification: a failed rollout leaves the service as it was, spec included.
          Object.assign(svc, previous);
          svc.terminalCondition = {
            type: 'Ready',
            state: 'CONDITION_FAILED',
            message: fault.message,
            ms: Date.now(),
          };
          op.error = { code: fault.code, message: fault.message };
          record('failed');
          return;
        }
        svc.trafficStatuses = statusesFor(svc, svc.traffic);
        svc.terminalCondition = { type: 'Ready', state: 'CONDITION_SUCCEEDED', message: '', ms: Date.now() };
        record('succeeded');
      }, state.delayMs);
      return operationProto(op);
    },
  };

  /** @type {Record<string, (req: any) => unknown>} */
  const revisionsImpl = {
    GetRevision(req) {
      const name = String(req.name ?? '');
      const m = REVISION_NAME_RE.exec(name);
      if (!m)
        throw invalid(
          `Invalid resource name [${name}]: must be .../services/{service}/revisions/{revision}.`,
        );
      const svc = getServiceRecord(/** @type {string} */ (m[1]));
      const revision = /** @type {string} */ (m[2]);
      if (!svc.revisions.includes(revision)) {
        throw notFound(`Resource '${revision}' of kind 'REVISION' in region does not exist.`);
      }
      return revisionProto(svc, revision);
    },

    ListRevisions(req) {
      const svc = getServiceRecord(String(req.parent ?? ''));
      return {
        revisions: [...svc.revisions].reverse().map((r) => revisionProto(svc, r)),
        nextPageToken: '',
      };
    },
  };

  /** @type {Record<string, (req: any) => unknown>} */
  const operationsImpl = {
    GetOperation(req) {
      const name = String(req.name ?? '');
      if (!OPERATION_RE.test(name)) throw invalid(`Invalid operation name [${name}].`);
      const op = state.operations.get(name);
      if (!op) throw notFound(`Operation ${name} not found.`);
      return operationProto(op);
    },
  };

  const definition = loadClientProtos(
    fnRequire.resolve('@google-cloud/run/package.json'),
    [
      'google/cloud/run/v2/service.proto',
      'google/cloud/run/v2/revision.proto',
      'google/longrunning/operations.proto',
    ],
    { longs: Number },
  );
  const server = new grpc.Server();
  for (const [service, impl] of /** @type {const} */ ([
    [SERVICES, servicesImpl],
    [REVISIONS, revisionsImpl],
    [OPERATIONS, operationsImpl],
  ])) {
    const def = /** @type {grpc.ServiceDefinition | undefined} */ (definition[service]);
    if (!def) throw new Error(`${service} not found in the Cloud Run protos`);
    server.addService(def, unaryHandlers(def, impl, { service, label: 'Cloud Run stand-in' }));
  }
  const hostForBind = hostForAddress(host);
  const boundPort = await bindInsecure(server, host, port);

  // -------------------------------------------------------------------------------------------------------
  // Control API (HTTP, JSON, no auth)
  // -------------------------------------------------------------------------------------------------------

  function reset() {
    for (const t of timers) clearTimeout(t);
    timers.clear();
    state.services.clear();
    state.operations.clear();
    state.faults.length = 0;
    state.updates.length = 0;
    state.delayMs = initialDelayMs;
  }

  /** @param {any} body */
  function seedService(body) {
    let parsed;
    try {
      parsed = parseServiceName(body?.name);
    } catch (err) {
      throw badRequest(/** @type {Error} */ (err).message);
    }
    const revisions = Array.isArray(body?.revisions) ? body.revisions.map(String) : [];
    if (revisions.length === 0) throw badRequest('revisions: at least one revision name is required');
    for (const r of revisions) {
      if (!SHORT_REVISION_RE.test(r)) throw badRequest(`revisions: invalid revision name '${r}'`);
    }
    if (new Set(revisions).size !== revisions.length) throw badRequest('revisions: duplicate names');
    const now = Date.now();
    /** @type {ServiceRecord} */
    const svc = {
      name: parsed.name,
      uid: crypto.randomUUID(),
      generation: 1,
      observedGeneration: 1,
      createMs: now,
      updateMs: now,
      revisions,
      traffic: [],
      trafficStatuses: [],
      labels: body.labels && typeof body.labels === 'object' ? { ...body.labels } : {},
      annotations: {},
      description: typeof body.description === 'string' ? body.description : '',
      template: body.template ?? { containers: [{ image: 'us-docker.pkg.dev/cloudrun/container/hello' }] },
      reconciling: false,
      terminalCondition: { type: 'Ready', state: 'CONDITION_SUCCEEDED', message: '', ms: now },
    };
    try {
      svc.traffic = parseTraffic(
        svc,
        (Array.isArray(body.traffic) ? body.traffic : []).map((/** @type {any} */ t) => ({
          type: t?.type ?? (t?.revision ? REVISION_TYPE : LATEST_TYPE),
          ...t,
        })),
      );
    } catch (err) {
      throw badRequest(/** @type {Error} */ (err).message);
    }
    svc.trafficStatuses = statusesFor(svc, svc.traffic);
    state.services.set(svc.name, svc);
    return serviceProto(svc);
  }

  /** @param {any} body @returns {Fault} */
  function parseFault(body) {
    const next = body?.next;
    if (next !== 'fail' && next !== 'unavailable') throw badRequest("next must be 'fail' or 'unavailable'");
    const count = body.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw badRequest('count must be a positive integer');
    const code = body.code ?? (next === 'fail' ? grpc.status.INTERNAL : grpc.status.UNAVAILABLE);
    if (!Number.isInteger(code) || code < 1 || code > 16)
      throw badRequest('code must be a gRPC status code 1-16');
    return {
      next,
      count,
      code,
      message:
        typeof body.message === 'string'
          ? body.message
          : next === 'fail'
            ? 'Injected failure (Cloud Run stand-in): the revision could not be routed.'
            : 'Injected unavailability (Cloud Run stand-in).',
    };
  }

  const commonRoutes = faultAndDelayRoutes(state, { reset, parseFault });

  /** @param {string} method @param {string} sub @param {any} body @returns {import('../shared/control.mjs').JsonReply} */
  function control(method, sub, body) {
    const common = commonRoutes(method, sub, body);
    if (common) return common;
    if (method === 'GET' && (sub === '/' || sub === '/health')) {
      return {
        status: 200,
        body: { ok: true, grpcAddress: `${hostForBind}:${boundPort}`, delayMs: state.delayMs },
      };
    }
    if (method === 'GET' && sub === '/services')
      return { status: 200, body: { services: [...state.services.values()].map(serviceProto) } };
    if (method === 'POST' && sub === '/services') return { status: 200, body: seedService(body) };
    if (method === 'POST' && sub === '/revisions') {
      const svc = state.services.get(String(body?.service ?? ''));
      if (!svc) return { status: 404, body: { error: `no service ${String(body?.service)}` } };
      const revision = String(body?.revision ?? '');
      if (!SHORT_REVISION_RE.test(revision)) throw badRequest(`invalid revision name '${revision}'`);
      if (svc.revisions.includes(revision)) throw badRequest(`revision '${revision}' exists`);
      svc.revisions.push(revision);
      svc.trafficStatuses = statusesFor(svc, svc.traffic); // LATEST follows the new revision
      return { status: 200, body: serviceProto(svc) };
    }
    const one = /^\/services\/(.+)$/.exec(sub);
    if (method === 'GET' && one) {
      const svc = state.services.get(decodeURIComponent(/** @type {string} */ (one[1])));
      return svc
        ? { status: 200, body: serviceProto(svc) }
        : { status: 404, body: { error: `no service ${one[1]}` } };
    }
    if (method === 'DELETE' && one) {
      const deleted = state.services.delete(decodeURIComponent(/** @type {string} */ (one[1])));
      return deleted
        ? { status: 200, body: { ok: true } }
        : { status: 404, body: { error: `no service ${one[1]}` } };
    }
    if (method === 'GET' && sub === '/updates') return { status: 200, body: { updates: state.updates } };
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
    })();
    return closing;
  }

  return {
    host,
    port: boundPort,
    address: `${hostForBind}:${boundPort}`,
    controlPort: boundControlPort,
    controlUrl: `http://${hostForBind}:${boundControlPort}`,
    close,
    reset,
    /** Seeds (or replaces) a service, as `POST /_stand-in/services` does. */
    seedService,
    state,
  };
}

// ---------------------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------------------

if (isMain(import.meta.url)) {
  await runUntilSignal('cloud-run stand-in', async () => {
    const args = parseFlags(
      process.argv.slice(2),
      { host: String, port: parsePort, 'control-port': parsePort, 'delay-ms': Number },
      'usage: node emulators/cloud-run/server.mjs [--host 127.0.0.1] [--port 9335] [--control-port 9336] [--delay-ms 50]',
    );
    const offset = Number(process.env.FIREOPS_PORT_OFFSET ?? 0);
    const standIn = await startCloudRunStandIn({
      host: args.host ?? '127.0.0.1',
      port: args.port ?? 9335 + offset,
      controlPort: args['control-port'] ?? 9336 + offset,
      delayMs: args['delay-ms'] ?? 50,
    });
    console.log(`Cloud Run stand-in listening on ${standIn.address} (control ${standIn.controlUrl})`);
    return standIn;
  });
}
