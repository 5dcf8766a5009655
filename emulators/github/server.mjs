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
 */
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isMain, parseFlags, parsePort, runUntilSignal } from '../shared/cli.mjs';
import { signPayload, signPayloadSha1 } from './sign.mjs';
import { listenHttp } from '../shared/servers.mjs';

// ---------------------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------------------

/**
 * @typedef {object} RepoRecord
 * @property {number} id
 * @property {string} owner As first written.
 * @property {string} name As first written.
 */

/**
 * @typedef {object} LastResponse
 * @property {number | null} code
 * @property {string} status
 * @property {string | null} message
 */

/**
 * @typedef {object} HookRecord
 * @property {number} id
 * @property {string} repoKey Lower-case `owner/repo`.
 * @property {string} url
 * @property {'json' | 'form'} contentType
 * @property {string | null} secret The current secret (in-process only; masked on every HTTP answer).
 * @property {string} insecureSsl '0' or '1'.
 * @property {string[]} events
 * @property {boolean} active
 * @property {string} createdAt
 * @property {string} updatedAt
 * @property {LastResponse} lastResponse
 */

/**
 * @typedef {object} DeliveryRecord
 * @property {number} id
 * @property {string} guid
 * @property {number} hookId
 * @property {number} repositoryId
 * @property {string} deliveredAt ISO-8601, seconds precision, like GitHub.
 * @property {number} deliveredAtMs Sort key (ms precision).
 * @property {boolean} redelivery
 * @property {number} duration Seconds.
 * @property {string} status 'OK', 'Invalid HTTP Response: NNN', 'failed to connect' or 'timed out'.
 * @property {number} statusCode 0 when no HTTP response was received.
 * @property {string} event
 * @property {string | null} action
 * @property {Record<string, string>} requestHeaders As sent (signature headers included).
 * @property {unknown} payload The payload object (or the raw string when a body override was not JSON).
 * @property {string | undefined} rawBody Set only when the body was overridden; redeliveries re-send it.
 * @property {Record<string, string>} responseHeaders
 * @property {string | null} responseBody Truncated to 64 KiB.
 * @property {boolean} sent false for entries recorded through the control API without sending.
 */

/**
 * @typedef {object} DeploymentStatusRecord
 * @property {number} id
 * @property {string} state
 * @property {string} description
 * @property {string} logUrl
 * @property {string} environmentUrl
 * @property {string} environment
 * @property {string} createdAt
 * @property {string} updatedAt
 */

/**
 * @typedef {object} DeploymentRecord
 * @property {number} id
 * @property {string} repoKey
 * @property {string} sha
 * @property {string} ref
 * @property {string} task
 * @property {unknown} payload
 * @property {string} originalEnvironment
 * @property {string} environment
 * @property {string | null} description
 * @property {boolean} transientEnvironment
 * @property {boolean} productionEnvironment
 * @property {string} createdAt
 * @property {string} updatedAt
 * @property {DeploymentStatusRecord[]} statuses Oldest first.
 */

/**
 * @typedef {object} RequestLogEntry
 * @property {string} method
 * @property {string} path
 * @property {Record<string, string>} query
 * @property {unknown} body Parsed JSON body (any `secret` field masked), or null.
 * @property {string} at ISO-8601.
 * @property {number | null} status The status code answered.
 * @property {'token' | 'bearer' | null} auth The Authorization scheme seen (never the token).
 */

/**
 * @typedef {object} Fault
 * @property {string | undefined} method
 * @property {string} path A path prefix, or a RegExp source when it starts with '^'.
 * @property {number} status
 * @property {unknown} body
 * @property {Record<string, string>} headers
 * @property {number} times Remaining uses (Infinity for "until cleared").
 */

/**
 * @typedef {object} StandInState
 * @property {Map<string, RepoRecord>} repos Keyed by lower-case `owner/repo`.
 * @property {Map<number, HookRecord>} hooks
 * @property {DeliveryRecord[]} deliveries Oldest first.
 * @property {Map<number, DeploymentRecord>} deployments
 * @property {RequestLogEntry[]} requests REST requests only, oldest first.
 * @property {Set<string>} tokensSeen Tokens presented on REST requests (in-process only, never logged or served).
 * @property {string[] | null} acceptTokens When set, other tokens get 401 Bad credentials.
 * @property {Fault[]} faults
 * @property {{ repo: number, hook: number, delivery: number, deployment: number, status: number }} nextId
 */

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

// ---------------------------------------------------------------------------------------------------------
// Constants and small helpers
// ---------------------------------------------------------------------------------------------------------

