// @ts-check
/**
 * The control API every stand-in has: JSON over HTTP under `/_stand-in/`, no auth, for tests and the demo to seed
 * state, read it back and inject faults. The gRPC stand-ins serve it on a port of its own (`createControlServer`);
 * the GitHub stand-in serves it beside its REST routes (`isControlPath` + `answerControl`). Either way a route
 * gets the method, the path below `/_stand-in` (`/` for the root) and the JSON body (`{}` when empty), and
 * answers a `JsonReply`; a thrown `ControlError` (or any error carrying a numeric `status`) answers that status
 * with `{ "error": message }`, any other error 400 (the control API's input is the likeliest culprit).
 */
import http from 'node:http';
import { listenHttp } from './servers.mjs';

export const CONTROL_PREFIX = '/_stand-in';

/** @typedef {{ status: number, body?: unknown, headers?: Record<string, string> }} JsonReply */
/**
 * @typedef {(method: string, sub: string, body: Record<string, any>) => JsonReply | Promise<JsonReply>} ControlRoutes
 */

/** A control API error: answered with `status` and `{ "error": message }`. */
export class ControlError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** @param {string} message */
export const badRequest = (message) => new ControlError(400, message);

/**
 * The reply to a method and path no control route takes.
 * @param {string} method @param {string} sub
 * @returns {JsonReply}
 */
export const noControlRoute = (method, sub) => ({
  status: 404,
  body: { error: `no control route ${method} ${CONTROL_PREFIX}${sub === '/' ? '' : sub}` },
});

/** @param {string} pathname */
export const isControlPath = (pathname) =>
  pathname === CONTROL_PREFIX || pathname.startsWith(`${CONTROL_PREFIX}/`);

/**
 * Runs a control request through `routes`.
 * @param {string} method Upper-case.
 * @param {string} pathname Starting with `/_stand-in`.
 * @param {Buffer} raw The request body.
 * @param {ControlRoutes} routes
 * @returns {Promise<JsonReply>}
 */
export async function answerControl(method, pathname, raw, routes) {
  try {
    /** @type {Record<string, any>} */
    let body = {};
    if (raw.length) {
      let parsed;
      try {
        parsed = JSON.parse(raw.toString('utf8'));
      } catch {
        throw badRequest('body is not valid JSON');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw badRequest('body must be a JSON object');
      }
      body = parsed;
    }
    const sub = pathname.slice(CONTROL_PREFIX.length).replace(/\/$/, '') || '/';
    return await routes(method, sub, body);
  } catch (err) {
    const status = /** @type {{ status?: unknown }} */ (err)?.status;
    const body = /** @type {{ body?: unknown }} */ (err)?.body;
    if (typeof status === 'number' && body !== undefined) return { status, body };
    return {
      status: typeof status === 'number' ? status : 400,
      body: { error: err instanceof Error ? err.message : String(err) },
    };
  }
}

/**
 * The control routes the gRPC stand-ins share: `POST /reset`, `GET|POST|DELETE /faults` (a queue of faults the
 * stand-in takes from, each parsed by `parseFault`) and `POST /delay` (`{ "delayMs": n }`). Answers undefined for
 * any other route, for the stand-in's own routes to take.
 * @template F
 * @param {{ faults: F[], delayMs: number }} state
 * @param {{ reset: () => void, parseFault: (body: Record<string, any>) => F }} options
 * @returns {(method: string, sub: string, body: Record<string, any>) => JsonReply | undefined}
 */
export function faultAndDelayRoutes(state, { reset, parseFault }) {
  return (method, sub, body) => {
    if (method === 'POST' && sub === '/reset') {
      reset();
      return { status: 200, body: { ok: true } };
    }
    if (method === 'GET' && sub === '/faults') return { status: 200, body: { faults: state.faults } };
    if (method === 'POST' && sub === '/faults') {
      state.faults.push(parseFault(body));
      return { status: 200, body: { faults: state.faults } };
    }
    if (method === 'DELETE' && sub === '/faults') {
      state.faults.length = 0;
      return { status: 200, body: { faults: [] } };
    }
    if (method === 'POST' && sub === '/delay') {
      const delayMs = body.delayMs;
      if (typeof delayMs !== 'number' || !(delayMs >= 0))
        throw badRequest('delayMs must be a non-negative number');
      state.delayMs = delayMs;
      return { status: 200, body: { delayMs } };
    }
    return undefined;
  };
}

/**
 * Reads a request body, or resolves undefined when it is larger than `maxBytes` (the rest is drained).
 * @param {http.IncomingMessage} req
 * @param {number} [maxBytes]
 * @returns {Promise<Buffer | undefined>}
 */
export function readBody(req, maxBytes = 25 * 1024 * 1024) {
  return new Promise((resolve, reject) => {
    /** @type {Buffer[]} */
    const chunks = [];
    let size = 0;
    req.on('data', (/** @type {Buffer} */ c) => {
      size += c.length;
      if (size <= maxBytes) chunks.push(c);
    });
    req.on('end', () => resolve(size > maxBytes ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Sends `reply` as JSON (no body for 204 or an undefined body). `extra` headers come first, the reply's own win.
 * @param {http.ServerResponse} res
 * @param {JsonReply} reply
 * @param {Record<string, string>} [extra]
 */
export function sendJson(res, reply, extra = {}) {
  const headers = { ...extra, ...(reply.headers ?? {}) };
  if (reply.status === 204 || reply.body === undefined) {
    res.writeHead(reply.status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/**
 * An HTTP server that answers the control API through `routes` (and 404 outside `/_stand-in/`), listening on
 * `host:port` (0 picks a free port).
 * @param {ControlRoutes} routes
 * @param {string} host
 * @param {number} port
 * @returns {Promise<{ server: http.Server, port: number }>}
 */
export async function startControlServer(routes, host, port) {
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://stand-in.invalid');
      try {
        const raw = await readBody(req);
        /** @type {JsonReply} */
        let reply;
        if (!raw) reply = { status: 413, body: { error: 'body too large' } };
        else if (!isControlPath(url.pathname)) {
          reply = { status: 404, body: { error: `control routes live under ${CONTROL_PREFIX}/` } };
        } else reply = await answerControl((req.method ?? 'GET').toUpperCase(), url.pathname, raw, routes);
        sendJson(res, reply);
      } catch (err) {
        if (res.headersSent) res.destroy();
        else
          sendJson(res, { status: 500, body: { error: err instanceof Error ? err.message : String(err) } });
      }
    })();
  });
  return { server, port: await listenHttp(server, port, host) };
}
