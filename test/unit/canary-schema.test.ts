// `canaryPolicies/{service}` and `rollouts/{id}.command`: the defaults an admin gets, and every refusal naming the
// field to fix.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { flagSchema } from '../../functions/src/flags/schema';
import { canaryPolicySchema, rolloutCommandSchema } from '../../functions/src/canary/schema';
import { parseOrThrow } from '../../functions/src/platform/validation';
import { refusal } from '../support/validation';

const minimal = {
  steps: [5, 25, 50, 100],
  intervalMinutes: 5,
  judge: { kind: 'mann-whitney' },
  metrics: [{ name: 'errorRate', source: 'metrics', direction: 'increase' }],
  router: { kind: 'firestore-flag', flag: 'checkoutV2' },
};
const policy = (value: unknown) => parseOrThrow(canaryPolicySchema, value, 'canaryPolicies/checkout');
const policyRefusal = (value: unknown) => refusal(canaryPolicySchema, value, 'canaryPolicies/checkout');

describe('canaryPolicies/{service}', () => {
  it('fills the documented defaults', () => {
    expect(policy(minimal)).toEqual({
      ...minimal,
      threshold: 2,
      progressDeadlineMinutes: 30,
      approvals: [],
      judge: { kind: 'mann-whitney', confidence: 0.98, tolerance: 0.25 },
      metrics: [{ name: 'errorRate', source: 'metrics', direction: 'increase', critical: false }],
      minSamples: 30,
      windowLatenessSeconds: 15,
      targets: { baseline: { cohort: 'baseline' }, canary: { cohort: 'canary' } },
    });
  });

  it('accepts a full cloud-run policy judged on health checks and metric windows', () => {
    const full = {
      steps: [1, 10, 100],
      intervalMinutes: 10,
      threshold: 3,
      progressDeadlineMinutes: 60,
      approvals: [10, 100],
      judge: { kind: 'threshold', confidence: 0.99, tolerance: 0.1 },
      metrics: [
        { name: 'successRate', source: 'health', min: 0.99, direction: 'decrease', critical: true },
        { name: 'latencyP95Ms', source: 'metrics', max: 800, direction: 'increase' },
        { name: 'requestRate', source: 'metrics', min: 0, max: 1e6, direction: 'either' },
      ],
      minSamples: 100,
      router: {
        kind: 'cloud-run',
        service: 'checkout-api',
        region: 'europe-west1',
        baselineRevision: 'checkout-api-00041-abc',
        canaryRevision: 'checkout-api-00042-xyz',
      },
      targets: {
        baseline: { healthCheck: 'checkout-stable', cohort: 'stable' },
        canary: { healthCheck: 'checkout-canary', cohort: 'preview' },
      },
    };
    expect(policy(full)).toEqual({
      ...full,
      windowLatenessSeconds: 15,
      metrics: full.metrics.map((m) => ({ critical: false, ...m })),
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'steps not ascending',
      { steps: [5, 50, 25, 100] },
      "field 'steps[2]' must be greater than the step before it (50)",
    ],
    ['a repeated step', { steps: [5, 5, 100] }, "field 'steps[1]' repeats step 5"],
    ['a last step below 100', { steps: [5, 25, 50] }, "field 'steps[2]' must be 100"],
    ['a step above 100', { steps: [5, 150] }, "field 'steps[1]' must be <= 100"],
    ['a fractional step', { steps: [2.5, 100] }, "field 'steps[0]' must be an integer"],
    ['no steps', { steps: [] }, "field 'steps' must be >= 1 items"],
    ['an interval of 0', { intervalMinutes: 0 }, "field 'intervalMinutes' must be >= 1"],
    ['a missing interval', { intervalMinutes: undefined }, "field 'intervalMinutes' is required"],
    ['a threshold of 0', { threshold: 0 }, "field 'threshold' must be >= 1"],
    [
      'a deadline within one interval',
      { intervalMinutes: 30 },
      "field 'progressDeadlineMinutes' must be at least intervalMinutes + 2 (32)",
    ],
    [
      'a deadline too short for one interval of complete minutes',
      { intervalMinutes: 29 },
      "field 'progressDeadlineMinutes' must be at least intervalMinutes + 2 (31)",
    ],
    [
      'a negative window lateness',
      { windowLatenessSeconds: -1 },
      "field 'windowLatenessSeconds' must be >= 0",
    ],
    [
      'an approval that is not a step',
      { approvals: [30] },
      "field 'approvals[0]' must be one of the steps (5, 25, 50, 100)",
    ],
    ['a repeated approval', { approvals: [25, 25] }, "field 'approvals' must not repeat a step"],
    ['an unknown judge', { judge: { kind: 'bayes' } }, "field 'judge.kind' must be one of"],
    [
      'confidence out of range',
      { judge: { kind: 'mann-whitney', confidence: 0.3 } },
      "field 'judge.confidence' must be >= 0.5",
    ],
    [
      'confidence of 1',
      { judge: { kind: 'mann-whitney', confidence: 1 } },
      "field 'judge.confidence' must be <= 0.9999",
    ],
    [
      'tolerance out of range',
      { judge: { kind: 'mann-whitney', tolerance: 11 } },
      "field 'judge.tolerance' must be <= 10",
    ],
    [
      'too few samples for mann-whitney',
      { minSamples: 5 },
      "field 'minSamples' must be >= 8 with the mann-whitney judge",
    ],
    ['no metrics', { metrics: [] }, "field 'metrics' must be >= 1 items"],
    [
      'an unknown metric',
      { metrics: [{ name: 'cpu', source: 'metrics', direction: 'increase' }] },
      "field 'metrics[0].name' must be one of successRate, errorRate",
    ],
    [
      'a metric its source does not observe',
      {
        metrics: [{ name: 'requestRate', source: 'health', direction: 'increase' }],
        targets: { baseline: { healthCheck: 'a' }, canary: { healthCheck: 'b' } },
      },
      "field 'metrics[0].name' is not observed by source 'health'",
    ],
    [
      'an unknown source',
      { metrics: [{ name: 'errorRate', source: 'logs', direction: 'increase' }] },
      'field \'metrics[0].source\' must be one of "health", "metrics"',
    ],
    [
      'a missing direction',
      { metrics: [{ name: 'errorRate', source: 'metrics' }] },
      'field \'metrics[0].direction\' must be one of "increase", "decrease", "either"',
    ],
    [
      'min above max',
      { metrics: [{ name: 'errorRate', source: 'metrics', min: 2, max: 1, direction: 'increase' }] },
      "field 'metrics[0].max' must be >= min (2)",
    ],
    [
      'a repeated metric',
      {
        metrics: [
          { name: 'errorRate', source: 'metrics', direction: 'increase' },
          { name: 'errorRate', source: 'metrics', direction: 'either' },
        ],
      },
      "field 'metrics[1].name' repeats metric 'errorRate' of source 'metrics'",
    ],
    [
      'a threshold metric without bounds',
      { judge: { kind: 'threshold' } },
      "field 'metrics[0]' needs min or max: the threshold judge compares the canary with them",
    ],
    [
      'an unknown router',
      { router: { kind: 'istio' } },
      'field \'router.kind\' must be one of "firestore-flag", "cloud-run"',
    ],
    [
      'a bad flag key',
      { router: { kind: 'firestore-flag', flag: 'a/b' } },
      "field 'router.flag' must be a flag key",
    ],
    [
      'a reserved flag',
      { router: { kind: 'firestore-flag', flag: 'deployFreeze' } },
      "field 'router.flag' must not be one of deployFreeze, maintenanceMode",
    ],
    [
      'a bad Cloud Run service name',
      { router: { kind: 'cloud-run', service: 'Checkout_API', region: 'europe-west1' } },
      "field 'router.service' must be a Cloud Run service name",
    ],
    [
      'a bad region',
      { router: { kind: 'cloud-run', service: 'checkout', region: 'Europe' } },
      "field 'router.region' must be a region id",
    ],
    [
      "another service's revision",
      {
        router: {
          kind: 'cloud-run',
          service: 'checkout',
          region: 'europe-west1',
          canaryRevision: 'cart-00002-abc',
        },
      },
      "field 'router.canaryRevision' must be a revision of service 'checkout'",
    ],
    [
      'the same revision on both sides',
      {
        router: {
          kind: 'cloud-run',
          service: 'checkout',
          region: 'europe-west1',
          baselineRevision: 'checkout-00002-abc',
          canaryRevision: 'checkout-00002-abc',
        },
      },
      "field 'router.canaryRevision' must differ from baselineRevision",
    ],
    [
      'a health metric without health checks',
      { metrics: [{ name: 'successRate', source: 'health', direction: 'decrease' }] },
      "field 'targets.baseline.healthCheck' is required: a metric has source health",
    ],
    [
      'one health check for both sides',
      {
        metrics: [{ name: 'successRate', source: 'health', direction: 'decrease' }],
        targets: { baseline: { healthCheck: 'api' }, canary: { healthCheck: 'api' } },
      },
      "field 'targets.canary.healthCheck' must differ from the baseline health check",
    ],
    [
      'one cohort for both sides',
      { targets: { baseline: { cohort: 'main' }, canary: { cohort: 'main' } } },
      "field 'targets.canary.cohort' must differ from the baseline cohort",
    ],
    [
      'a cohort that would split the window id',
      { targets: { canary: { cohort: 'canary_v2' } } },
      "field 'targets.canary.cohort' must be a cohort name",
    ],
    [
      'a bad health check id',
      { targets: { canary: { healthCheck: 'a/b' } } },
      "field 'targets.canary.healthCheck' must be a healthChecks document id",
    ],
    ['an unknown field', { stepz: [5] }, "unknown field 'stepz'"],
    [
      'an unknown nested field',
      { judge: { kind: 'threshold', confidense: 0.9 } },
      "unknown field 'judge.confidense'",
    ],
  ])('refuses %s', (_name, change, message) => {
    const err = policyRefusal({ ...minimal, ...change });
    expect(err.message).toContain('canaryPolicies/checkout: ');
    expect(err.message).toContain(message);
  });

  it('names the first offending field', () => {
    const err = policyRefusal({ ...minimal, steps: [5, 25, 50], intervalMinutes: 0 });
    expect(err.field).toBe('steps[2]');
  });

  it('refuses what is not an object without throwing from the refinements', () => {
    expect(policyRefusal(null).message).toContain('document must be an object');
    expect(policyRefusal({ ...minimal, metrics: [null, 'x'], approvals: 'all' }).message).toContain(
      "field 'metrics[0]' must be an object",
    );
  });
});

describe('rollouts/{id}.command', () => {
  const command = (value: unknown) => parseOrThrow(rolloutCommandSchema, value, 'rollouts/r1.command');
  const commandRefusal = (value: unknown) => refusal(rolloutCommandSchema, value, 'rollouts/r1.command');

  it.each(['approve', 'pause', 'resume', 'abort', 'promote-now', 'rollback-now'])('accepts %s', (action) => {
    expect(command({ action, reason: 'on call', by: 'uid-1' })).toEqual({
      action,
      reason: 'on call',
      by: 'uid-1',
    });
  });

  it.each<[string, unknown, string]>([
    ['an unknown action', { action: 'restart', reason: 'x' }, 'field \'action\' must be one of "approve"'],
    ['no reason', { action: 'abort' }, "field 'reason' is required"],
    ['an empty reason', { action: 'abort', reason: '' }, "field 'reason' must be >= 1 characters"],
    ['a blank reason', { action: 'abort', reason: '   ' }, "field 'reason' must not be blank"],
    [
      'a reason over 500 characters',
      { action: 'abort', reason: 'x'.repeat(501) },
      "field 'reason' must be <= 500 characters",
    ],
    ['an unknown field', { action: 'abort', reason: 'x', force: true }, "unknown field 'force'"],
  ])('refuses %s', (_name, value, message) => {
    expect(commandRefusal(value).message).toContain(message);
  });
});

describe('the demo seed (npm start)', () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const seed = JSON.parse(readFileSync(path.join(root, 'emulators/seed/firestore.json'), 'utf8'));
  const devSession = readFileSync(path.join(root, 'emulators/dev-session.mjs'), 'utf8');
  const synthetic = readFileSync(path.join(root, 'emulators/synthetic-service.mjs'), 'utf8');

  it('has a valid canary policy for the service the printed release targets, routed on a seeded valid flag', () => {
    // The printed release is for Codertocat/Hello-World: its service is the repository's name.
    expect(devSession).toContain('"full_name":"Codertocat/Hello-World"');
    const parsed = parseOrThrow(
      canaryPolicySchema,
      seed.canaryPolicies['Hello-World'],
      'canaryPolicies/Hello-World',
    );
    expect(parsed.router.kind).toBe('firestore-flag');
    const flag = parsed.router.kind === 'firestore-flag' ? parsed.router.flag : '';
    expect(() => parseOrThrow(flagSchema, seed.flags[flag], `flags/${flag}`)).not.toThrow();
    // It is judged on the metric windows of the synthetic service npm start runs for Hello-World, whose cohorts
    // are the policy's targets.
    expect(parsed.metrics.every((m) => m.source === 'metrics')).toBe(true);
    expect(devSession).toMatch(/startSyntheticService\(\{[^}]*service: 'Hello-World'/);
    expect([parsed.targets.baseline.cohort, parsed.targets.canary.cohort]).toEqual(['baseline', 'canary']);
    expect(synthetic).toContain('const cohorts = { baseline: HEALTHY, canary: HEALTHY, ...opts.cohorts };');
  });
});
