// The GitHub REST API through @octokit/rest: deployment statuses, a hook's deliveries and redeliveries, hook
// config and pings. The token is read from Secret Manager at run time (GitHub App auth can replace it here without
// touching callers). GITHUB_API_URL points it at the local stand-in (emulators/github/).
import { readCapped } from './outbound';
import type { Octokit } from '@octokit/rest' with { 'resolution-mode': 'import' };
import { systemClock, type Clock } from './domain/clock';
import { TransientError, ValidationError } from './domain/errors';
import { accessSecretValue } from './secret-manager';

export const DESCRIPTION_MAX = 140;
const TOKEN_TTL_MS = 5 * 60_000;

export type DeploymentState =
  'queued' | 'in_progress' | 'success' | 'failure' | 'inactive' | 'error' | 'pending';

export interface HookRef {
  owner: string;
  repo: string;
  hookId: number;
}

export interface HookDelivery {
  id: number;
  guid: string;
  deliveredAtMs: number;
  redelivery: boolean;
  statusCode: number;
  status: string;
  event: string;
  action: string | null;
}

export interface GithubApi {
  /** A deployment of `ref` (no merge, no required status checks: the release was built already). */
  createDeployment?(input: {
    owner: string;
    repo: string;
    ref: string;
    environment: string;
    task: string;
    description: string;
    payload: Record<string, string>;
  }): Promise<{ id: number }>;
  createDeploymentStatus(input: {
    owner: string;
    repo: string;
    deploymentId: number;
    state: DeploymentState;
    description: string;
    logUrl?: string;
    environmentUrl?: string;
  }): Promise<{ id: number }>;
  listDeliveriesSince(hook: HookRef, sinceMs: number): Promise<HookDelivery[]>;
  redeliver(hook: HookRef, deliveryId: number): Promise<void>;
  setHookSecret(hook: HookRef, secret: string): Promise<void>;
  ping(hook: HookRef): Promise<void>;
}

/** Descriptions are capped at 140 characters by GitHub (422 otherwise): cut with an ellipsis. */
export function clampDescription(text: string): string {
  return text.length <= DESCRIPTION_MAX ? text : `${text.slice(0, DESCRIPTION_MAX - 1)}…`;
}

/**
 * GitHub's rate limits answer 403 (secondary limit: a message saying so, often `retry-after`; primary: with
 * `x-ratelimit-remaining: 0`) or 429. Waiting fixes them: transient, never a permanent refusal (a rotation must not
 * roll back because GitHub asked it to slow down).
 */
export function isRateLimited(err: unknown): boolean {
  const e = err as { status?: number; message?: unknown; response?: { headers?: Record<string, unknown> } };
  if (e.status === 429) return true;
  if (e.status !== 403) return false;
  const headers = e.response?.headers ?? {};
  return (
    /\b(secondary )?rate limit/i.test(typeof e.message === 'string' ? e.message : '') ||
    headers['retry-after'] !== undefined ||
    headers['x-ratelimit-remaining'] === '0'
  );
}

/**
 * One GitHub request, from sending to the last byte of the answer. @octokit/request 10 has no timeout of its own
 * (its `request.timeout` option is gone; it passes only a fixed `signal` to fetch), so the fetch Octokit uses is
 * wrapped: a hung GitHub costs at most this per attempt (3 attempts with plugin-retry), not the caller's whole
 * function timeout.
 */
