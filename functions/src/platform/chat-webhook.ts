// Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat, Discord's /slack endpoint): the URL is itself
// the credential, so it lives in Secret Manager, is read at run time (a rotation needs no redeploy) and never
// reaches a log line, a document or an error message. accessSecretValue registers it with the redactor for logs;
// errors are scrubbed here as well, because a thrown message can be printed by the runtime without our logger.
import { redactCredentials } from './domain/credentials';
import { originListed, readCapped } from './outbound';
import type { WireAlert as Alert } from './schema';
import { systemClock, type Clock } from './domain/clock';
import { TransientError, ValidationError } from './domain/errors';
import { REDACTED, redactor } from './domain/redact';
import { projectId } from './firestore';
import { accessSecretValue } from './secret-manager';

/** Slack stops waiting after a few seconds itself; a hung endpoint must not hold the function for its full 60 s. */
export const CHAT_POST_TIMEOUT_MS = 10_000;
/** The URL is re-read this often per instance, so a rotated webhook is picked up without a redeploy. */
export const CHAT_URL_CACHE_MS = 60_000;
/** How much of a refusal's body goes into the error (Slack answers short codes like `no_service`). */
const MAX_ERROR_BODY_CHARS = 200;

/** The JSON body of a Slack-compatible incoming webhook. */
export interface ChatMessage {
  text: string;
  blocks?: unknown[];
}

const SEVERITY_EMOJI: Record<Alert['severity'], string> = {
  critical: '🔴',
  warning: '🟠',
  info: 'ℹ️',
};

/**
 * Slack mrkdwn treats `<...>` as links and mentions (`<!channel>`), so `&`, `<` and `>` from alert fields are
 * escaped: an alert quoting a response body cannot ping a whole channel
 * (https://api.slack.com/reference/surfaces/formatting#escaping).
 */
function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function chatMessageFor(alert: Alert): ChatMessage {
  const e = escapeMrkdwn;
  // A link only for a plain http(s) URL: `<`, `>` and `|` would break out of Slack's <url|label> syntax.
  const runbook =
    alert.runbookUrl && /^https?:\/\/[^\s<>|]+$/.test(alert.runbookUrl)
      ? `\n<${alert.runbookUrl}|Runbook: ${e(alert.kind)}>`
      : '';
  return {
    text: `${SEVERITY_EMOJI[alert.severity]} *${e(alert.title)}*\n${e(alert.text)}\n_${e(alert.kind)} · ${e(alert.target)}_${runbook}`,
  };
}

/** `text` with the URL, its normalized form and its path (the secret part of a Slack URL) replaced. */
export function scrubUrl(text: string, url: string): string {
  const variants = new Set([url]);
  if (URL.canParse(url)) {
    const parsed = new URL(url);
    variants.add(parsed.href);
    const tail = parsed.pathname + parsed.search;
    if (tail.length >= 8) variants.add(tail);
  }
  let out = text;
  for (const v of [...variants].sort((a, b) => b.length - a.length)) out = out.split(v).join(REDACTED);
  return redactor.redactString(out);
}

/** What went wrong in a fetch rejection, without anything that could hold the URL but the messages, scrubbed. */
function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return 'timed out';
  // undici: TypeError('fetch failed') with the socket error (ECONNREFUSED, ENOTFOUND...) as its cause.
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}

export interface ChatWebhookOptions {
  clock?: Clock;
  timeoutMs?: number;
  urlCacheMs?: number;
  /** The secret's value; default: its `latest` version from Secret Manager. */
  readSecret?: (secretId: string) => Promise<string>;
  fetchImpl?: typeof fetch;
  /** CHAT_WEBHOOK_ORIGINS (default: the param): the origins an alert may be posted to. */
  allowedOrigins?: readonly string[];
  /** The project (default: this one): in a `demo-` project, loopback sinks are allowed too (the local suite). */
  projectId?: string;
}

/** A chat answer is a short code (`ok`, `no_service`); more than this is not read. */
export const CHAT_MAX_RESPONSE_BYTES = 4096;

/**
 * Why an alert may not be posted to `url`, or null: https to an origin of `allowedOrigins` (`scheme://host:*`
 * for any port) only; in a `demo-` project, also http(s) to 127.0.0.1 or localhost (a local sink). The URL is the
 * secret's value: the reason never quotes it.
 */
export function chatOriginRefusal(
  url: string,
  allowedOrigins: readonly string[],
  projectId: string,
): string | null {
  const u = new URL(url);
  if (projectId.startsWith('demo-') && (u.hostname === '127.0.0.1' || u.hostname === 'localhost'))
    return null;
  if (u.protocol !== 'https:') return 'chat webhooks are https only';
  const listed = originListed(u, allowedOrigins);
  return listed
    ? null
    : `its origin is not one CHAT_WEBHOOK_ORIGINS allows (${allowedOrigins.join(', ') || 'none set'})`;
}

