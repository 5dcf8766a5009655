// @ts-check
/**
 * Local stand-in for the GitHub REST API (the webhook and deployment-status routes fireops uses) and for GitHub's
 * webhook sender ("Hookshot"). Tests and the local demo use it to "play GitHub": register a hook pointing at a
 * local receiver, send signed deliveries, fake failed ones, and let code under test (through the real Octokit
 * client) list, redeliver and ping deliveries, rotate the hook secret and post deployment statuses.
 *
 *   node emulators/github/server.mjs [--host 127.0.0.1] [--port 9400]
 *
 * State lives in memory only. See README.md next to this file for the routes, the control API under
 * `/_stand-in/` and the known differences from GitHub. Nothing here logs a token or a webhook secret.
 *
 * The pieces, around one state object (state.mjs): rest.mjs (auth, request log, faults, rate-limit headers) in
 * front of the route modules routes/{hooks,deliveries,deployments}.mjs; control.mjs (the `/_stand-in/` API);
 * hookshot.mjs (the webhook sender); views.mjs (the JSON GitHub answers).
 */
import http from 'node:http';
import { isMain, parseFlags, parsePort, runUntilSignal } from '../shared/cli.mjs';
import { answerControl, isControlPath, readBody, sendJson } from '../shared/control.mjs';
import { hostForAddress, listenHttp } from '../shared/servers.mjs';
import { controlRoutes } from './control.mjs';
import { createHookshot, DEFAULT_DELIVERY_TIMEOUT_MS } from './hookshot.mjs';
import { createRestApi } from './rest.mjs';
import { createState, resetState } from './state.mjs';

/** @typedef {import('./state.mjs').StandInState} StandInState */

const MAX_REQUEST_BODY = 25 * 1024 * 1024;

/**
 * @typedef {object} GitHubStandIn
 * @property {string} url e.g. 'http://127.0.0.1:41234'
 * @property {number} port
 * @property {() => Promise<void>} close
 * @property {() => void} reset
 * @property {StandInState} state
 */

/**
 * Starts the stand-in. `port: 0` picks a free port.
 * @param {{ host?: string, port?: number, acceptTokens?: string[] | null, deliveryTimeoutMs?: number }} [options]
 *   `acceptTokens`: when set, any other token gets 401 Bad credentials (default: any token is accepted).
 *   `deliveryTimeoutMs`: webhook POST time limit (default 10 000, as GitHub).
 * @returns {Promise<GitHubStandIn>}
 */
export async function startGitHubStandIn({
  host = '127.0.0.1',
  port = 0,
  acceptTokens = null,
  deliveryTimeoutMs = DEFAULT_DELIVERY_TIMEOUT_MS,
} = {}) {
  const initialTokens = acceptTokens ? [...acceptTokens] : null;
  const state = createState(initialTokens ? [...initialTokens] : null);
  const hookshot = createHookshot(state, { timeoutMs: deliveryTimeoutMs });
  const context = { state, hookshot };
  const rest = createRestApi(context);
  const control = controlRoutes(context, reset);

  function reset() {
    resetState(state, initialTokens ? [...initialTokens] : null);
    hookshot.reset();
    rest.reset();
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://stand-in.invalid');
      const base = `http://${req.headers.host ?? `${host}:${boundPort}`}`;
      try {
        const raw = await readBody(req, MAX_REQUEST_BODY);
        if (!raw) {
          sendJson(res, { status: 413, body: { message: 'Payload Too Large' } });
          return;
        }
        if (isControlPath(url.pathname)) {
          const method = (req.method ?? 'GET').toUpperCase();
          sendJson(
            res,
            await answerControl(method, url.pathname, raw, (m, sub, body) => control(m, sub, body, base)),
          );
        } else {
          const reply = await rest.handle(req, url, raw, base);
          sendJson(res, reply, rest.headers());
        }
      } catch (err) {
        // Never echo request headers here: they carry the token.
        const message = err instanceof Error ? err.message : String(err);
        if (!res.headersSent) sendJson(res, { status: 500, body: { message: `stand-in error: ${message}` } });
        else res.destroy();
      }
    })();
  });

  const boundPort = await listenHttp(server, port, host);
  const urlHost = hostForAddress(host);

  let closing = /** @type {Promise<void> | undefined} */ (undefined);
  function close() {
    closing ??= new Promise((resolve) => {
      hookshot.abort();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  }

  return { url: `http://${urlHost}:${boundPort}`, port: boundPort, close, reset, state };
}

// ---------------------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------------------

if (isMain(import.meta.url)) {
  await runUntilSignal('github stand-in', async () => {
    const args = parseFlags(
      process.argv.slice(2),
      { host: String, port: parsePort },
      'usage: node emulators/github/server.mjs [--host 127.0.0.1] [--port 9400]',
    );
    const offset = Number(process.env.FIREOPS_PORT_OFFSET ?? 0) || 0;
    const standIn = await startGitHubStandIn({ port: 9400 + offset, ...args });
    console.log(`GitHub stand-in listening on ${standIn.url}`);
    return standIn;
  });
}
