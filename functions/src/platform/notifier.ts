// `ops-alerts`: alerts for humans. Every alert is validated and logged at its severity (Cloud Logging alerting
// policies can page on it), then posted to the Slack-compatible webhook whose URL the Secret Manager secret named
// by `settings/alerts.webhookSecret` holds, if any.
//
// This is its own function, off the probe path: a chat endpoint that is down or slow only makes this function
// fail and Pub/Sub redeliver (`retry: true`); probes and incident transitions never wait for it.
//
// Delivery is at least once, deduplicated by `alertId` with a claim, `processedEvents/cloudevent:notify:<id>`:
// a delivery first claims the alert in a transaction (`state: claimed`, `claimedAtMs`), then posts, then marks it
// `posted`. A racing delivery finds the claim and does not post; a claim older than CLAIM_TIMEOUT_MS belongs to a
// delivery that died and may be taken over. A failed post marks the claim `failed` with a backoff: Pub/Sub
// redelivers it (`retry: true`) where it honours that, and `notifySweep` (every 5 minutes) re-sends failed and
// abandoned claims in any case (the Pub/Sub emulator acknowledges every message, so locally it is the only retry),
// giving up after MAX_NOTIFY_ATTEMPTS with an error log, an audit entry and nothing else (an alert about an alert
// that cannot be posted would fail the same way). A crash between the post and `posted` posts twice after the
// timeout: a post cannot join a transaction; the reverse order could lose the alert instead.
//
// Configuration problems are not retried but never swallow the alert: it is logged first, and an invalid
// `settings/alerts`, a missing secret or a secret that holds no usable URL add a warning naming what to fix.
import { ALERT_SETTINGS } from './collections';
import { CHAT_POST_TIMEOUT_MS, ChatWebhook, chatMessageFor } from './chat-webhook';
import { openAudit } from './audit-log';
import { db, firestoreModule, transact } from './firestore';
import { PROCESSED_EVENT_TTL_MS, idempotencyDocId } from './idempotency';
import { PROCESSED_EVENTS } from './collections';
import { logger, type Logger } from './logger';
import { cachedValidatedDoc } from './settings';
import type { WireAlert as Alert } from './schema';
import type { AlertSettings } from '../health/schema';
import { systemClock, type Clock } from './domain/clock';
import { ValidationError } from './domain/errors';

/** An admin's edit of settings/alerts takes effect within this on every instance. */
export const ALERT_SETTINGS_CACHE_MS = 60_000;

export type ChatOutcome = 'posted' | 'duplicate' | 'not-configured' | 'misconfigured';

export interface AlertDeps {
  settings: () => Promise<AlertSettings | undefined>;
  chat: Pick<ChatWebhook, 'post'>;
  clock?: Clock;
}

/** Fresh dependencies (each caches per instance); tests build their own so no cache outlives a test. */
export function createAlertDeps(overrides: Partial<AlertDeps> = {}): AlertDeps {
  return {
    settings: cachedValidatedDoc(
      ALERT_SETTINGS,
      async () => (await import('./schema.js')).alertSettingsSchema,
      ALERT_SETTINGS_CACHE_MS,
    ),
    chat: new ChatWebhook(),
    ...overrides,
  };
}

let defaultDeps: AlertDeps | undefined;
const defaultAlertDeps = () => (defaultDeps ??= createAlertDeps());

export const notifyKey = (alertId: string) => `notify:${alertId}`;

export async function handleAlert(
  message: unknown,
  deps: AlertDeps = defaultAlertDeps(),
): Promise<{ alert: Alert; chat: ChatOutcome }> {
  const { alertSchema, parseOrThrow } = await import('./schema.js');
  const alert = parseOrThrow(alertSchema, message, 'ops-alerts message');
  const log = logger({ correlationId: alert.correlationId, alertId: alert.alertId });
  const level = alert.severity === 'critical' ? 'error' : alert.severity === 'warning' ? 'warn' : 'info';
  log[level](`ALERT ${alert.title}`, { kind: alert.kind, target: alert.target, text: alert.text });

  try {
    return { alert, chat: await postToChat(alert, deps, log) };
  } catch (err) {
    // Permanent: retrying cannot help until an admin fixes the configuration, and the alert is already logged.
    // Transient errors (Firestore, Secret Manager or the chat endpoint unavailable) go on to be retried.
    if (!(err instanceof ValidationError)) throw err;
    log.warn('alert not posted to chat: fix settings/alerts or its webhook secret', {
      error: err.message,
      field: err.field,
    });
    return { alert, chat: 'misconfigured' };
  }
}

async function postToChat(alert: Alert, deps: AlertDeps, log: Logger): Promise<ChatOutcome> {
  const secretId = (await deps.settings())?.webhookSecret;
  if (secretId === undefined) return 'not-configured';
  const clock = deps.clock ?? systemClock;
  const claim = await claimAlert(alert, clock);
  if (!claim.claimed) {
    if (claim.state === 'posted') log.info('alert already posted to chat: redelivery skipped', { secretId });
    else if (claim.state === 'gave-up')
      log.warn('alert was given up on earlier: not posted again', { secretId });
    else log.info('alert is being posted by another delivery: skipped', { secretId });
    return 'duplicate';
  }
  let status: number;
  try {
    ({ status } = await deps.chat.post(secretId, chatMessageFor(alert)));
  } catch (err) {
    await recordFailure(alert, claim.attempts, err, clock, log);
    throw err;
  }
  await claim.ref.update({ state: 'posted', pending: false, postedAtMs: clock.nowMs() });
  log.info('alert posted to chat', { secretId, status, attempt: claim.attempts });
  return 'posted';
}