export const GITHUB_TIMEOUT_MS = 10_000;
/** Answers fireops reads are small (a page of 100 deliveries is tens of KiB); more is refused, not buffered. */
export const GITHUB_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** `fetch` with a deadline per request and a cap on the answer's size (the body is read here, within the deadline). */
export function boundedFetch(timeoutMs: number, maxBytes: number): typeof fetch {
  return async (input, init) => {
    const signal = init?.signal
      ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)])
      : AbortSignal.timeout(timeoutMs);
    let res: Response;
    let body: { text: string; truncated: boolean };
    try {
      res = await fetch(input, { ...init, signal });
      body = await readCapped(res, maxBytes);
    } catch (err) {
      if (signal.aborted && !init?.signal?.aborted)
        throw new Error(`no complete answer within ${timeoutMs} ms (timed out)`);
      throw err;
    }
    if (body.truncated) throw new Error(`answer larger than ${maxBytes} bytes, not read`);
    const empty = res.status === 204 || res.status === 205 || res.status === 304;
    const copy = new Response(empty ? null : body.text, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
    Object.defineProperty(copy, 'url', { value: res.url });
    return copy;
  };
}

/** The longest wait the throttling plugin may take before one retry: within every caller's function timeout. */
export const RATE_LIMIT_MAX_WAIT_SECONDS = 30;

function mapError(err: unknown, what: string): Error {
  const status = (err as { status?: number }).status;
  if (isRateLimited(err)) {
    return new TransientError(`GitHub ${what}: rate limited (${status}), retry later`, { cause: err });
  }
  if (status !== undefined && status >= 400 && status < 500 && status !== 429 && status !== 408) {
    return new ValidationError(`GitHub ${what}: ${status} ${(err as Error).message}`);
  }
  return new TransientError(`GitHub ${what}: ${(err as Error).message}`, { cause: err });
}

export class OctokitGithubApi implements GithubApi {
  private client: { octokit: Octokit; at: number } | undefined;

  constructor(
    private readonly tokenSecretId: string,
    private readonly opts: {
      baseUrl?: string | undefined;
      clock?: Clock;
      /** Milliseconds per second of GitHub's retry-after (tests shorten the waits; default 1000). */
      retryAfterBaseMs?: number;
      /** Per request (default GITHUB_TIMEOUT_MS; tests shorten it). */
      timeoutMs?: number;
      /** Default GITHUB_MAX_RESPONSE_BYTES. */
      maxResponseBytes?: number;
    } = {},
  ) {}

  private async octokit(): Promise<Octokit> {
    const clock = this.opts.clock ?? systemClock;
    if (this.client && clock.nowMs() - this.client.at < TOKEN_TTL_MS) return this.client.octokit;
    const [{ Octokit: Base }, { throttling }, { retry }] = await Promise.all([
      import('@octokit/rest'),
      import('@octokit/plugin-throttling'),
      import('@octokit/plugin-retry'),
    ]);
    const { value: token } = await accessSecretValue(this.tokenSecretId, 'latest');
    // GitHub's guidance, the way Octokit applies it: mutating requests spaced 1 s apart per process, a rate limit
    // waited out once (if GitHub asks for at most RATE_LIMIT_MAX_WAIT_SECONDS), 5xx and network errors retried
    // twice; what still fails is a TransientError (mapError), retried by the caller's own schedule.
    const Client = Base.plugin(throttling, retry);
    const waitOnce = (retryAfter: number, _options: unknown, _octokit: unknown, retryCount: number) =>
      retryCount < 1 && retryAfter <= RATE_LIMIT_MAX_WAIT_SECONDS;
    const octokit = new Client({
      auth: token,
      baseUrl: this.opts.baseUrl ?? process.env.GITHUB_API_URL ?? 'https://api.github.com',
      userAgent: 'fireops',
      request: {
        fetch: boundedFetch(
          this.opts.timeoutMs ?? GITHUB_TIMEOUT_MS,
          this.opts.maxResponseBytes ?? GITHUB_MAX_RESPONSE_BYTES,
        ),
      },
      throttle: {
        onRateLimit: waitOnce,
        onSecondaryRateLimit: waitOnce,
        ...(this.opts.retryAfterBaseMs !== undefined
          ? { retryAfterBaseValue: this.opts.retryAfterBaseMs }
          : {}),
      },
      retry: { retries: 2 },
      log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    });
    this.client = { octokit, at: clock.nowMs() };
    return octokit;
  }

