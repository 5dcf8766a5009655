import { describe, it, expect } from 'vitest';
import { REDACTED, Redactor, redactor } from '../../functions/src/platform/domain/redact';

const SECRET = 's3cr3t-VALUE-0001';
const OTHER = 'ghp_0123456789abcdef';

function withSecrets(...values: string[]): Redactor {
  const r = new Redactor();
  for (const v of values) r.register(v);
  return r;
}

describe('Redactor.register', () => {
  it.each<[string, number]>([
    ['', 0],
    ['a', 0],
    ['1234567', 0], // 7: too short
    ['12345678', 1], // 8: the minimum
    [SECRET, 1],
  ])('register(%j) -> size %d', (value, size) => {
    const r = withSecrets(value);
    expect(r.size).toBe(size);
  });

  it('deduplicates values', () => {
    expect(withSecrets(SECRET, SECRET, OTHER).size).toBe(2);
  });

  it('values shorter than 8 are not redacted', () => {
    const r = withSecrets('hunter2');
    expect(r.redactString('password is hunter2')).toBe('password is hunter2');
    expect(r.redact({ msg: 'hunter2' })).toStrictEqual({ msg: 'hunter2' });
  });

  it('the process-wide redactor is a Redactor', () => {
    expect(redactor).toBeInstanceOf(Redactor);
    expect(REDACTED).toBe('[REDACTED]');
  });
});

describe('Redactor.redactString', () => {
  const r = withSecrets(SECRET, OTHER);

  it.each<[string, string]>([
    ['no secrets here', 'no secrets here'],
    ['', ''],
    [SECRET, REDACTED],
    [`Bearer ${SECRET}`, 'Bearer [REDACTED]'],
    [`${SECRET}${SECRET}`, '[REDACTED][REDACTED]'],
    [`a=${SECRET}&b=${OTHER}&c=${SECRET}`, 'a=[REDACTED]&b=[REDACTED]&c=[REDACTED]'],
    [`prefix-${SECRET.slice(0, -1)}`, `prefix-${SECRET.slice(0, -1)}`], // partial value is not the value
    [SECRET.toUpperCase(), SECRET.toUpperCase()], // case-sensitive
  ])('%j -> %j', (text, expected) => {
    expect(r.redactString(text)).toBe(expected);
  });

  it('with nothing registered returns the text unchanged', () => {
    expect(new Redactor().redactString(`x ${SECRET}`)).toBe(`x ${SECRET}`);
  });

  it('instances are independent', () => {
    const a = withSecrets(SECRET);
    const b = new Redactor();
    expect(a.redactString(SECRET)).toBe(REDACTED);
    expect(b.redactString(SECRET)).toBe(SECRET);
  });

  // BUG (expected to FAIL until fixed): values are replaced in registration order, so when a shorter registered
  // value is a substring of a longer one registered later, the longer one is only partly replaced and its
  // remaining characters are logged.
  it('BUG: redacts a registered value fully even when a shorter registered value is a prefix of it', () => {
    const old = 'abcd-1234'; // e.g. a previous secret version
    const longer = 'abcd-1234-ZZ-rest-of-new-secret';
    const r2 = withSecrets(old, longer);
    expect(r2.redactString(`token=${longer}`)).toBe('token=[REDACTED]');
  });
});

