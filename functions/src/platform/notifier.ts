// `ops-alerts`: alerts for humans. Every alert is validated and logged at its severity (Cloud Logging alerting
// policies can page on it), then delivered to the channels `settings/alerts` routes it to (domain/alert-routing.ts):
// Slack-compatible webhooks, generic signed webhooks and an HTTP mail relay, each URL held by a Secret Manager
// secret. The legacy `webhookSecret` is the channel `default`, which receives what no route names.
//
// Each (alert, channel) pair is its own delivery below: claimed, posted, marked, retried and given up on by
// itself, so a relay that is down never re-posts to a chat that already has the alert. Quiet hours hold an alert
// in its claim (`held`, due when they end) for notifySweep to deliver; deduplication by kind and target skips a
// channel that received the same within `dedupMinutes` (counted on `processedEvents/cloudevent:notify-dedup:...`).
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
import { createHash } from 'node:crypto';
import { CHAT_POST_TIMEOUT_MS, CHAT_URL_CACHE_MS, ChatWebhook, chatMessageFor } from './chat-webhook';
import { DEFAULT_CHANNEL, quietUntil, routeAlert, webhookSignature } from './domain/alert-routing';
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

/**
 * What became of an alert's delivery: `posted` when at least one channel received it now; otherwise the most
 * telling outcome of its channels (`held` for quiet hours, `suppressed` by the dedup window, `duplicate` when every
 * channel had it already, `misconfigured` when a channel's settings or secret are unusable), `not-routed` when no
 * route and no default channel takes it, `not-configured` without settings/alerts or any channel.
 */
export type ChatOutcome =
  'posted' | 'duplicate' | 'not-configured' | 'misconfigured' | 'held' | 'suppressed' | 'not-routed';

export interface AlertDeps {
  settings: () => Promise<AlertSettings | undefined>;
  chat: Pick<ChatWebhook, 'post' | 'postRaw'>;
  /** A secret's value (signing keys, relay tokens); default: Secret Manager, cached per instance for a minute. */
  secretValue?: (secretId: string) => Promise<string>;
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
    secretValue: cachedSecretValue(),
    ...overrides,
  };
}

function cachedSecretValue(): (secretId: string) => Promise<string> {
  const cache = new Map<string, { atMs: number; value: string }>();
  return async (secretId) => {
    const hit = cache.get(secretId);
    if (hit && Date.now() - hit.atMs < CHAT_URL_CACHE_MS) return hit.value;
    const { accessSecretValue } = await import('./secret-manager.js');
    const value = (await accessSecretValue(secretId, 'latest')).value.trim();
    cache.set(secretId, { atMs: Date.now(), value });
    return value;
  };
}

let defaultDeps: AlertDeps | undefined;
const defaultAlertDeps = () => (defaultDeps ??= createAlertDeps());

/** The delivery of one alert to one channel (the default channel keeps the key it had before routing). */
export const notifyKey = (alertId: string, channel: string = DEFAULT_CHANNEL) =>
  channel === DEFAULT_CHANNEL ? `notify:${alertId}` : `notify:${alertId}:${channel}`;

