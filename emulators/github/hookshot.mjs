// @ts-check
/**
 * The stand-in's webhook sender, playing GitHub's "Hookshot": one signed POST per delivery, the way GitHub makes it
 * (its headers, no redirects followed, no keep-alive, a 10 s limit), each recorded in the state as GitHub records
 * deliveries, so that the REST routes can list and redeliver them.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { signPayload, signPayloadSha1 } from './sign.mjs';
import { isObject, isoSeconds } from './values.mjs';
import { CREATOR, hookView, repositoryView } from './views.mjs';

/** @typedef {import('./state.mjs').StandInState} StandInState */
/** @typedef {import('./state.mjs').RepoRecord} RepoRecord */
/** @typedef {import('./state.mjs').HookRecord} HookRecord */
/** @typedef {import('./state.mjs').DeliveryRecord} DeliveryRecord */

/** GitHub gives a receiver 10 s (https://docs.github.com/webhooks/using-webhooks/best-practices-for-using-webhooks). */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;
const MAX_RESPONSE_BODY = 64 * 1024;
const USER_AGENT = 'GitHub-Hookshot/stand-in';
const ZEN = [
  'Design for failure.',
  'Keep it logically awesome.',
  'Responsive is better than fast.',
  'Non-blocking is better than blocking.',
  'Mind your words, they are important.',
  'Half measures are as bad as nothing at all.',
  'Favor focus over features.',
  'Speak like a human.',
  'Approachable is better than simple.',
  'Practicality beats purity.',
  'Encourage flow.',
  "It's not fully shipped until it's fast.",
];

/**
 * @typedef {object} DeliverOptions
 * @property {string} event
 * @property {unknown} payload
 * @property {string} [guid]
 * @property {string | null} [action]
 * @property {string} [rawBody] Sent as-is instead of the encoded payload.
 * @property {boolean} [redelivery]
 * @property {string | null} [signatureOverride] Replaces X-Hub-Signature-256; null omits both signature headers.
 */

/**
 * The `action` GitHub records for a delivery: the payload's, except for pings.
 * @param {string} event @param {unknown} payload
 */
export function actionOf(event, payload) {
  return event !== 'ping' && isObject(payload) && typeof payload.action === 'string' ? payload.action : null;
}

/** @param {'json' | 'form'} contentType @param {unknown} payload */
export function encodeBody(contentType, payload) {
  const json = JSON.stringify(payload);
  return contentType === 'form' ? `payload=${encodeURIComponent(json)}` : json;
}

/** @param {string[]} raw @returns {Record<string, string>} */
function headerObject(raw) {
  /** @type {Record<string, string>} */
  const out = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = /** @type {string} */ (raw[i]);
    const value = /** @type {string} */ (raw[i + 1]);
    out[name] = name in out ? `${out[name]}, ${value}` : value;
  }
  return out;
}

/**
 * One HTTP POST, the way Hookshot makes it: no redirects followed, no keep-alive, a total time limit.
 * @param {string} target
 * @param {Record<string, string>} headers
 * @param {Buffer} body
 * @param {{ timeoutMs: number, insecureSsl: boolean, active: Set<http.ClientRequest> }} opts
 * @returns {Promise<{ statusCode: number, status: string, headers: Record<string, string>, body: string | null }>}
 */
function postOnce(target, headers, body, opts) {
  return new Promise((resolve) => {
    /** @type {URL} */
    let url;
    try {
      url = new URL(target);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('unsupported protocol');
    } catch {
      resolve({ statusCode: 0, status: 'failed to connect', headers: {}, body: null });
      return;
    }
    let settled = false;
    let timedOut = false;
    /** @param {{ statusCode: number, status: string, headers: Record<string, string>, body: string | null }} r */
    const finish = (r) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.active.delete(req);
      resolve(r);
    };
    const transport = url.protocol === 'https:' ? https : http;
    const req = transport.request(url, {
      method: 'POST',
      headers,
      agent: false,
      ...(url.protocol === 'https:' ? { rejectUnauthorized: !opts.insecureSsl } : {}),
    });
    opts.active.add(req);
    const timer = setTimeout(() => {
      timedOut = true;
      req.destroy(new Error('timed out'));
    }, opts.timeoutMs);
    req.on('response', (res) => {
      /** @type {Buffer[]} */
      const chunks = [];
      let kept = 0;
      res.on('data', (/** @type {Buffer} */ chunk) => {
        if (kept >= MAX_RESPONSE_BODY) return;
        const slice = chunk.subarray(0, MAX_RESPONSE_BODY - kept);
        chunks.push(slice);
        kept += slice.length;
      });
      const done = () => {
        const statusCode = res.statusCode ?? 0;
        finish({
          statusCode,
          status: statusCode >= 200 && statusCode < 300 ? 'OK' : `Invalid HTTP Response: ${statusCode}`,
          headers: headerObject(res.rawHeaders),
          body: Buffer.concat(chunks).toString('utf8'),
        });
      };
      res.on('end', done);
      res.on('error', () => (timedOut ? finish(timeoutResult()) : done()));
      res.on('close', () => (timedOut ? finish(timeoutResult()) : done()));
    });
    const timeoutResult = () => ({ statusCode: 0, status: 'timed out', headers: {}, body: null });
    req.on('error', () =>
      finish(
        timedOut ? timeoutResult() : { statusCode: 0, status: 'failed to connect', headers: {}, body: null },
      ),
    );
    req.end(body);
  });
}

