// Statistics the capabilities share, as pure functions: nearest-rank percentiles, the Mann-Whitney U test,
// the Hodges-Lehmann shift estimate and Prometheus-style histogram quantiles. Health's SLO math (uptime, error
// budget, burn rate) stays in health/domain/health.ts; the canary judge (canary/domain/judge.ts) uses these.

/** Nearest-rank percentile of an ascending array: the value at rank ceil(p/100 x n), rank at least 1. */
export function percentile(sortedAsc: readonly number[], p: number): number | undefined {
  if (sortedAsc.length === 0) return undefined;
  const rank = Math.min(sortedAsc.length, Math.max(1, Math.ceil((p / 100) * sortedAsc.length)));
  return sortedAsc[rank - 1];
}

export interface MannWhitney {
  /** U of `a`: pairs (x from a, y from b) with x > y, ties counting 1/2. n_a x n_b - u is U of `b`. */
  u: number;
  /** Signed, continuity-corrected: > 0 when a tends larger. Undefined when a side is empty. */
  z: number | undefined;
  /** Undefined below MANN_WHITNEY_MIN_N samples on either side. */
  pTwoSided: number | undefined;
}

/** Below this many samples per side the normal approximation is off; exact tables are needed instead. */
export const MANN_WHITNEY_MIN_N = 8;

/** Mann-Whitney U test, normal approximation with tie and continuity correction (scipy's 'asymptotic'). */
export function mannWhitneyU(a: readonly number[], b: readonly number[]): MannWhitney {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return { u: 0, z: undefined, pTwoSided: undefined };
  const all = [...a.map((v) => ({ v, fromA: true })), ...b.map((v) => ({ v, fromA: false }))].sort(
    (x, y) => x.v - y.v,
  );
  const n = n1 + n2;
  let rankSumA = 0;
  let tieTerm = 0; // sum over tie groups of t^3 - t
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && all[j + 1]!.v === all[i]!.v) j++;
    const t = j - i + 1;
    const averageRank = (i + j + 2) / 2; // ranks i+1 .. j+1
    for (let k = i; k <= j; k++) if (all[k]!.fromA) rankSumA += averageRank;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  const diff = u - mean;
  // Every value tied: no evidence of a difference either way.
  const z = variance > 0 ? (Math.sign(diff) * Math.max(0, Math.abs(diff) - 0.5)) / Math.sqrt(variance) : 0;
  const pTwoSided =
    n1 < MANN_WHITNEY_MIN_N || n2 < MANN_WHITNEY_MIN_N
      ? undefined
      : Math.min(1, erfc(Math.abs(z) / Math.SQRT2));
  return { u, z, pTwoSided };
}

/** Complementary error function, Numerical Recipes' Chebyshev fit: relative error below 1.2e-7 everywhere. */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/**
 * Hodges-Lehmann shift of `c` over `b` (both ascending, non-empty): the median of all c_i - b_j. Found by bisection
 * on the value with an O(n) pair count per step instead of materializing n x m differences (a million at 1,000
 * samples a side); the result is the nearest actual difference (averaged for an even count, as medians are).
 */
export function hodgesLehmann(b: readonly number[], c: readonly number[]): number {
  const total = b.length * c.length;
  if (total === 0) throw new RangeError('hodgesLehmann needs samples on both sides');
  const kth = (k: number) => {
    // Smallest difference d with #{c_i - b_j <= d} >= k.
    let lo = c[0]! - b[b.length - 1]!;
    let hi = c[c.length - 1]! - b[0]!;
    if (countAtMost(b, c, lo) >= k) return lo;
    for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, Math.abs(hi), Math.abs(lo)); i++) {
      const mid = lo + (hi - lo) / 2;
      if (mid === lo || mid === hi) break;
      if (countAtMost(b, c, mid) >= k) hi = mid;
      else lo = mid;
    }
    return largestDiffAtMost(b, c, hi);
  };
  const half = Math.floor(total / 2);
  return total % 2 ? kth(half + 1) : (kth(half) + kth(half + 1)) / 2;
}

/** #{(i, j): c_i - b_j <= d}, i.e. b_j >= c_i - d; the threshold rises with c_i, so one pointer walks b. */
function countAtMost(b: readonly number[], c: readonly number[], d: number): number {
  let count = 0;
  let j = 0;
  for (const ci of c) {
    while (j < b.length && b[j]! < ci - d) j++;
    count += b.length - j;
  }
  return count;
}

/** The largest actual c_i - b_j <= d (bisection lands within rounding of it; this snaps to the exact value). */
function largestDiffAtMost(b: readonly number[], c: readonly number[], d: number): number {
  let best = -Infinity;
  let j = 0;
  for (const ci of c) {
    // Smallest b_j >= ci - d gives the largest difference ci - b_j <= d for this ci.
    while (j < b.length && b[j]! < ci - d) j++;
    if (j < b.length) best = Math.max(best, ci - b[j]!);
  }
  return best;
}

/** Prometheus histogram_quantile: linear within the bucket holding rank q x total; 'inf' gives the top bound. */
export function histogramQuantile(buckets: ReadonlyMap<number, number>, q: number): number | undefined {
  const sorted = [...buckets.entries()].filter(([, n]) => n > 0).sort(([a], [b]) => a - b);
  const total = sorted.reduce((s, [, n]) => s + n, 0);
  if (total === 0) return undefined;
  const finite = [...buckets.keys()].filter(Number.isFinite).sort((a, b) => a - b);
  const rank = q * total;
  let below = 0;
  let lower = 0;
  for (const [bound, n] of sorted) {
    if (below + n >= rank) {
      if (bound === Infinity) return finite[finite.length - 1];
      // Lower edge: the previous bound known anywhere in the histogram (an empty bucket still bounds this one).
      lower = finite.filter((x) => x < bound).pop() ?? 0;
      return lower + (bound - lower) * ((rank - below) / n);
    }
    below += n;
  }
  return finite[finite.length - 1];
}