export async function handleAlert(
  message: unknown,
  deps: AlertDeps = defaultAlertDeps(),
): Promise<{ alert: Alert; chat: ChatOutcome }> {
  const { alertSchema, parseOrThrow } = await import('./schema.js');
  const alert = parseOrThrow(alertSchema, message, 'ops-alerts message');
  const log = logger({ correlationId: alert.correlationId, alertId: alert.alertId });
  const level = alert.severity === 'critical' ? 'error' : alert.severity === 'warning' ? 'warn' : 'info';
  log[level](`ALERT ${alert.title}`, { kind: alert.kind, target: alert.target, text: alert.text });

  let settings: AlertSettings | undefined;
  try {
    settings = await deps.settings();
  } catch (err) {
    // Permanent: retrying cannot help until an admin fixes settings/alerts, and the alert is already logged.
    if (!(err instanceof ValidationError)) throw err;
    log.warn('alert not posted to chat: fix settings/alerts or its webhook secret', {
      error: err.message,
      field: err.field,
    });
    return { alert, chat: 'misconfigured' };
  }
  const channels = channelsOf(settings);
  if (!settings || channels.size === 0) return { alert, chat: 'not-configured' };
  const names = routeAlert(
    { routes: settings.routes, hasDefault: channels.has(DEFAULT_CHANNEL) },
    { kind: alert.kind, severity: alert.severity },
  );
  if (names.length === 0) {
    log.info('alert matches no route and there is no default channel: logged only', { kind: alert.kind });
    return { alert, chat: 'not-routed' };
  }
  const outcomes: ChatOutcome[] = [];
  let transient: Error | undefined;
  for (const name of names) {
    try {
      outcomes.push(await deliverTo(alert, name, channels.get(name)!, settings, deps, log));
    } catch (err) {
      // A channel's own configuration problem (its secret missing or not a usable URL) is not retried; the
      // other channels still get the alert. Transient errors are retried by Pub/Sub and notifySweep: the
      // channels that have the alert find their claim posted and are not posted to again.
      if (err instanceof ValidationError) {
        log.warn('alert not posted to chat: fix settings/alerts or its webhook secret', {
          channel: name,
          error: err.message,
          field: err.field,
        });
        outcomes.push('misconfigured');
      } else transient ??= err instanceof Error ? err : new Error(String(err));
    }
  }
  if (transient !== undefined) throw transient;
  const order: ChatOutcome[] = ['posted', 'held', 'suppressed', 'misconfigured', 'duplicate'];
  return { alert, chat: order.find((o) => outcomes.includes(o)) ?? 'duplicate' };
}

type Channel = NonNullable<AlertSettings['channels']>[string];

/** The channels settings/alerts defines, the legacy webhookSecret as `default`. */
function channelsOf(settings: AlertSettings | undefined): Map<string, Channel> {
  const out = new Map<string, Channel>(Object.entries(settings?.channels ?? {}));
  if (settings?.webhookSecret !== undefined)
    out.set(DEFAULT_CHANNEL, { type: 'slack', urlSecret: settings.webhookSecret });
  return out;
}

async function deliverTo(
  alert: Alert,
  name: string,
  channel: Channel,
  settings: AlertSettings,
  deps: AlertDeps,
  log: Logger,
): Promise<ChatOutcome> {
  const clock = deps.clock ?? systemClock;
  const secretId = channel.type === 'email' ? channel.relaySecret : channel.urlSecret;
  const fields = { channel: name, secretId };
  const dedupMs = (settings.dedupMinutes ?? 0) * 60_000;
  if (dedupMs > 0 && (await suppressedByDedup(alert, name, dedupMs, clock))) {
    log.info('alert suppressed: the same kind and target went to this channel within dedupMinutes', fields);
    return 'suppressed';
  }
  const claim = await claimAlert(alert, name, clock);
  if (!claim.claimed) {
    if (claim.state === 'posted') log.info('alert already posted to chat: redelivery skipped', fields);
    else if (claim.state === 'gave-up') log.warn('alert was given up on earlier: not posted again', fields);
    else if (claim.state === 'held') log.info('alert held for quiet hours: not posted yet', fields);
    else log.info('alert is being posted by another delivery: skipped', fields);
    return claim.state === 'held' ? 'held' : 'duplicate';
  }
  const heldUntil = quietUntil(settings.quietHours, alert.severity, clock.nowMs());
  if (heldUntil !== undefined) {
    // Not an attempt: the claim keeps its count, and notifySweep delivers it once quiet hours are over.
    await claim.ref.update({ state: 'held', attempts: claim.attempts - 1, nextAttemptAtMs: heldUntil });
    log.info('alert held for quiet hours', { ...fields, until: new Date(heldUntil).toISOString() });
    return 'held';
  }
  let status: number;
  try {
    ({ status } = await send(alert, channel, deps, clock));
  } catch (err) {
    await recordFailure(alert, name, claim.attempts, err, clock, log);
    throw err;
  }
  await claim.ref.update({ state: 'posted', pending: false, postedAtMs: clock.nowMs() });
  if (dedupMs > 0) await dedupRef(alert, name).set({ lastPostedAtMs: clock.nowMs(), alertId: alert.alertId });
  log.info('alert posted to chat', { ...fields, status, attempt: claim.attempts });
  return 'posted';
}

