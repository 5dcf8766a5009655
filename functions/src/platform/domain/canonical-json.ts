import { createHash } from 'node:crypto';

// A deterministic JSON encoding (sorted keys, no undefined) so a hash over it is the same on every machine
// and after a Firestore round trip. Values must already be JSON-safe: see toAuditValue for Firestore types.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot encode ${value} canonically`);
    return JSON.stringify(value);
  }
  if (typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`cannot encode a ${typeof value} canonically`);
}

/**
 * Converts a value read from Firestore into plain JSON: timestamps become ISO strings, references their
 * path, bytes base64. Duck-typed so core/ needs no Firestore import.
 */
export function toJsonValue(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (typeof value === 'object') {
    const v = value as Record<string, unknown> & { toDate?: () => Date; path?: unknown };
    if (typeof v.toDate === 'function' && typeof v.toMillis === 'function') return v.toDate().toISOString();
    if (typeof v.path === 'string' && typeof v.firestore === 'object') return v.path;
    if (typeof v.latitude === 'number' && typeof v.longitude === 'number' && Object.keys(v).length <= 2) {
      return { latitude: v.latitude, longitude: v.longitude };
    }
    if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('base64');
    const out: Record<string, JsonValue> = {};
    for (const [k, inner] of Object.entries(v)) if (inner !== undefined) out[k] = toJsonValue(inner);
    return out;
  }
  return typeof value === 'bigint' ? value.toString() : null;
}

/**
 * A Firestore value as JSON with its type kept: every leaf becomes `{ type: value }` (`null`, `boolean`,
 * `integer`/`double` are not distinguishable here so both are `number`, `string`, `timestamp` as ISO, `reference`
 * as its path, `bytes` as base64, `geopoint`), arrays `{ array: [...] }` and maps `{ map: {...} }`. A restore
 * that turns a timestamp into its ISO string therefore changes the digest, which toJsonValue would not.
 * Duck-typed like toJsonValue so core/ needs no Firestore import.
 */
export function toTypedJsonValue(value: unknown): JsonValue {
  if (value === null || value === undefined) return { null: null };
  if (typeof value === 'string') return { string: value };
  if (typeof value === 'boolean') return { boolean: value };
  if (typeof value === 'number') return { number: Number.isFinite(value) ? value : String(value) };
  if (typeof value === 'bigint') return { number: value.toString() };
  if (value instanceof Date) return { timestamp: value.toISOString() };
  if (Array.isArray(value)) return { array: value.map(toTypedJsonValue) };
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    return { bytes: Buffer.from(value).toString('base64') };
  }
  if (typeof value === 'object') {
    const v = value as Record<string, unknown> & { toDate?: () => Date; path?: unknown };
    if (typeof v.toDate === 'function' && typeof v.toMillis === 'function') {
      const t = v as unknown as { seconds?: number; nanoseconds?: number; toDate: () => Date };
      // Nanoseconds kept: an ISO string would drop sub-millisecond precision.
      return typeof t.seconds === 'number' && typeof t.nanoseconds === 'number'
        ? { timestamp: `${t.seconds}.${String(t.nanoseconds).padStart(9, '0')}` }
        : { timestamp: t.toDate().toISOString() };
    }
    if (typeof v.path === 'string' && typeof v.firestore === 'object') return { reference: v.path };
    if (typeof v.latitude === 'number' && typeof v.longitude === 'number' && Object.keys(v).length <= 2) {
      return { geopoint: { latitude: v.latitude, longitude: v.longitude } };
    }
    const out: Record<string, JsonValue> = {};
    for (const [k, inner] of Object.entries(v)) if (inner !== undefined) out[k] = toTypedJsonValue(inner);
    return { map: out };
  }
  return { null: null };
}

/** SHA-256 of the canonical encoding: a value's identity without keeping the value. */
export function jsonDigest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}
