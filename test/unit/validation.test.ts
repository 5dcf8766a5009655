import { describe, it, expect } from 'vitest';
// The root node_modules holds zod 3 (a firebase-tools dependency); the functions use zod 4 from their own
// node_modules, so ad-hoc schemas are built with that copy. The .cjs entry is the one whose declarations
// (index.d.cts) the sources' `import type { z } from 'zod'` resolves to, so schemas type-check against
// parseOrThrow; the .js entry's index.d.ts declarations are nominally distinct.
import { z } from '../../functions/node_modules/zod/index.cjs';
import { FLAG_KEY_PATTERN, flagSchema } from '../../functions/src/flags/schema';
import { timestampSchema, toMillis } from '../../functions/src/platform/schema';
import { fieldPath, formatZodError, parseOrThrow } from '../../functions/src/platform/validation';
import { ValidationError } from '../../functions/src/platform/domain/errors';

const GOOD = { enabled: true, rolloutPercent: 25, description: 'new checkout' };

function flagError(value: unknown, subject?: string): { message: string; field: string } {
  const result = flagSchema.safeParse(value);
  if (result.success) throw new Error('expected the flag to be invalid');
  return formatZodError(result.error, subject);
}

function caught(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

describe('fieldPath', () => {
  it.each<[PropertyKey[], string]>([
    [[], ''],
    [['a'], 'a'],
    [['a', 'b'], 'a.b'],
    [['a', 'b', 2], 'a.b[2]'],
    [['steps', 0, 'percent'], 'steps[0].percent'],
    [[0], '[0]'],
    [[0, 1], '[0][1]'],
    [[0, 'a'], '[0].a'],
    [['m', 'k', 3, 4, 'z'], 'm.k[3][4].z'],
  ])('%j -> %j', (path, expected) => {
    expect(fieldPath(path)).toBe(expected);
  });
});

describe('flagSchema', () => {
  it.each<[string, unknown]>([
    ['minimal', GOOD],
    ['0%', { ...GOOD, rolloutPercent: 0 }],
    ['100%', { ...GOOD, rolloutPercent: 100 }],
    ['empty description', { ...GOOD, description: '' }],
    ['500-character description', { ...GOOD, description: 'x'.repeat(500) }],
    ['Date expiry', { ...GOOD, expiresAt: new Date(0) }],
    ['Timestamp-like expiry', { ...GOOD, expiresAt: { toMillis: () => 1 } }],
  ])('accepts %s', (_name, value) => {
    expect(flagSchema.safeParse(value).success).toBe(true);
  });

  it.each<[string, unknown, string, string]>([
    [
      'rolloutPercent 101',
      { ...GOOD, rolloutPercent: 101 },
      "field 'rolloutPercent' must be <= 100",
      'rolloutPercent',
    ],
    [
      'rolloutPercent -1',
      { ...GOOD, rolloutPercent: -1 },
      "field 'rolloutPercent' must be >= 0",
      'rolloutPercent',
    ],
    [
      'rolloutPercent 1.5',
      { ...GOOD, rolloutPercent: 1.5 },
      "field 'rolloutPercent' must be an integer, got number",
      'rolloutPercent',
    ],
    [
      'rolloutPercent as a string',
      { ...GOOD, rolloutPercent: '10' },
      "field 'rolloutPercent' must be a number, got string",
      'rolloutPercent',
    ],
    ['unknown key', { ...GOOD, x: 1 }, "unknown field 'x'", 'x'],
    ['two unknown keys', { ...GOOD, x: 1, y: 2 }, "unknown fields 'x', 'y'", 'x'],
    [
      'missing enabled',
      { rolloutPercent: 1, description: '' },
      "field 'enabled' is required (boolean)",
      'enabled',
    ],
    [
      'enabled as a string',
      { ...GOOD, enabled: 'yes' },
      "field 'enabled' must be a boolean, got string",
      'enabled',
    ],
    ['enabled null', { ...GOOD, enabled: null }, "field 'enabled' must be a boolean, got null", 'enabled'],
    [
      'description too long',
      { ...GOOD, description: 'x'.repeat(501) },
      "field 'description' must be <= 500 characters",
      'description',
    ],
    [
      'expiresAt not a timestamp',
      { ...GOOD, expiresAt: '2030-01-01' },
      "field 'expiresAt' must be a timestamp",
      'expiresAt',
    ],
  ])('%s -> %j', (_name, value, message, field) => {
    expect(flagError(value)).toStrictEqual({ message, field });
  });

  it('joins several problems with "; " in schema order and names the first field', () => {
    const { message, field } = flagError({ enabled: 'yes', rolloutPercent: 200, x: 1 });
    expect(message).toBe(
      "field 'enabled' must be a boolean, got string; field 'rolloutPercent' must be <= 100; " +
        "field 'description' is required (string); unknown field 'x'",
    );
    expect(field).toBe('enabled');
  });

  it('prefixes the subject', () => {
    expect(flagError({ ...GOOD, rolloutPercent: 101 }, 'flags/checkout')).toStrictEqual({
      message: "flags/checkout: field 'rolloutPercent' must be <= 100",
      field: 'rolloutPercent',
    });
  });

  it('a non-object document is reported on the document, with an empty field', () => {
    const { message, field } = flagError('just a string');
    expect(field).toBe('');
    expect(message.startsWith('document must be ')).toBe(true);
    expect(message.endsWith(', got string')).toBe(true);
  });

  it.each<[string, boolean]>([
    ['deployFreeze', true],
    ['new_checkout-2', true],
    ['a', true],
    ['A' + 'b'.repeat(99), true],
    ['A' + 'b'.repeat(100), false],
    ['', false],
    ['1flag', false],
    ['_flag', false],
    ['flags/x', false],
    ['has space', false],
    ['dot.ted', false],
  ])('FLAG_KEY_PATTERN %j -> %s', (key, expected) => {
    expect(FLAG_KEY_PATTERN.test(key)).toBe(expected);
  });
});

describe('timestampSchema / toMillis', () => {
  it.each<[string, unknown, boolean]>([
    ['Date', new Date(5), true],
    ['Timestamp-like', { toMillis: () => 5 }, true],
    ['ISO string', '2030-01-01T00:00:00Z', false],
    ['number', 5, false],
    ['null', null, false],
    ['object with a non-function toMillis', { toMillis: 5 }, false],
  ])('%s valid=%s', (_name, value, expected) => {
    expect(timestampSchema.safeParse(value).success).toBe(expected);
  });

  it('toMillis reads both shapes', () => {
    expect(toMillis(new Date(1234))).toBe(1234);
    expect(toMillis({ toMillis: () => 5678 })).toBe(5678);
  });
});

describe('formatZodError with ad-hoc schemas', () => {
  const nested = z.object({
    a: z.object({ b: z.array(z.number().max(100)) }),
    name: z.string().min(3),
    mode: z.enum(['fast', 'safe']),
    steps: z.array(z.object({ percent: z.number().lt(100) })).max(2),
    email: z.email().optional(),
  });

  const ok = { a: { b: [1, 2, 3] }, name: 'abc', mode: 'fast', steps: [{ percent: 50 }] };

  function message(value: unknown): { message: string; field: string } {
    const result = nested.safeParse(value);
    if (result.success) throw new Error('expected the value to be invalid');
    return formatZodError(result.error);
  }

  it('accepts the baseline', () => {
    expect(nested.safeParse(ok).success).toBe(true);
  });

  it.each<[string, unknown, string, string]>([
    ["nested path 'a.b[2]'", { ...ok, a: { b: [1, 2, 101] } }, "field 'a.b[2]' must be <= 100", 'a.b[2]'],
    [
      'nested array of objects',
      { ...ok, steps: [{ percent: 1 }, { percent: 100 }] },
      "field 'steps[1].percent' must be < 100",
      'steps[1].percent',
    ],
    ['string too short', { ...ok, name: 'ab' }, "field 'name' must be >= 3 characters", 'name'],
    [
      'array too long',
      { ...ok, steps: [{ percent: 1 }, { percent: 2 }, { percent: 3 }] },
      "field 'steps' must be <= 2 items",
      'steps',
    ],
    ['enum', { ...ok, mode: 'slow' }, 'field \'mode\' must be one of "fast", "safe"', 'mode'],
    ['format', { ...ok, email: 'not-an-email' }, "field 'email' must be a valid email", 'email'],
    ['missing nested object', { ...ok, a: undefined }, "field 'a' is required (object)", 'a'],
    [
      'wrong element type',
      { ...ok, a: { b: [1, 'two'] } },
      "field 'a.b[1]' must be a number, got string",
      'a.b[1]',
    ],
  ])('%s', (_name, value, msg, field) => {
    expect(message(value)).toStrictEqual({ message: msg, field });
  });

  it('unknown keys in a nested strict object are named with their full path', () => {
    const schema = z.object({ outer: z.strictObject({ keep: z.number() }) });
    const result = schema.safeParse({ outer: { keep: 1, extra: true, more: 2 } });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(formatZodError(result.error, 'cfg')).toStrictEqual({
      message: "cfg: unknown fields 'outer.extra', 'outer.more'",
      field: 'outer.extra',
    });
  });

  it('custom messages pass through', () => {
    const schema = z.object({ when: z.custom<string>((v) => v === 'now', { message: 'must be now' }) });
    const result = schema.safeParse({ when: 'later' });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(formatZodError(result.error)).toStrictEqual({
      message: "field 'when' must be now",
      field: 'when',
    });
  });

  it('an exclusive lower bound reads ">"', () => {
    const result = z.object({ n: z.number().gt(3) }).safeParse({ n: 3 });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(formatZodError(result.error).message).toBe("field 'n' must be > 3");
  });
});

describe('parseOrThrow', () => {
  it('returns the parsed value', () => {
    expect(parseOrThrow(flagSchema, GOOD, 'flags/x')).toStrictEqual(GOOD);
  });

  it('returns the schema output, not the input', () => {
    const schema = z.object({ n: z.coerce.number() });
    expect(parseOrThrow(schema, { n: '42' }, 'x')).toStrictEqual({ n: 42 });
  });

  it.each<[string, unknown, string, string]>([
    [
      'rolloutPercent 101',
      { ...GOOD, rolloutPercent: 101 },
      "flags/checkout: field 'rolloutPercent' must be <= 100",
      'rolloutPercent',
    ],
    ['unknown key', { ...GOOD, x: 1 }, "flags/checkout: unknown field 'x'", 'x'],
    [
      'missing enabled',
      { rolloutPercent: 1, description: '' },
      "flags/checkout: field 'enabled' is required (boolean)",
      'enabled',
    ],
  ])('throws a ValidationError for %s', (_name, value, message, field) => {
    const err = caught(() => parseOrThrow(flagSchema, value, 'flags/checkout'));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.name).toBe('ValidationError');
    expect(err.message).toBe(message);
    expect(err.field).toBe(field);
  });

  it('names a nested field with its path', () => {
    const schema = z.object({ a: z.object({ b: z.array(z.number().max(100)) }) });
    const err = caught(() => parseOrThrow(schema, { a: { b: [1, 2, 300] } }, 'payload'));
    expect(err.message).toBe("payload: field 'a.b[2]' must be <= 100");
    expect(err.field).toBe('a.b[2]');
  });
});