const DOCS = 'https://docs.github.com/rest';
const DOCS_HOOKS = `${DOCS}/repos/webhooks`;
const DOCS_DELIVERIES = `${DOCS}/repos/webhooks`;
const DOCS_STATUSES = `${DOCS}/deployments/statuses`;
const DOCS_DEPLOYMENTS = `${DOCS}/deployments/deployments`;
const MASK = '********';
const MAX_RESPONSE_BODY = 64 * 1024;
const MAX_REQUEST_BODY = 25 * 1024 * 1024;
const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;
const FIRST_HOOK_ID = 1000;
const FIRST_REPO_ID = 700_000_001;
const FIRST_DELIVERY_ID = 90_000_000_001;
const FIRST_DEPLOYMENT_ID = 1;
const FIRST_STATUS_ID = 1;
const DEPLOYMENT_STATES = ['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'];
const USER_AGENT = 'GitHub-Hookshot/stand-in';
const CREATOR = {
  login: 'fireops-stand-in[bot]',
  id: 41_000_001,
  node_id: 'BOT_stand_in',
  type: 'Bot',
  site_admin: false,
};
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

/** GitHub timestamps have whole seconds. @param {number} [ms] */
function isoSeconds(ms = Date.now()) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** @param {unknown} v @returns {v is Record<string, unknown>} */
function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** @param {string} owner @param {string} repo */
function repoKeyOf(owner, repo) {
  return `${owner}/${repo}`.toLowerCase();
}

/** @param {string} s @returns {number | undefined} */
function parseId(s) {
  return /^[1-9]\d{0,15}$/.test(s) ? Number(s) : undefined;
}

/** Copy of a JSON body with `secret` fields masked, for the request log. @param {unknown} body @returns {unknown} */
function maskSecrets(body) {
  if (Array.isArray(body)) return body.map(maskSecrets);
  if (!isObject(body)) return body;
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const [k, v] of Object.entries(body)) out[k] = k === 'secret' && v ? MASK : maskSecrets(v);
  return out;
}

/** @param {string} token */
function fingerprint(token) {
  return crypto.createHash('sha256').update(token).digest('hex').slice(0, 12);
}

/** @param {string} event @param {unknown} payload */
function actionOf(event, payload) {
  return event !== 'ping' && isObject(payload) && typeof payload.action === 'string' ? payload.action : null;
}

