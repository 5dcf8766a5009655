// What looks like a credential, so it never enters Firestore (issue 13): health checks refuse such header values
// inline (they belong in headerSecrets, read from Secret Manager at probe time), and the excerpts of response
// bodies and errors that failure details quote are redacted with it. Pure: no I/O.
//
// A heuristic, deliberately on the cautious side (a refused inline header costs the admin one move to
// headerSecrets; a stored credential is permanent in the hash-chained audit log):
// - by name: a header whose name contains token, secret, password/passwd, auth (authorization, x-auth-...,
//   oauth), session, signature, credential, cookie, csrf/xsrf, jwt, api-key/apikey/api_key, access-key,
//   private-key, or is exactly `key`;
// - by value, whatever the name: an auth scheme (`Bearer x`, `Basic x`, `Digest x`, `Token x`), a JWT, a key with a
//   known vendor prefix (GitHub ghp_/gho_/ghu_/ghs_/ghr_/github_pat_, Stripe sk_/rk_, Slack xox?-, AWS AKIA/ASIA,
//   Google AIza, GitLab glpat-, npm npm_, OpenAI sk-, SendGrid SG.), or a random-looking run: at least 20
//   characters of the base64/base64url alphabet mixing letters with digits or both cases, with Shannon entropy of at
//   least 4.0 bits per character, whose characters change class (lower, upper, digit) within a segment at least 30%
//   of the time (random base64: about 65%; words, Title-Case and dates: under 20%), or at least 32 hexadecimal characters with entropy of
//   at least 3.0 (the thresholds of Yelp's detect-secrets, the base64 one lowered from 4.5 because header values
//   are short, with the class-switch rule added so that hyphenated words and dates pass).
// Not credentials: UUIDs (hyphenated, 8-4-4-4-12: request ids), media types, user agents, language and encoding
// lists, plain words and version strings.

import { createHash } from 'node:crypto';

const CREDENTIAL_NAME_PARTS = [
  'token',
  'secret',
  'password',
  'passwd',
  'auth',
  'session',
  'signature',
  'credential',
  'cookie',
  'csrf',
  'xsrf',
  'jwt',
  'api-key',
  'apikey',
  'api_key',
  'access-key',
  'access_key',
  'private-key',
  'private_key',
];

/** Whether a header's name says its value is a credential. */
export function isCredentialName(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === 'key' || CREDENTIAL_NAME_PARTS.some((part) => lower.includes(part));
}

const SCHEME = /^(?:bearer|basic|digest|token|negotiate)\s+\S/i;
const JWT = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
const VENDOR =
  /\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,}|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|xox[abposr]-[A-Za-z0-9-]{10,}|(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,}|glpat-[A-Za-z0-9_-]{16,}|npm_[A-Za-z0-9]{30,}|sk-[A-Za-z0-9_-]{20,}|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,})/g;
/** Runs of the base64 / base64url alphabet (a hex run is one too). */
const RUN = /[A-Za-z0-9+/=_-]{20,}/g;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HEX = /^[0-9a-f]+$/i;

/** Shannon entropy of `s` in bits per character. */
export function shannonEntropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** Whether one run of the base64 alphabet looks random enough to be a key. */
function randomLooking(run: string): boolean {
  // A run may carry a UUID between separators it shares with base64url (`-`): UUIDs are identifiers.
  if (UUID.test(run)) return false;
  if (HEX.test(run)) return run.length >= 32 && shannonEntropy(run) >= 3.0;
  // Mixed: a digit and a letter, or both cases (a random key without a digit is 0.4% of 32-character ones).
  const mixed = /[A-Za-z]/.test(run) && (/[0-9]/.test(run) || (/[a-z]/.test(run) && /[A-Z]/.test(run)));
  return mixed && shannonEntropy(run) >= 4.0 && classSwitchRate(run) >= 0.3;
}

/**
 * How often consecutive characters change class (lower case, upper case, digit) within the run's alphanumeric
 * segments: about 0.65 in random base64, under 0.2 in words, Title-Case and dates
 * (`Fireops-Health-Check-Build-20261205`: 0.16).
 */
