// How each kind of consumer receives a new secret value (apply), proves it works (test) and is put back (restore)
// when a rotation rolls back. Values are read from Secret Manager by version number when needed, never kept.
import { originListed, readCapped } from '../platform/outbound';
import { DELIVERIES } from '../platform/collections';
import type { SecretPolicy } from './schema';
import type { Clock } from '../platform/domain/clock';
import { ValidationError } from '../platform/domain/errors';
import { redactor } from '../platform/domain/redact';
import { db, firestoreModule } from '../platform/firestore';
import type { GithubApi } from '../platform/github-api';
import { generateValue, readVersionValue } from './secrets';

export interface StrategyContext {
  secretId: string;
  rotationId: string;
  newVersion: string;
  oldVersion: string | null;
}

export interface RotationStrategy {
  /** The new value: generated here, or issued by the owning service. Registered for redaction by the caller. */
  makeValue(ctx: { secretId: string; rotationId: string }): Promise<string>;
  apply(ctx: StrategyContext): Promise<void>;
  /** Resolves if the new value works; throws (ValidationError: permanent) if it does not. */
  test(ctx: StrategyContext): Promise<void>;
  /** Puts the consumer back on the old value (rollback), where the strategy can. */
  restore(ctx: StrategyContext): Promise<void>;
}

export class RandomTokenStrategy implements RotationStrategy {
  constructor(private readonly policy: { bytes: number; encoding: 'hex' | 'base64url' }) {}

  makeValue(): Promise<string> {
    return Promise.resolve(generateValue(this.policy.bytes, this.policy.encoding));
  }

  /** Consumers read the secret at run time: nothing to push. */
  apply(): Promise<void> {
    return Promise.resolve();
  }

  async test(ctx: StrategyContext): Promise<void> {
    const value = await readVersionValue(ctx.secretId, ctx.newVersion);
    const expected =
      this.policy.encoding === 'hex' ? this.policy.bytes * 2 : Math.ceil((this.policy.bytes * 4) / 3);
    const pattern = this.policy.encoding === 'hex' ? /^[0-9a-f]+$/ : /^[A-Za-z0-9_-]+$/;
    if (value.length !== expected || !pattern.test(value)) {
      throw new ValidationError(
        `version ${ctx.newVersion} is not a ${this.policy.bytes}-byte ${this.policy.encoding} token`,
      );
    }
  }

