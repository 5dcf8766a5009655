// The zod pieces every capability shares: the `ops-alerts` message, `settings/alerts`, Secret Manager secret ids and
// Firestore timestamps. Loaded on first use (each capability imports its schema.ts lazily): zod costs ~50 ms to
// load, which every function would otherwise pay at cold start.
import type { AlertKind } from './domain/alert-kinds';
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

/** `settings/alerts`. */
export const alertSettingsSchema = z.strictObject({
  /** Secret Manager secret holding a Slack-compatible incoming webhook URL; absent: ops-alerts only. */
  webhookSecret: z
    .string()
    .regex(SECRET_ID_PATTERN, 'must be a Secret Manager secret id (1-255 letters, digits, "_", "-")')
    .optional(),
});

export type AlertSettings = z.infer<typeof alertSettingsSchema>;

export { formatZodError, parseOrThrow } from './validation';
