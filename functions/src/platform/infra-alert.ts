// "Alerted once": an infrastructure failure (a missing IAM grant, an outage, a quota) makes every retry of every
// event fail the same way, and each one reaching chat would bury the one message that matters. So each
// (function, cause) pair alerts at most once per INFRA_ALERT_WINDOW_MS: the key
// `infra-alert:{function}:{cause}:{window start}` is created in processedEvents (platform/idempotency.ts, the same
// transaction as the alert's outbox entry), and the alert's `alertId` is that key, so platform-notifyAlerts drops
// a repeat publish too. One transaction per failed attempt (a read, and a create the first time in the window);
// the key expires with every other processedEvents document (TTL on expireAt).
import { systemClock, type Clock } from './domain/clock';
import type { Logger } from './logger';

export const INFRA_ALERT_WINDOW_MS = 60 * 60 * 1000;
/** An alert never holds up a failing request or event for longer than this (the webhook's deadline is 8 s). */
export const INFRA_ALERT_BUDGET_MS = 2_000;

export interface InfraFailure {
  /** The deployed function: its FUNCTION_TARGET (e.g. `webhooks.githubWebhook`). */
  fn: string;
  /** `PERMISSION_DENIED`, `UNAVAILABLE`, `HTTP_403`, ... (platform/domain/errors.ts `infrastructureCause`). */
  cause: string;
  /** The error text, for the operators reading chat (never for a public caller). */
  message: string;
  correlationId?: string;
}

export type InfraAlerter = (failure: InfraFailure) => Promise<void>;

/** The function this process serves, as Cloud Functions (and the Functions emulator) names its entry point. */
export function currentFunctionName(env: NodeJS.ProcessEnv = process.env): string {
  return env.FUNCTION_TARGET ?? env.K_SERVICE ?? 'unknown-function';
}

export function infraAlertKey(failure: Pick<InfraFailure, 'fn' | 'cause'>, nowMs: number): string {
  const windowStart = new Date(Math.floor(nowMs / INFRA_ALERT_WINDOW_MS) * INFRA_ALERT_WINDOW_MS);
  return `${failure.fn}:${failure.cause}:${windowStart.toISOString()}`;
}

const HINTS: Record<string, string> = {
  PERMISSION_DENIED:
    "the function's service account lacks a role: run `fireops doctor --project P` (docs/deploy.md).",
  UNAUTHENTICATED:
    "the function's credentials were refused: check its service account exists and is enabled.",
  HTTP_401: "the function's credentials were refused: check its service account exists and is enabled.",
  HTTP_403: "the function's service account lacks a role: run `fireops doctor --project P` (docs/deploy.md).",
  RESOURCE_EXHAUSTED: 'a quota is exhausted: see the quotas page of the Google Cloud console.',
  HTTP_429: 'a quota is exhausted: see the quotas page of the Google Cloud console.',
  SETTINGS_INVALID:
    'an admin document is invalid and was refused whole (the message says which field); fix it in the Firestore ' +
    'console. Meanwhile the safe defaults apply (for settings/health: no extra SSRF allowlist).',
  PROBER_ERROR:
    'the prober could not read a headerSecrets secret: check it exists (`fireops-` prefix), has an enabled ' +
    "version and that fireops-health may access it (`fireops doctor`); the checks' results are not counted meanwhile.",
};

/** Publishes one critical alert per (function, cause) and window; later calls in the window do nothing. */
export function infraAlerter(clock: Clock = systemClock): InfraAlerter {
  return async (failure) => {
    const [{ runOnce }, { alertPublish }] = await Promise.all([
      import('./idempotency.js'),
      import('./alerts.js'),
    ]);
    const nowMs = clock.nowMs();
    const key = infraAlertKey(failure, nowMs);
    const hint =
      HINTS[failure.cause] ?? 'an infrastructure dependency failed; the work is retried meanwhile.';
    await runOnce(
      'infra-alert',
      key,
      () =>
        Promise.resolve({
          value: undefined,
          publishes: [
            alertPublish({
              alertId: `infra-alert:${key}`,
              severity: 'critical',
              kind: 'infrastructure.failure',
              title: `${failure.fn}: ${failure.cause}`.slice(0, 200),
              text: `${failure.message.slice(0, 3000)}\nRetried meanwhile; alerted once per hour per cause. Fix: ${hint}`,
              target: failure.fn.slice(0, 500),
              correlationId: (failure.correlationId ?? key).slice(0, 300),
              atMs: nowMs,
            }),
          ],
        }),
      { clock, meta: { fn: failure.fn, cause: failure.cause } },
    );
  };
}

let defaultAlerter: InfraAlerter | undefined;

/**
 * Alerts once (see the top), best effort: bounded by INFRA_ALERT_BUDGET_MS and never throwing, because the
 * failure being reported must still be answered (503) or rethrown (retry) as it is. When Firestore itself is
 * what fails, the alert cannot be recorded; the error log line still is, and log-based alerting covers it.
 */
export async function alertInfrastructureOnce(
  log: Logger,
  failure: InfraFailure,
  alerter: InfraAlerter = (defaultAlerter ??= infraAlerter()),
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      alerter(failure),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          log.warn('infrastructure alert not recorded within its budget', { cause: failure.cause });
          resolve();
        }, INFRA_ALERT_BUDGET_MS);
      }),
    ]);
  } catch (err) {
    log.warn('infrastructure alert could not be recorded', { cause: failure.cause, error: err });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One `event.giving-up` alert per (function, event) (idempotency key `infra-alert:giving-up:{fn}:{id}`), and a
 * `deadLetters/{fn}:{id}` record naming the event (id, type, subject, time; never its data) for the operator who
 * replays it: for a Firestore trigger, re-saving the document; for a message, re-publishing it.
 */
export function givingUpAlerter(clock: Clock = systemClock): import('./error-mapping').GivingUpAlerter {
  return async ({ fn, event, ageMs, message }) => {
    const [{ runOnce }, { alertPublish }, { db }, { DEAD_LETTERS }] = await Promise.all([
      import('./idempotency.js'),
      import('./alerts.js'),
      import('./firestore.js'),
      import('./collections.js'),
    ]);
    const nowMs = clock.nowMs();
    const id = `${fn}:${event.id}`.replace(/\//g, '%2F').slice(0, 1400);
    const hours = Math.round(ageMs / 360_000) / 10;
    await runOnce(
      'infra-alert',
      `giving-up:${id}`,
      ({ tx }) => {
        tx.set(db().collection(DEAD_LETTERS).doc(id), {
          fn,
          eventId: event.id,
          type: event.type ?? null,
          subject: event.subject ?? null,
          eventTime: event.time ?? null,
          error: message.slice(0, 1000),
          atMs: nowMs,
        });
        return Promise.resolve({
          value: undefined,
          publishes: [
            alertPublish({
              alertId: `event-giving-up:${id}`.slice(0, 300),
              severity: 'critical',
              kind: 'event.giving-up',
              title: `${fn}: event failing for ${hours} h, dropped within the hour`.slice(0, 200),
              text:
                `${fn} has failed on event ${event.id} (${event.type ?? 'unknown type'}` +
                `${event.subject ? `, ${event.subject}` : ''}) since ${event.time ?? 'unknown'}; Eventarc drops it ` +
                `24 h after it was sent. Last error: ${message.slice(0, 2000)}\nFix the cause, then replay it ` +
                `(deadLetters/${id} names it).`,
              target: fn.slice(0, 500),
              correlationId: event.id.slice(0, 300),
              atMs: nowMs,
            }),
          ],
        });
      },
      { clock, meta: { fn, eventId: event.id } },
    );
  };
}
