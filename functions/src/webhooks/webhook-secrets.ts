// The GitHub webhook secret's usable values, read at run time from Secret Manager so a rotation needs no redeploy:
// alias `current`; alias `previous` while its grace period lasts (the version is enabled and the secret's
// annotation `fireops-previous-expires-at`, set by the rotation machine, is in the future or absent); alias
// `pending` while a rotation is pushing a new value to GitHub; `latest` where no alias exists yet. Cached briefly; on a signature miss the cache is re-read, at most every few seconds,
// so a just-rotated secret is picked up at once without letting bad requests hammer Secret Manager.
import { systemClock, type Clock } from '../platform/domain/clock';
import { TransientError, ValidationError } from '../platform/domain/errors';
import { log } from '../platform/logger';
import { accessSecretValue, secretError, secretManager, secretName } from '../platform/secret-manager';

export const PREVIOUS_EXPIRES_ANNOTATION = 'fireops-previous-expires-at';

export interface SecretCandidate {
  /** Version number, for logs and audit: never the value. */
  version: string;
  role: 'current' | 'previous' | 'pending' | 'latest';
  value: string;
}

export interface SecretSource {
  candidates(): Promise<SecretCandidate[]>;
  /** Re-reads after a miss; resolves undefined when a re-read happened too recently. */
  refreshAfterMiss(): Promise<SecretCandidate[] | undefined>;
}

function aliasVersion(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  // int64 values arrive as numbers, strings or Long objects depending on the client's decoding options.
  const s =
    typeof v === 'number' || typeof v === 'string'
      ? String(v)
      : typeof (v as { toString?: unknown }).toString === 'function'
        ? (v as { toString(): string }).toString()
        : '';
  return /^\d+$/.test(s) ? s : undefined;
}

export async function readWebhookSecretCandidates(
  secretId: string,
  clock: Clock = systemClock,
): Promise<SecretCandidate[]> {
  let secret;
  try {
    [secret] = await secretManager().getSecret({ name: secretName(secretId) });
  } catch (err) {
    // Whatever the code, the delivery is not at fault: a missing grant (PERMISSION_DENIED, issue 12.4), a
    // missing secret or an outage is fixed on fireops' side, and GitHub's delivery is then worth accepting. So
    // it is never a ValidationError here (which would answer 400 with the internal resource name): transient,
    // answered 503 with a generic body, alerted once, redelivered by the recovery job.
    const mapped = secretError(err, `webhook secret ${secretId}`);
    throw mapped instanceof TransientError ? mapped : new TransientError(mapped.message, { cause: err });
  }
  const aliases = (secret.versionAliases ?? {}) as Record<string, unknown>;
  const current = aliasVersion(aliases.current);
  const previous = aliasVersion(aliases.previous);
  const pending = aliasVersion(aliases.pending);
  const out: SecretCandidate[] = [];
  const tryRead = async (version: string, role: SecretCandidate['role']) => {
    try {
      const { value, version: resolved } = await accessSecretValue(secretId, version);
      out.push({ version: resolved, role, value });
    } catch (err) {
      // A version we cannot read for lack of a grant or an outage is not "no such value": dropping it would
      // refuse GitHub's signature with 401 for good. Rethrown, the request answers 503 and is retried.
      if (!(err instanceof ValidationError)) throw err;
      // A disabled `previous` is the normal end of a grace period; anything else is worth a warning.
      log.warn('webhook secret version not usable', {
        secretId,
        version,
        role,
        error: (err as Error).message,
      });
    }
  };
  if (current) await tryRead(current, 'current');
  const expiresAt = secret.annotations?.[PREVIOUS_EXPIRES_ANNOTATION];
  const graceOver = expiresAt !== undefined && Date.parse(expiresAt) <= clock.nowMs();
  if (previous && previous !== current && !graceOver) await tryRead(previous, 'previous');
  // During a rotation GitHub may already sign with the new value (between apply and finish): accept it, or the
  // rotation's own test ping, and every delivery in that window, would be refused.
  if (pending && pending !== current) await tryRead(pending, 'pending');
  if (!current) await tryRead('latest', 'latest');
  return out;
}

export class CachedSecretSource implements SecretSource {
  private cached: { at: number; values: SecretCandidate[] } | undefined;
  private lastRead = -Infinity;
  private inflight: Promise<SecretCandidate[]> | undefined;

  constructor(
    private readonly secretId: string,
    private readonly opts: { ttlMs?: number; minRefreshMs?: number; clock?: Clock } = {},
  ) {}

  private get clock(): Clock {
    return this.opts.clock ?? systemClock;
  }

  private read(): Promise<SecretCandidate[]> {
    // Concurrent requests share one read.
    this.inflight ??= readWebhookSecretCandidates(this.secretId, this.clock)
      .then((values) => {
        this.cached = { at: this.clock.nowMs(), values };
        return values;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    this.lastRead = this.clock.nowMs();
    return this.inflight;
  }

  async candidates(): Promise<SecretCandidate[]> {
    const ttl = this.opts.ttlMs ?? 30_000;
    if (this.cached && this.clock.nowMs() - this.cached.at < ttl) return this.cached.values;
    return this.read();
  }

  async refreshAfterMiss(): Promise<SecretCandidate[] | undefined> {
    if (this.inflight) return this.inflight;
    if (this.clock.nowMs() - this.lastRead < (this.opts.minRefreshMs ?? 5_000)) return undefined;
    return this.read();
  }
}
