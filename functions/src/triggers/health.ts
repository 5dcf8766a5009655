// Shared wiring of the health functions (probeCycle*, healthRollup, status): the engine's production
// dependencies, built on first use. The engine itself is adapters/health-engine.ts.
import type { HealthDeps } from '../adapters/health-engine';
import { accessSecretValue } from '../adapters/secret-manager';
import { PROBE_CONCURRENCY, PROBE_REGIONS } from '../config/params';
import { systemClock } from '../core/clock';

/** `europe-west1` -> `probeCycleEuropeWest1`: a function id per region (ids allow letters and digits only). */
export function probeFunctionId(region: string): string {
  return `probeCycle${region
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('')}`;
}

export function healthDeps(overrides: Partial<HealthDeps> = {}): HealthDeps {
  return {
    clock: systemClock,
    regions: PROBE_REGIONS,
    concurrency: PROBE_CONCURRENCY.value(),
    // The prober (node:net, node:tls, the SSRF guard's address tables) loads on the first probe, not with every
    // function of the codebase (issue 16.7).
    probeAll: async (...args) => (await import('../adapters/health-probe.js')).probeAll(...args),
    secretValue: async (secretId) => (await accessSecretValue(secretId, 'latest')).value,
    ...overrides,
  };
}