/** @param {string | undefined} value @returns {boolean} */
function isHttpUrl(value) {
  if (typeof value !== 'string') return false;
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Opaque delivery cursor: the sort key of the first entry of the next page. @param {DeliveryRecord} d */
function encodeCursor(d) {
  return `v1_${Buffer.from(`${d.deliveredAtMs}.${d.id}`, 'utf8').toString('base64url')}`;
}

/** @param {string} cursor @returns {{ t: number, id: number } | undefined} */
function decodeCursor(cursor) {
  const m = /^v1_([A-Za-z0-9_-]+)$/.exec(cursor);
  if (!m || !m[1]) return undefined;
  const parts = /^(\d+)\.(\d+)$/.exec(Buffer.from(m[1], 'base64url').toString('utf8'));
  if (!parts) return undefined;
  return { t: Number(parts[1]), id: Number(parts[2]) };
}

/** Newest first; ties broken by id. @param {DeliveryRecord} a @param {DeliveryRecord} b */
function newestFirst(a, b) {
  return b.deliveredAtMs - a.deliveredAtMs || b.id - a.id;
}

class HttpError extends Error {
  /** @param {number} status @param {Record<string, unknown>} body */
  constructor(status, body) {
    super(String(body.message ?? body.error ?? status));
    this.status = status;
    this.body = body;
  }
}

/** @param {string} documentationUrl */
const notFound = (documentationUrl = DOCS) =>
  new HttpError(404, { message: 'Not Found', documentation_url: documentationUrl, status: '404' });

/** @param {string} documentationUrl @param {Array<Record<string, unknown>>} errors */
const validationFailed = (documentationUrl, errors) =>
  new HttpError(422, {
    message: 'Validation Failed',
    errors,
    documentation_url: documentationUrl,
    status: '422',
  });

/** Control-API error. @param {number} status @param {string} error */
const controlError = (status, error) => new HttpError(status, { error });

// ---------------------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------------------

/** @param {string[] | null} acceptTokens @returns {StandInState} */
function createState(acceptTokens) {
  return {
    repos: new Map(),
    hooks: new Map(),
    deliveries: [],
    deployments: new Map(),
    requests: [],
    tokensSeen: new Set(),
    acceptTokens,
    faults: [],
    nextId: {
      repo: FIRST_REPO_ID,
      hook: FIRST_HOOK_ID,
      delivery: FIRST_DELIVERY_ID,
      deployment: FIRST_DEPLOYMENT_ID,
      status: FIRST_STATUS_ID,
    },
  };
}

/** Empties `state` in place, so references held by tests stay valid. @param {StandInState} state @param {string[] | null} acceptTokens */
function resetState(state, acceptTokens) {
  const fresh = createState(acceptTokens);
  state.repos.clear();
  state.hooks.clear();
  state.deliveries.length = 0;
  state.deployments.clear();
  state.requests.length = 0;
  state.tokensSeen.clear();
  state.acceptTokens = fresh.acceptTokens;
  state.faults.length = 0;
  state.nextId = fresh.nextId;
}

/** @param {StandInState} state @param {string} owner @param {string} name */
function ensureRepo(state, owner, name) {
  const key = repoKeyOf(owner, name);
  let repo = state.repos.get(key);
  if (!repo) {
    repo = { id: state.nextId.repo++, owner, name };
    state.repos.set(key, repo);
  }
  return repo;
}

// ---------------------------------------------------------------------------------------------------------
// JSON views (what GitHub answers)
// ---------------------------------------------------------------------------------------------------------

/** @param {RepoRecord} repo @param {string} base */
function ownerView(repo, base) {
  return {
    login: repo.owner,
    id: 10_000 + (repo.id % 10_000),
    node_id: `O_stand_in_${repo.owner}`,
    type: 'Organization',
    site_admin: false,
    url: `${base}/users/${repo.owner}`,
  };
}

/** @param {RepoRecord} repo @param {string} base */
function repositoryView(repo, base) {
  return {
    id: repo.id,
    node_id: `R_stand_in_${repo.id}`,
    name: repo.name,
    full_name: `${repo.owner}/${repo.name}`,
    private: true,
    owner: ownerView(repo, base),
    html_url: `https://github.com/${repo.owner}/${repo.name}`,
    url: `${base}/repos/${repo.owner}/${repo.name}`,
    default_branch: 'main',
  };
}

/** @param {HookRecord} hook */
function maskedConfig(hook) {
  /** @type {Record<string, string>} */
  const config = { content_type: hook.contentType, insecure_ssl: hook.insecureSsl };
  if (hook.secret) config.secret = MASK;
  config.url = hook.url;
  return config;
}

/** @param {StandInState} state @param {HookRecord} hook @param {string} base */
function hookView(state, hook, base) {
  const repo = /** @type {RepoRecord} */ (state.repos.get(hook.repoKey));
  const url = `${base}/repos/${repo.owner}/${repo.name}/hooks/${hook.id}`;
  return {
    type: 'Repository',
    id: hook.id,
    name: 'web',
    active: hook.active,
    events: [...hook.events],
    config: maskedConfig(hook),
    updated_at: hook.updatedAt,
    created_at: hook.createdAt,
    url,
    test_url: `${url}/test`,
    ping_url: `${url}/pings`,
    deliveries_url: `${url}/deliveries`,
    last_response: { ...hook.lastResponse },
  };
}

/** @param {DeliveryRecord} d */
function deliverySummary(d) {
  return {
    id: d.id,
    guid: d.guid,
    delivered_at: d.deliveredAt,
    redelivery: d.redelivery,
    duration: d.duration,
    status: d.status,
    status_code: d.statusCode,
    event: d.event,
    action: d.action,
    installation_id: null,
    repository_id: d.repositoryId,
    throttled_at: null,
  };
}

/** @param {StandInState} state @param {DeliveryRecord} d @param {string} base */
function deliveryView(state, d, base) {
  const hook = state.hooks.get(d.hookId);
  const repo = hook && state.repos.get(hook.repoKey);
  return {
    ...deliverySummary(d),
    url: repo ? `${base}/repos/${repo.owner}/${repo.name}/hooks/${d.hookId}/deliveries/${d.id}` : undefined,
    request: { headers: { ...d.requestHeaders }, payload: d.payload },
    response: { headers: { ...d.responseHeaders }, payload: d.responseBody },
  };
}

/** @param {StandInState} state @param {DeploymentRecord} dep @param {string} base */
function deploymentView(state, dep, base) {
  const repo = /** @type {RepoRecord} */ (state.repos.get(dep.repoKey));
  const repoUrl = `${base}/repos/${repo.owner}/${repo.name}`;
  const url = `${repoUrl}/deployments/${dep.id}`;
  return {
    url,
    id: dep.id,
    node_id: `DE_stand_in_${dep.id}`,
    sha: dep.sha,
    ref: dep.ref,
    task: dep.task,
    payload: dep.payload,
    original_environment: dep.originalEnvironment,
    environment: dep.environment,
    description: dep.description,
    creator: { ...CREATOR },
    created_at: dep.createdAt,
    updated_at: dep.updatedAt,
    statuses_url: `${url}/statuses`,
    repository_url: repoUrl,
    transient_environment: dep.transientEnvironment,
    production_environment: dep.productionEnvironment,
    performed_via_github_app: null,
  };
}

/** @param {StandInState} state @param {DeploymentRecord} dep @param {DeploymentStatusRecord} s @param {string} base */
function statusView(state, dep, s, base) {
  const repo = /** @type {RepoRecord} */ (state.repos.get(dep.repoKey));
  const repoUrl = `${base}/repos/${repo.owner}/${repo.name}`;
  const deploymentUrl = `${repoUrl}/deployments/${dep.id}`;
  return {
    url: `${deploymentUrl}/statuses/${s.id}`,
    id: s.id,
    node_id: `DES_stand_in_${s.id}`,
    state: s.state,
    creator: { ...CREATOR },
    description: s.description,
    environment: s.environment,
    target_url: s.logUrl,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    deployment_url: deploymentUrl,
    repository_url: repoUrl,
    environment_url: s.environmentUrl,
    log_url: s.logUrl,
    performed_via_github_app: null,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Webhook sending
// ---------------------------------------------------------------------------------------------------------

/** @param {'json' | 'form'} contentType @param {unknown} payload */
function encodeBody(contentType, payload) {
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
function deliveryHeaders(hook, repo, event, guid, body, signatureOverride) {
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

// ---------------------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------------------

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
  /** @type {Set<http.ClientRequest>} */
  const outgoing = new Set();
  let zenIndex = 0;
  let rateUsed = 0;

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
      timeoutMs: deliveryTimeoutMs,
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

  // -------------------------------------------------------------------------------------------------------
  // REST routes
  // -------------------------------------------------------------------------------------------------------

  /**
   * @typedef {object} Ctx
   * @property {string} base
   * @property {Record<string, string>} params
   * @property {URLSearchParams} query
   * @property {unknown} body
   */
  /** @typedef {{ status: number, body?: unknown, headers?: Record<string, string> }} Reply */

  /** @param {string} owner @param {string} name @param {string} docs */
  function findRepo(owner, name, docs) {
    const repo = state.repos.get(repoKeyOf(owner, name));
    if (!repo) throw notFound(docs);
    return repo;
  }

  /** @param {Ctx} ctx @param {string} docs */
  function findHook(ctx, docs) {
    const repo = findRepo(ctx.params.owner ?? '', ctx.params.repo ?? '', docs);
    const id = parseId(ctx.params.hook_id ?? '');
    const hook = id === undefined ? undefined : state.hooks.get(id);
    if (!hook || hook.repoKey !== repoKeyOf(repo.owner, repo.name)) throw notFound(docs);
    return hook;
  }

  /** @param {Ctx} ctx @param {string} docs */
  function findDelivery(ctx, docs) {
    const hook = findHook(ctx, docs);
    const id = parseId(ctx.params.delivery_id ?? '');
    const d = state.deliveries.find((x) => x.id === id && x.hookId === hook.id);
    if (!d) throw notFound(docs);
    return { hook, delivery: d };
  }

  /** @param {Ctx} ctx @param {string} docs */
  function findDeployment(ctx, docs) {
    const repo = findRepo(ctx.params.owner ?? '', ctx.params.repo ?? '', docs);
    const id = parseId(ctx.params.deployment_id ?? '');
    const dep = id === undefined ? undefined : state.deployments.get(id);
    if (!dep || dep.repoKey !== repoKeyOf(repo.owner, repo.name)) throw notFound(docs);
    return dep;
  }

  /** @param {URLSearchParams} query @param {string} docs */
  function perPageOf(query, docs) {
    const raw = query.get('per_page');
    if (raw === null || raw === '') return 30;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) {
      throw validationFailed(docs, [{ resource: 'Search', field: 'per_page', code: 'invalid' }]);
    }
    return Math.min(Math.max(n, 1), 100);
  }

  /** @param {unknown} body @param {string} docs @returns {Record<string, unknown>} */
  function objectBody(body, docs) {
    if (body === undefined || body === null) return {};
    if (!isObject(body))
      throw validationFailed(docs, [{ code: 'invalid', message: 'Body must be a JSON object' }]);
    return body;
  }

  /** @type {Array<{ method: string, pattern: RegExp, docs: string, handler: (ctx: Ctx, docs: string) => Reply | Promise<Reply> }>} */
  const routes = [];
  /**
   * @param {string} method @param {string} template e.g. '/repos/{owner}/{repo}/hooks'
   * @param {string} docs @param {(ctx: Ctx, docs: string) => Reply | Promise<Reply>} handler
   */
  const route = (method, template, docs, handler) => {
    const source = template.replace(/\{(\w+)\}/g, (_, name) => `(?<${name}>[^/]+)`);
    routes.push({ method, pattern: new RegExp(`^${source}/?$`), docs, handler });
  };

  const HOOK = '/repos/{owner}/{repo}/hooks/{hook_id}';
  const DEPLOYMENT = '/repos/{owner}/{repo}/deployments/{deployment_id}';

  route('GET', '/repos/{owner}/{repo}/hooks', `${DOCS_HOOKS}#list-repository-webhooks`, (ctx, docs) => {
    const repo = findRepo(ctx.params.owner ?? '', ctx.params.repo ?? '', docs);
    const key = repoKeyOf(repo.owner, repo.name);
    const hooks = [...state.hooks.values()].filter((h) => h.repoKey === key);
    return { status: 200, body: hooks.map((h) => hookView(state, h, ctx.base)) };
  });

  route('GET', HOOK, `${DOCS_HOOKS}#get-a-repository-webhook`, (ctx, docs) => ({
    status: 200,
    body: hookView(state, findHook(ctx, docs), ctx.base),
  }));

  route('DELETE', HOOK, `${DOCS_HOOKS}#delete-a-repository-webhook`, (ctx, docs) => {
    const hook = findHook(ctx, docs);
    state.hooks.delete(hook.id);
    return { status: 204 };
  });

  route(
    'GET',
    `${HOOK}/config`,
    `${DOCS_HOOKS}#get-a-webhook-configuration-for-a-repository`,
    (ctx, docs) => ({
      status: 200,
      body: maskedConfig(findHook(ctx, docs)),
    }),
  );

  route(
    'PATCH',
    `${HOOK}/config`,
    `${DOCS_HOOKS}#update-a-webhook-configuration-for-a-repository`,
    (ctx, docs) => {
      const hook = findHook(ctx, docs);
      const body = objectBody(ctx.body, docs);
      /** @type {Array<Record<string, unknown>>} */
      const errors = [];
      if (body.url !== undefined && !isHttpUrl(/** @type {string} */ (body.url))) {
        errors.push({ resource: 'Hook', code: 'custom', field: 'url', message: 'url is not a valid URL' });
      }
      if (body.content_type !== undefined && body.content_type !== 'json' && body.content_type !== 'form') {
        errors.push({ resource: 'Hook', code: 'invalid', field: 'content_type' });
      }
      if (body.secret !== undefined && body.secret !== null && typeof body.secret !== 'string') {
        errors.push({ resource: 'Hook', code: 'invalid', field: 'secret' });
      }
      const ssl = body.insecure_ssl;
      if (ssl !== undefined && !['0', '1', 0, 1].includes(/** @type {any} */ (ssl))) {
        errors.push({ resource: 'Hook', code: 'invalid', field: 'insecure_ssl' });
      }
      if (errors.length) throw validationFailed(docs, errors);
      if (body.url !== undefined) hook.url = /** @type {string} */ (body.url);
      if (body.content_type !== undefined)
        hook.contentType = /** @type {'json' | 'form'} */ (body.content_type);
      if (body.secret !== undefined) hook.secret = /** @type {string | null} */ (body.secret) || null;
      if (ssl !== undefined) hook.insecureSsl = String(ssl);
      hook.updatedAt = isoSeconds();
      return { status: 200, body: maskedConfig(hook) };
    },
  );

  route('POST', `${HOOK}/pings`, `${DOCS_HOOKS}#ping-a-repository-webhook`, async (ctx, docs) => {
    await ping(findHook(ctx, docs), ctx.base);
    return { status: 204 };
  });

  route(
    'GET',
    `${HOOK}/deliveries`,
    `${DOCS_DELIVERIES}#list-deliveries-for-a-repository-webhook`,
    (ctx, docs) => {
      const hook = findHook(ctx, docs);
      const perPage = perPageOf(ctx.query, docs);
      const cursorParam = ctx.query.get('cursor');
      let list = state.deliveries.filter((d) => d.hookId === hook.id).sort(newestFirst);
      if (cursorParam) {
        const key = decodeCursor(cursorParam);
        if (!key)
          throw validationFailed(docs, [{ resource: 'HookDelivery', field: 'cursor', code: 'invalid' }]);
        list = list.filter((d) => d.deliveredAtMs < key.t || (d.deliveredAtMs === key.t && d.id <= key.id));
      }
      const page = list.slice(0, perPage);
      /** @type {Record<string, string>} */
      const headers = {};
      const next = list[perPage];
      if (next) {
        const repo = /** @type {RepoRecord} */ (state.repos.get(hook.repoKey));
        const link = `${ctx.base}/repos/${repo.owner}/${repo.name}/hooks/${hook.id}/deliveries?cursor=${encodeCursor(next)}&per_page=${perPage}`;
        headers.Link = `<${link}>; rel="next"`;
      }
      return { status: 200, body: page.map(deliverySummary), headers };
    },
  );

  route(
    'GET',
    `${HOOK}/deliveries/{delivery_id}`,
    `${DOCS_DELIVERIES}#get-a-delivery-for-a-repository-webhook`,
    (ctx, docs) => ({ status: 200, body: deliveryView(state, findDelivery(ctx, docs).delivery, ctx.base) }),
  );

  route(
    'POST',
    `${HOOK}/deliveries/{delivery_id}/attempts`,
    `${DOCS_DELIVERIES}#redeliver-a-delivery-for-a-repository-webhook`,
    async (ctx, docs) => {
      const { hook, delivery } = findDelivery(ctx, docs);
      await deliver(hook, {
        event: delivery.event,
        payload: delivery.payload,
        guid: delivery.guid,
        action: delivery.action,
        rawBody: delivery.rawBody,
        redelivery: true,
      });
      return { status: 202, body: {} };
    },
  );

  route('GET', '/repos/{owner}/{repo}/deployments', `${DOCS_DEPLOYMENTS}#list-deployments`, (ctx, docs) => {
    const repo = findRepo(ctx.params.owner ?? '', ctx.params.repo ?? '', docs);
    const key = repoKeyOf(repo.owner, repo.name);
    const perPage = perPageOf(ctx.query, docs);
    const page = Math.max(1, Number(ctx.query.get('page')) || 1);
    const filters = /** @type {const} */ (['sha', 'ref', 'task', 'environment']);
    const list = [...state.deployments.values()]
      .filter((d) => d.repoKey === key)
      .filter((d) => filters.every((f) => ctx.query.get(f) === null || ctx.query.get(f) === d[f]))
      .sort((a, b) => b.id - a.id);
    const slice = list.slice((page - 1) * perPage, page * perPage);
    /** @type {Record<string, string>} */
    const headers = {};
    if (page * perPage < list.length) {
      const last = Math.ceil(list.length / perPage);
      const u = `${ctx.base}/repos/${repo.owner}/${repo.name}/deployments?per_page=${perPage}`;
      headers.Link = `<${u}&page=${page + 1}>; rel="next", <${u}&page=${last}>; rel="last"`;
    }
    return { status: 200, body: slice.map((d) => deploymentView(state, d, ctx.base)), headers };
  });

  route('GET', DEPLOYMENT, `${DOCS_DEPLOYMENTS}#get-a-deployment`, (ctx, docs) => ({
    status: 200,
    body: deploymentView(state, findDeployment(ctx, docs), ctx.base),
  }));

  route('GET', `${DEPLOYMENT}/statuses`, `${DOCS_STATUSES}#list-deployment-statuses`, (ctx, docs) => {
    const dep = findDeployment(ctx, docs);
    const list = [...dep.statuses].reverse();
    const perPage = perPageOf(ctx.query, docs);
    const page = Math.max(1, Number(ctx.query.get('page')) || 1);
    return {
      status: 200,
      body: list.slice((page - 1) * perPage, page * perPage).map((s) => statusView(state, dep, s, ctx.base)),
    };
  });

  route(
    'GET',
    `${DEPLOYMENT}/statuses/{status_id}`,
    `${DOCS_STATUSES}#get-a-deployment-status`,
    (ctx, docs) => {
      const dep = findDeployment(ctx, docs);
      const s = dep.statuses.find((x) => x.id === parseId(ctx.params.status_id ?? ''));
      if (!s) throw notFound(docs);
      return { status: 200, body: statusView(state, dep, s, ctx.base) };
    },
  );

  route('POST', `${DEPLOYMENT}/statuses`, `${DOCS_STATUSES}#create-a-deployment-status`, (ctx, docs) => {
    const dep = findDeployment(ctx, docs);
    const body = objectBody(ctx.body, docs);
    /** @type {Array<Record<string, unknown>>} */
    const errors = [];
    const stateValue = body.state;
    if (stateValue === undefined || stateValue === null) {
      errors.push({ resource: 'DeploymentStatus', code: 'missing_field', field: 'state' });
    } else if (typeof stateValue !== 'string' || !DEPLOYMENT_STATES.includes(stateValue)) {
      errors.push({ resource: 'DeploymentStatus', code: 'invalid', field: 'state', value: stateValue });
    }
    for (const field of ['description', 'log_url', 'target_url', 'environment_url', 'environment']) {
      const v = body[field];
      if (v !== undefined && v !== null && typeof v !== 'string') {
        errors.push({ resource: 'DeploymentStatus', code: 'invalid', field });
      }
    }
    if (typeof body.description === 'string' && Array.from(body.description).length > 140) {
      errors.push({
        resource: 'DeploymentStatus',
        code: 'custom',
        field: 'description',
        message: 'description is too long (maximum is 140 characters)',
      });
    }
    if (body.auto_inactive !== undefined && typeof body.auto_inactive !== 'boolean') {
      errors.push({ resource: 'DeploymentStatus', code: 'invalid', field: 'auto_inactive' });
    }
    if (errors.length) throw validationFailed(docs, errors);

    const now = isoSeconds();
    /** @param {string} name */
    const str = (name) => (typeof body[name] === 'string' ? /** @type {string} */ (body[name]) : '');
    if (str('environment')) dep.environment = str('environment');
    /** @type {DeploymentStatusRecord} */
    const status = {
      id: state.nextId.status++,
      state: /** @type {string} */ (stateValue),
      description: str('description'),
      logUrl: str('log_url') || str('target_url'),
      environmentUrl: str('environment_url'),
      environment: dep.environment,
      createdAt: now,
      updatedAt: now,
    };
    dep.statuses.push(status);
    dep.updatedAt = now;
    // auto_inactive (default true): prior non-transient, non-production deployments of the same repository and
    // environment whose latest status is `success` get an `inactive` status.
    if (status.state === 'success' && body.auto_inactive !== false) {
      for (const other of state.deployments.values()) {
        const latest = other.statuses.at(-1);
        if (
          other.id < dep.id &&
          other.repoKey === dep.repoKey &&
          other.environment === dep.environment &&
          !other.transientEnvironment &&
          !other.productionEnvironment &&
          latest?.state === 'success'
        ) {
          other.statuses.push({
            ...latest,
            id: state.nextId.status++,
            state: 'inactive',
            description: '',
            createdAt: now,
            updatedAt: now,
          });
          other.updatedAt = now;
        }
      }
    }
    return { status: 201, body: statusView(state, dep, status, ctx.base) };
  });

  /** @param {string} method @param {string} path */
  function matchRoute(method, path) {
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

  /**
   * @param {http.IncomingMessage} req @param {URL} url @param {Buffer} raw @param {string} base
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
        if (fault) return { status: fault.status, body: fault.body, headers: fault.headers };
        if (badJson) {
          throw new HttpError(400, {
            message: 'Problems parsing JSON',
            documentation_url: DOCS,
            status: '400',
          });
        }
        const { route: r, params } = matchRoute(method, url.pathname);
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

  // -------------------------------------------------------------------------------------------------------
  // Control API (/_stand-in/…, no auth)
  // -------------------------------------------------------------------------------------------------------

  /** @param {unknown} v @param {string} name */
  const requireString = (v, name) => {
    if (typeof v !== 'string' || v === '') throw controlError(400, `${name} must be a non-empty string`);
    return v;
  };

  /** @param {string} idText */
  function controlHook(idText) {
    const id = parseId(idText);
    const hook = id === undefined ? undefined : state.hooks.get(id);
    if (!hook) throw controlError(404, `no hook ${idText}`);
    return hook;
  }

  /** @param {string} base */
  function stateView(base) {
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
   * @param {string} method @param {string} path @param {Buffer} raw @param {string} base
   * @returns {Promise<Reply>}
   */
  async function handleControl(method, path, raw, base) {
    try {
      /** @type {Record<string, unknown>} */
      let body = {};
      if (raw.length) {
        let parsed;
        try {
          parsed = JSON.parse(raw.toString('utf8'));
        } catch {
          throw controlError(400, 'body is not valid JSON');
        }
        if (!isObject(parsed)) throw controlError(400, 'body must be a JSON object');
        body = parsed;
      }
      const sub = path.slice('/_stand-in'.length).replace(/\/$/, '') || '/';
      const hookMatch = /^\/hooks\/([^/]+)\/(deliver|deliveries)$/.exec(sub);

      if (method === 'GET' && sub === '/health') return { status: 200, body: { ok: true } };
      if (method === 'GET' && sub === '/state') return { status: 200, body: stateView(base) };
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
        state.nextId.deployment = Math.max(state.nextId.deployment, id + 1);
        const environment =
          body.environment === undefined ? 'production' : requireString(body.environment, 'environment');
        ensureRepo(state, owner, name);
        const now = isoSeconds();
        state.deployments.set(id, {
          id,
          repoKey: repoKeyOf(owner, name),
          sha: typeof body.sha === 'string' ? body.sha : '0'.repeat(40),
          ref: typeof body.ref === 'string' ? body.ref : 'main',
          task: typeof body.task === 'string' ? body.task : 'deploy',
          payload: body.payload ?? {},
          originalEnvironment: environment,
          environment,
          description: typeof body.description === 'string' ? body.description : null,
          transientEnvironment: body.transient_environment === true,
          productionEnvironment:
            typeof body.production_environment === 'boolean'
              ? body.production_environment
              : environment === 'production',
          createdAt: now,
          updatedAt: now,
          statuses: [],
        });
        return { status: 201, body: { id } };
      }
      if (method === 'POST' && hookMatch?.[2] === 'deliver') {
        const hook = controlHook(hookMatch[1] ?? '');
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
        const d = await deliver(hook, {
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
        const hook = controlHook(hookMatch[1] ?? '');
        const repo = /** @type {RepoRecord} */ (state.repos.get(hook.repoKey));
        const event = requireString(body.event, 'event');
        const statusCode = body.status_code;
        if (!Number.isInteger(statusCode) || /** @type {number} */ (statusCode) < 0) {
          throw controlError(400, 'status_code must be an integer (0 = no HTTP response)');
        }
        const code = /** @type {number} */ (statusCode);
        const deliveredAtMs =
          body.delivered_at === undefined ? Date.now() : Date.parse(String(body.delivered_at));
        if (Number.isNaN(deliveredAtMs))
          throw controlError(400, 'delivered_at must be an ISO-8601 timestamp');
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
        state.faults.push({
          method: typeof body.method === 'string' ? body.method : undefined,
          path: requireString(body.path, 'path'),
          status: /** @type {number} */ (status),
          body: body.body ?? { message: 'Server Error', status: String(status) },
          headers: /** @type {Record<string, string>} */ (body.headers ?? {}),
          times,
        });
        return { status: 201, body: { faults: state.faults.length } };
      }
      if (method === 'DELETE' && sub === '/faults') {
        state.faults.length = 0;
        return { status: 204 };
      }
      throw controlError(404, `no control route ${method} /_stand-in${sub === '/' ? '' : sub}`);
    } catch (err) {
      if (err instanceof HttpError) return { status: err.status, body: err.body };
      throw err;
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // HTTP plumbing
  // -------------------------------------------------------------------------------------------------------

  /** @param {http.IncomingMessage} req @returns {Promise<Buffer | undefined>} */
  function readBody(req) {
    return new Promise((resolve, reject) => {
      /** @type {Buffer[]} */
      const chunks = [];
      let size = 0;
      let tooBig = false;
      req.on('data', (/** @type {Buffer} */ c) => {
        size += c.length;
        if (size > MAX_REQUEST_BODY) tooBig = true;
        else chunks.push(c);
      });
      req.on('end', () => resolve(tooBig ? undefined : Buffer.concat(chunks)));
      req.on('error', reject);
    });
  }

  /** @param {http.ServerResponse} res @param {Reply} reply @param {Record<string, string>} [extra] */
  function send(res, reply, extra = {}) {
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

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://stand-in.invalid');
      const base = `http://${req.headers.host ?? `${host}:${boundPort}`}`;
      const isControl = url.pathname === '/_stand-in' || url.pathname.startsWith('/_stand-in/');
      try {
        const raw = await readBody(req);
        if (!raw) {
          send(res, { status: 413, body: { message: 'Payload Too Large' } });
          return;
        }
        if (isControl) {
          send(res, await handleControl((req.method ?? 'GET').toUpperCase(), url.pathname, raw, base));
        } else {
          const reply = await handleRest(req, url, raw, base);
          send(res, reply, restHeaders());
        }
      } catch (err) {
        // Never echo request headers here: they carry the token.
        const message = err instanceof Error ? err.message : String(err);
        if (!res.headersSent) send(res, { status: 500, body: { message: `stand-in error: ${message}` } });
        else res.destroy();
      }
    })();
  });

  const boundPort = await listenHttp(server, port, host);
  const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;

  function reset() {
    resetState(state, initialTokens ? [...initialTokens] : null);
    zenIndex = 0;
    rateUsed = 0;
  }

  let closing = /** @type {Promise<void> | undefined} */ (undefined);
  function close() {
    closing ??= new Promise((resolve) => {
      for (const req of outgoing) req.destroy(new Error('stand-in closing'));
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
