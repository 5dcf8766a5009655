// @ts-check
/**
 * The GitHub stand-in's control API (`/_stand-in/...` beside the REST routes, no auth; see README.md): what tests
 * and the demo use to play GitHub's side. Register hooks and deployments, send deliveries (signed, or with a body or
 * signature of their own), record past deliveries without sending them, inject REST faults, and read the state
 * and the request log back (secrets as fingerprints only).
 */
import crypto from 'node:crypto';
import { noControlRoute } from '../shared/control.mjs';
import { controlError } from './errors.mjs';
import { actionOf, deliveryHeaders, encodeBody } from './hookshot.mjs';
import { addDeployment, ensureRepo, repoKeyOf } from './state.mjs';
import { fingerprint, isHttpUrl, isObject, isoSeconds, parseId } from './values.mjs';
import { CREATOR, deliveryView, deploymentView, hookView, repositoryView, statusView } from './views.mjs';

/** @typedef {import('./state.mjs').StandInState} StandInState */
/** @typedef {import('./state.mjs').RepoRecord} RepoRecord */
/** @typedef {import('./state.mjs').HookRecord} HookRecord */
/** @typedef {import('./state.mjs').DeliveryRecord} DeliveryRecord */
/** @typedef {import('./routes/router.mjs').RouteContext} RouteContext */
/** @typedef {import('../shared/control.mjs').JsonReply} JsonReply */

/** @param {unknown} v @param {string} name */
const requireString = (v, name) => {
  if (typeof v !== 'string' || v === '') throw controlError(400, `${name} must be a non-empty string`);
  return v;
};

/** @param {StandInState} state @param {string} idText */
function controlHook(state, idText) {
  const id = parseId(idText);
  const hook = id === undefined ? undefined : state.hooks.get(id);
  if (!hook) throw controlError(404, `no hook ${idText}`);
  return hook;
}

/** @param {StandInState} state @param {string} base */
function stateView(state, base) {
  return {
    repositories: [...state.repos.values()].map((r) => ({ id: r.id, owner: r.owner, name: r.name })),
    hooks: [...state.hooks.values()].map((h) => {
      const repo = /** @type {RepoRecord} */ (state.repos.get(h.repoKey));
      return {
        ...hookView(state, h, base),
        owner: repo.owner,
        repo: repo.name,
        secretFingerprint: h.secret ? fingerprint(h.secret) : null,
      };
    }),
    deliveries: state.deliveries.map((d) => ({
      ...deliveryView(state, d, base),
      hook_id: d.hookId,
      sent: d.sent,
    })),
    deployments: [...state.deployments.values()].map((d) => ({
      ...deploymentView(state, d, base),
      statuses: [...d.statuses].reverse().map((s) => statusView(state, d, s, base)),
    })),
    requestCount: state.requests.length,
    tokensSeen: [...state.tokensSeen].map(fingerprint),
    faults: state.faults.map((f) => ({ ...f, times: Number.isFinite(f.times) ? f.times : null })),
  };
}

/**
 * The control routes, for `answerControl` (shared/control.mjs).
 * @param {RouteContext} context
 * @param {() => void} reset Empties the stand-in (`POST /_stand-in/reset`).
 * @returns {(method: string, sub: string, body: Record<string, unknown>, base: string) => Promise<JsonReply>}
 */