/** One post to one channel, in that channel's format. */
async function send(alert: Alert, channel: Channel, deps: AlertDeps, clock: Clock) {
  const secretValue = deps.secretValue ?? cachedSecretValue();
  switch (channel.type) {
    case 'slack':
      return deps.chat.post(channel.urlSecret, chatMessageFor(alert));
    case 'webhook': {
      const body = JSON.stringify(alert);
      const timestamp = Math.floor(clock.nowMs() / 1000);
      const key = await secretValue(channel.signingSecret);
      return deps.chat.postRaw(channel.urlSecret, body, {
        'x-fireops-timestamp': String(timestamp),
        'x-fireops-signature': webhookSignature(key, timestamp, body),
        'x-fireops-alert-id': alert.alertId,
      });
    }
    case 'email': {
      const token = channel.tokenSecret ? await secretValue(channel.tokenSecret) : undefined;
      return deps.chat.postRaw(
        channel.relaySecret,
        JSON.stringify(emailFor(alert, channel)),
        token ? { authorization: `Bearer ${token}` } : {},
      );
    }
  }
}

/** The mail relay's JSON (docs/admin-guide.md "Alerts"): plain text, the runbook link on its own line. */
export function emailFor(
  alert: Alert,
  channel: { to: readonly string[]; from?: string | undefined },
): { from: string; to: string[]; subject: string; text: string } {
  const lines = [
    alert.text,
    '',
    `Kind: ${alert.kind} (${alert.severity})`,
    `Target: ${alert.target}`,
    `At: ${new Date(alert.atMs).toISOString()}`,
    ...(alert.runbookUrl ? [`Runbook: ${alert.runbookUrl}`] : []),
  ];
  return {
    from: channel.from ?? 'fireops@localhost',
    to: [...channel.to],
    // Header injection: a subject is one line.
    subject: `[fireops ${alert.severity}] ${alert.title}`.replace(/[\r\n]+/g, ' ').slice(0, 200),
    text: lines.join('\n'),
  };
}

const dedupRef = (alert: Alert, channel: string) =>
  db()
    .collection(PROCESSED_EVENTS)
    .doc(
      idempotencyDocId(
        'cloudevent',
        `notify-dedup:${channel}:${createHash('sha256').update(`${alert.kind}\n${alert.target}`).digest('hex').slice(0, 32)}`,
      ),
    );

/** Whether another alert of the same kind and target went to `channel` within `windowMs` (counted when so). */
async function suppressedByDedup(alert: Alert, channel: string, windowMs: number, clock: Clock) {
  const ref = dedupRef(alert, channel);
  const snap = await ref.get();
  const last = snap.get('lastPostedAtMs') as number | undefined;
  if (last === undefined || clock.nowMs() - last >= windowMs || snap.get('alertId') === alert.alertId)
    return false;
  const { FieldValue, Timestamp } = firestoreModule();
  await ref.update({
    suppressed: FieldValue.increment(1),
    expireAt: Timestamp.fromMillis(last + windowMs + PROCESSED_EVENT_TTL_MS),
  });
  return true;
}

/** A claim older than this belongs to a delivery that died (the post times out after CHAT_POST_TIMEOUT_MS). */
export const CLAIM_TIMEOUT_MS = 3 * CHAT_POST_TIMEOUT_MS;
/** Posts of one alert before it is given up on (about 4 h of backoff). */
export const MAX_NOTIFY_ATTEMPTS = 8;
const RETRY_BASE_MS = 60_000;
const RETRY_MAX_MS = 3_600_000;
export const ALERTS_STREAM = 'alerts';

type DeliveryState = 'claimed' | 'posted' | 'failed' | 'held' | 'gave-up' | 'dropped';

