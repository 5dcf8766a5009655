// githubWebhook: GitHub's deliveries in, verified, deduplicated and persisted, then announced on `ops-events`.
// GitHub waits 10 s and never retries by itself (https://docs.github.com/en/webhooks/using-webhooks/
// best-practices-for-using-webhooks), so the work here is bounded: checks, one transaction, one publish.
//
// Checks in this order, each answered at once with a JSON error and nothing stored or published:
// 405 method, 415 content type, 413 size (before parsing), 400 missing headers, 401 signature (before parsing).
// Then: 400 invalid payload (recorded as rejected, payload not kept); 202 accepted or ignored; 200 duplicate.
import { GITHUB_SETTINGS } from '../platform/collections';
import { createHash } from 'node:crypto';
import { type Request } from 'firebase-functions/v2/https';
import type { Response } from 'express';
import { checkSignature } from './signature';
import { db, firestoreModule } from '../platform/firestore';
import { PROCESSED_EVENT_TTL_MS, idempotencyDocId } from '../platform/idempotency';

/**
 * `deliveries/{guid}` expire (TTL policy on `expireAt`, firestore.indexes.json) after 90 days: far past GitHub's
 * 3-day redelivery window and the 30-day idempotency key; the audit log keeps the decision for good.
 */
export const DELIVERY_TTL_MS = 90 * 24 * 3600 * 1000;
import { PROCESSED_EVENTS } from '../platform/collections';
import { logger } from '../platform/logger';
import { type SecretSource } from './webhook-secrets';
import type { GithubSettings } from './schema';
import { OPS_EVENTS_TOPIC } from '../platform/topics';
import type { AuditInput } from '../platform/domain/audit-chain';
import { type Clock } from '../platform/domain/clock';
import { TransientError, ValidationError } from '../platform/domain/errors';
import { normalizeEvent, type GithubPayload } from './domain/normalize';
import { DELIVERIES } from '../platform/collections';
import { sendHttpError } from '../platform/error-mapping';

const ALREADY_EXISTS = 6;

/**
 * Every wait on the way to GitHub's answer ends by this many ms after the request arrived (issue 16.4): GitHub
 * gives up at 10 s and records a failed delivery, so an answer later than that is worth nothing. Past it the
 * delivery is answered 503 (transient: the recovery job redelivers it; if the write still lands, the
 * redelivery is a 200 duplicate). 2 s of margin for the platform in front of the function.
 */
export const WEBHOOK_ANSWER_DEADLINE_MS = 8_000;

export type WebhookRequest = Pick<Request, 'method' | 'get' | 'rawBody'>;

export interface WebhookDeps {
  secrets: SecretSource;
  maxBytes: number;
  clock: Clock;
  settings: () => Promise<GithubSettings | undefined>;
  /** Answer deadline from the request's arrival; WEBHOOK_ANSWER_DEADLINE_MS unless a test says otherwise. */
  deadlineMs?: number;
}

/**
 * Bounds the waits of one request: `within(work, what)` settles with `work`, or rejects with a TransientError
 * once the request's deadline has passed. The work itself is not cancelled (nothing here can be): it finishes or
 * fails in the background, and what it writes stays idempotent by GUID.
 */
function requestDeadline(deadlineMs: number) {
  // Wall time, not deps.clock: the deadline is GitHub's patience, whatever time a test's clock says it is.
  const endsAt = Date.now() + deadlineMs;
  return async function within<T>(work: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new TransientError(`${what} did not answer within the ${deadlineMs} ms webhook deadline`)),
        Math.max(0, endsAt - Date.now()),
      );
    });
    try {
      return await Promise.race([work, late]);
    } finally {
      clearTimeout(timer);
    }
  };
}
type Within = ReturnType<typeof requestDeadline>;

const GUID_PATTERN = /^[A-Za-z0-9-]{1,100}$/;
const EVENT_PATTERN = /^[a-z_]{1,60}$/;

function fail(res: Response, status: number, error: string, extra: Record<string, unknown> = {}): void {
  res.status(status).json({ error, ...extra });
}