describe('Redactor.redact', () => {
  const r = withSecrets(SECRET, OTHER);

  it.each<[string, unknown]>([
    ['null', null],
    ['undefined', undefined],
    ['number', 42],
    ['boolean', true],
  ])('returns %s unchanged', (_name, value) => {
    expect(r.redact(value)).toBe(value);
  });

  it('replaces registered values in strings, nested objects and arrays', () => {
    const input = {
      msg: `calling with ${SECRET}`,
      nested: { deeper: { list: ['ok', `x${OTHER}y`, 3, null, { s: SECRET }] } },
      count: 3,
      flag: false,
    };
    expect(r.redact(input)).toStrictEqual({
      msg: 'calling with [REDACTED]',
      nested: { deeper: { list: ['ok', 'x[REDACTED]y', 3, null, { s: REDACTED }] } },
      count: 3,
      flag: false,
    });
  });

  it('returns a deep copy and leaves the input untouched', () => {
    const input = { a: { b: SECRET }, token: 'abc' };
    const out = r.redact(input) as { a: { b: string } };
    expect(out).not.toBe(input);
    expect(out.a).not.toBe(input.a);
    expect(input).toStrictEqual({ a: { b: SECRET }, token: 'abc' });
  });

  it('redacts Error messages and stacks, keeping the name', () => {
    const err = new TypeError(`request failed: key ${SECRET} rejected`);
    const out = r.redact(err) as { name: string; message: string; stack: string };
    expect(out.name).toBe('TypeError');
    expect(out.message).toBe('request failed: key [REDACTED] rejected');
    expect(out.stack).toContain('TypeError: request failed: key [REDACTED] rejected');
    expect(out.stack).not.toContain(SECRET);
    expect(Object.keys(out)).toEqual(['name', 'message', 'stack']);
  });

  it('redacts Errors nested in objects and arrays', () => {
    const out = r.redact({ err: new Error(SECRET), list: [new Error(`x ${OTHER}`)] }) as {
      err: { message: string };
      list: Array<{ message: string }>;
    };
    expect(out.err.message).toBe(REDACTED);
    expect(out.list[0]!.message).toBe('x [REDACTED]');
    expect(JSON.stringify(out)).not.toContain(SECRET);
    expect(JSON.stringify(out)).not.toContain(OTHER);
  });

  it('an Error without a stack keeps stack undefined', () => {
    const err = new Error(SECRET);
    err.stack = undefined;
    expect(r.redact(err)).toStrictEqual({ name: 'Error', message: REDACTED, stack: undefined });
  });

  it.each<[string, string]>([
    ['token', 'plain-short'],
    ['webhookSecret', 'whsec'],
    ['password', 'pw'],
    ['passwd', 'pw'],
    ['dbPassword', 'pw'],
    ['secret', 's'],
    ['clientSecret', 's'],
    ['accessToken', 't'],
    ['GITHUB_TOKEN', 't'],
    ['credential', 'c'],
    ['credentials', 'c'],
    ['privateKey', 'k'],
    ['private_key', 'k'],
    ['private-key', 'k'],
    ['apiKey', 'k'],
    ['api_key', 'k'],
    ['x-api-key', 'k'],
    ['authorization', 'Bearer abc'],
    ['Authorization', 'Bearer abc'],
    ['signature', 'sha256=abc'],
    ['x-hub-signature-256', 'sha256=abc'],
  ])('masks sensitive key %j holding a string', (key, value) => {
    expect(new Redactor().redact({ [key]: value, other: value })).toStrictEqual({
      [key]: REDACTED,
      other: value,
    });
  });

  it.each<[string, string]>([
    ['secretId', 'github-app-key'],
    ['tokenName', 'deploy-token'],
    ['secretVersion', '7'],
    ['secretVersions', '7,8'],
    ['secretIds', 'a,b'],
    ['secretName', 'projects/p/secrets/s'],
    ['secretNames', 'a,b'],
    ['tokenCount', '3'],
    ['tokenExpiresAt', '2030-01-01'],
    ['tokenTtlMs', '3600000'],
    ['secretPath', 'projects/p/secrets/s/versions/1'],
    ['passwordField', 'password'],
    ['SECRET_ID', 'x'],
    ['description', 'nothing sensitive'],
    ['user', 'alice'],
  ])('does not mask name-like / ordinary key %j', (key, value) => {
    expect(new Redactor().redact({ [key]: value })).toStrictEqual({ [key]: value });
  });

  it('registered values are still replaced under name-like keys', () => {
    expect(r.redact({ secretId: `id-${SECRET}` })).toStrictEqual({ secretId: 'id-[REDACTED]' });
  });

  it('masks a Buffer under a sensitive key', () => {
    expect(new Redactor().redact({ privateKey: Buffer.from('-----BEGIN KEY-----') })).toStrictEqual({
      privateKey: REDACTED,
    });
  });

  it.each<[string, unknown, unknown]>([
    ['number', 12345, 12345],
    ['null', null, null],
    ['boolean', true, true],
    ['undefined', undefined, undefined],
  ])('keeps a non-string %s under a sensitive key', (_name, value, expected) => {
    expect(new Redactor().redact({ token: value })).toStrictEqual({ token: expected });
  });

  it('recurses into objects under a sensitive key (masking their own sensitive fields)', () => {
    const input = { credentials: { client_email: 'svc@p.iam', private_key: 'PEM', projectId: 'p' } };
    expect(new Redactor().redact(input)).toStrictEqual({
      credentials: { client_email: 'svc@p.iam', private_key: REDACTED, projectId: 'p' },
    });
  });

  it('masks sensitive keys at any depth, including inside arrays', () => {
    const input = {
      hooks: [
        { url: 'https://x', webhookSecret: 'abc' },
        { url: 'https://y', token: 'def' },
      ],
    };
    expect(new Redactor().redact(input)).toStrictEqual({
      hooks: [
        { url: 'https://x', webhookSecret: REDACTED },
        { url: 'https://y', token: REDACTED },
      ],
    });
  });

  it('cuts an object cycle', () => {
    const a: Record<string, unknown> = { name: 'a', s: SECRET };
    a.self = a;
    expect(r.redact(a)).toStrictEqual({ name: 'a', s: REDACTED, self: '[Circular]' });
  });

  it('cuts an indirect cycle through an array', () => {
    const parent: Record<string, unknown> = { id: 'p' };
    const child = { id: 'c', up: parent };
    parent.children = [child];
    expect(r.redact(parent)).toStrictEqual({ id: 'p', children: [{ id: 'c', up: '[Circular]' }] });
  });

  it('cuts a self-containing array', () => {
    const list: unknown[] = [1];
    list.push(list);
    expect(r.redact(list)).toStrictEqual([1, '[Circular]']);
  });

  // BUG (expected to FAIL until fixed): the `seen` set is never unwound, so an object that is merely shared (no
  // cycle) is replaced by '[Circular]' on its second appearance, and that part of the log line is lost.
  it('BUG: keeps an object that appears twice without a cycle', () => {
    const shared = { enabled: true, rolloutPercent: 10 };
    expect(r.redact({ before: shared, after: shared })).toStrictEqual({
      before: { enabled: true, rolloutPercent: 10 },
      after: { enabled: true, rolloutPercent: 10 },
    });
  });
});
