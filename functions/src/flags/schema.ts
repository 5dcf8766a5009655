import { z } from 'zod';
import { timestampSchema } from '../platform/schema';

/** `flags/{key}`: edited by admins in the Firestore console; `rolloutPercent` also by the canary controller. */
export const flagSchema = z.strictObject({
  enabled: z.boolean(),
  rolloutPercent: z.number().int().min(0).max(100),
  description: z.string().max(500),
  expiresAt: timestampSchema.optional(),
});

export type Flag = z.infer<typeof flagSchema>;

/** Flag keys are document ids: readable, no slashes, stable. */
export const FLAG_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,99}$/;

export { formatZodError, parseOrThrow } from '../platform/validation';