/** `processedEvents/cloudevent:notify:<alertId>`: the claim and the record of one alert's chat delivery. */
interface DeliveryDoc {
  kind: 'cloudevent';
  key: string;
  alertId: string;
  alert: Alert;
  /** The settings/alerts channel this delivery is for. */
  channel: string;
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

const deliveryRef = (alertId: string, channel: string) =>
  db()
    .collection(PROCESSED_EVENTS)
    .doc(idempotencyDocId('cloudevent', notifyKey(alertId, channel)));

async function claimAlert(
  alert: Alert,
  channel: string,
  clock: Clock,
): Promise<
  | { claimed: true; attempts: number; ref: FirebaseFirestore.DocumentReference }
  | { claimed: false; state: DeliveryState }
> {
  const ref = deliveryRef(alert.alertId, channel);
  const { Timestamp } = firestoreModule();
  return transact(async (tx) => {
    const snap = await tx.get(ref);
    const now = clock.nowMs();
    const current = snap.data() as DeliveryDoc | undefined;
    if (current) {
      const abandoned = current.state === 'claimed' && now - current.claimedAtMs >= CLAIM_TIMEOUT_MS;
      const heldAndDue = current.state === 'held' && (current.nextAttemptAtMs ?? 0) <= now;
      if (current.state !== 'failed' && !abandoned && !heldAndDue)
        return { claimed: false as const, state: current.state };
    }
    const attempts = (current?.attempts ?? 0) + 1;
    const next: DeliveryDoc = {
      kind: 'cloudevent',
      key: notifyKey(alert.alertId, channel),
      alertId: alert.alertId,
      alert,
      channel,
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

async function recordFailure(
  alert: Alert,
  channel: string,
  attempts: number,
  err: unknown,
  clock: Clock,
  log: Logger,
) {
  // Error messages of the chat adapter never hold the URL (scrubbed there).
  const lastError = (err instanceof Error ? err.message : String(err)).slice(0, 500);
  const now = clock.nowMs();
  if (attempts < MAX_NOTIFY_ATTEMPTS) {
    await deliveryRef(alert.alertId, channel).update({
      state: 'failed',
      lastError,
      nextAttemptAtMs: now + notifyBackoffMs(attempts),
    });
    return;
  }
  await transact(async (tx) => {
    const audit = await openAudit(tx, [ALERTS_STREAM], clock);
    tx.update(deliveryRef(alert.alertId, channel), { state: 'gave-up', pending: false, lastError });
    audit.append(ALERTS_STREAM, {
      actor: { type: 'system', id: 'notifyAlerts' },
      action: 'alert.chat-gave-up',
      target: alert.target,
      reason: `not posted to chat after ${attempts} attempts: ${lastError}`,
      correlationId: alert.correlationId,
      details: { alertId: alert.alertId, kind: alert.kind, attempts, channel },
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
      d.state === 'failed' || d.state === 'held'
        ? (d.nextAttemptAtMs ?? 0) <= now
        : d.state === 'claimed' && now - d.claimedAtMs >= CLAIM_TIMEOUT_MS,
    );
  const out: SweepOutcome = { retried: due.length, posted: 0, failed: 0 };
  for (const d of due) {
    try {
      const { chat } = await handleAlert(d.alert, deps);
      if (chat === 'posted') out.posted += 1;
      // Settings edited since: the channel no longer takes this alert (route or channel removed, or the dedup
      // window now covers it), so handleAlert never claimed it. It leaves the sweep, logged; an invalid
      // settings/alerts is not such an edit (the claim waits for the fix).
      if (chat !== 'misconfigured') await dropIfUntouched(d, chat);
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

async function dropIfUntouched(d: DeliveryDoc, outcome: ChatOutcome) {
  const ref = deliveryRef(d.alertId, d.channel ?? DEFAULT_CHANNEL);
  const dropped = await transact(async (tx) => {
    const now = (await tx.get(ref)).data() as DeliveryDoc | undefined;
    if (!now?.pending || now.state !== d.state || now.claimedAtMs !== d.claimedAtMs) return false;
    tx.update(ref, { state: 'dropped', pending: false, lastError: `not delivered on re-send: ${outcome}` });
    return true;
  });
  if (dropped)
    logger({ correlationId: d.alert.correlationId, alertId: d.alertId }).warn(
      'alert delivery dropped: settings/alerts no longer sends it to this channel',
      { channel: d.channel, outcome },
    );
}

/** Alerts re-sent per sweep: more wait for the next one (a backlog that large means the chat is down anyway). */
const SWEEP_BATCH = 100;
