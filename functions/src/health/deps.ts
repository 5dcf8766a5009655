// Shared wiring of the health functions (probeCycle*, healthRollup, status): the engine's production
// dependencies, built on first use. The engine itself is health/engine.ts.
import type { HealthDeps } from './engine';
import { accessSecretValue } from '../platform/secret-manager';
import { PROBE_ALLOW_TARGETS, PROBE_CONCURRENCY, PROBE_REGIONS } from '../platform/params';
import { systemClock } from '../platform/domain/clock';

/** `europe-west1` -> `probeCycleEuropeWest1`: a function id per region (ids allow letters and digits only). */
export function probeFunctionId(region: string): string {
  return `probeCycle${region
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('')}`;
}

/** `europe-west1` -> `probeShardEuropeWest1`: the region's shard worker. */
export function probeShardFunctionId(region: string): string {
  return probeFunctionId(region).replace(/^probeCycle/, 'probeShard');
}

export function healthDeps(overrides: Partial<HealthDeps> = {}): HealthDeps {
  return {
    clock: systemClock,
    regions: PROBE_REGIONS,
    concurrency: PROBE_CONCURRENCY.value(),
    allowCeiling: PROBE_ALLOW_TARGETS.value()
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
    // The prober (node:net, node:tls, the SSRF guard's address tables) loads on the first probe, not with every
    // function of the codebase (issue 16.7).
    probeAll: async (...args) => (await import('./probe.js')).probeAll(...args),
    secretValue: (instanceSecrets ??= cachedSecretReader(
      async (secretId) => (await accessSecretValue(secretId, 'latest')).value,
    )),
    ...overrides,
  };
}

/** Fresh for a minute: a rotated header secret reaches the probes within a minute (under any failureThreshold). */
export const PROBE_SECRET_FRESH_MS = 60_000;
/** Served stale for up to 15 minutes while Secret Manager fails: a blip pages nobody. */
export const PROBE_SECRET_STALE_MS = 15 * 60_000;

let instanceSecrets: ((secretId: string) => Promise<string>) | undefined;

/**
 * headerSecrets values, cached per instance (one read a minute per secret, not one per probe) and served stale
 * while a re-read fails, up to PROBE_SECRET_STALE_MS; a secret never read, or stale beyond that, rejects (the
 * probe becomes a prober error: not counted, alerted once). Concurrent reads of one secret share one request.
 */
export function cachedSecretReader(
  read: (secretId: string) => Promise<string>,
  nowMs: () => number = () => systemClock.nowMs(),
  freshMs = PROBE_SECRET_FRESH_MS,
  staleMs = PROBE_SECRET_STALE_MS,
): (secretId: string) => Promise<string> {
  const cache = new Map<string, { value: string; atMs: number }>();
  const inFlight = new Map<string, Promise<string>>();
  return (secretId) => {
    const hit = cache.get(secretId);
    const now = nowMs();
    if (hit && now - hit.atMs < freshMs) return Promise.resolve(hit.value);
    let pending = inFlight.get(secretId);
    if (!pending) {
      pending = read(secretId)
        .then((value) => {
          cache.set(secretId, { value, atMs: nowMs() });
          return value;
        })
        .catch((err: unknown) => {
          const old = cache.get(secretId);
          if (old && nowMs() - old.atMs < staleMs) return old.value;
          throw err;
        })
        .finally(() => inFlight.delete(secretId));
      inFlight.set(secretId, pending);
    }
    return pending;
  };
}
