// @ts-check
/**
 * Repository webhooks (https://docs.github.com/rest/repos/webhooks): list, get and delete a hook, read and update
 * its configuration (url, content type, secret, insecure_ssl), and ping it. Hooks are created through the control
 * API, as an admin would in GitHub's settings.
 */
import { DOCS_HOOKS, validationFailed } from '../errors.mjs';
import { repoKeyOf } from '../state.mjs';
import { isHttpUrl, isoSeconds } from '../values.mjs';
import { hookView, maskedConfig } from '../views.mjs';
import { findHook, findRepo, objectBody } from './find.mjs';

/** @typedef {import('./router.mjs').AddRoute} AddRoute */
/** @typedef {import('./router.mjs').RouteContext} RouteContext */

export const HOOK = '/repos/{owner}/{repo}/hooks/{hook_id}';

/** @param {AddRoute} route @param {RouteContext} context */
export function hookRoutes(route, { state, hookshot }) {
  route('GET', '/repos/{owner}/{repo}/hooks', `${DOCS_HOOKS}#list-repository-webhooks`, (ctx, docs) => {
    const repo = findRepo(state, ctx, docs);
    const key = repoKeyOf(repo.owner, repo.name);
    const hooks = [...state.hooks.values()].filter((h) => h.repoKey === key);
    return { status: 200, body: hooks.map((h) => hookView(state, h, ctx.base)) };
  });

  route('GET', HOOK, `${DOCS_HOOKS}#get-a-repository-webhook`, (ctx, docs) => ({
    status: 200,
    body: hookView(state, findHook(state, ctx, docs), ctx.base),
  }));

  route('DELETE', HOOK, `${DOCS_HOOKS}#delete-a-repository-webhook`, (ctx, docs) => {
    const hook = findHook(state, ctx, docs);
    state.hooks.delete(hook.id);
    return { status: 204 };
  });

  route(
    'GET',
    `${HOOK}/config`,
    `${DOCS_HOOKS}#get-a-webhook-configuration-for-a-repository`,
    (ctx, docs) => ({
      status: 200,
      body: maskedConfig(findHook(state, ctx, docs)),
    }),
  );

  route(
    'PATCH',
    `${HOOK}/config`,
    `${DOCS_HOOKS}#update-a-webhook-configuration-for-a-repository`,
    (ctx, docs) => {
      const hook = findHook(state, ctx, docs);
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
    await hookshot.ping(findHook(state, ctx, docs), ctx.base);
    return { status: 204 };
  });
}
