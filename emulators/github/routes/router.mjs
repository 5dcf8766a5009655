// @ts-check
/**
 * The REST route table: `route(method, '/repos/{owner}/{repo}/hooks', docs, handler)` adds a route, `match` finds
 * the first whose method and path fit and decodes its `{params}`. A route module exports one function that adds its
 * routes, given `route` and the stand-in's shared `RouteContext`.
 */

/** @typedef {import('../state.mjs').StandInState} StandInState */
/** @typedef {import('../hookshot.mjs').Hookshot} Hookshot */

/**
 * What a handler is given.
 * @typedef {object} Ctx
 * @property {string} base The address the client used, e.g. `http://127.0.0.1:9400`, for URLs in answers.
 * @property {Record<string, string>} params Decoded `{params}` of the route's path.
 * @property {URLSearchParams} query
 * @property {unknown} body The parsed JSON body, or null.
 */
/** @typedef {{ status: number, body?: unknown, headers?: Record<string, string> }} Reply */
/** @typedef {(ctx: Ctx, docs: string) => Reply | Promise<Reply>} Handler `docs`: the route's documentation URL. */
/**
 * @typedef {(method: string, template: string, docs: string, handler: Handler) => void} AddRoute `template`: e.g.
 *   `/repos/{owner}/{repo}/hooks`; `docs`: the documentation URL GitHub's errors on this route carry.
 */
/**
 * What route modules share: the state and the webhook sender.
 * @typedef {{ state: StandInState, hookshot: Hookshot }} RouteContext
 */
/** @typedef {{ method: string, pattern: RegExp, docs: string, handler: Handler }} Route */

export function createRouter() {
  /** @type {Route[]} */
  const routes = [];

  /** @type {AddRoute} */
  const route = (method, template, docs, handler) => {
    const source = template.replace(/\{(\w+)\}/g, (_, name) => `(?<${name}>[^/]+)`);
    routes.push({ method, pattern: new RegExp(`^${source}/?$`), docs, handler });
  };

  /**
   * @param {string} method @param {string} path
   * @returns {{ route: Route | undefined, params: Record<string, string> }}
   */
  function match(method, path) {
    for (const r of routes) {
      const m = r.method === method ? r.pattern.exec(path) : null;
      if (!m) continue;
      /** @type {Record<string, string>} */
      const params = {};
      try {
        for (const [k, v] of Object.entries(m.groups ?? {})) params[k] = decodeURIComponent(v);
      } catch {
        return { route: undefined, params: {} }; // malformed %-escapes: no such resource
      }
      return { route: r, params };
    }
    return { route: undefined, params: {} };
  }

  return { route, match };
}
