// The health check condition language: what parses (and to what), where syntax errors point, and what each
// condition says about one probe observation, including the observations that lack what it asks about.
import { describe, expect, it } from 'vitest';
import {
  ConditionSyntaxError,
  conditionSubjectsFor,
  evaluateAll,
  evaluateCondition,
  formatCondition,
  parseCondition,
  type Condition,
  type ProbeObservation,
} from '../../functions/src/health/domain/conditions';

function syntaxError(text: string): ConditionSyntaxError {
  try {
    parseCondition(text);
  } catch (err) {
    if (err instanceof ConditionSyntaxError) return err;
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`);
}

const up: ProbeObservation = { connected: true, status: 200, responseTimeMs: 120, body: '{"status":"UP"}' };
const refused: ProbeObservation = {
  connected: false,
  responseTimeMs: 3,
  error: 'connect ECONNREFUSED 127.0.0.1:80',
};
const evaluate = (text: string, obs: ProbeObservation) => evaluateCondition(parseCondition(text), obs);

describe('parseCondition', () => {
  it.each<[string, Condition]>([
    ['status == 200', { subject: 'status', operator: '==', value: 200 }],
    ['status != 500', { subject: 'status', operator: '!=', value: 500 }],
    ['status < 500', { subject: 'status', operator: '<', value: 500 }],
    ['status <= 399', { subject: 'status', operator: '<=', value: 399 }],
    ['status > 199', { subject: 'status', operator: '>', value: 199 }],
    ['status >= 200', { subject: 'status', operator: '>=', value: 200 }],
    ['status in [200, 204]', { subject: 'status', operator: 'in', values: [200, 204] }],
    ['status in [301]', { subject: 'status', operator: 'in', values: [301] }],
    ['responseTimeMs < 800', { subject: 'responseTimeMs', operator: '<', value: 800 }],
    ['responseTimeMs <= 0.5', { subject: 'responseTimeMs', operator: '<=', value: 0.5 }],
    ['body contains "ok"', { subject: 'body', operator: 'contains', value: 'ok' }],
    ['body !contains "error"', { subject: 'body', operator: '!contains', value: 'error' }],
    [
      String.raw`body contains "say \"hi\"\n\u00e9\\"`,
      { subject: 'body', operator: 'contains', value: 'say "hi"\né\\' },
    ],
    ['json $.status == "UP"', { subject: 'json', path: ['status'], operator: '==', value: 'UP' }],
    [
      'json $.data.items[0].ok == true',
      { subject: 'json', path: ['data', 'items', 0, 'ok'], operator: '==', value: true },
    ],
    ['json $.count >= 3', { subject: 'json', path: ['count'], operator: '>=', value: 3 }],
    ['json $.x != null', { subject: 'json', path: ['x'], operator: '!=', value: null }],
    ['json $.ok == false', { subject: 'json', path: ['ok'], operator: '==', value: false }],
    ['json $.ratio < -1.5e-3', { subject: 'json', path: ['ratio'], operator: '<', value: -0.0015 }],
    [
      'json $["x-version"][12]["a b"] == "1"',
      { subject: 'json', path: ['x-version', 12, 'a b'], operator: '==', value: '1' },
    ],
    ['json $ == 1', { subject: 'json', path: [], operator: '==', value: 1 }],
    ['certExpiresInDays > 14', { subject: 'certExpiresInDays', operator: '>', value: 14 }],
    ['certExpiresInDays >= -1', { subject: 'certExpiresInDays', operator: '>=', value: -1 }],
    ['connected == true', { subject: 'connected', operator: '==', value: true }],
    ['connected != true', { subject: 'connected', operator: '!=', value: true }],
    ['connected == false', { subject: 'connected', operator: '==', value: false }],
  ])('parses %s', (text, expected) => {
    expect(parseCondition(text)).toEqual(expected);
    // Canonical text parses back to the same condition.
    expect(parseCondition(formatCondition(expected))).toEqual(expected);
  });

  it.each([
    ['  status   in[200,204]  ', 'status in [200, 204]'],
    ['\tstatus==200', 'status == 200'],
    ['json $.status=="UP"', 'json $.status == "UP"'],
    ['responseTimeMs<8e2', 'responseTimeMs < 800'],
    ['json $.a == -0', 'json $.a == 0'],
    ['status in [ 200 , 204 ]', 'status in [200, 204]'],
    ['json $["plain"]["x-y"] == "\\u0041"', 'json $.plain["x-y"] == "A"'],
    ['body contains  "a/b"', 'body contains "a/b"'],
  ])('accepts whitespace and spelling variants: %j formats as %j', (text, canonical) => {
    const parsed = parseCondition(text);
    expect(formatCondition(parsed)).toBe(canonical);
    expect(parseCondition(canonical)).toEqual(parsed);
  });

  it.each([
    ['', 0, 'expected a subject (status, responseTimeMs, body, json, certExpiresInDays, connected) at 0'],
    [
      'Status == 200',
      0,
      "expected a subject (status, responseTimeMs, body, json, certExpiresInDays, connected) at 0, found 'Status'",
    ],
    ['responseTimeMs < abc', 17, "expected a non-negative number after '<' at 17"],
    ['responseTimeMs < -1', 17, "expected a non-negative number after '<' at 17"],
    ['status = 200', 7, "expected an operator (==, !=, <, <=, >, >=, in) after 'status' at 7"],
    ['status == 200x', 13, "expected the end of the condition after '200' at 13"],
    ['status == 200 extra', 14, "expected the end of the condition after '200' at 14"],
    ['status == 2000', 10, "expected a status code (an integer from 100 to 599) after '==' at 10"],
    ['status == 200.5', 10, "expected a status code (an integer from 100 to 599) after '==' at 10"],
    ['status ==', 9, "expected a status code (an integer from 100 to 599) after '==' at 9"],
    ['status in 200', 10, "expected '[' after 'in' at 10"],
    ['status in [200 204]', 15, "expected ',' or ']' after '200' at 15"],
    ['status in [200,]', 15, "expected a status code (an integer from 100 to 599) after ',' at 15"],
    ['status in []', 11, "expected a status code (an integer from 100 to 599) after '[' at 11"],
    ['status inx [200]', 7, "expected an operator (==, !=, <, <=, >, >=, in) after 'status' at 7"],
    ['body == "ok"', 5, "expected 'contains' or '!contains' after 'body' at 5"],
    ['body contains ok', 14, 'expected a "string" after \'contains\' at 14'],
    ['body contains "ok', 14, "expected a closing '\"' for the string at 14"],
    [
      'body contains "a\\q"',
      14,
      'expected a JSON string (escapes \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX) at 14',
    ],
    ['json status == "UP"', 5, "expected a JSONPath starting with '$' after 'json' at 5"],
    ['json $. == 1', 7, 'expected a member name ([A-Za-z_][A-Za-z0-9_]*, or use ["name"]) after \'.\' at 7'],
    ['json $.a[x] == 1', 9, 'expected an index or a "quoted name" after \'[\' at 9'],
    ['json $.a[-1] == 1', 9, 'expected an index or a "quoted name" after \'[\' at 9'],
    ['json $.a[0 == 1', 10, "expected ']' after '0' at 10"],
    ['json $.count >= "3"', 16, "expected a number after '>=' at 16"],
    [
      'json $.x == undefined',
      12,
      'expected a value (a number, a "string", true, false or null) after \'==\' at 12',
    ],
    ['json $.x == 1e999', 12, "expected a finite number after '==' at 12"],
    ['connected == yes', 13, "expected true or false after '==' at 13"],
    ['connected < true', 10, "expected '==' or '!=' after 'connected' at 10"],
  ])('refuses %j at %i', (text, position, message) => {
    const err = syntaxError(text);
    expect(err.position).toBe(position);
    expect(err.message).toBe(message);
  });

  it('refuses a condition longer than 500 characters', () => {
    expect(syntaxError(`body contains "${'x'.repeat(500)}"`).message).toMatch(/at most 500 characters/);
  });
});

describe('conditionSubjectsFor', () => {
  it('lists what each probe type observes', () => {
    expect(conditionSubjectsFor('http')).toEqual([
      'status',
      'responseTimeMs',
      'body',
      'json',
      'certExpiresInDays',
    ]);
    expect(conditionSubjectsFor('tcp')).toEqual(['connected', 'responseTimeMs']);
    expect(conditionSubjectsFor('tls')).toEqual(['connected', 'responseTimeMs', 'certExpiresInDays']);
  });
});

describe('evaluateCondition', () => {
  it.each<[string, ProbeObservation, boolean, string]>([
    ['status in [200, 204]', up, true, 'status 200 in [200, 204]'],
    ['status in [200, 204]', { ...up, status: 503 }, false, 'status 503 not in [200, 204]'],
    ['status == 200', up, true, 'status 200 == 200'],
    ['status == 200', { ...up, status: 500 }, false, 'status 500 != 200'],
    ['status != 500', { ...up, status: 500 }, false, 'status 500 == 500'],
    ['status < 500', { ...up, status: 502 }, false, 'status 502 >= 500'],
    ['status <= 499', { ...up, status: 500 }, false, 'status 500 > 499'],
    ['status > 199', { ...up, status: 101 }, false, 'status 101 <= 199'],
    ['status >= 200', { ...up, status: 101 }, false, 'status 101 < 200'],
    ['responseTimeMs < 800', up, true, 'responseTimeMs 120 < 800'],
    ['responseTimeMs < 800', { ...up, responseTimeMs: 912 }, false, 'responseTimeMs 912 >= 800'],
    ['responseTimeMs < 800', { ...up, responseTimeMs: 800 }, false, 'responseTimeMs 800 >= 800'],
    ['certExpiresInDays > 14', { ...up, certExpiresInDays: 3 }, false, 'certExpiresInDays 3 <= 14'],
    ['certExpiresInDays > 14', { ...up, certExpiresInDays: 90 }, true, 'certExpiresInDays 90 > 14'],
    ['body contains "UP"', up, true, 'body contains "UP" at 11'],
    ['body !contains "error"', up, true, 'body does not contain "error"'],
    ['json $.status == "UP"', up, true, '$.status "UP" == "UP"'],
    ['json $.status == "UP"', { ...up, body: '{"status":"DOWN"}' }, false, '$.status "DOWN" != "UP"'],
    ['json $.status != "DOWN"', { ...up, body: '{"status":"DOWN"}' }, false, '$.status "DOWN" == "DOWN"'],
    [
      'json $.data.items[1].ok == true',
      { ...up, body: '{"data":{"items":[{},{"ok":true}]}}' },
      true,
      '$.data.items[1].ok true == true',
    ],
    ['json $.count >= 3', { ...up, body: '{"count":2}' }, false, '$.count 2 < 3'],
    ['json $.count >= 3', { ...up, body: '{"count":3}' }, true, '$.count 3 >= 3'],
    ['json $.count >= 3', { ...up, body: '{"count":"3"}' }, false, '$.count "3" is not a number'],
    ['json $.count == 3', { ...up, body: '{"count":"3"}' }, false, '$.count "3" != 3'],
    ['json $.ok == true', { ...up, body: '{"ok":1}' }, false, '$.ok 1 != true'],
    ['json $.x != null', { ...up, body: '{"x":null}' }, false, '$.x null == null'],
    ['json $.x != null', { ...up, body: '{"x":{"y":[1]}}' }, true, '$.x {"y":[1]} != null'],
    ['json $["a.b"] == 1', { ...up, body: '{"a.b":1}' }, true, '$["a.b"] 1 == 1'],
    ['json $ == 1', { ...up, body: ' 1 ' }, true, '$ 1 == 1'],
    ['connected == true', up, true, 'connected true == true'],
    ['connected == true', refused, false, 'connected false != true: "connect ECONNREFUSED 127.0.0.1:80"'],
    ['connected == false', refused, true, 'connected false == false'],
    ['connected != true', up, false, 'connected true == true'],
  ])('%s on %j: ok=%s', (text, obs, ok, detail) => {
    expect(evaluate(text, obs)).toEqual({ ok, detail });
  });

  describe('fails, never throws, when the observation lacks what the condition asks about', () => {
    it.each<[string, ProbeObservation, string]>([
      ['status == 200', refused, 'status unavailable: not connected ("connect ECONNREFUSED 127.0.0.1:80")'],
      ['status == 200', { connected: false, responseTimeMs: 10_000 }, 'status unavailable: not connected'],
      [
        'responseTimeMs < 800',
        refused,
        'responseTimeMs unavailable: not connected ("connect ECONNREFUSED 127.0.0.1:80")',
      ],
      [
        'body contains "ok"',
        refused,
        'body unavailable: not connected ("connect ECONNREFUSED 127.0.0.1:80")',
      ],
      [
        'json $.status == "UP"',
        refused,
        'json unavailable: not connected ("connect ECONNREFUSED 127.0.0.1:80")',
      ],
      [
        'body contains "ok"',
        { connected: true, status: 200, responseTimeMs: 10_000, error: 'body read timed out' },
        'body unavailable: "body read timed out"',
      ],
      ['json $.status == "UP"', { connected: true, status: 200, responseTimeMs: 5 }, 'body unavailable'],
      ['status == 200', { connected: true, responseTimeMs: 5 }, 'status unavailable'],
      ['json $.status == "UP"', { ...up, body: '<html>502 Bad Gateway</html>' }, 'body is not JSON'],
      ['json $.status == "UP"', { ...up, body: '' }, 'body is not JSON'],
      ['json $.status == "UP"', { ...up, body: '{"health":"UP"}' }, '$.status not found'],
      ['json $.x == null', { ...up, body: '{}' }, '$.x not found'],
      ['json $.a.b == 1', { ...up, body: '{"a":"text"}' }, '$.a.b not found'],
      ['json $.a[2] == 1', { ...up, body: '{"a":[1,2]}' }, '$.a[2] not found'],
      ['json $.a[0] == 1', { ...up, body: '{"a":{"0":1}}' }, '$.a[0] not found'],
      ['json $.length == 2', { ...up, body: '[1,2]' }, '$.length not found'],
      ['json $.toString != null', { ...up, body: '{}' }, '$.toString not found'],
      ['certExpiresInDays > 14', up, 'certExpiresInDays unavailable: no TLS certificate'],
    ])('%s on %j', (text, obs, detail) => {
      expect(evaluate(text, obs)).toEqual({ ok: false, detail });
    });
  });

  describe('quotes at most 32 characters of the body (80 of a probe error), redacted', () => {
    const secret = 'SECRET-TOKEN';
    const long = `${'a'.repeat(80)}${secret}${'b'.repeat(500)}`;
    const longestRun = (detail: string, ch: string) =>
      Math.max(...(detail.match(new RegExp(`${ch}+`, 'g')) ?? ['']).map((s) => s.length));

    it('for contains: a preview of the start', () => {
      const { ok, detail } = evaluate('body contains "ok"', { ...up, body: long });
      expect(ok).toBe(false);
      expect(detail).toBe(`body "${'a'.repeat(32)}"… does not contain "ok"`);
      expect(detail).not.toContain(secret);
    });

    it('for !contains: the text around the match', () => {
      const body = `${'x'.repeat(200)}error: ${'y'.repeat(300)}`;
      const { ok, detail } = evaluate('body !contains "error"', { ...up, body });
      expect(ok).toBe(false);
      expect(detail).toBe(`body contains "error" at 200: …"${'x'.repeat(8)}error: ${'y'.repeat(17)}"…`);
      expect(longestRun(detail, 'y') + 8 + 'error: '.length).toBe(32);
    });

    it('for json: the rendering of a long value', () => {
      const body = JSON.stringify({ status: { message: long } });
      const { ok, detail } = evaluate('json $.status == "UP"', { ...up, body });
      expect(ok).toBe(false);
      expect(detail).not.toContain(secret);
      expect(detail.length).toBeLessThanOrEqual('$.status '.length + 33 + ' != "UP"'.length);
      expect(detail).toMatch(/^\$\.status \{"message":"a+… != "UP"$/);
    });

    it('for probe errors', () => {
      const { detail } = evaluate('status == 200', { connected: false, responseTimeMs: 1, error: long });
      expect(detail).not.toContain(secret);
      expect(longestRun(detail, 'a')).toBe(80);
    });

    it('does not split a surrogate pair at the start of an excerpt', () => {
      const body = `😀${'x'.repeat(7)}error`;
      const { detail } = evaluate('body !contains "error"', { ...up, body });
      expect(detail).toBe(`body contains "error" at 9: …"${'x'.repeat(7)}error"`);
    });

    it('does not split a surrogate pair when cutting', () => {
      const body = `${'a'.repeat(31)}😀${'b'.repeat(10)}`;
      const { detail } = evaluate('body contains "ok"', { ...up, body });
      expect(detail).toBe(`body "${'a'.repeat(31)}"… does not contain "ok"`);
    });

    it('redacts credentials over the whole body before cutting: no key leaks whole or in part', () => {
      const key = 'Zk3nq8Rv0pX2bL7wTq9YcD4eHs6Ju1Mf';
      const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl';
      // The 32-character window starts 8 characters before "error", in the middle of the key.
      const body = `{"apiKey":"${key}","error":"db down","auth":"Bearer ${jwt}"}`;
      const { detail } = evaluate('body !contains "error"', { ...up, body });
      expect(detail).toMatch(/^body contains "error" at \d+: …"/);
      for (const part of [key.slice(-8), key.slice(0, 8), jwt.slice(0, 12)])
        expect(detail).not.toContain(part);
      const preview = evaluate('body contains "healthy"', {
        ...up,
        body: `token=${key}; status=down`,
      }).detail;
      expect(preview).toBe('body "token=[REDACTED]; status=down" does not contain "healthy"');
      const value = evaluate('json $.status == "UP"', {
        ...up,
        body: JSON.stringify({ status: key }),
      }).detail;
      expect(value).toBe('$.status "[REDACTED]" != "UP"');
      const error = evaluate('status == 200', {
        connected: false,
        responseTimeMs: 1,
        error: `bad key ${key}`,
      });
      expect(error.detail).toBe('status unavailable: not connected ("bad key [REDACTED]")');
    });
  });
});

describe('evaluateAll', () => {
  const conditions = ['status == 200', 'responseTimeMs < 800', 'json $.status == "UP"'].map(parseCondition);

  it('passes when every condition passes', () => {
    expect(evaluateAll(conditions, up)).toEqual({ ok: true, detail: '3 conditions passed' });
  });

  it('reports the first failing condition, its index and detail', () => {
    const obs = { ...up, responseTimeMs: 900, body: '{"status":"DOWN"}' };
    expect(evaluateAll(conditions, obs)).toEqual({
      ok: false,
      index: 1,
      condition: conditions[1],
      detail: 'responseTimeMs 900 >= 800',
    });
  });

  it('reads a body that is not JSON as a failure of the json condition', () => {
    expect(evaluateAll(conditions, { ...up, body: 'ok' })).toMatchObject({
      ok: false,
      index: 2,
      detail: 'body is not JSON',
    });
  });

  it('treats an empty list as connected == true', () => {
    expect(evaluateAll([], up)).toEqual({ ok: true, detail: '1 condition passed' });
    expect(evaluateAll([], refused)).toEqual({
      ok: false,
      index: 0,
      condition: { subject: 'connected', operator: '==', value: true },
      detail: 'connected false != true: "connect ECONNREFUSED 127.0.0.1:80"',
    });
  });
});