/** A claim older than this belongs to a delivery that died (the post times out after CHAT_POST_TIMEOUT_MS). */
export const CLAIM_TIMEOUT_MS = 3 * CHAT_POST_TIMEOUT_MS;
/** Posts of one alert before it is given up on (about 4 h of backoff). */
export const MAX_NOTIFY_ATTEMPTS = 8;
const RETRY_BASE_MS = 60_000;
const RETRY_MAX_MS = 3_600_000;
export const ALERTS_STREAM = 'alerts';

type DeliveryState = 'claimed' | 'posted' | 'failed' | 'gave-up';

/** `processedEvents/cloudevent:notify:<alertId>`: the claim and the record of one alert's chat delivery. */
interface DeliveryDoc {
  kind: 'cloudevent';
  key: string;
  alertId: string;
  alert: Alert;
  state: DeliveryState;
  /** Claimed or failed: what notifySweep looks at (one equality: no composite index). */
  pending: boolean;
  attempts: number;
  claimedAtMs: number;
  nextAttemptAtMs?: number;
  lastError?: string;
}

/** The wait before attempt `attempts + 1`: 1, 2, 4 ... minutes, at most an hour. */
export function notifyBackoffMs(attempts: number): number {
  return Math.min(RETRY_BASE_MS * 2 ** Math.max(0, attempts - 1), RETRY_MAX_MS);
}

const deliveryRef = (alertId: string) =>
  db()
    .collection(PROCESSED_EVENTS)
    .doc(idempotencyDocId('cloudevent', notifyKey(alertId)));

async function claimAlert(
  alert: Alert,
  clock: Clock,
): Promise<
  | { claimed: true; attempts: number; ref: FirebaseFirestore.DocumentReference }
  | { claimed: false; state: DeliveryState }
> {
  const ref = deliveryRef(alert.alertId);
  const { Timestamp } = firestoreModule();
  return transact(async (tx) => {
    const snap = await tx.get(ref);
    const now = clock.nowMs();
    const current = snap.data() as DeliveryDoc | undefined;
    if (current) {
      const abandoned = current.state === 'claimed' && now - current.claimedAtMs >= CLAIM_TIMEOUT_MS;
      if (current.state !== 'failed' && !abandoned) return { claimed: false as const, state: current.state };
    }
    const attempts = (current?.attempts ?? 0) + 1;
    const next: DeliveryDoc = {
      kind: 'cloudevent',
      key: notifyKey(alert.alertId),
      alertId: alert.alertId,
      alert,
      state: 'claimed',
      pending: true,
      attempts,
      claimedAtMs: now,
    };
    tx.set(ref, {
      ...next,
      processedAt: Timestamp.fromMillis(now),
      expireAt: Timestamp.fromMillis(now + PROCESSED_EVENT_TTL_MS),
    });
    return { claimed: true as const, attempts, ref };
  });
}

async function recordFailure(alert: Alert, attempts: number, err: unknown, clock: Clock, log: Logger) {
  // Error messages of the chat adapter never hold the URL (scrubbed there).
  const lastError = (err instanceof Error ? err.message : String(err)).slice(0, 500);
  const now = clock.nowMs();
  if (attempts < MAX_NOTIFY_ATTEMPTS) {
    await deliveryRef(alert.alertId).update({
      state: 'failed',
      lastError,
      nextAttemptAtMs: now + notifyBackoffMs(attempts),
    });
    return;
  }
  await transact(async (tx) => {
    const audit = await openAudit(tx, [ALERTS_STREAM], clock);
    tx.update(deliveryRef(alert.alertId), { state: 'gave-up', pending: false, lastError });
    audit.append(ALERTS_STREAM, {
      actor: { type: 'system', id: 'notifyAlerts' },
      action: 'alert.chat-gave-up',
      target: alert.target,
      reason: `not posted to chat after ${attempts} attempts: ${lastError}`,
      correlationId: alert.correlationId,
      details: { alertId: alert.alertId, kind: alert.kind, attempts },
    });
  });
  log.error('alert given up: not posted to chat after the last attempt', { attempts, error: lastError });
}

export interface SweepOutcome {
  retried: number;
  posted: number;
  failed: number;
}

/**
 * Re-sends the alerts whose post failed (once their backoff has passed) and those claimed by a delivery that died.
 * Each goes through handleAlert again: claim, post, mark; so a sweep racing a Pub/Sub redelivery posts once.
 */
export async function sweepAlerts(deps: AlertDeps = defaultAlertDeps()): Promise<SweepOutcome> {
  const clock = deps.clock ?? systemClock;
  const now = clock.nowMs();
  const snap = await db().collection(PROCESSED_EVENTS).where('pending', '==', true).limit(SWEEP_BATCH).get();
  const due = snap.docs
    .map((d) => d.data() as DeliveryDoc)
    .filter((d) =>
      d.state === 'failed'
        ? (d.nextAttemptAtMs ?? 0) <= now
        : d.state === 'claimed' && now - d.claimedAtMs >= CLAIM_TIMEOUT_MS,
    );
  const out: SweepOutcome = { retried: due.length, posted: 0, failed: 0 };
  for (const d of due) {
    try {
      if ((await handleAlert(d.alert, deps)).chat === 'posted') out.posted += 1;
    } catch (err) {
      out.failed += 1; // recorded on the claim by postToChat; logged here, the next sweep tries again
      logger({ correlationId: d.alert.correlationId, alertId: d.alertId }).warn('alert re-send failed', {
        error: err instanceof Error ? err.message : String(err),
        attempts: d.attempts + 1,
      });
    }
  }
  return out;
}

/** Alerts re-sent per sweep: more wait for the next one (a backlog that large means the chat is down anyway). */
const SWEEP_BATCH = 100;
