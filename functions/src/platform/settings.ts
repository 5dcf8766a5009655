// Admin-edited runtime settings: read and validated with their zod schema on every read. An invalid document is
// refused with a message naming the field, never silently replaced by defaults.
import type { z } from 'zod';
import { db } from './firestore';

export async function readValidatedDoc<S extends z.ZodType>(
  path: string,
  schema: S,
): Promise<z.output<S> | undefined> {
  const snap = await db().doc(path).get();
  if (!snap.exists) return undefined;
  const { parseOrThrow } = await import('./validation.js');
  return parseOrThrow(schema, snap.data(), path);
}

/**
 * The same, cached for `ttlMs` per instance: for documents read on a hot path (settings/github on every webhook
 * delivery). An admin's edit takes effect within `ttlMs`; an invalid edit is refused as soon as it is read.
 */
export function cachedValidatedDoc<S extends z.ZodType>(
  path: string,
  schema: () => Promise<S>,
  ttlMs: number,
  nowMs: () => number = Date.now,
): () => Promise<z.output<S> | undefined> {
  let cached: { at: number; value: Promise<z.output<S> | undefined> } | undefined;
  return () => {
    if (!cached || nowMs() - cached.at >= ttlMs) {
      const value = schema().then((s) => readValidatedDoc(path, s));
      cached = { at: nowMs(), value };
      // A failed read (or an invalid document) is not cached: the next delivery reads again.
      value.catch(() => {
        if (cached?.value === value) cached = undefined;
      });
    }
    return cached.value;
  };
}