  async createDeployment(input: Parameters<NonNullable<GithubApi['createDeployment']>>[0]) {
    const octokit = await this.octokit();
    try {
      const { data, status } = await octokit.rest.repos.createDeployment({
        owner: input.owner,
        repo: input.repo,
        ref: input.ref,
        environment: input.environment,
        task: input.task,
        description: clampDescription(input.description),
        payload: input.payload,
        auto_merge: false,
        required_contexts: [],
        production_environment: true,
      });
      // 202 is GitHub's "merged the default branch first" answer, which auto_merge: false rules out.
      if (status !== 201 || !('id' in data))
        throw new Error(`GitHub answered ${status} without a deployment`);
      return { id: data.id };
    } catch (err) {
      throw mapError(err, `deployment of ${input.owner}/${input.repo}@${input.ref}`);
    }
  }

  async createDeploymentStatus(input: Parameters<GithubApi['createDeploymentStatus']>[0]) {
    const octokit = await this.octokit();
    try {
      const { data } = await octokit.rest.repos.createDeploymentStatus({
        owner: input.owner,
        repo: input.repo,
        deployment_id: input.deploymentId,
        state: input.state,
        description: clampDescription(input.description),
        ...(input.logUrl ? { log_url: input.logUrl } : {}),
        ...(input.environmentUrl ? { environment_url: input.environmentUrl } : {}),
      });
      return { id: data.id };
    } catch (err) {
      throw mapError(err, `deployment status for ${input.owner}/${input.repo}#${input.deploymentId}`);
    }
  }

  async listDeliveriesSince(hook: HookRef, sinceMs: number): Promise<HookDelivery[]> {
    const octokit = await this.octokit();
    const out: HookDelivery[] = [];
    try {
      // Newest first: stop at the first page that reaches past `sinceMs`.
      for await (const page of octokit.paginate.iterator(octokit.rest.repos.listWebhookDeliveries, {
        owner: hook.owner,
        repo: hook.repo,
        hook_id: hook.hookId,
        per_page: 100,
      })) {
        let older = false;
        for (const d of page.data) {
          const at = Date.parse(d.delivered_at);
          if (at < sinceMs) {
            older = true;
            continue;
          }
          out.push({
            id: d.id,
            guid: d.guid,
            deliveredAtMs: at,
            redelivery: d.redelivery,
            statusCode: d.status_code,
            status: d.status,
            event: d.event,
            action: d.action ?? null,
          });
        }
        if (older) break;
      }
    } catch (err) {
      throw mapError(err, `deliveries of hook ${hook.hookId}`);
    }
    return out;
  }

  async redeliver(hook: HookRef, deliveryId: number): Promise<void> {
    const octokit = await this.octokit();
    try {
      await octokit.rest.repos.redeliverWebhookDelivery({
        owner: hook.owner,
        repo: hook.repo,
        hook_id: hook.hookId,
        delivery_id: deliveryId,
      });
    } catch (err) {
      throw mapError(err, `redelivery ${deliveryId} of hook ${hook.hookId}`);
    }
  }

  async setHookSecret(hook: HookRef, secret: string): Promise<void> {
    const octokit = await this.octokit();
    try {
      await octokit.rest.repos.updateWebhookConfigForRepo({
        owner: hook.owner,
        repo: hook.repo,
        hook_id: hook.hookId,
        secret,
        content_type: 'json',
      });
    } catch (err) {
      throw mapError(err, `config of hook ${hook.hookId}`);
    }
  }

  async ping(hook: HookRef): Promise<void> {
    const octokit = await this.octokit();
    try {
      await octokit.rest.repos.pingWebhook({ owner: hook.owner, repo: hook.repo, hook_id: hook.hookId });
    } catch (err) {
      throw mapError(err, `ping of hook ${hook.hookId}`);
    }
  }
}
