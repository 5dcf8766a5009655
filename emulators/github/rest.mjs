// @ts-check
/**
 * The stand-in's REST front, what every GitHub REST request goes through before its route: the request log (bodies
 * with secrets masked, the auth scheme but never the token), authentication (401 without a token, or with one not
 * in `acceptTokens`), injected faults, JSON parsing, routing, and GitHub's rate-limit headers on every answer.
 */
import crypto from 'node:crypto';
import { DOCS, HttpError, notFound } from './errors.mjs';
import { deliveryRoutes } from './routes/deliveries.mjs';
import { deploymentRoutes } from './routes/deployments.mjs';
import { hookRoutes } from './routes/hooks.mjs';
import { createRouter } from './routes/router.mjs';
import { maskSecrets } from './values.mjs';

/** @typedef {import('./state.mjs').Fault} Fault */
/** @typedef {import('./state.mjs').RequestLogEntry} RequestLogEntry */
/** @typedef {import('./routes/router.mjs').Reply} Reply */
/** @typedef {import('./routes/router.mjs').RouteContext} RouteContext */

/** @param {RouteContext} context */
export function createRestApi(context) {
  const { state } = context;
  const router = createRouter();
  hookRoutes(router.route, context);
  deliveryRoutes(router.route, context);
  deploymentRoutes(router.route, context);
  let rateUsed = 0;

  /**
   * @param {import('node:http').IncomingMessage} req @param {URL} url @param {Buffer} raw @param {string} base
   * @returns {Promise<Reply>}
   */
  async function handleRest(req, url, raw, base) {
    const method = (req.method ?? 'GET').toUpperCase();
    /** @type {RequestLogEntry} */
    const entry = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: null,
      at: new Date().toISOString(),
      status: null,
      auth: null,
    };
    state.requests.push(entry);
    const reply = await (async () => {
      try {
        const auth = /^(token|bearer)\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
        if (auth) entry.auth = /** @type {'token' | 'bearer'} */ ((auth[1] ?? '').toLowerCase());
        /** @type {unknown} */
        let body = null;
        const text = raw.toString('utf8');
        let badJson = false;
        if (text.trim() !== '') {
          try {
            body = JSON.parse(text);
            entry.body = maskSecrets(body);
          } catch {
            badJson = true;
            entry.body = null;
          }
        }
        if (!auth) {
          throw new HttpError(401, {
            message: 'Requires authentication',
            documentation_url: DOCS,
            status: '401',
          });
        }
        const token = auth[2] ?? '';
        if (state.acceptTokens && !state.acceptTokens.includes(token)) {
          throw new HttpError(401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' });
        }
        state.tokensSeen.add(token);
        const fault = takeFault(method, url.pathname);
        if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
        if (fault) return { status: fault.status, body: fault.body, headers: fault.headers };
        if (badJson) {
          throw new HttpError(400, {
            message: 'Problems parsing JSON',
            documentation_url: DOCS,
            status: '400',
          });
        }
        const { route: r, params } = router.match(method, url.pathname);
        if (!r) throw notFound(DOCS);
        return await r.handler({ base, params, query: url.searchParams, body }, r.docs);
      } catch (err) {
        if (err instanceof HttpError) return { status: err.status, body: err.body };
        throw err;
      }
    })();
    entry.status = reply.status;
    return reply;
  }

  /** @param {string} method @param {string} path */
  function takeFault(method, path) {
    const i = state.faults.findIndex(
      (f) =>
        (!f.method || f.method.toUpperCase() === method) &&
        (f.path.startsWith('^') ? new RegExp(f.path).test(path) : path.startsWith(f.path)),
    );
    if (i < 0) return undefined;
    const fault = /** @type {Fault} */ (state.faults[i]);
    fault.times -= 1;
    if (fault.times <= 0) state.faults.splice(i, 1);
    return fault;
  }

  function restHeaders() {
    rateUsed += 1;
    return {
      'X-GitHub-Api-Version-Selected': '2022-11-28',
      'X-GitHub-Media-Type': 'github.v3; format=json',
      'X-GitHub-Request-Id': crypto.randomUUID().toUpperCase().slice(0, 23).replaceAll('-', ':'),
      'X-RateLimit-Limit': '5000',
      'X-RateLimit-Remaining': String(Math.max(0, 5000 - rateUsed)),
      'X-RateLimit-Reset': String(Math.floor(Date.now() / 1000) + 3600),
      'X-RateLimit-Used': String(rateUsed),
      'X-RateLimit-Resource': 'core',
    };
  }

  return {
    handle: handleRest,
    /** The headers of a REST answer (each call counts one request against the rate limit). */
    headers: restHeaders,
    reset: () => {
      rateUsed = 0;
    },
  };
}
