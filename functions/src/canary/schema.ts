// Canary promotion, edited by admins: `canaryPolicies/{service}` (how a service's rollouts step, are judged and
// routed) and the `command` an admin writes on `rollouts/{id}`. Validated on every read; an invalid policy keeps the
// service's rollouts from starting, with the field named on the rollout and in the audit log.
import { RESERVED_FLAGS } from '../flags/domain/flags';
import { z } from 'zod';
import { CANARY_METRIC_NAMES, type CanaryPolicy as CorePolicy } from './domain/canary';
import { MANN_WHITNEY_MIN_N } from '../platform/domain/stats';
import { FLAG_KEY_PATTERN } from '../flags/schema';

const unique = <T>(items: T[]) => new Set(items).size === items.length;

const percent = z.number().int().min(1).max(100);

// ---------------------------------------------------------------------------------------------------- routers

/** Flags the platform itself depends on: a canary must never steer them. */

const flagRouter = z.strictObject({
  kind: z.literal('firestore-flag'),
  /** `flags/{flag}.rolloutPercent` is the canary's weight. */
  flag: z
    .string()
    .regex(FLAG_KEY_PATTERN, 'must be a flag key (a letter, then up to 99 letters, digits, "_", "-")')
    .refine(
      (key) => !(RESERVED_FLAGS as readonly string[]).includes(key),
      `must not be one of ${RESERVED_FLAGS.join(', ')}`,
    ),
});

// Cloud Run service names: lowercase letters, digits and '-', starting with a letter, not ending with '-', at most
// 49 characters; a revision's name is its service's name, '-', and a suffix (at most 63 characters in all).
const CLOUD_RUN_SERVICE = /^[a-z](?:[a-z0-9-]{0,47}[a-z0-9])?$/;
const CLOUD_RUN_REVISION = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const revision = z
  .string()
  .regex(CLOUD_RUN_REVISION, 'must be a Cloud Run revision name (lowercase letters, digits, "-")');

const cloudRunRouter = z
  .strictObject({
    kind: z.literal('cloud-run'),
    service: z
      .string()
      .regex(
        CLOUD_RUN_SERVICE,
        'must be a Cloud Run service name (lowercase letters, digits and "-", starting with a letter, at most 49)',
      ),
    region: z.string().regex(/^[a-z]+-[a-z]+[0-9]{1,2}$/, 'must be a region id, like europe-west1'),
    /** Absent: the revision serving 100% when the rollout starts. */
    baselineRevision: revision.optional(),
    /** Absent: the service's newest revision. */
    canaryRevision: revision.optional(),
  })
  .superRefine((router, ctx) => {
    for (const key of ['baselineRevision', 'canaryRevision'] as const) {
      const name = router[key];
      if (typeof name === 'string' && !name.startsWith(`${router.service}-`)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `must be a revision of service '${router.service}' (start with '${router.service}-')`,
        });
      }
    }
    if (router.baselineRevision !== undefined && router.baselineRevision === router.canaryRevision) {
      ctx.addIssue({
        code: 'custom',
        path: ['canaryRevision'],
        message: 'must differ from baselineRevision',
      });
    }
  });

const router = z.discriminatedUnion('kind', [flagRouter, cloudRunRouter], {
  error: (issue) =>
    issue.code === 'invalid_union' ? 'must be one of "firestore-flag", "cloud-run"' : undefined,
});

// ------------------------------------------------------------------------------------------ metrics, targets

const metricNames: readonly string[] = [...new Set(Object.values(CANARY_METRIC_NAMES).flat())];

const metric = z
  .strictObject({
    name: z.string().min(1).max(100),
    source: z.enum(['health', 'metrics']),
    /** Bounds on the canary's value; the threshold judge needs at least one. */
    min: z.number().optional(),
    max: z.number().optional(),
    /** The change that counts as a regression. */
    direction: z.enum(['increase', 'decrease', 'either']),
    critical: z.boolean().default(false),
  })
  .superRefine((m, ctx) => {
    const known: readonly string[] | undefined = CANARY_METRIC_NAMES[m.source];
    if (known && typeof m.name === 'string' && !known.includes(m.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['name'],
        message: metricNames.includes(m.name)
          ? `is not observed by source '${m.source}' (it has ${known.join(', ')})`
          : `must be one of ${metricNames.join(', ')}`,
      });
    }
    if (typeof m.min === 'number' && typeof m.max === 'number' && m.min > m.max) {
      ctx.addIssue({ code: 'custom', path: ['max'], message: `must be >= min (${m.min})` });
    }
  });

/** `healthChecks/{id}` document ids (firestore.rules `isConfigId`). */
const healthCheckId = z
  .string()
  .regex(
    /^[A-Za-z0-9_.-]{1,128}$/,
    'must be a healthChecks document id (1-128 letters, digits, "_", ".", "-")',
  );

