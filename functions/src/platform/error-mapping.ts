// Error mapping, one place per trigger kind (issue 12.4).
//
// - Permanent errors (ValidationError: bad input, invalid admin config) are logged and acknowledged (events) or
//   answered 400 with their message (HTTP): retrying cannot fix bad input, and the message is about the
//   caller's own input.
// - Infrastructure errors (gRPC PERMISSION_DENIED, UNAUTHENTICATED, UNAVAILABLE, DEADLINE_EXCEEDED,
//   RESOURCE_EXHAUSTED, INTERNAL, UNKNOWN; HTTP 401/403/429/5xx from Google APIs; see domain/errors.ts) are
//   transient: rethrown so `retry: true` redelivers the event, or answered 503; and alerted once per
//   (function, cause) and hour (infra-alert.ts), not once per retry.
// - Anything else is rethrown (events) or answered 500.
// An HTTP answer other than a 400 never carries the error's text: it may name internal resources
// (`projects/.../secrets/...`) and these endpoints are public. The text goes to the log and the alert only.
import type { Response } from 'express';
import { ValidationError, TransientError, infrastructureCause } from './domain/errors';
import type { Logger } from './logger';
import { alertInfrastructureOnce, currentFunctionName, type InfraAlerter } from './infra-alert';

/** The only bodies a failed request gets besides a 400's. */
export const UNAVAILABLE_BODY = { error: 'temporarily unavailable, retry later' } as const;
export const INTERNAL_BODY = { error: 'internal error' } as const;

export interface MappingOptions {
  /** The deployed function, for the alert (default: the process's FUNCTION_TARGET). */
  fn?: string;
  correlationId?: string;
  /** Tests pass their own. */
  alerter?: InfraAlerter;
  /**
   * False for an endpoint that takes no input (health-status): a ValidationError there is about fireops' own
   * data, not the caller's request, so it is answered 500 with the generic body, not 400 with its text.
   */
  clientErrors?: boolean;
  /**
   * The CloudEvent being handled (event triggers). With it, a failure on an event older than
   * EVENT_LAST_CHANCE_MS raises `event.giving-up` (once per function and event) before the retry window ends.
   */
  event?: EventMeta;
  /** Tests pass their own. */
  givingUp?: GivingUpAlerter;
}

/** What of a CloudEvent the give-up alert names (never its data: it may be an admin document). */
export interface EventMeta {
  id: string;
  time?: string | undefined;
  type?: string | undefined;
  subject?: string | undefined;
}

/** The CloudEvent fields EventMeta keeps. */
export function eventMeta(e: { id: string; time?: string; type?: string; subject?: string }): EventMeta {
  return { id: e.id, time: e.time, type: e.type, subject: e.subject };
}

/**
 * Retried event triggers (2nd gen, on Eventarc's Pub/Sub transport) are redelivered for 24 hours, then dropped
 * without a trace. A failure on an event older than this is its last hour of retries: alerted (critical,
 * `event.giving-up`) and recorded in `deadLetters/`, still rethrown so the remaining retries happen.
 */
export const EVENT_RETRY_WINDOW_MS = 24 * 3600_000;
export const EVENT_LAST_CHANCE_MS = 23 * 3600_000;

export type GivingUpAlerter = (g: {
  fn: string;
  event: EventMeta;
  ageMs: number;
  message: string;
}) => Promise<void>;

async function reportInfrastructure(
  log: Logger,
  err: unknown,
  cause: string,
  opts: MappingOptions,
): Promise<void> {
  await alertInfrastructureOnce(
    log,
    {
      fn: opts.fn ?? currentFunctionName(),
      cause,
      message: err instanceof Error ? err.message : String(err),
      ...(opts.correlationId ? { correlationId: opts.correlationId } : {}),
    },
    ...(opts.alerter ? [opts.alerter] : []),
  );
}

export async function runEventHandler(
  log: Logger,
  fn: () => Promise<void>,
  opts: MappingOptions = {},
): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof ValidationError) {
      log.warn('event refused: permanent error, not retried', { error: err.message, field: err.field });
      return;
    }
    const cause = infrastructureCause(err);
    log.error('event failed: will be retried', { error: err, ...(cause ? { cause } : {}) });
    if (cause) await reportInfrastructure(log, err, cause, opts);
    const eventTimeMs = opts.event?.time ? Date.parse(opts.event.time) : NaN;
    const ageMs = Date.now() - eventTimeMs;
    if (opts.event && Number.isFinite(ageMs) && ageMs >= EVENT_LAST_CHANCE_MS) {
      const alerter = opts.givingUp ?? (await import('./infra-alert.js')).givingUpAlerter();
      try {
        await alerter({
          fn: opts.fn ?? currentFunctionName(),
          event: opts.event,
          ageMs,
          message: err instanceof Error ? err.message : String(err),
        });
      } catch (alertErr) {
        log.error('could not raise event.giving-up', { error: alertErr });
      }
    }
    throw err;
  }
}

/** The status an error is answered with: 400 (ValidationError), 503 (transient or infrastructure) or 500. */
export function httpStatusFor(err: unknown, clientErrors = true): 400 | 503 | 500 {
  if (err instanceof ValidationError) return clientErrors ? 400 : 500;
  if (err instanceof TransientError || infrastructureCause(err)) return 503;
  return 500;
}

export async function sendHttpError(
  res: Response,
  log: Logger,
  err: unknown,
  opts: MappingOptions = {},
): Promise<void> {
  const status = httpStatusFor(err, opts.clientErrors ?? true);
  if (err instanceof ValidationError && status === 400) {
    res.status(400).json({ error: err.message, ...(err.field ? { field: err.field } : {}) });
    return;
  }
  const cause = infrastructureCause(err);
  log.error('request failed', { error: err, status, ...(cause ? { cause } : {}) });
  if (cause) await reportInfrastructure(log, err, cause, opts);
  res.status(status).json(status === 503 ? UNAVAILABLE_BODY : INTERNAL_BODY);
}
