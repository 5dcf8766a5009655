// @ts-check
/** Small value helpers of the GitHub stand-in: GitHub's timestamps, ids and URLs, and masking secrets. */
import crypto from 'node:crypto';

export const MASK = '********';

/** GitHub timestamps have whole seconds. @param {number} [ms] */
export function isoSeconds(ms = Date.now()) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** @param {unknown} v @returns {v is Record<string, unknown>} */
export function isObject(v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** @param {string} s @returns {number | undefined} */
export function parseId(s) {
  return /^[1-9]\d{0,15}$/.test(s) ? Number(s) : undefined;
}

/** Copy of a JSON body with `secret` fields masked, for the request log. @param {unknown} body @returns {unknown} */
export function maskSecrets(body) {
  if (Array.isArray(body)) return body.map(maskSecrets);
  if (!isObject(body)) return body;
  /** @type {Record<string, unknown>} */
  const out = {};
  for (const [k, v] of Object.entries(body)) out[k] = k === 'secret' && v ? MASK : maskSecrets(v);
  return out;
}

/** @param {string} token */
export function fingerprint(token) {
  return crypto.createHash('sha256').update(token).digest('hex').slice(0, 12);
}

/** @param {string | undefined} value @returns {boolean} */
export function isHttpUrl(value) {
  if (typeof value !== 'string') return false;
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}
