// @ts-check
/**
 * A hook's deliveries (https://docs.github.com/rest/repos/webhooks): list them newest first with GitHub's opaque
 * cursor pagination, get one with its request and response, and redeliver one (same GUID, `redelivery: true`).
 */
import { DOCS_DELIVERIES, validationFailed } from '../errors.mjs';
import { deliverySummary, deliveryView } from '../views.mjs';
import { findDelivery, findHook, perPageOf } from './find.mjs';
import { HOOK } from './hooks.mjs';

/** @typedef {import('../state.mjs').DeliveryRecord} DeliveryRecord */
/** @typedef {import('../state.mjs').RepoRecord} RepoRecord */
/** @typedef {import('./router.mjs').AddRoute} AddRoute */
/** @typedef {import('./router.mjs').RouteContext} RouteContext */

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

/** @param {AddRoute} route @param {RouteContext} context */
export function deliveryRoutes(route, { state, hookshot }) {
  route(
    'GET',
    `${HOOK}/deliveries`,
    `${DOCS_DELIVERIES}#list-deliveries-for-a-repository-webhook`,
    (ctx, docs) => {
      const hook = findHook(state, ctx, docs);
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
    (ctx, docs) => ({
      status: 200,
      body: deliveryView(state, findDelivery(state, ctx, docs).delivery, ctx.base),
    }),
  );

  route(
    'POST',
    `${HOOK}/deliveries/{delivery_id}/attempts`,
    `${DOCS_DELIVERIES}#redeliver-a-delivery-for-a-repository-webhook`,
    async (ctx, docs) => {
      const { hook, delivery } = findDelivery(state, ctx, docs);
      await hookshot.deliver(hook, {
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
}
