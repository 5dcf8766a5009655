// @ts-check
/**
 * GitHub webhook signatures, as GitHub computes them: an HMAC over the exact raw request body bytes, keyed with the
 * hook's secret, hex-encoded and prefixed with the algorithm (`X-Hub-Signature-256: sha256=…`, and the legacy
 * `X-Hub-Signature: sha1=…`).
 */
import crypto from 'node:crypto';

/**
 * `sha256=` + HMAC-SHA256(secret, rawBody) in lowercase hex: the `X-Hub-Signature-256` header value.
 * A string body is signed as its UTF-8 bytes.
 * @param {string} secret
 * @param {string | Uint8Array} rawBody
 * @returns {string}
 */
export function signPayload(secret, rawBody) {
  return `sha256=${crypto.createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

/**
 * `sha1=` + HMAC-SHA1(secret, rawBody) in lowercase hex: the legacy `X-Hub-Signature` header value.
 * @param {string} secret
 * @param {string | Uint8Array} rawBody
 * @returns {string}
 */
export function signPayloadSha1(secret, rawBody) {
  return `sha1=${crypto.createHmac('sha1', secret).update(rawBody).digest('hex')}`;
}

/**
 * Constant-time check of an `X-Hub-Signature-256` value against `rawBody`.
 * @param {string} secret
 * @param {string | Uint8Array} rawBody
 * @param {string | undefined | null} signature
 * @returns {boolean}
 */
export function verifySignature(secret, rawBody, signature) {
  if (typeof signature !== 'string') return false;
  const expected = Buffer.from(signPayload(secret, rawBody), 'utf8');
  const actual = Buffer.from(signature, 'utf8');
  return expected.length === actual.length && crypto.timingSafeEqual(expected, actual);
}
