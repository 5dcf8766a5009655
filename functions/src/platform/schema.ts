// The zod pieces every capability shares: the `ops-alerts` message, `settings/alerts`, Secret Manager secret ids and
// Firestore timestamps. Loaded on first use (each capability imports its schema.ts lazily): zod costs ~50 ms to
// load, which every function would otherwise pay at cold start.
import type { AlertKind } from './domain/alert-kinds';
import { DEFAULT_CHANNEL, isTimeZone } from './domain/alert-routing';
import { z } from 'zod';

/** A message on `ops-alerts`: something a human should know. `alertId` lets consumers drop redeliveries. */
export const alertSchema = z.strictObject({
  alertId: z.string().min(1).max(300),
  severity: z.enum(['info', 'warning', 'critical']),
  kind: z.string().min(1).max(100),
  title: z.string().min(1).max(200),
  text: z.string().max(4000),
  target: z.string().max(500),
  correlationId: z.string().max(300),
  atMs: z.number().int().nonnegative(),
  /** The kind's runbook (alertPublish sets it: RUNBOOK_BASE_URL + `/<kind>.md`). */
  runbookUrl: z.string().max(500).optional(),
});

/** An alert as it travels on `ops-alerts`: any kind (a newer deployment may know kinds this one does not). */
export type WireAlert = z.infer<typeof alertSchema>;
/** An alert as fireops raises it: its kind is one of ALERT_KINDS, each with a runbook. */
export type Alert = Omit<WireAlert, 'kind'> & { kind: AlertKind };

export const SECRET_ID_PATTERN = /^[A-Za-z0-9_-]{1,255}$/;

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

const secretId = z
  .string()
  .regex(SECRET_ID_PATTERN, 'must be a Secret Manager secret id (1-255 letters, digits, "_", "-")');
const severity = z.enum(['info', 'warning', 'critical']);
const channelName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'must be a channel name (1-40 lowercase letters, digits, "-")');
const hhmm = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'must be a time HH:MM (24 h)');

/** A place alerts go (docs/admin-guide.md "Alerts"); every URL is a credential and lives in Secret Manager. */
const alertChannelSchema = z.discriminatedUnion('type', [
  /** A Slack-compatible incoming webhook (Slack, Google Chat's Slack format, Mattermost, Rocket.Chat). */
  z.strictObject({ type: z.literal('slack'), urlSecret: secretId }),
  /** Any HTTPS endpoint: the alert as JSON, signed (X-Fireops-Signature: HMAC-SHA256 of `{timestamp}.{body}`). */
  z.strictObject({ type: z.literal('webhook'), urlSecret: secretId, signingSecret: secretId }),
  /** An HTTP mail relay: {from, to, subject, text} as JSON, with a bearer token when tokenSecret is set. */
  z.strictObject({
    type: z.literal('email'),
    relaySecret: secretId,
    tokenSecret: secretId.optional(),
    to: z.array(z.email('must be an email address')).min(1).max(20),
    from: z.email('must be an email address').default('fireops@localhost'),
  }),
]);

const alertRouteSchema = z.strictObject({
  /** Alert kinds: exact (`backup.failed`), a prefix (`rollout.*`), or `*`. */
  kinds: z
    .array(
      z
        .string()
        .regex(
          /^(\*|[a-z][a-z0-9-]*(\.[a-z0-9-]+)*(\.\*)?)$/,
          'must be an alert kind, a prefix ending ".*", or "*"',
        ),
    )
    .min(1)
    .max(50)
    .default(['*']),
  minSeverity: severity.default('info'),
  channels: z.array(channelName).min(1).max(10),
});

const quietHoursSchema = z
  .strictObject({
    start: hhmm,
    end: hhmm,
    timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone (e.g. Africa/Lagos)'),
    /** Alerts at or above this go at once during quiet hours; the rest are held until they end. */
    minSeverity: severity.default('critical'),
  })
  .refine((q) => q.start !== q.end, { path: ['end'], message: 'must differ from start' });

/** `settings/alerts`. */
export const alertSettingsSchema = z
  .strictObject({
    /** A Slack-compatible incoming webhook URL's secret: the channel `default` (what no route names goes there). */
    webhookSecret: secretId.optional(),
    channels: z
      .record(channelName, alertChannelSchema)
      .refine((c) => Object.keys(c).length <= 20, 'at most 20 channels')
      .default({}),
    routes: z.array(alertRouteSchema).max(50).default([]),
    /** The same kind and target are not sent again to a channel within this many minutes (0: off). */
    dedupMinutes: z.number().int().min(0).max(1440).default(0),
    quietHours: quietHoursSchema.optional(),
  })
  .superRefine((s, ctx) => {
    const channels = (s.channels ?? {}) as Record<string, unknown>;
    if (s.webhookSecret !== undefined && DEFAULT_CHANNEL in channels) {
      ctx.addIssue({
        code: 'custom',
        path: ['channels', DEFAULT_CHANNEL],
        message: 'is already defined by webhookSecret: remove one of them',
      });
    }
    const known = new Set([...Object.keys(channels), ...(s.webhookSecret ? [DEFAULT_CHANNEL] : [])]);
    (Array.isArray(s.routes) ? s.routes : []).forEach((r, i) => {
      (Array.isArray(r?.channels) ? r.channels : []).forEach((c, j) => {
        if (typeof c === 'string' && !known.has(c))
          ctx.addIssue({
            code: 'custom',
            path: ['routes', i, 'channels', j],
            message: `names no channel (${[...known].join(', ') || 'none defined'})`,
          });
      });
    });
  });

export type AlertSettings = z.infer<typeof alertSettingsSchema>;

export { formatZodError, parseOrThrow } from './validation';
