// How a region's probe cycle is cut into shards (health/domain/shards.ts): sizes from the budget for the worst
// minute, nesting spans, and the same answer for the same catalog.
import { describe, expect, it } from 'vitest';
import {
  BUCKETS,
  MAX_CHECKS_PER_SHARD,
  MAX_SHARDS,
  bucketOf,
  inSpan,
  planShards,
  spanKey,
  spanOf,
} from '../../functions/src/health/domain/shards';

const ids = (n: number, prefix = 'check') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const checks = (n: number, timeoutMs?: number) =>
  ids(n).map((id) => ({ bucket: bucketOf(id), ...(timeoutMs ? { timeoutMs } : {}) }));

describe('bucketOf / spanOf', () => {
  it('puts every id in one bucket, stable across calls, spread over the buckets', () => {
    const counts = new Uint32Array(BUCKETS);
    for (const id of ids(20_000)) {
      const b = bucketOf(id);
      expect(b).toBe(bucketOf(id));
      counts[b]! += 1;
    }
    // 20,000 over 1,024 buckets: ~19.5 each; FNV-1a keeps every bucket within a factor of 3 of that.
    expect(Math.min(...counts)).toBeGreaterThan(5);
    expect(Math.max(...counts)).toBeLessThan(60);
  });

  it('cuts the buckets into contiguous spans that nest when the shard count doubles', () => {
    expect(spanOf(0, 1)).toEqual({ lo: 0, hi: BUCKETS });
    expect(spanKey(spanOf(3, 4))).toBe('768-1024');
    for (let k = 0; k < 8; k += 1) {
      const child = spanOf(k, 8);
      const parent = spanOf(Math.floor(k / 2), 4);
      expect(child.lo).toBeGreaterThanOrEqual(parent.lo);
      expect(child.hi).toBeLessThanOrEqual(parent.hi);
    }
    const b = bucketOf('api');
    const owners = Array.from({ length: 16 }, (_, k) => k).filter((k) => inSpan(b, spanOf(k, 16)));
    expect(owners).toHaveLength(1);
  });
});

describe('planShards', () => {
  it('keeps a small catalog in one shard', () => {
    expect(planShards({ checks: checks(50), concurrency: 50, budgetMs: 40_000 })).toMatchObject({
      shards: 1,
      fits: true,
      largest: 50,
    });
    expect(planShards({ checks: [], concurrency: 50, budgetMs: 40_000 })).toMatchObject({
      shards: 1,
      fits: true,
    });
  });

  it('sizes for every check hanging to its timeout: 50 x 40 s of budget holds 200 default (10 s) probes', () => {
    // 150 checks at 10 s: 1,500 s of probing against 2,000 s: one shard.
    expect(planShards({ checks: checks(150), concurrency: 50, budgetMs: 40_000 }).shards).toBe(1);
    // 300 at 10 s: 3,000 s, more than one shard's 2,000 s (and more than 200 checks).
    const p300 = planShards({ checks: checks(300), concurrency: 50, budgetMs: 40_000 });
    expect(p300.shards).toBeGreaterThanOrEqual(2);
    expect(p300.load).toBeLessThanOrEqual(1);
    // The same 150 checks at 30 s each cost 4,500 s: at least 4 shards (hash imbalance may need 8).
    const slow = planShards({ checks: checks(150, 30_000), concurrency: 50, budgetMs: 40_000 });
    expect(slow.shards).toBeGreaterThanOrEqual(4);
    expect(slow.fits).toBe(true);
  });

  it('caps a timeout at the budget (a probe never runs past it) and checks per shard at MAX_CHECKS_PER_SHARD', () => {
    // Fast checks (100 ms): cost allows thousands per shard, the count cap does not.
    const fast = planShards({ checks: checks(1_000, 100), concurrency: 50, budgetMs: 40_000 });
    expect(fast.largest).toBeLessThanOrEqual(MAX_CHECKS_PER_SHARD);
    expect(fast.shards).toBeGreaterThanOrEqual(8);
    // A timeout above the budget counts as the budget.
    const capped = planShards({ checks: checks(10, 60_000), concurrency: 1, budgetMs: 40_000 });
    expect(capped.load * capped.shards).toBeGreaterThan(0);
    expect(capped.load).toBeLessThanOrEqual(1);
  });

  it('sizes 10,000 default checks with concurrency 50 into 64 shards, the same on every call', () => {
    const input = { checks: checks(10_000), concurrency: 50, budgetMs: 40_000 };
    const plan = planShards(input);
    expect(plan).toEqual(planShards(input));
    expect(plan.fits).toBe(true);
    expect(plan.shards).toBe(64);
    expect(plan.largest).toBeLessThanOrEqual(200);
  });

  it('says when even MAX_SHARDS do not fit (the budget then records the rest as timeouts)', () => {
    const plan = planShards({ checks: checks(5_000, 30_000), concurrency: 1, budgetMs: 40_000 });
    expect(plan).toMatchObject({ shards: MAX_SHARDS, fits: false });
    expect(plan.load).toBeGreaterThan(1);
  });
});
