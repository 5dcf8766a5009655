import { createHash } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import {
  canonicalJson,
  jsonDigest,
  toJsonValue,
  toTypedJsonValue,
} from '../../functions/src/platform/domain/canonical-json';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('canonicalJson', () => {
  it.each<[string, unknown, string]>([
    ['null', null, 'null'],
    ['undefined at top level', undefined, 'null'],
    ['true', true, 'true'],
    ['false', false, 'false'],
    ['zero', 0, '0'],
    ['negative zero', -0, '0'],
    ['integer', 42, '42'],
    ['negative float', -1.5, '-1.5'],
    ['large number', 1e21, '1e+21'],
    ['string', 'hi', '"hi"'],
    ['string escapes', 'a"b\\c\n', '"a\\"b\\\\c\\n"'],
    ['unicode', 'é✓', '"é✓"'],
    ['empty array', [], '[]'],
    ['empty object', {}, '{}'],
    ['array keeps order', [3, 1, 2], '[3,1,2]'],
    ['undefined in array becomes null', [1, undefined, 2], '[1,null,2]'],
    ['keys sorted', { b: 1, a: 2, c: 3 }, '{"a":2,"b":1,"c":3}'],
    ['keys sorted by code unit (upper before lower)', { b: 1, B: 2, a: 3 }, '{"B":2,"a":3,"b":1}'],
    ['numeric-looking keys sorted as strings', { '10': 1, '9': 2, '1': 3 }, '{"1":3,"10":1,"9":2}'],
    ['undefined values dropped', { a: 1, b: undefined, c: null }, '{"a":1,"c":null}'],
    ['all-undefined object', { a: undefined }, '{}'],
    ['key escaping', { 'a"b': 1 }, '{"a\\"b":1}'],
    [
      'nested objects and arrays sorted at every level',
      { z: { y: [{ b: 1, a: 2 }], x: { d: null, c: 'c' } }, a: [[], {}] },
      '{"a":[[],{}],"z":{"x":{"c":"c","d":null},"y":[{"a":2,"b":1}]}}',
    ],
  ])('%s', (_name, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it('is independent of insertion order', () => {
    const a = { one: 1, two: { x: 1, y: [1, { q: 1, p: 2 }] }, three: 'x' };
    const b = { three: 'x', two: { y: [1, { p: 2, q: 1 }], x: 1 }, one: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
  });

  it('agrees with JSON.parse: the output is valid JSON of the same value', () => {
    const value = { b: [1, 'two', null, { d: true, c: false }], a: { nested: { deep: -3.25 } } };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });

  it.each<[string, unknown, string]>([
    ['NaN', NaN, 'cannot encode NaN canonically'],
    ['Infinity', Infinity, 'cannot encode Infinity canonically'],
    ['-Infinity', -Infinity, 'cannot encode -Infinity canonically'],
    ['NaN nested in an object', { a: { b: NaN } }, 'cannot encode NaN canonically'],
    ['Infinity nested in an array', [1, [Infinity]], 'cannot encode Infinity canonically'],
    ['bigint', 10n, 'cannot encode a bigint canonically'],
    ['function', () => 1, 'cannot encode a function canonically'],
    ['symbol', Symbol('s'), 'cannot encode a symbol canonically'],
    ['function nested', { f: () => 1 }, 'cannot encode a function canonically'],
  ])('rejects %s with a TypeError', (_name, value, message) => {
    expect(() => canonicalJson(value)).toThrow(TypeError);
    expect(() => canonicalJson(value)).toThrow(message);
  });
});

describe('toJsonValue', () => {
  const fakeTimestamp = (iso: string) => ({
    toDate: () => new Date(iso),
    toMillis: () => Date.parse(iso),
    seconds: Math.floor(Date.parse(iso) / 1000),
    nanoseconds: 0,
  });

  it.each<[string, unknown, unknown]>([
    ['null', null, null],
    ['undefined', undefined, null],
    ['string', 's', 's'],
    ['boolean', false, false],
    ['finite number', 12.5, 12.5],
    ['NaN becomes a string', NaN, 'NaN'],
    ['Infinity becomes a string', Infinity, 'Infinity'],
    ['-Infinity becomes a string', -Infinity, '-Infinity'],
    ['bigint becomes a string', 12345678901234567890n, '12345678901234567890'],
    ['function becomes null', () => 1, null],
    ['symbol becomes null', Symbol('x'), null],
    ['Date becomes ISO', new Date('2024-05-06T07:08:09.010Z'), '2024-05-06T07:08:09.010Z'],
    ['Timestamp-like becomes ISO', fakeTimestamp('2023-01-02T03:04:05.678Z'), '2023-01-02T03:04:05.678Z'],
    ['DocumentReference-like becomes its path', { path: 'flags/x', firestore: {}, id: 'x' }, 'flags/x'],
    [
      'GeoPoint-like keeps lat/long',
      { latitude: 51.5, longitude: -0.12 },
      { latitude: 51.5, longitude: -0.12 },
    ],
    ['Buffer becomes base64', Buffer.from('hello'), 'aGVsbG8='],
    ['Uint8Array becomes base64', new Uint8Array([0, 255, 16]), 'AP8Q'],
    ['empty Buffer', Buffer.alloc(0), ''],
    ['array of mixed', [1, 'a', null, undefined, true], [1, 'a', null, null, true]],
    ['object drops undefined values', { a: 1, b: undefined, c: null }, { a: 1, c: null }],
    ['object with only toDate is a plain object', { toDate: 1 }, { toDate: 1 }],
    ['path without firestore is a plain object', { path: 'a/b' }, { path: 'a/b' }],
    [
      'latitude/longitude plus other keys is a plain object',
      { latitude: 1, longitude: 2, name: 'x' },
      { latitude: 1, longitude: 2, name: 'x' },
    ],
  ])('%s', (_name, value, expected) => {
    expect(toJsonValue(value)).toEqual(expected);
  });

  it('converts nested arrays and objects recursively', () => {
    const value = {
      expiresAt: fakeTimestamp('2030-12-31T23:59:59.000Z'),
      createdAt: new Date('2020-01-01T00:00:00.000Z'),
      owner: { path: 'users/u1', firestore: { projectId: 'p' } },
      blob: Buffer.from([1, 2, 3]),
      steps: [
        [1, NaN, { at: fakeTimestamp('2021-06-01T00:00:00.000Z'), skip: undefined }],
        { geo: { latitude: 0, longitude: 0 } },
      ],
      big: 5n,
    };
    expect(toJsonValue(value)).toEqual({
      expiresAt: '2030-12-31T23:59:59.000Z',
      createdAt: '2020-01-01T00:00:00.000Z',
      owner: 'users/u1',
      blob: 'AQID',
      steps: [[1, 'NaN', { at: '2021-06-01T00:00:00.000Z' }], { geo: { latitude: 0, longitude: 0 } }],
      big: '5',
    });
  });

  it('produces a value canonicalJson accepts', () => {
    const value = { n: Infinity, t: fakeTimestamp('2024-01-01T00:00:00.000Z'), x: [undefined, -Infinity] };
    expect(canonicalJson(toJsonValue(value))).toBe(
      '{"n":"Infinity","t":"2024-01-01T00:00:00.000Z","x":[null,"-Infinity"]}',
    );
  });

  it('does not mutate its input', () => {
    const input = { a: { b: [1, 2] }, c: undefined };
    toJsonValue(input);
    expect(input).toEqual({ a: { b: [1, 2] }, c: undefined });
    expect(Object.keys(input)).toEqual(['a', 'c']);
  });
});

describe('jsonDigest', () => {
  it('is the SHA-256 hex of the canonical encoding', () => {
    expect(jsonDigest({ b: 2, a: 1 })).toBe(sha256('{"a":1,"b":2}'));
    expect(jsonDigest(null)).toBe(sha256('null'));
    expect(jsonDigest('x')).toBe(sha256('"x"'));
  });

  it('is pinned for a known value', () => {
    expect(jsonDigest({ a: 1, b: 2 })).toBe(
      '43258cff783fe7036d8a43033f830adfc60ec037382473548ac742b888292777',
    );
  });

  it('is stable across key order and undefined values', () => {
    const a = jsonDigest({ enabled: true, rolloutPercent: 10, meta: { x: 1, y: [1, 2] } });
    const b = jsonDigest({ meta: { y: [1, 2], x: 1 }, rolloutPercent: 10, enabled: true, gone: undefined });
    expect(b).toBe(a);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each<[string, unknown, unknown]>([
    ['different values', { a: 1 }, { a: 2 }],
    ['number vs string', { a: 1 }, { a: '1' }],
    ['array order', [1, 2], [2, 1]],
    ['null vs absent key', { a: null }, {}],
    ['null vs empty object', null, {}],
  ])('differs for %s', (_name, x, y) => {
    expect(jsonDigest(x)).not.toBe(jsonDigest(y));
  });

  it('rejects non-finite numbers like canonicalJson', () => {
    expect(() => jsonDigest({ a: NaN })).toThrow('cannot encode NaN canonically');
  });
});

describe('toTypedJsonValue (content digests of backups and drills)', () => {
  const ts = {
    seconds: 1700000000,
    nanoseconds: 5,
    toDate: () => new Date(1700000000000),
    toMillis: () => 1700000000000,
  };
  const ref = { path: 'users/u1', firestore: {} };
  const typed = (v: unknown): string => jsonDigest(toTypedJsonValue(v));

  it.each<[string, unknown, unknown]>([
    ['timestamp vs its ISO string', { at: ts }, { at: new Date(1700000000000).toISOString() }],
    ['reference vs its path', { owner: ref }, { owner: 'users/u1' }],
    ['bytes vs base64', { b: Buffer.from('hi') }, { b: Buffer.from('hi').toString('base64') }],
    ['map vs array', { m: { 0: 'a' } }, { m: ['a'] }],
    ['geopoint vs map', { g: { latitude: 1, longitude: 2 } }, { g: { map: { latitude: 1, longitude: 2 } } }],
    ['nanoseconds of a timestamp', { at: ts }, { at: { ...ts, nanoseconds: 6 } }],
  ])('tells apart %s (the untyped digest did not)', (_name, x, y) => {
    expect(typed(x)).not.toBe(typed(y));
  });

  it('is the same for equal values in any key order', () => {
    expect(typed({ a: ts, b: [1, ref] })).toBe(typed({ b: [1, { ...ref }], a: { ...ts } }));
  });

  it('shows why: the untyped form of a timestamp equals its ISO string', () => {
    expect(jsonDigest(toJsonValue({ at: ts }))).toBe(
      jsonDigest(toJsonValue({ at: new Date(1700000000000).toISOString() })),
    );
  });
});
