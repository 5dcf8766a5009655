import { z } from 'zod';
import { timestampSchema } from '../platform/schema';

const base = {
  enabled: z.boolean(),
  /** Rotate every N days (for secrets without Secret Manager's own rotation schedule). */
  intervalDays: z.number().int().min(1).max(3650).optional(),
  gracePeriodMinutes: z
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 60)
    .default(60),
  destroyAfterDays: z.number().int().min(0).max(3650).default(30),
  notify: z.boolean().optional(),
  /** Set by an admin to ask for a rotation now. */
  rotateRequestedAt: timestampSchema.optional(),
};

/** `secretPolicies/{secretId}`, edited by admins. */
export const secretPolicySchema = z.discriminatedUnion('strategy', [
  z.strictObject({
    ...base,
    strategy: z.literal('random-token'),
    bytes: z.number().int().min(32).max(128),
    encoding: z.enum(['hex', 'base64url']),
  }),
  z.strictObject({
    ...base,
    strategy: z.literal('github-webhook'),
    owner: z.string().min(1).max(100),
    repo: z.string().min(1).max(100),
    hookId: z.number().int().positive(),
  }),
  z.strictObject({
    ...base,
    strategy: z.literal('http-callback'),
    url: z.url({ protocol: /^https?$/ }),
    audience: z.string().min(1).max(500),
  }),
]);

export type SecretPolicy = z.infer<typeof secretPolicySchema>;

export { SECRET_ID_PATTERN } from '../platform/schema';
export { formatZodError, parseOrThrow } from '../platform/validation';