/**
 * The headers GitHub sends with a delivery, in GitHub's spelling.
 * @param {HookRecord} hook @param {RepoRecord} repo @param {string} event @param {string} guid
 * @param {Buffer} body @param {string | null | undefined} signatureOverride
 */
export function deliveryHeaders(hook, repo, event, guid, body, signatureOverride) {
  /** @type {Record<string, string>} */
  const headers = {
    Accept: '*/*',
    'Content-Type': hook.contentType === 'form' ? 'application/x-www-form-urlencoded' : 'application/json',
    'User-Agent': USER_AGENT,
    'X-GitHub-Delivery': guid,
    'X-GitHub-Event': event,
    'X-GitHub-Hook-ID': String(hook.id),
    'X-GitHub-Hook-Installation-Target-ID': String(repo.id),
    'X-GitHub-Hook-Installation-Target-Type': 'repository',
  };
  if (hook.secret && signatureOverride !== null) {
    headers['X-Hub-Signature'] = signPayloadSha1(hook.secret, body);
    headers['X-Hub-Signature-256'] = signatureOverride ?? signPayload(hook.secret, body);
  } else if (typeof signatureOverride === 'string') {
    headers['X-Hub-Signature-256'] = signatureOverride;
  }
  return headers;
}

/**
 * @typedef {object} Hookshot
 * @property {(hook: HookRecord, o: DeliverOptions) => Promise<DeliveryRecord>} deliver Sends one delivery now and
 *   records it.
 * @property {(hook: HookRecord, base: string) => Promise<DeliveryRecord>} ping Sends a `ping` delivery.
 * @property {() => void} reset Starts the pings' zen sayings over.
 * @property {() => void} abort Drops the deliveries in flight.
 */

/**
 * @param {StandInState} state
 * @param {{ timeoutMs: number }} options `timeoutMs`: the POST time limit.
 * @returns {Hookshot}
 */
export function createHookshot(state, { timeoutMs }) {
  /** @type {Set<http.ClientRequest>} */
  const outgoing = new Set();
  let zenIndex = 0;

  /**
   * Sends one delivery now and records it.
   * @param {HookRecord} hook @param {DeliverOptions} o @returns {Promise<DeliveryRecord>}
   */
  async function deliver(hook, o) {
    const repo = /** @type {RepoRecord} */ (state.repos.get(hook.repoKey));
    const guid = o.guid ?? crypto.randomUUID();
    const body = Buffer.from(o.rawBody ?? encodeBody(hook.contentType, o.payload), 'utf8');
    const headers = deliveryHeaders(hook, repo, o.event, guid, body, o.signatureOverride);
    const id = state.nextId.delivery++;
    const startedMs = Date.now();
    const started = process.hrtime.bigint();
    const result = await postOnce(hook.url, { ...headers, 'Content-Length': String(body.length) }, body, {
      timeoutMs,
      insecureSsl: hook.insecureSsl === '1',
      active: outgoing,
    });
    const duration = Math.round(Number(process.hrtime.bigint() - started) / 1e6) / 1000;
    /** @type {DeliveryRecord} */
    const record = {
      id,
      guid,
      hookId: hook.id,
      repositoryId: repo.id,
      deliveredAt: isoSeconds(startedMs),
      deliveredAtMs: startedMs,
      redelivery: o.redelivery ?? false,
      duration,
      status: result.status,
      statusCode: result.statusCode,
      event: o.event,
      action: o.action !== undefined ? o.action : actionOf(o.event, o.payload),
      requestHeaders: headers,
      payload: o.payload,
      rawBody: o.rawBody,
      responseHeaders: result.headers,
      responseBody: result.body,
      sent: true,
    };
    state.deliveries.push(record);
    hook.lastResponse = {
      code: result.statusCode || null,
      status: 'active',
      message: result.status === 'OK' ? 'OK' : result.status,
    };
    return record;
  }

  /** @param {HookRecord} hook @param {string} base */
  function ping(hook, base) {
    const repo = /** @type {RepoRecord} */ (state.repos.get(hook.repoKey));
    const payload = {
      zen: ZEN[zenIndex++ % ZEN.length],
      hook_id: hook.id,
      hook: hookView(state, hook, base),
      repository: repositoryView(repo, base),
      sender: { ...CREATOR },
    };
    return deliver(hook, { event: 'ping', payload, action: null });
  }

  return {
    deliver,
    ping,
    reset: () => {
      zenIndex = 0;
    },
    abort: () => {
      for (const req of outgoing) req.destroy(new Error('stand-in closing'));
    },
  };
}
