// Admin-edited runtime settings: read and validated with their zod schema on every read. An invalid document is
// refused with a message naming the field, never silently replaced by defaults.
import type { z } from 'zod';
import { loadSchemas } from '../config/load-schemas';
import { db } from './firestore';

export async function readValidatedDoc<S extends z.ZodType>(
  path: string,
  schema: S,
): Promise<z.output<S> | undefined> {
  const snap = await db().doc(path).get();
  if (!snap.exists) return undefined;
  const { parseOrThrow } = await loadSchemas();
  return parseOrThrow(schema, snap.data(), path);
}