  restore(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The GitHub webhook secret: the new value goes into the hook's config; GitHub is asked for a ping, and the test
 * passes when githubWebhook has verified that ping with the new version (it accepts `pending` for exactly this).
 */
export class GithubWebhookStrategy implements RotationStrategy {
  constructor(
    private readonly policy: { owner: string; repo: string; hookId: number },
    private readonly api: GithubApi,
    private readonly clock: Clock,
    private readonly opts: { pingTimeoutMs?: number; propagationMs?: number } = {},
  ) {}

  makeValue(): Promise<string> {
    return Promise.resolve(generateValue(32, 'hex'));
  }

  async apply(ctx: StrategyContext): Promise<void> {
    // Every githubWebhook instance must know the `pending` version before GitHub signs with it: wait out their
    // secret cache (WEBHOOK_SECRET_CACHE_SECONDS) since `create` set the alias. Repeating the wait on a resume is
    // harmless.
    await new Promise((r) => setTimeout(r, this.opts.propagationMs ?? 31_000));
    await this.api.setHookSecret(this.policy, await readVersionValue(ctx.secretId, ctx.newVersion));
  }

  async test(ctx: StrategyContext): Promise<void> {
    const { Timestamp } = firestoreModule();
    const since = Timestamp.fromMillis(this.clock.nowMs() - 1000);
    const timeoutMs = this.opts.pingTimeoutMs ?? 30_000;
    // GitHub never retries a failed delivery: ping up to three times within the timeout.
    const pings = 3;
    for (let i = 0; i < pings; i++) {
      await this.api.ping(this.policy);
      const deadline = Date.now() + timeoutMs / pings;
      while (Date.now() < deadline) {
        const seen = await db()
          .collection(DELIVERIES)
          .where('event', '==', 'ping')
          .where('receivedAt', '>=', since)
          .get();
        if (seen.docs.some((d) => d.get('secretVersion') === ctx.newVersion)) return;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    // Transient: the engine retries the step (on the next sweep) before it rolls back.
    throw new Error(
      `no ping verified with version ${ctx.newVersion} after ${pings} pings in ${timeoutMs / 1000} s`,
    );
  }

  async restore(ctx: StrategyContext): Promise<void> {
    if (ctx.oldVersion)
      await this.api.setHookSecret(this.policy, await readVersionValue(ctx.secretId, ctx.oldVersion));
  }
}

export type IdTokenSource = (audience: string) => Promise<string | undefined>;

/** What deploy allows secret policies to use (params; rotation/deps.ts). */
export interface PolicyTrust {
  /**
   * CALLBACK_ORIGINS: the origins http-callback policies may call (`scheme://host:*`: any port of that host). https
   * only, but in a `demo-` project.
   */
  callbackOrigins: readonly string[];
  /** Secret ids fireops may rotate besides those starting with FIREOPS_SECRET_PREFIX (WEBHOOK_SECRET_ID). */
  extraSecretIds: readonly string[];
  /** The project: `demo-` projects (the local suite) may list http:// origins, nothing else may. */
  projectId: string;
}

/** A callback answers JSON of a few hundred bytes; more is cut and refused. */
export const CALLBACK_MAX_BYTES = 64 * 1024;

/** Why `url` may not be called under `trust`, or null. */
export function callbackRefusal(url: string, trust: PolicyTrust): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `'${url}' is not a URL`;
  }
  const local = trust.projectId.startsWith('demo-');
  if (parsed.protocol !== 'https:' && !(local && parsed.protocol === 'http:')) {
    return `callbacks are https only (${parsed.protocol}//${parsed.host})`;
  }
  if (parsed.username || parsed.password) return 'a callback URL carries no credentials';
  const listed = originListed(parsed, trust.callbackOrigins);
  if (!listed) {
    return (
      `origin ${parsed.origin} is not one this deployment may call (CALLBACK_ORIGINS: ` +
      `${trust.callbackOrigins.length ? trust.callbackOrigins.join(', ') : 'none set'}); add it and redeploy`
    );
  }
  return null;
}

/**
 * An owning service issues and accepts its own credential. Contract (README): fireops POSTs JSON
 * `{step: "create"|"apply"|"test"|"rollback", secretId, rotationId, version?}` to `url` (an origin listed in
 * CALLBACK_ORIGINS) with a Google ID token whose audience is that origin; `create` answers `{"value": "..."}` (fireops stores it as the pending version), `apply` makes the
 * service accept that version (it reads it from Secret Manager), `test` answers 200 once it works, `rollback`
 * returns it to the old version. 4xx is permanent, 5xx transient.
 */
export class HttpCallbackStrategy implements RotationStrategy {
  constructor(
    private readonly policy: { url: string },
    private readonly idToken: IdTokenSource,
    private readonly trust: PolicyTrust,
  ) {}

  private async call(body: Record<string, unknown>): Promise<unknown> {
    const step = String(body.step);
    // Checked again here, not only when the policy was written: CALLBACK_ORIGINS may have shrunk since.
    const refused = callbackRefusal(this.policy.url, this.trust);
    if (refused) throw new ValidationError(`callback ${step} refused: ${refused}`);
    // The ID token's audience is the origin called, never an admin-chosen value: a token fireops mints is only
    // good at the service it is sent to.
    const origin = new URL(this.policy.url).origin;
    const token = await this.idToken(origin);
    let res: Response;
    try {
      res = await fetch(this.policy.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
        redirect: 'manual', // a 3xx is an answer, never followed (its Location could point anywhere)
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      throw new Error(`callback ${step} unreachable: ${(err as Error).message}`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      const message = `callback ${step} answered ${res.status}`;
      if (res.status >= 400 && res.status < 500) throw new ValidationError(message);
      throw new Error(message);
    }
    const { text, truncated } = await readCapped(res, CALLBACK_MAX_BYTES);
    const what = `(${res.headers.get('content-type') ?? 'no content type'}, ${truncated ? `over ${CALLBACK_MAX_BYTES}` : text.length} bytes)`;
    if (truncated)
      throw new ValidationError(`callback ${step} answered more than ${CALLBACK_MAX_BYTES} bytes ${what}`);
    if (!text) return {};
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // Never the parse error's text: it quotes the body, which may hold a credential.
      throw new ValidationError(`callback ${step} answered a body that is not JSON ${what}`);
    }
  }

  async makeValue(ctx: { secretId: string; rotationId: string }): Promise<string> {
    const answer = (await this.call({ step: 'create', ...ctx })) as { value?: unknown };
    if (typeof answer.value !== 'string' || answer.value.length < 16) {
      throw new ValidationError('callback create must answer {"value": "<at least 16 characters>"}');
    }
    redactor.register(answer.value);
    return answer.value;
  }

  async apply(ctx: StrategyContext): Promise<void> {
    await this.call({
      step: 'apply',
      secretId: ctx.secretId,
      rotationId: ctx.rotationId,
      version: ctx.newVersion,
    });
  }

  async test(ctx: StrategyContext): Promise<void> {
    await this.call({
      step: 'test',
      secretId: ctx.secretId,
      rotationId: ctx.rotationId,
      version: ctx.newVersion,
    });
  }

  async restore(ctx: StrategyContext): Promise<void> {
    await this.call({
      step: 'rollback',
      secretId: ctx.secretId,
      rotationId: ctx.rotationId,
      version: ctx.oldVersion,
    });
  }
}

export interface StrategyDeps {
  github: GithubApi;
  clock: Clock;
  idToken: IdTokenSource;
  pingTimeoutMs?: number;
  /** How long githubWebhook instances may cache the webhook secret: waited between create and apply. */
  webhookSecretPropagationMs?: number;
  /** What deploy allows policies to use. */
  trust: PolicyTrust;
}

export function strategyFor(policy: SecretPolicy, deps: StrategyDeps): RotationStrategy {
  switch (policy.strategy) {
    case 'random-token':
      return new RandomTokenStrategy(policy);
    case 'github-webhook':
      return new GithubWebhookStrategy(policy, deps.github, deps.clock, {
        ...(deps.pingTimeoutMs !== undefined ? { pingTimeoutMs: deps.pingTimeoutMs } : {}),
        ...(deps.webhookSecretPropagationMs !== undefined
          ? { propagationMs: deps.webhookSecretPropagationMs }
          : {}),
      });
    case 'http-callback':
      return new HttpCallbackStrategy(policy, deps.idToken, deps.trust);
  }
}
