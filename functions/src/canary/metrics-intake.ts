// canary-ingestMetrics' work (issue 13.A): a metric window a service published on `canary-metrics`, validated and
// stored where the canary reads it (`metrics/{service}/windows/{minuteMs}_{cohort}`, field `shards.{shard}`,
// unchanged shape). Services hold roles/pubsub.publisher on that topic and nothing in Firestore, so they can no
// longer write auditLog, settings or flags, nor another document of `metrics` than through this validation.
//
// What a stored window proves, and what it does not: Pub/Sub does not tell a subscriber who published a message.
// The window records the message id and publish time (`messageId`, `publishedAtMs`) and, when the publisher set
// it, the `writer` attribute; these trace a window to one message, they do not authenticate it. Any holder of the
// publisher role may publish a window for any service: one topic per service (each with its own publisher grant)
// is the step that would bind a service to its own windows.
import { shardedStream } from '../platform/domain/audit-chain';
import type { Clock } from '../platform/domain/clock';
import { systemClock } from '../platform/domain/clock';
import { ValidationError } from '../platform/domain/errors';
import { alertPublish } from '../platform/alerts';
import { openAudit } from '../platform/audit-log';
import { db, firestoreModule } from '../platform/firestore';
import { runOnce } from '../platform/idempotency';
import { METRICS } from '../platform/collections';

/** Audit stream of refused metric messages (its own: a noisy writer must not contend with the canary's stream). */
export const METRICS_STREAM = 'metrics';
/**
 * Refusals are audited in the claimed service's shard of the stream (`metrics-0` .. `metrics-7`): a publisher
 * flooding invalid windows (up to 10 instances at once) must not serialise every refusal on one head.
 */
export const metricsStream = (service: string): string => shardedStream(METRICS_STREAM, service, 8);

export interface MetricMessage {
  messageId: string;
  publishTimeMs: number;
  /** The raw message body (bytes). */
  data: Buffer;
  attributes: Readonly<Record<string, string>>;
}

export type IngestOutcome =
  | { outcome: 'stored'; path: string }
  | { outcome: 'duplicate' }
  /** An older message of a shard whose stored counts are higher. */
  | { outcome: 'stale' }
  | { outcome: 'refused'; reason: string; field?: string | undefined };

/**
 * Validates one message and stores its shard; once per message id (processedEvents `cloudevent:metrics:{id}`), so
 * a redelivery writes nothing. A message carries its shard's totals of the minute so far and replaces the stored
 * shard unless that one counts more requests (then it is older: `stale`), so duplicates under new ids and
 * reordering cannot double-count or roll back. A refused message is audited (stream `metrics`) and alerted (one
 * alert per service and hour), and never retried.
 */
export async function ingestMetricWindow(
  msg: MetricMessage,
  clock: Clock = systemClock,
): Promise<IngestOutcome> {
  let parsed;
  try {
    parsed = await parse(msg, clock.nowMs());
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    return refuse(msg, err, clock);
  }
  const { service, cohort, minuteMs, shard, requests, errors, latencyMs } = parsed;
  const path = `${METRICS}/${service}/windows/${minuteMs}_${cohort}`;
  const ref = db().doc(path);
  const writer = msg.attributes.writer;
  const shardData = {
    requests,
    errors,
    latencyMs: latencyMs ?? {},
    messageId: msg.messageId,
    publishedAtMs: msg.publishTimeMs,
    ...(writer && /^[\w.@:-]{1,200}$/.test(writer) ? { writer } : {}),
  };
  const result = await runOnce(
    'cloudevent',
    `metrics:${msg.messageId}`,
    async ({ tx }) => {
      const snap = await tx.get(ref);
      const current = (snap.data()?.shards as Record<string, { requests?: unknown }> | undefined)?.[shard];
      // Counts are the shard's totals of the minute so far: they only grow, so a smaller one is an older message
      // arriving late (or a publisher's retry of one) and is not stored.
      const stale = typeof current?.requests === 'number' && current.requests > requests;
      if (stale) return { value: false };
      if (snap.exists) tx.update(ref, new (firestoreModule().FieldPath)('shards', shard), shardData);
      else tx.set(ref, { service, cohort, minuteMs, shards: { [shard]: shardData } });
      return { value: true };
    },
    { clock },
  );
  if (!result.duplicate && !result.value) return { outcome: 'stale' };
  return result.duplicate ? { outcome: 'duplicate' } : { outcome: 'stored', path };
}

async function parse(msg: MetricMessage, nowMs: number) {
  const {
    metricWindowMessageSchema,
    parseOrThrow,
    METRIC_MESSAGE_MAX_BYTES,
    METRIC_WINDOW_MAX_AGE_MS,
    METRIC_WINDOW_MAX_SKEW_MS,
  } = await import('./schema.js');
  if (msg.data.length > METRIC_MESSAGE_MAX_BYTES)
    throw new ValidationError(`message is ${msg.data.length} bytes, more than ${METRIC_MESSAGE_MAX_BYTES}`);
  let json: unknown;
  try {
    json = JSON.parse(msg.data.toString('utf8'));
  } catch {
    // Never the parser's text: it quotes the body.
    throw new ValidationError('message body is not JSON');
  }
  const m = parseOrThrow(metricWindowMessageSchema, json, 'canary-metrics message');
  if (m.minuteMs > nowMs + METRIC_WINDOW_MAX_SKEW_MS)
    throw new ValidationError(`minuteMs ${m.minuteMs} lies in the future`, 'minuteMs');
  if (m.minuteMs < nowMs - METRIC_WINDOW_MAX_AGE_MS)
    throw new ValidationError(
      `minuteMs ${m.minuteMs} is older than ${METRIC_WINDOW_MAX_AGE_MS / 3600_000} h`,
      'minuteMs',
    );
  return m;
}

async function refuse(msg: MetricMessage, err: ValidationError, clock: Clock): Promise<IngestOutcome> {
  // The service as the message claims it, only if it looks like an id (it names the alert, never trusted).
  let claimed = 'unknown';
  try {
    const s = (JSON.parse(msg.data.toString('utf8')) as { service?: unknown }).service;
    if (typeof s === 'string' && /^[A-Za-z0-9_.-]{1,128}$/.test(s)) claimed = s;
  } catch {
    // not JSON: 'unknown'
  }
  const nowMs = clock.nowMs();
  const hour = Math.floor(nowMs / 3600_000);
  await runOnce(
    'cloudevent',
    `metrics:${msg.messageId}`,
    async ({ tx }) => {
      const stream = metricsStream(claimed);
      const audit = await openAudit(tx, [stream], clock);
      audit.append(stream, {
        actor: { type: 'system', id: 'canary-ingestMetrics' },
        action: 'metrics.window-refused',
        target: `${METRICS}/${claimed}`,
        reason: err.message.slice(0, 500),
        correlationId: msg.messageId,
        details: { field: err.field ?? null, messageId: msg.messageId, bytes: msg.data.length },
      });
      return {
        value: undefined,
        publishes: [
          alertPublish({
            alertId: `metrics-refused:${claimed}:${hour}`,
            severity: 'warning',
            kind: 'metrics.window-refused',
            title: `Metric window refused for ${claimed}`,
            text: `canary-metrics message ${msg.messageId} refused: ${err.message.slice(0, 500)} (one alert per service and hour; every refusal is in audit stream ${metricsStream(claimed)})`,
            target: `${METRICS}/${claimed}`,
            correlationId: msg.messageId,
            atMs: nowMs,
          }),
        ],
      };
    },
    { clock },
  );
  return { outcome: 'refused', reason: err.message, field: err.field };
}
