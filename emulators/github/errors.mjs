// @ts-check
/**
 * The errors the GitHub stand-in answers, in GitHub's shapes: REST errors carry `message`, `documentation_url` and
 * `status` (and `errors` for 422 Validation Failed); control API errors carry `error`. A route throws one; the REST
 * front (rest.mjs) and the control API (shared/control.mjs) answer its `status` and `body`.
 */

export const DOCS = 'https://docs.github.com/rest';
export const DOCS_HOOKS = `${DOCS}/repos/webhooks`;
export const DOCS_DELIVERIES = `${DOCS}/repos/webhooks`;
export const DOCS_STATUSES = `${DOCS}/deployments/statuses`;
export const DOCS_DEPLOYMENTS = `${DOCS}/deployments/deployments`;

export class HttpError extends Error {
  /** @param {number} status @param {Record<string, unknown>} body */
  constructor(status, body) {
    super(String(body.message ?? body.error ?? status));
    this.status = status;
    this.body = body;
  }
}

/** @param {string} documentationUrl */
export const notFound = (documentationUrl = DOCS) =>
  new HttpError(404, { message: 'Not Found', documentation_url: documentationUrl, status: '404' });

/** @param {string} documentationUrl @param {Array<Record<string, unknown>>} errors */
export const validationFailed = (documentationUrl, errors) =>
  new HttpError(422, {
    message: 'Validation Failed',
    errors,
    documentation_url: documentationUrl,
    status: '422',
  });

/** Control-API error. @param {number} status @param {string} error */
export const controlError = (status, error) => new HttpError(status, { error });
