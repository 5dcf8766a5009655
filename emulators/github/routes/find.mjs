// @ts-check
/**
 * Lookups and argument checks the REST routes share: a missing (or other repository's) resource is GitHub's 404
 * with the route's documentation URL, a bad `per_page` or body its 422.
 */
import { notFound, validationFailed } from '../errors.mjs';
import { repoKeyOf } from '../state.mjs';
import { isObject, parseId } from '../values.mjs';

/** @typedef {import('../state.mjs').StandInState} StandInState */
/** @typedef {import('./router.mjs').Ctx} Ctx */

/** @param {StandInState} state @param {Ctx} ctx @param {string} docs */
export function findRepo(state, ctx, docs) {
  const repo = state.repos.get(repoKeyOf(ctx.params.owner ?? '', ctx.params.repo ?? ''));
  if (!repo) throw notFound(docs);
  return repo;
}

/** @param {StandInState} state @param {Ctx} ctx @param {string} docs */
export function findHook(state, ctx, docs) {
  const repo = findRepo(state, ctx, docs);
  const id = parseId(ctx.params.hook_id ?? '');
  const hook = id === undefined ? undefined : state.hooks.get(id);
  if (!hook || hook.repoKey !== repoKeyOf(repo.owner, repo.name)) throw notFound(docs);
  return hook;
}

/** @param {StandInState} state @param {Ctx} ctx @param {string} docs */
export function findDelivery(state, ctx, docs) {
  const hook = findHook(state, ctx, docs);
  const id = parseId(ctx.params.delivery_id ?? '');
  const d = state.deliveries.find((x) => x.id === id && x.hookId === hook.id);
  if (!d) throw notFound(docs);
  return { hook, delivery: d };
}

/** @param {StandInState} state @param {Ctx} ctx @param {string} docs */
export function findDeployment(state, ctx, docs) {
  const repo = findRepo(state, ctx, docs);
  const id = parseId(ctx.params.deployment_id ?? '');
  const dep = id === undefined ? undefined : state.deployments.get(id);
  if (!dep || dep.repoKey !== repoKeyOf(repo.owner, repo.name)) throw notFound(docs);
  return dep;
}

/** `per_page`: 30 by default, clamped to 1-100 as GitHub does. @param {URLSearchParams} query @param {string} docs */
export function perPageOf(query, docs) {
  const raw = query.get('per_page');
  if (raw === null || raw === '') return 30;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw validationFailed(docs, [{ resource: 'Search', field: 'per_page', code: 'invalid' }]);
  }
  return Math.min(Math.max(n, 1), 100);
}

/** @param {unknown} body @param {string} docs @returns {Record<string, unknown>} */
export function objectBody(body, docs) {
  if (body === undefined || body === null) return {};
  if (!isObject(body))
    throw validationFailed(docs, [{ code: 'invalid', message: 'Body must be a JSON object' }]);
  return body;
}
