import { canonicalJson, type JsonValue } from './canonical-json';

export type FieldDiff = Record<string, { from: JsonValue; to: JsonValue }>;

/** Top-level field differences between two JSON objects (null stands for an absent document). */
export function diffFields(before: JsonValue, after: JsonValue): FieldDiff {
  const b = isObject(before) ? before : {};
  const a = isObject(after) ? after : {};
  const out: FieldDiff = {};
  for (const key of new Set([...Object.keys(b), ...Object.keys(a)])) {
    const from = b[key] ?? null;
    const to = a[key] ?? null;
    if (canonicalJson(from) !== canonicalJson(to)) out[key] = { from, to };
  }
  return out;
}

export function sameJson(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  return canonicalJson(a ?? null) === canonicalJson(b ?? null);
}

function isObject(v: JsonValue): v is { [key: string]: JsonValue } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