export async function handleGithubWebhook(
  req: WebhookRequest,
  res: Response,
  deps: WebhookDeps,
): Promise<void> {
  const guid = req.get('x-github-delivery');
  const event = req.get('x-github-event');
  const log = logger({ function: 'githubWebhook', deliveryId: guid, event });
  const within = requestDeadline(deps.deadlineMs ?? WEBHOOK_ANSWER_DEADLINE_MS);

  // 1. Method and content type.
  if (req.method !== 'POST') {
    res.set('Allow', 'POST');
    return fail(res, 405, 'method not allowed: GitHub delivers webhooks with POST');
  }
  const contentType = (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== 'application/json') {
    return fail(res, 415, 'content type must be application/json (set the webhook content type to JSON)');
  }
  // 2. Size, before anything looks at the body.
  const declared = Number(req.get('content-length') ?? NaN);
  const size = req.rawBody?.length ?? 0;
  if ((Number.isFinite(declared) && declared > deps.maxBytes) || size > deps.maxBytes) {
    return fail(res, 413, `body larger than ${deps.maxBytes} bytes`, { maxBytes: deps.maxBytes });
  }
  // An empty body is no delivery (GitHub always sends a JSON payload): 400, not a parse failure deeper down.
  if (size === 0) return fail(res, 400, 'empty body: a GitHub delivery carries a JSON payload');
  // 3. Headers.
  const signature = req.get('x-hub-signature-256');
  const missing = [
    ['X-GitHub-Event', event],
    ['X-GitHub-Delivery', guid],
    ['X-Hub-Signature-256', signature],
  ]
    .filter(([, v]) => !v)
    .map(([name]) => name);
  if (missing.length)
    return fail(res, 400, `missing header${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  if (!GUID_PATTERN.test(guid!)) return fail(res, 400, 'X-GitHub-Delivery is not a delivery id');
  if (!EVENT_PATTERN.test(event!)) return fail(res, 400, 'X-GitHub-Event is not an event name');

  try {
    // 4. Signature over the raw bytes, before any parsing.
    const check = await within(
      checkSignature(req.rawBody ?? Buffer.alloc(0), signature!, deps.secrets),
      'the webhook secret (Secret Manager)',
    );
    if (!check.ok) {
      log.warn('webhook refused: bad signature', { reason: check.reason });
      return fail(res, 401, check.reason);
    }
    await acceptDelivery(
      req.rawBody ?? Buffer.alloc(0),
      event!,
      guid!,
      check.version,
      res,
      deps,
      log,
      within,
    );
  } catch (err) {
    if (err instanceof ValidationError && err.message.startsWith(GITHUB_SETTINGS)) {
      // The admin's settings are broken, not the delivery: answer 503 so GitHub records a failure that the
      // recovery job redelivers once settings are fixed. The one 503 that explains itself: it is answered only
      // after the signature matched, so only GitHub (holder of the webhook secret) reads it, in the hook's
      // delivery log, where the admin fixing it looks; it names an admin document field, never a resource.
      log.error('settings/github is invalid: deliveries cannot be judged', { error: err.message });
      return fail(res, 503, err.message, { field: err.field });
    }
    await sendHttpError(res, log, err, {
      fn: 'webhooks.githubWebhook',
      ...(guid ? { correlationId: guid } : {}),
    });
  }
}

type Outcome =
  | { kind: 'rejected'; reason: string; field?: string }
  | { kind: 'ignored'; reason: string }
  | { kind: 'accepted' };

async function acceptDelivery(
  rawBody: Buffer,
  event: string,
  guid: string,
  secretVersion: string,
  res: Response,
  deps: WebhookDeps,
  log: ReturnType<typeof logger>,
  within: Within,
): Promise<void> {
  const schemas = await within(import('./schema.js'), 'loading the payload schemas');
  const nowMs = deps.clock.nowMs();
  const payloadSha256 = createHash('sha256').update(rawBody).digest('hex');

  // 5. Only now parse and validate the fields this event's handling uses.
  let payload: GithubPayload | undefined;
  let outcome: Outcome;
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString('utf8'));
  } catch {
    json = undefined;
  }
  if (json === undefined) {
    outcome = { kind: 'rejected', reason: 'body is not valid JSON' };
  } else {
    const schema =
      (schemas.githubPayloadSchemas as Record<string, import('zod').ZodType>)[event] ??
      schemas.otherEventSchema;
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const { message, field } = schemas.formatZodError(parsed.error, `${event} payload`);
      outcome = { kind: 'rejected', reason: message, field };
    } else {
      payload = parsed.data as GithubPayload;
      const settings = await within(deps.settings(), 'settings/github (Firestore)');
      const repo = payload.repository?.full_name;
      if (!settings)
        outcome = { kind: 'ignored', reason: 'settings/github does not exist: no repository is allowed' };
      else if (!repo) outcome = { kind: 'ignored', reason: 'delivery names no repository' };
      else if (!settings.allowedRepos.includes(repo)) {
        outcome = { kind: 'ignored', reason: `repository ${repo} is not in settings/github.allowedRepos` };
      } else outcome = { kind: 'accepted' };
    }
  }

  const opsEvent =
    payload && outcome.kind === 'accepted' ? normalizeEvent(event, guid, payload, nowMs) : undefined;
  const action = payload?.action ?? null;
  const repo = payload?.repository?.full_name ?? null;
  const senderLogin = payload?.sender?.login ?? null;
  const { Timestamp } = firestoreModule();
  const firestore = db();
  const now = Timestamp.fromMillis(nowMs);

  // One batched commit, no reads: the delivery (with what is still to be announced and audited) and its
  // idempotency key are created together or not at all; an existing GUID fails the create: a duplicate.
  // onDeliveryRecorded relays the announcement to ops-events and appends the audit entry in the background, so
  // the hash chain's head documents are not on GitHub's 10-second path (a transaction on a shared head per
  // delivery serialises bursts).
  const announce = opsEvent
    ? {
        topic: OPS_EVENTS_TOPIC,
        data: opsEvent,
        attributes: {
          type: opsEvent.type,
          event,
          ...(action ? { action } : {}),
          ...(repo ? { repo } : {}),
          deliveryId: guid,
        },
      }
    : null;
  const audit: AuditInput = {
    actor: { type: 'github', id: senderLogin ?? 'unknown' },
    action: `delivery.${outcome.kind}`,
    target: `deliveries/${guid}`,
    reason:
      outcome.kind === 'accepted' ? `${event}${action ? `.${action}` : ''} from ${repo}` : outcome.reason,
    correlationId: guid,
    details: { event, action, repository: repo, payloadSha256, secretVersion },
  };
  const batch = firestore.batch();
  batch.create(firestore.collection(DELIVERIES).doc(guid), {
    event,
    action,
    repository: repo,
    sender: senderLogin,
    receivedAt: now,
    payloadSha256,
    payloadBytes: rawBody.length,
    secretVersion,
    outcome: outcome.kind,
    expireAt: Timestamp.fromMillis(nowMs + DELIVERY_TTL_MS),
    ...(outcome.kind !== 'accepted' ? { reason: outcome.reason } : {}),
    ...(outcome.kind === 'rejected' && outcome.field ? { field: outcome.field } : {}),
    pendingAudit: audit,
    ...(announce ? { pendingAnnounce: announce } : {}),
  });
  batch.create(firestore.collection(PROCESSED_EVENTS).doc(idempotencyDocId('github-delivery', guid)), {
    kind: 'github-delivery',
    key: guid,
    processedAt: now,
    expireAt: Timestamp.fromMillis(nowMs + PROCESSED_EVENT_TTL_MS),
  });
  let duplicate = false;
  try {
    await within(batch.commit(), 'recording the delivery (Firestore)');
  } catch (err) {
    if ((err as { code?: number }).code !== ALREADY_EXISTS) throw err;
    duplicate = true;
  }
  const result = duplicate ? { duplicate: true as const } : { duplicate: false as const, value: outcome };

  if (result.duplicate) {
    log.info('duplicate delivery: already processed', {});
    res.status(200).json({ duplicate: true, deliveryId: guid });
    return;
  }
  log.info('delivery recorded', { outcome: result.value.kind, repo, secretVersion });
  if (result.value.kind === 'rejected') {
    fail(res, 400, result.value.reason, {
      deliveryId: guid,
      ...(result.value.field ? { field: result.value.field } : {}),
    });
  } else if (result.value.kind === 'ignored') {
    res.status(202).json({ ignored: true, reason: result.value.reason, deliveryId: guid });
  } else {
    res.status(202).json({ accepted: true, deliveryId: guid });
  }
}
