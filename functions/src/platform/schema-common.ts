import { z } from 'zod';

/**
 * A Firestore Timestamp as the Admin SDK returns it, or a Date. Duck-typed: importing the Timestamp class would
 * load the Firestore client into every function that validates a document (cold start).
 */
export const timestampSchema = z.custom<{ toMillis(): number }>(
  (v) =>
    v instanceof Date ||
    (typeof v === 'object' && v !== null && typeof (v as { toMillis?: unknown }).toMillis === 'function'),
  { message: 'must be a timestamp' },
);

export function toMillis(v: { toMillis(): number } | Date): number {
  return v instanceof Date ? v.getTime() : v.toMillis();
}