/** Posts to the webhook whose URL a Secret Manager secret holds; one per instance (it caches the URL). */
export class ChatWebhook {
  /** The URL of each secret, read at most once per CHAT_URL_CACHE_MS (an instance posts to a few channels). */
  private readonly cached = new Map<string, { atMs: number; url: string }>();
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly urlCacheMs: number;
  private readonly readSecret: (secretId: string) => Promise<string>;
  private readonly fetchImpl: typeof fetch;
  private readonly options: ChatWebhookOptions;

  constructor(options: ChatWebhookOptions = {}) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.timeoutMs = options.timeoutMs ?? CHAT_POST_TIMEOUT_MS;
    this.urlCacheMs = options.urlCacheMs ?? CHAT_URL_CACHE_MS;
    this.readSecret = options.readSecret ?? (async (id) => (await accessSecretValue(id, 'latest')).value);
    // Looked up at call time by default, not captured: tests and instrumentation may wrap globalThis.fetch.
    this.fetchImpl = options.fetchImpl ?? ((input, init) => fetch(input, init));
  }

  /**
   * Resolves on a 2xx answer. Throws TransientError on any other status, a network error or a timeout (the caller
   * lets Pub/Sub redeliver); ValidationError when the secret is missing or does not hold a usable URL (retrying
   * cannot help until an admin fixes it). No message names the URL.
   */
  async post(secretId: string, message: ChatMessage): Promise<{ status: number }> {
    return this.postRaw(secretId, JSON.stringify(message));
  }

  /** post with the JSON body as given (a signature covers these exact bytes) and extra headers. */
  async postRaw(
    secretId: string,
    body: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number }> {
    const url = await this.url(secretId);
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json; charset=utf-8' },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error', // a redirect would send the alert somewhere the secret does not name
      });
    } catch (err) {
      this.cached.delete(secretId); // the webhook may have been replaced: the retry reads the secret again
      // No `cause`: the original error quotes the URL in places (undici's request-construction errors do).
      throw new TransientError(
        scrubUrl(`chat webhook (secret ${secretId}) failed: ${describeFetchError(err)}`, url),
      );
    }
    // Read the body (at most CHAT_MAX_RESPONSE_BYTES) so the connection is released; it matters only on a refusal.
    const answer = await readCapped(res, CHAT_MAX_RESPONSE_BYTES).then(
      (r) => (r.truncated ? '(a longer answer, not read)' : r.text),
      () => '',
    );
    if (res.status < 200 || res.status > 299) {
      this.cached.delete(secretId);
      // The URL first (a sink may echo it), then anything else that looks like a credential.
      const snippet = redactCredentials(scrubUrl(answer.slice(0, 4 * MAX_ERROR_BODY_CHARS), url))
        .slice(0, MAX_ERROR_BODY_CHARS)
        .replace(/\s+/g, ' ')
        .trim();
      throw new TransientError(
        scrubUrl(
          `chat webhook (secret ${secretId}) answered ${res.status}${snippet ? `: ${snippet}` : ''}`,
          url,
        ),
      );
    }
    return { status: res.status };
  }

  private async url(secretId: string): Promise<string> {
    const now = this.clock.nowMs();
    const c = this.cached.get(secretId);
    if (c && now - c.atMs < this.urlCacheMs) return c.url;
    // `echo URL | gcloud secrets versions add` stores a trailing newline.
    const url = (await this.readSecret(secretId)).trim();
    redactor.register(url);
    if (!isUsableUrl(url)) {
      throw new ValidationError(
        `secret ${secretId} must hold an http(s) webhook URL without user:password@`,
        'webhookSecret',
      );
    }
    const allowed =
      this.options.allowedOrigins ??
      (await import('./params.js')).CHAT_WEBHOOK_ORIGINS.value()
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean);
    const refused = chatOriginRefusal(url, allowed, this.options.projectId ?? projectId());
    if (refused)
      throw new ValidationError(
        `secret ${secretId} holds a webhook URL fireops may not call: ${refused}`,
        'webhookSecret',
      );
    this.cached.set(secretId, { atMs: now, url });
    return url;
  }
}

function isUsableUrl(s: string): boolean {
  if (!URL.canParse(s)) return false;
  const u = new URL(s);
  // fetch refuses credentials in a URL, quoting the URL in its error (Fetch standard, "new Request", step 5.4).
  return (u.protocol === 'https:' || u.protocol === 'http:') && u.username === '' && u.password === '';
}