export function controlRoutes({ state, hookshot }, reset) {
  return async (method, sub, body, base) => {
    const hookMatch = /^\/hooks\/([^/]+)\/(deliver|deliveries)$/.exec(sub);

    if (method === 'GET' && sub === '/health') return { status: 200, body: { ok: true } };
    if (method === 'GET' && sub === '/state') return { status: 200, body: stateView(state, base) };
    if (method === 'POST' && sub === '/reset') {
      reset();
      return { status: 204 };
    }
    if (method === 'GET' && sub === '/requests') return { status: 200, body: state.requests };
    if (method === 'DELETE' && sub === '/requests') {
      state.requests.length = 0;
      return { status: 204 };
    }
    if (method === 'POST' && sub === '/hooks') {
      const owner = requireString(body.owner, 'owner');
      const name = requireString(body.repo, 'repo');
      const url = requireString(body.url, 'url');
      if (!isHttpUrl(url)) throw controlError(400, 'url must be an http(s) URL');
      if (body.secret !== undefined && body.secret !== null && typeof body.secret !== 'string') {
        throw controlError(400, 'secret must be a string');
      }
      const events = body.events ?? ['*'];
      if (!Array.isArray(events) || !events.every((e) => typeof e === 'string')) {
        throw controlError(400, 'events must be an array of strings');
      }
      const contentType = body.content_type ?? 'json';
      if (contentType !== 'json' && contentType !== 'form')
        throw controlError(400, 'content_type: json or form');
      ensureRepo(state, owner, name);
      const now = isoSeconds();
      /** @type {HookRecord} */
      const hook = {
        id: state.nextId.hook++,
        repoKey: repoKeyOf(owner, name),
        url,
        contentType,
        secret: /** @type {string | undefined} */ (body.secret) || null,
        insecureSsl: String(body.insecure_ssl ?? '0'),
        events: /** @type {string[]} */ (events),
        active: body.active !== false,
        createdAt: now,
        updatedAt: now,
        lastResponse: { code: null, status: 'unused', message: null },
      };
      state.hooks.set(hook.id, hook);
      return { status: 201, body: { id: hook.id } };
    }
    if (method === 'POST' && sub === '/deployments') {
      const owner = requireString(body.owner, 'owner');
      const name = requireString(body.repo, 'repo');
      let id = state.nextId.deployment;
      if (body.id !== undefined) {
        if (!Number.isSafeInteger(body.id) || /** @type {number} */ (body.id) < 1) {
          throw controlError(400, 'id must be a positive integer');
        }
        id = /** @type {number} */ (body.id);
        if (state.deployments.has(id)) throw controlError(409, `deployment ${id} already exists`);
      } else {
        while (state.deployments.has(id)) id++;
      }
      if (body.environment !== undefined) requireString(body.environment, 'environment');
      ensureRepo(state, owner, name);
      addDeployment(state, id, repoKeyOf(owner, name), body);
      return { status: 201, body: { id } };
    }
    if (method === 'POST' && hookMatch?.[2] === 'deliver') {
      const hook = controlHook(state, hookMatch[1] ?? '');
      const event = requireString(body.event, 'event');
      if (body.guid !== undefined) requireString(body.guid, 'guid');
      if (body.bodyOverride !== undefined && typeof body.bodyOverride !== 'string') {
        throw controlError(400, 'bodyOverride must be a string');
      }
      if (body.signatureOverride !== undefined && body.signatureOverride !== null) {
        if (typeof body.signatureOverride !== 'string')
          throw controlError(400, 'signatureOverride: string or null');
      }
      /** @type {string | undefined} */
      const rawBody = /** @type {string | undefined} */ (body.bodyOverride);
      let payload = body.payload ?? {};
      if (rawBody !== undefined && body.payload === undefined) {
        try {
          payload = JSON.parse(rawBody);
        } catch {
          payload = rawBody;
        }
      }
      const d = await hookshot.deliver(hook, {
        event,
        payload,
        guid: /** @type {string | undefined} */ (body.guid),
        action: typeof body.action === 'string' ? body.action : undefined,
        rawBody,
        signatureOverride: /** @type {string | null | undefined} */ (body.signatureOverride),
      });
      return {
        status: 200,
        body: {
          guid: d.guid,
          deliveryId: d.id,
          status_code: d.statusCode,
          status: d.status,
          responseBody: d.responseBody,
        },
      };
    }
    if (method === 'POST' && hookMatch?.[2] === 'deliveries') {
      const hook = controlHook(state, hookMatch[1] ?? '');
      const repo = /** @type {RepoRecord} */ (state.repos.get(hook.repoKey));
      const event = requireString(body.event, 'event');
      const statusCode = body.status_code;
      if (!Number.isInteger(statusCode) || /** @type {number} */ (statusCode) < 0) {
        throw controlError(400, 'status_code must be an integer (0 = no HTTP response)');
      }
      const code = /** @type {number} */ (statusCode);
      const deliveredAtMs =
        body.delivered_at === undefined ? Date.now() : Date.parse(String(body.delivered_at));
      if (Number.isNaN(deliveredAtMs)) throw controlError(400, 'delivered_at must be an ISO-8601 timestamp');
      const guid = body.guid === undefined ? crypto.randomUUID() : requireString(body.guid, 'guid');
      const payload = body.payload ?? {
        ...(typeof body.action === 'string' ? { action: body.action } : {}),
        repository: repositoryView(repo, base),
        sender: { ...CREATOR },
      };
      const rawBody = Buffer.from(encodeBody(hook.contentType, payload), 'utf8');
      /** @type {DeliveryRecord} */
      const record = {
        id: state.nextId.delivery++,
        guid,
        hookId: hook.id,
        repositoryId: repo.id,
        deliveredAt: isoSeconds(deliveredAtMs),
        deliveredAtMs,
        redelivery: body.redelivery === true,
        duration: typeof body.duration === 'number' ? body.duration : 0,
        status:
          typeof body.status === 'string'
            ? body.status
            : code >= 200 && code < 300
              ? 'OK'
              : code === 0
                ? 'failed to connect'
                : `Invalid HTTP Response: ${code}`,
        statusCode: code,
        event,
        action: typeof body.action === 'string' ? body.action : actionOf(event, payload),
        requestHeaders: deliveryHeaders(hook, repo, event, guid, rawBody, undefined),
        payload,
        rawBody: undefined,
        responseHeaders: {},
        responseBody: typeof body.responseBody === 'string' ? body.responseBody : null,
        sent: false,
      };
      state.deliveries.push(record);
      return { status: 201, body: { id: record.id, guid } };
    }
    if (method === 'POST' && sub === '/faults') {
      const status = body.status;
      if (
        !Number.isInteger(status) ||
        /** @type {number} */ (status) < 100 ||
        /** @type {number} */ (status) > 599
      ) {
        throw controlError(400, 'status must be an HTTP status code');
      }
      const times = body.times === undefined ? 1 : body.times === null ? Infinity : Number(body.times);
      if (!(times >= 1)) throw controlError(400, 'times must be >= 1 (or null for "until cleared")');
      if (body.headers !== undefined && !isObject(body.headers))
        throw controlError(400, 'headers must be an object');
      const delayMs = body.delayMs === undefined ? 0 : Number(body.delayMs);
      if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > 600_000)
        throw controlError(400, 'delayMs must be an integer from 0 to 600000');
      state.faults.push({
        method: typeof body.method === 'string' ? body.method : undefined,
        path: requireString(body.path, 'path'),
        status: /** @type {number} */ (status),
        body: body.body ?? { message: 'Server Error', status: String(status) },
        headers: /** @type {Record<string, string>} */ (body.headers ?? {}),
        times,
        delayMs,
      });
      return { status: 201, body: { faults: state.faults.length } };
    }
    if (method === 'DELETE' && sub === '/faults') {
      state.faults.length = 0;
      return { status: 204 };
    }
    return noControlRoute(method, sub);
  };
}
