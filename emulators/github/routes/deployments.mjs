// @ts-check
/**
 * Deployments and their statuses (https://docs.github.com/rest/deployments): list and get deployments, list, get
 * and create statuses, with GitHub's validation and its `auto_inactive` rule. Deployments are created through the
 * control API, as a CI system would, or through the REST route (fireops, for a rollout started by a release).
 */
import { DOCS_DEPLOYMENTS, DOCS_STATUSES, notFound, validationFailed } from '../errors.mjs';
import { addDeployment, repoKeyOf } from '../state.mjs';
import { isoSeconds, parseId } from '../values.mjs';
import { deploymentView, statusView } from '../views.mjs';
import { findDeployment, findRepo, objectBody, perPageOf } from './find.mjs';

/** @typedef {import('../state.mjs').DeploymentStatusRecord} DeploymentStatusRecord */
/** @typedef {import('./router.mjs').AddRoute} AddRoute */
/** @typedef {import('./router.mjs').RouteContext} RouteContext */

const DEPLOYMENT = '/repos/{owner}/{repo}/deployments/{deployment_id}';
const DEPLOYMENT_STATES = ['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'];

/** @param {AddRoute} route @param {RouteContext} context */
export function deploymentRoutes(route, { state }) {
  route('GET', '/repos/{owner}/{repo}/deployments', `${DOCS_DEPLOYMENTS}#list-deployments`, (ctx, docs) => {
    const repo = findRepo(state, ctx, docs);
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

  // Create a deployment (what fireops does for a rollout started by a release). GitHub's validation of the fields
  // fireops and CI systems send; the ref must be given (any ref is accepted: the stand-in has no git data), and
  // with auto_merge false and no required contexts GitHub answers 201. No `deployment` event is sent to hooks.
  route(
    'POST',
    '/repos/{owner}/{repo}/deployments',
    `${DOCS_DEPLOYMENTS}#create-a-deployment`,
    (ctx, docs) => {
      const repo = findRepo(state, ctx, docs);
      const body = objectBody(ctx.body, docs);
      /** @type {Array<Record<string, unknown>>} */
      const errors = [];
      if (typeof body.ref !== 'string' || body.ref === '') {
        errors.push({
          resource: 'Deployment',
          code: body.ref === undefined ? 'missing_field' : 'invalid',
          field: 'ref',
        });
      }
      for (const field of ['task', 'environment', 'description']) {
        const v = body[field];
        if (v !== undefined && v !== null && typeof v !== 'string')
          errors.push({ resource: 'Deployment', code: 'invalid', field });
      }
      if (body.required_contexts !== undefined && !Array.isArray(body.required_contexts)) {
        errors.push({ resource: 'Deployment', code: 'invalid', field: 'required_contexts' });
      }
      if (errors.length) throw validationFailed(docs, errors);
      let id = state.nextId.deployment;
      while (state.deployments.has(id)) id++;
      // No git data here: the deployment's sha is zeros whatever the ref.
      const record = addDeployment(state, id, repoKeyOf(repo.owner, repo.name), { ...body, sha: undefined });
      return { status: 201, body: deploymentView(state, record, ctx.base) };
    },
  );

  route('GET', DEPLOYMENT, `${DOCS_DEPLOYMENTS}#get-a-deployment`, (ctx, docs) => ({
    status: 200,
    body: deploymentView(state, findDeployment(state, ctx, docs), ctx.base),
  }));

  route('GET', `${DEPLOYMENT}/statuses`, `${DOCS_STATUSES}#list-deployment-statuses`, (ctx, docs) => {
    const dep = findDeployment(state, ctx, docs);
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
      const dep = findDeployment(state, ctx, docs);
      const s = dep.statuses.find((x) => x.id === parseId(ctx.params.status_id ?? ''));
      if (!s) throw notFound(docs);
      return { status: 200, body: statusView(state, dep, s, ctx.base) };
    },
  );

  route('POST', `${DEPLOYMENT}/statuses`, `${DOCS_STATUSES}#create-a-deployment-status`, (ctx, docs) => {
    const dep = findDeployment(state, ctx, docs);
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
}
