// The credential heuristic (platform/domain/credentials.ts): what health checks refuse inline and what failure
// details redact. True positives from each rule, and the header values a probe legitimately sends.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  REDACTED,
  inlineHeaderRefusal,
  isCredentialName,
  looksLikeCredential,
  redactCredentials,
  shannonEntropy,
} from '../../functions/src/platform/domain/credentials';

// Deterministic stand-ins for random keys and ids (SHA-256 of a counter): the same bytes on every run, so the
// heuristic's rare misses cannot make the test flaky.
let counter = 0;
function randomBytes(n: number): Buffer {
  const chunks: Buffer[] = [];
  for (let k = 0; chunks.length * 32 < n; k++) {
    chunks.push(createHash('sha256').update(`credentials-test:${counter}:${k}`).digest());
  }
  counter += 1;
  return Buffer.concat(chunks).subarray(0, n);
}
function randomUUID(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const FINE = [
  'application/json',
  'text/html; charset=utf-8',
  'fireops-prober/1.0',
  'fireops-prober-healthcheck-v1',
  'gzip, deflate, br',
  'no-cache',
  'max-age=0, must-revalidate',
  'en-US,en;q=0.9',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  'v2.14.3-rc1',
  'europe-west1-fireops-demo-2026',
  'Fireops-Health-Check-Build-20261205',
  'https://bvester.example/health?probe=1',
];

const SECRETS = () => [
  randomBytes(24).toString('base64url'),
  randomBytes(24).toString('base64'),
  randomBytes(20).toString('hex'),
  'Bearer abc',
  'basic dXNlcjpwYXNz',
  `ghp_${'A1b2'.repeat(9)}`,
  `github_pat_${'x9'.repeat(20)}`,
  'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl',
  'AKIAIOSFODNN7EXAMPLE',
  `AIza${'Sy'.repeat(18)}`,
  `sk_live_${randomBytes(12).toString('hex')}`,
  `xoxb-${'1234567890'.repeat(2)}-abc`,
];

describe('credentials: what looks like one', () => {
  it.each(FINE)('a probe may send %s inline', (value) => {
    expect(looksLikeCredential(value)).toBe(false);
  });

  it('UUIDs are identifiers (request ids), not credentials', () => {
    for (let i = 0; i < 50; i++) expect(looksLikeCredential(randomUUID())).toBe(false);
  });

  it('auth schemes, JWTs, vendor keys and random-looking runs are credentials', () => {
    for (const value of SECRETS()) expect([value, looksLikeCredential(value)]).toEqual([value, true]);
  });

  it('catches nearly every random base64 key of 24 bytes or more, and every 32-hex one', () => {
    let missed = 0;
    for (let i = 0; i < 1000; i++) if (!looksLikeCredential(randomBytes(24).toString('base64url'))) missed++;
    expect(missed).toBeLessThanOrEqual(2); // 0 with these bytes; a key can be all words by chance
    for (let i = 0; i < 200; i++) expect(looksLikeCredential(randomBytes(16).toString('hex'))).toBe(true);
  });

  it('names that say credential', () => {
    for (const name of [
      'X-Api-Key',
      'api_key',
      'X-Auth-Token',
      'Authorization',
      'X-Session-Id',
      'Cookie',
      'key',
    ]) {
      expect([name, isCredentialName(name)]).toEqual([name, true]);
    }
    for (const name of ['Accept', 'User-Agent', 'X-Request-Id', 'Cache-Control', 'X-Idempotency-Key']) {
      expect([name, isCredentialName(name)]).toEqual([name, false]);
    }
  });

  it('refuses inline with a reason naming the header, never the value', () => {
    const value = randomBytes(24).toString('base64url');
    const byValue = inlineHeaderRefusal('X-Custom', value)!;
    expect(byValue).toContain('headerSecrets.X-Custom');
    expect(byValue).not.toContain(value);
    expect(inlineHeaderRefusal('X-Api-Key', 'plain')).toContain('its name says it carries a credential');
    expect(inlineHeaderRefusal('Accept', 'application/json')).toBeNull();
  });

  it('entropy: a repeated character has none, 16 distinct characters have 4 bits', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('0123456789abcdef')).toBe(4);
  });
});

describe('credentials: redaction of quoted text', () => {
  it('keeps the shape of a body, drops what looks like a credential', () => {
    const key = randomBytes(24).toString('base64url');
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl';
    const body = `{"status":"DOWN","token":"abc123","user":"ada","k":"${key}"} Authorization: Bearer ${jwt} api_key=zzz`;
    const out = redactCredentials(body);
    for (const gone of [key, jwt, 'abc123', 'zzz']) expect(out).not.toContain(gone);
    expect(out).toContain('"status":"DOWN"');
    expect(out).toContain('"user":"ada"');
    expect(out).toContain(`"token":${REDACTED}`);
    expect(redactCredentials('connect ECONNREFUSED 10.0.0.1:443')).toBe('connect ECONNREFUSED 10.0.0.1:443');
    expect(redactCredentials('Authorization: Bearer abc123short')).not.toContain('abc123short');
    expect(redactCredentials('cookie: sid=s3cr3t; theme=dark')).not.toContain('s3cr3t');
  });

  it('scans a 64 KiB body of name characters without backtracking (a target chooses its body)', () => {
    const body = `${'a'.repeat(65_536)}token`;
    expect(redactCredentials(body)).toBe(body);
    expect(redactCredentials(`${'x'.repeat(65_536)}"token":"v"`)).toBe(
      `${'x'.repeat(65_536)}"token":${REDACTED}`,
    );
  });
});
