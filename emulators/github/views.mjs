// @ts-check
/**
 * The JSON GitHub answers for the stand-in's records (repositories, hooks, deliveries, deployments, statuses), with
 * URLs under `base`, the address the client used. Hook secrets are always masked.
 */
import { MASK } from './values.mjs';

/** @typedef {import('./state.mjs').StandInState} StandInState */
/** @typedef {import('./state.mjs').RepoRecord} RepoRecord */
/** @typedef {import('./state.mjs').HookRecord} HookRecord */
/** @typedef {import('./state.mjs').DeliveryRecord} DeliveryRecord */
/** @typedef {import('./state.mjs').DeploymentRecord} DeploymentRecord */
/** @typedef {import('./state.mjs').DeploymentStatusRecord} DeploymentStatusRecord */

/** Who GitHub says created deployments and statuses, and sent pings. */
export const CREATOR = {
  login: 'fireops-stand-in[bot]',
  id: 41_000_001,
  node_id: 'BOT_stand_in',
  type: 'Bot',
  site_admin: false,
};
/** @param {RepoRecord} repo @param {string} base */
export function ownerView(repo, base) {
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
export function repositoryView(repo, base) {
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
export function maskedConfig(hook) {
  /** @type {Record<string, string>} */
  const config = { content_type: hook.contentType, insecure_ssl: hook.insecureSsl };
  if (hook.secret) config.secret = MASK;
  config.url = hook.url;
  return config;
}

/** @param {StandInState} state @param {HookRecord} hook @param {string} base */
export function hookView(state, hook, base) {
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
export function deliverySummary(d) {
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
export function deliveryView(state, d, base) {
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
export function deploymentView(state, dep, base) {
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
export function statusView(state, dep, s, base) {
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
