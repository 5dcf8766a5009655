import { describe, it, expect } from 'vitest';
import type { JsonValue } from '../../functions/src/platform/domain/canonical-json';
import { diffFields, sameJson, type FieldDiff } from '../../functions/src/platform/domain/diff';

describe('diffFields', () => {
  it.each<[string, JsonValue, JsonValue, FieldDiff]>([
    ['identical objects', { a: 1, b: 'x' }, { a: 1, b: 'x' }, {}],
    ['both null (absent documents)', null, null, {}],
    ['changed scalar', { a: 1, b: 2 }, { a: 1, b: 3 }, { b: { from: 2, to: 3 } }],
    ['added key', { a: 1 }, { a: 1, b: true }, { b: { from: null, to: true } }],
    ['removed key', { a: 1, b: true }, { a: 1 }, { b: { from: true, to: null } }],
    ['created document', null, { a: 1, b: 'x' }, { a: { from: null, to: 1 }, b: { from: null, to: 'x' } }],
    ['deleted document', { a: 1, b: 'x' }, null, { a: { from: 1, to: null }, b: { from: 'x', to: null } }],
    ['type change number -> string', { a: 1 }, { a: '1' }, { a: { from: 1, to: '1' } }],
    ['false -> null is a change', { a: false }, { a: null }, { a: { from: false, to: null } }],
    ['explicit null vs absent is not a change', { a: null }, {}, {}],
    [
      'nested change reported at the top-level field',
      { o: { x: 1, y: 2 } },
      { o: { x: 1, y: 3 } },
      { o: { from: { x: 1, y: 2 }, to: { x: 1, y: 3 } } },
    ],
    [
      'nested key order is not a change',
      { o: { x: 1, y: [1, { p: 1, q: 2 }] } },
      { o: { y: [1, { q: 2, p: 1 }], x: 1 } },
      {},
    ],
    ['array order is a change', { l: [1, 2] }, { l: [2, 1] }, { l: { from: [1, 2], to: [2, 1] } }],
    ['array before (not an object) counts as empty', [1, 2], { a: 1 }, { a: { from: null, to: 1 } }],
    ['scalar after (not an object) counts as empty', { a: 1 }, 'x', { a: { from: 1, to: null } }],
    ['scalars on both sides: no fields', 1, 2, {}],
  ])('%s', (_name, before, after, expected) => {
    expect(diffFields(before, after)).toStrictEqual(expected);
  });

  it('lists keys of before first, then keys only in after', () => {
    const d = diffFields({ b: 1, a: 1 }, { c: 1, a: 2, b: 2 });
    expect(Object.keys(d)).toEqual(['b', 'a', 'c']);
  });

  it('does not mutate its inputs', () => {
    const before = { a: { x: 1 } };
    const after = { a: { x: 2 } };
    diffFields(before, after);
    expect(before).toStrictEqual({ a: { x: 1 } });
    expect(after).toStrictEqual({ a: { x: 2 } });
  });
});

describe('sameJson', () => {
  it.each<[string, JsonValue | undefined, JsonValue | undefined, boolean]>([
    ['equal scalars', 1, 1, true],
    ['different scalars', 1, 2, false],
    ['number vs string', 1, '1', false],
    ['key order ignored', { a: 1, b: { c: 2, d: 3 } }, { b: { d: 3, c: 2 }, a: 1 }, true],
    ['array order matters', [1, 2], [2, 1], false],
    ['undefined equals null', undefined, null, true],
    ['undefined equals undefined', undefined, undefined, true],
    ['null vs empty object', null, {}, false],
    ['null vs false', null, false, false],
    ['extra key', { a: 1 }, { a: 1, b: 2 }, false],
    ['explicit null key vs absent key', { a: null }, {}, false],
  ])('%s -> %s', (_name, a, b, expected) => {
    expect(sameJson(a, b)).toBe(expected);
    expect(sameJson(b, a)).toBe(expected);
  });
});
