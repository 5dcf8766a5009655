// Shared wiring of the health functions (probeCycle*, healthRollup, status): the engine's production
// dependencies, built on first use. The engine itself is health/engine.ts.
import type { HealthDeps } from './engine';
import { accessSecretValue } from '../platform/secret-manager';
import { PROBE_CONCURRENCY, PROBE_REGIONS } from '../platform/params';
import { systemClock } from '../platform/domain/clock';

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
    probeAll: async (...args) => (await import('./probe.js')).probeAll(...args),
    secretValue: async (secretId) => (await accessSecretValue(secretId, 'latest')).value,
    ...overrides,
  };
}