/** Part of `metrics/{service}/windows/{minute}_{cohort}`: no '_' so the id splits one way. */
const cohort = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a cohort name (lowercase letters, digits, "-")');

const target = (defaultCohort: string) =>
  z
    .strictObject({
      /** The health check probing this side; needed by metrics with source `health`. */
      healthCheck: healthCheckId.optional(),
      /** The cohort this side's metric windows carry; used by metrics with source `metrics`. */
      cohort: cohort.default(defaultCohort),
    })
    .prefault({});

const targets = z.strictObject({ baseline: target('baseline'), canary: target('canary') }).prefault({});

// ---------------------------------------------------------------------------------------------------- policy

/** `canaryPolicies/{service}`. */
export const canaryPolicySchema: z.ZodType<CorePolicy> = z
  .strictObject({
    /** Canary weights in percent, ascending, the last 100. */
    steps: z
      .array(percent)
      .min(1)
      .max(20)
      .superRefine((steps, ctx) => {
        steps.forEach((step, index) => {
          const before = steps[index - 1];
          if (typeof step === 'number' && typeof before === 'number' && step <= before) {
            ctx.addIssue({
              code: 'custom',
              path: [index],
              message:
                step === before
                  ? `repeats step ${before}`
                  : `must be greater than the step before it (${before})`,
            });
          }
        });
        if (steps.length > 0 && steps[steps.length - 1] !== 100) {
          ctx.addIssue({
            code: 'custom',
            path: [steps.length - 1],
            message: 'must be 100 (the last step sends all traffic to the canary)',
          });
        }
      }),
    /** Minutes at each step before its analysis. */
    intervalMinutes: z.number().int().min(1).max(1440),
    /** Failed analyses, over the rollout, that roll it back. */
    threshold: z.number().int().min(1).max(100).default(2),
    /** Without a passing analysis for this long, the rollout pauses for a human. */
    progressDeadlineMinutes: z.number().int().min(1).max(10_080).default(30),
    /** Step percents an admin must approve before the rollout goes to them. */
    approvals: z.array(percent).max(20).refine(unique, 'must not repeat a step').default([]),
    judge: z.strictObject({
      kind: z.enum(['threshold', 'mann-whitney']),
      /** Mann-Whitney: 1 - the false alarm rate per metric and analysis. */
      confidence: z.number().min(0.5).max(0.9999).default(0.98),
      /** Mann-Whitney: relative change (0.25 = 25%) below which a significant difference still passes. */
      tolerance: z.number().min(0).max(10).default(0.25),
    }),
    metrics: z.array(metric).min(1).max(20),
    /** Samples per side below which an analysis is inconclusive. */
    minSamples: z.number().int().min(1).max(1_000_000).default(30),
    /**
     * Seconds after a minute ends before its metric window is judged (services write a window when its minute
     * ends); only complete minutes are judged.
     */
    windowLatenessSeconds: z.number().int().min(0).max(600).default(15),
    router,
    targets,
  })
  .superRefine((policy, ctx) => {
    // Object refinements also run when a field was refused: every field may hold anything here.
    const steps: unknown[] = Array.isArray(policy.steps) ? policy.steps : [];
    if (Array.isArray(policy.approvals)) {
      policy.approvals.forEach((approval, index) => {
        if (steps.length > 0 && !steps.includes(approval)) {
          ctx.addIssue({
            code: 'custom',
            path: ['approvals', index],
            message: `must be one of the steps (${steps.join(', ')})`,
          });
        }
      });
    }
    if (
      typeof policy.progressDeadlineMinutes === 'number' &&
      typeof policy.intervalMinutes === 'number' &&
      policy.progressDeadlineMinutes < policy.intervalMinutes + 2
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['progressDeadlineMinutes'],
        message: `must be at least intervalMinutes + 2 (${policy.intervalMinutes + 2}): each step needs one analysis of complete minutes first`,
      });
    }
    const metrics = Array.isArray(policy.metrics) ? policy.metrics : [];
    const judge = policy.judge as { kind?: unknown } | undefined;
    const seen = new Set<string>();
    metrics.forEach((m: unknown, index) => {
      if (typeof m !== 'object' || m === null) return;
      const { name, source, min, max } = m as Partial<
        Record<'name' | 'source', string> & Record<'min' | 'max', number>
      >;
      const key = `${source}:${name}`;
      if (seen.has(key)) {
        ctx.addIssue({
          code: 'custom',
          path: ['metrics', index, 'name'],
          message: `repeats metric '${name}' of source '${source}'`,
        });
      }
      seen.add(key);
      if (judge?.kind === 'threshold' && min === undefined && max === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['metrics', index],
          message: 'needs min or max: the threshold judge compares the canary with them',
        });
      }
    });
    if (
      judge?.kind === 'mann-whitney' &&
      typeof policy.minSamples === 'number' &&
      policy.minSamples < MANN_WHITNEY_MIN_N
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['minSamples'],
        message: `must be >= ${MANN_WHITNEY_MIN_N} with the mann-whitney judge (its approximation needs them)`,
      });
    }
    const t = policy.targets as
      Partial<Record<'baseline' | 'canary', Partial<{ healthCheck: string; cohort: string }>>> | undefined;
    if (metrics.some((m: unknown) => (m as { source?: unknown } | null)?.source === 'health')) {
      for (const side of ['baseline', 'canary'] as const) {
        if (t?.[side] && t[side].healthCheck === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['targets', side, 'healthCheck'],
            message: 'is required: a metric has source health',
          });
        }
      }
      if (t?.canary?.healthCheck !== undefined && t.canary.healthCheck === t.baseline?.healthCheck) {
        ctx.addIssue({
          code: 'custom',
          path: ['targets', 'canary', 'healthCheck'],
          message: 'must differ from the baseline health check',
        });
      }
    }
    if (t?.canary?.cohort !== undefined && t.canary.cohort === t.baseline?.cohort) {
      ctx.addIssue({
        code: 'custom',
        path: ['targets', 'canary', 'cohort'],
        message: 'must differ from the baseline cohort',
      });
    }
  });

