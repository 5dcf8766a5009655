// @ts-check
/**
 * The GitHub stand-in's state: what it knows of repositories, hooks, deliveries and deployments, the REST request
 * log and the injected faults. One object, created per stand-in and shared by the REST routes, the control API and
 * the webhook sender; tests read it through `GitHubStandIn.state`. In memory only.
 */
import { isoSeconds } from './values.mjs';

const FIRST_HOOK_ID = 1000;
const FIRST_REPO_ID = 700_000_001;
const FIRST_DELIVERY_ID = 90_000_000_001;
const FIRST_DEPLOYMENT_ID = 1;
const FIRST_STATUS_ID = 1;

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
 * @property {number} delayMs Milliseconds to wait before answering (a slow or hung GitHub).
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
 * Lower-case `owner/repo`: GitHub's names are case-insensitive.
 * @param {string} owner @param {string} repo
 */
export function repoKeyOf(owner, repo) {
  return `${owner}/${repo}`.toLowerCase();
}

/** @param {string[] | null} acceptTokens @returns {StandInState} */
export function createState(acceptTokens) {
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
export function resetState(state, acceptTokens) {
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
export function ensureRepo(state, owner, name) {
  const key = repoKeyOf(owner, name);
  let repo = state.repos.get(key);
  if (!repo) {
    repo = { id: state.nextId.repo++, owner, name };
    state.repos.set(key, repo);
  }
  return repo;
}

/**
 * Stores a new deployment of `repoKey` with id `id` from a create request's fields (REST or control API), with
 * GitHub's defaults: task `deploy`, environment `production`, production_environment true for `production`.
 * @param {StandInState} state
 * @param {number} id
 * @param {string} repoKey
 * @param {Record<string, unknown>} body
 * @returns {DeploymentRecord}
 */
export function addDeployment(state, id, repoKey, body) {
  const str = (/** @type {string} */ name) =>
    typeof body[name] === 'string' ? /** @type {string} */ (body[name]) : undefined;
  const environment = str('environment') ?? 'production';
  const now = isoSeconds();
  /** @type {DeploymentRecord} */
  const record = {
    id,
    repoKey,
    sha: str('sha') ?? '0'.repeat(40),
    ref: str('ref') ?? 'main',
    task: str('task') ?? 'deploy',
    payload: body.payload ?? {},
    originalEnvironment: environment,
    environment,
    description: str('description') ?? null,
    transientEnvironment: body.transient_environment === true,
    productionEnvironment:
      typeof body.production_environment === 'boolean'
        ? body.production_environment
        : environment === 'production',
    createdAt: now,
    updatedAt: now,
    statuses: [],
  };
  state.nextId.deployment = Math.max(state.nextId.deployment, id + 1);
  state.deployments.set(id, record);
  return record;
}
