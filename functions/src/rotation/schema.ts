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
  // At least a day: a destroyed version cannot come back, and a consumer still reading it is locked out for good.
  destroyAfterDays: z.number().int().min(1).max(3650).default(30),
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
  z
    .strictObject({
      ...base,
      strategy: z.literal('http-callback'),
      // https, and an origin CALLBACK_ORIGINS lists (checked with the deploy's trust: rotation/handlers.ts).
      url: z.url({ protocol: /^https?$/ }),
      /**
       * No longer chosen: the ID token's audience is always the URL's origin. Accepted only when it says exactly
       * that (documents written before), so an old policy is not refused for a field that changes nothing.
       */
      audience: z.string().min(1).max(500).optional(),
    })
    .refine((p) => p.audience === undefined || p.audience === new URL(p.url).origin, {
      path: ['audience'],
      message: "is no longer set: the ID token's audience is the callback URL's origin (remove the field)",
    }),
]);

export type SecretPolicy = z.infer<typeof secretPolicySchema>;

export { SECRET_ID_PATTERN } from '../platform/schema';
export { formatZodError, parseOrThrow } from '../platform/validation';