export type CanaryPolicy = CorePolicy;

// -------------------------------------------------------------------------------------------------- commands

/**
 * `rollouts/{id}.command`, written by an admin in the console (firestore.rules `isValidRolloutCommand`). `by` is
 * informative only: the rules do not check it, so the controller takes the admin's id from the write's auth context.
 */
export const rolloutCommandSchema = z.strictObject({
  action: z.enum(['approve', 'pause', 'resume', 'abort', 'promote-now', 'rollback-now']),
  reason: z.string().min(1).max(500).regex(/\S/, 'must not be blank'),
  by: z.string().min(1).max(128).optional(),
});

export type RolloutCommandInput = z.infer<typeof rolloutCommandSchema>;

// ------------------------------------------------------------------------------ metric windows (issue 13.A)

/** The largest message `canary-ingestMetrics` reads (bytes of the JSON body); bigger ones are refused unread. */
export const METRIC_MESSAGE_MAX_BYTES = 8 * 1024;
/** How old a window may be when it arrives: older ones could only rewrite judged history. */
export const METRIC_WINDOW_MAX_AGE_MS = 24 * 3600_000;
/** How far a window's minute may lie ahead of fireops' clock (clock skew of the writer). */
export const METRIC_WINDOW_MAX_SKEW_MS = 60_000;
const COUNT_MAX = 1_000_000_000;

/**
 * One shard (instance) of one cohort's minute, as a service publishes it on `canary-metrics`. It lands as
 * `metrics/{service}/windows/{minuteMs}_{cohort}` field `shards.{shard}`, the shape the canary reads. Freshness
 * (not in the future, not older than METRIC_WINDOW_MAX_AGE_MS) needs a clock: canary/metrics-intake.ts checks it.
 */
export const metricWindowMessageSchema = z
  .strictObject({
    /** canaryPolicies/{service} id. */
    service: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be a canaryPolicies document id'),
    cohort,
    /** Start of the minute (ms since the epoch, a whole minute). */
    minuteMs: z
      .number()
      .int()
      .positive()
      .refine((v) => v % 60_000 === 0, 'must be the start of a minute (a multiple of 60000)'),
    /**
     * The writing instance. Counts are this shard's totals of the minute so far (not deltas): the stored shard is
     * replaced by a message counting at least as many requests.
     */
    shard: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "_", "-"'),
    requests: z.number().int().min(0).max(COUNT_MAX),
    errors: z.number().int().min(0).max(COUNT_MAX),
    /** Successful requests by latency bucket (canary/domain/judge.ts `latencyBucket`): bound in ms, or 'inf'. */
    latencyMs: z
      .record(
        z.string().regex(/^(?:[1-9][0-9]{0,6}|inf)$/, 'must be a bucket bound in ms (1-9999999) or "inf"'),
        z.number().int().min(0).max(COUNT_MAX),
      )
      .refine((r) => Object.keys(r).length <= 32, 'at most 32 buckets')
      .optional(),
  })
  .superRefine((m, ctx) => {
    if (m.errors > m.requests)
      ctx.addIssue({ code: 'custom', path: ['errors'], message: `must be <= requests (${m.requests})` });
    const bucketed = Object.values(m.latencyMs ?? {}).reduce((a, b) => a + b, 0);
    if (bucketed > m.requests - m.errors)
      ctx.addIssue({
        code: 'custom',
        path: ['latencyMs'],
        message: `counts ${bucketed} successful requests, more than requests - errors (${m.requests - m.errors})`,
      });
  });

export type MetricWindowMessage = z.infer<typeof metricWindowMessageSchema>;

export { formatZodError, parseOrThrow } from '../platform/validation';