function classSwitchRate(run: string): number {
  const kind = (c: string) => (c >= 'a' && c <= 'z' ? 0 : c >= 'A' && c <= 'Z' ? 1 : 2);
  let switches = 0;
  let pairs = 0;
  for (const segment of run.split(/[^A-Za-z0-9]+/)) {
    for (let i = 1; i < segment.length; i++) {
      pairs++;
      if (kind(segment[i]!) !== kind(segment[i - 1]!)) switches++;
    }
  }
  return pairs ? switches / pairs : 0;
}

/** Whether a value (a header's, or any short text) looks like a credential, whatever it is called. */
export function looksLikeCredential(value: string): boolean {
  const v = value.trim();
  if (SCHEME.test(v)) return true;
  if (new RegExp(JWT.source).test(v) || new RegExp(VENDOR.source).test(v)) return true;
  return (v.match(RUN) ?? []).some(randomLooking);
}

/** Why a header may not be set inline (a credential belongs in headerSecrets), or null. Never quotes the value. */
export function inlineHeaderRefusal(name: string, value: string): string | null {
  if (isCredentialName(name))
    return `its name says it carries a credential: name a Secret Manager secret in headerSecrets.${name}`;
  if (looksLikeCredential(value))
    return `its value looks like a credential (a token, key or auth scheme): name a Secret Manager secret in headerSecrets.${name}`;
  return null;
}

export const REDACTED = '[REDACTED]';

/** The words that make a name credential-named, for pairs in text (linear: no nested quantifiers). */
const KEYWORD =
  /token|secret|password|passwd|auth|session|signature|credential|cookie|csrf|xsrf|jwt|api[-_]?key|access[-_]key|private[-_]key/gi;
const NAME_CHAR = /[A-Za-z0-9_.-]/;
const VALUE_END = /[\s,;&"'}]/;

/**
 * The values of credential-named `name=value`, `name: value` and `"name":"value"` pairs replaced (quotes and all).
 * A scan, not one regular expression: bodies are up to 64 KiB of whatever a target answers, and a pattern with a
 * name of any length around the keyword backtracks quadratically on a long run of name characters.
 */
function redactNamedPairs(text: string): string {
  let out = '';
  let last = 0;
  for (const m of text.matchAll(KEYWORD)) {
    let j = m.index + m[0].length;
    if (m.index < last) continue;
    while (j < text.length && NAME_CHAR.test(text[j]!)) j++;
    if (text[j] === '"' || text[j] === "'") j++;
    const sep = /^\s{0,4}[:=]\s{0,4}/.exec(text.slice(j, j + 10));
    if (!sep) continue;
    const start = j + sep[0].length;
    const quote = text[start];
    let end = start;
    if (quote === '"' || quote === "'") {
      const close = text.indexOf(quote, start + 1);
      end = close < 0 ? text.length : close + 1;
    } else while (end < text.length && !VALUE_END.test(text[end]!)) end++;
    if (end === start) continue;
    out += `${text.slice(last, start)}${REDACTED}`;
    last = end;
  }
  return out + text.slice(last);
}

/**
 * `text` with everything that looks like a credential replaced by [REDACTED]: auth schemes' parameters, JWTs,
 * vendor keys, values of credential-named pairs, random-looking runs. For excerpts of response bodies and error
 * messages that failure details quote (they are stored in cycle documents and incidents, and posted to chat).
 */
export function redactCredentials(text: string): string {
  // Auth schemes first: `Authorization: Bearer x` must lose x, not only the word after the colon.
  const schemes = text.replace(/\b(bearer|basic|digest|token|negotiate)(\s+)[^\s"',;]+/gi, `$1$2${REDACTED}`);
  return redactNamedPairs(schemes.replace(JWT, REDACTED).replace(VENDOR, REDACTED)).replace(RUN, (run) =>
    randomLooking(run) ? REDACTED : run,
  );
}

/**
 * What an audit entry stores instead of a sensitive value: `sha256:` and the first 16 hex digits of its SHA-256.
 * Two entries can be compared (did the value change? is it the one I think?) without the value being kept in the
 * hash-chained log, where it could never be removed.
 */
export function auditDigest(value: string): string {
  return `sha256:${createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 16)}`;
}
