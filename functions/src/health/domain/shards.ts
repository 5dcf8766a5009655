// How a region's probe cycle is cut into shards, as pure functions (issue 14, "Scale out").
//
// - Every check has a fixed BUCKET, FNV-1a(checkId) mod BUCKETS, stored on its catalog document. A shard is a
//   contiguous range of buckets: shard k of S covers [k * BUCKETS / S, (k + 1) * BUCKETS / S). S is a power of
//   two, so the ranges of S and 2S nest, and a check's shard follows from its bucket alone: no assignment table.
// - S is sized from the cycle's probe budget, for the worst minute: every check due at once and every target
//   hanging until its timeout (a broad outage is exactly when the monitor must not go blind). A shard's cost is
//   the sum of its checks' timeouts (capped by the budget); it fits when cost <= concurrency x budget. A shard
//   also holds at most MAX_CHECKS_PER_SHARD checks, so its cycle document stays far from 1 MiB and a minute in
//   which every check of a shard changes state stays one transaction (a status + an incident per check).
// - Every region uses the same S (computed from the whole catalog, not from the checks a region probes), so a
//   shard of one region finds the counters of its checks in the same shard of the others.
import { fnv1a } from '../../platform/domain/hash';

/** Buckets a check id hashes into; the finest shard is one bucket. */
export const BUCKETS = 1024;
/** Upper bound on shards per region (and so on cycle documents per region and minute). */
export const MAX_SHARDS = 256;
/** A shard's cycle document holds ~200 bytes per check; a transaction with every check changing stays < 500 writes. */
export const MAX_CHECKS_PER_SHARD = 200;
/** What a probe costs when its check sets no `timeoutMs` (probe.ts default). */
export const DEFAULT_PROBE_TIMEOUT_MS = 10_000;

export function bucketOf(checkId: string): number {
  return fnv1a(checkId) % BUCKETS;
}

export interface Span {
  /** First bucket (inclusive). */
  lo: number;
  /** Last bucket (exclusive). */
  hi: number;
}

/** Shard `k` of `shards` (a power of two <= BUCKETS). */
export function spanOf(k: number, shards: number): Span {
  const width = BUCKETS / shards;
  return { lo: k * width, hi: (k + 1) * width };
}

/** `0-1024`: how a span is named on cycle documents (field `span`) and in their ids. */
export function spanKey(span: Span): string {
  return `${span.lo}-${span.hi}`;
}

export function inSpan(bucket: number, span: Span): boolean {
  return bucket >= span.lo && bucket < span.hi;
}

export interface ShardPlanInput {
  /** Every enabled check: its bucket and its probe timeout (undefined: the default). */
  checks: Iterable<{ bucket: number; timeoutMs?: number | undefined }>;
  concurrency: number;
  budgetMs: number;
  maxChecksPerShard?: number;
}

export interface ShardPlan {
  shards: number;
  /** The largest shard's worst-case cost against its capacity (concurrency x budget), 0..1 when it fits. */
  load: number;
  /** Checks in the fullest shard. */
  largest: number;
  /** False when even MAX_SHARDS shards do not fit (a bucket alone is over): the budget then cuts the cycle short. */
  fits: boolean;
}

/**
 * The fewest shards (a power of two) such that every shard fits its budget in the worst minute. Deterministic in
 * its input, so every region and every instance with the same catalog agrees.
 */
export function planShards(input: ShardPlanInput): ShardPlan {
  const maxChecks = input.maxChecksPerShard ?? MAX_CHECKS_PER_SHARD;
  const capacity = Math.max(1, input.concurrency) * input.budgetMs;
  const cost = new Float64Array(BUCKETS);
  const count = new Uint32Array(BUCKETS);
  for (const c of input.checks) {
    cost[c.bucket]! += Math.min(c.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS, input.budgetMs);
    count[c.bucket]! += 1;
  }
  let last: ShardPlan = { shards: 1, load: 0, largest: 0, fits: false };
  for (let shards = 1; shards <= MAX_SHARDS; shards *= 2) {
    const width = BUCKETS / shards;
    let worstCost = 0;
    let largest = 0;
    for (let k = 0; k < shards; k += 1) {
      let c = 0;
      let n = 0;
      for (let b = k * width; b < (k + 1) * width; b += 1) {
        c += cost[b]!;
        n += count[b]!;
      }
      worstCost = Math.max(worstCost, c);
      largest = Math.max(largest, n);
    }
    last = {
      shards,
      load: worstCost / capacity,
      largest,
      fits: worstCost <= capacity && largest <= maxChecks,
    };
    if (last.fits) return last;
  }
  return last;
}
