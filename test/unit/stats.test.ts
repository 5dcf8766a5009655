// The shared statistics (platform/domain/stats.ts): percentiles and the Mann-Whitney U test.
import { describe, expect, it } from 'vitest';
import { mannWhitneyU, percentile } from '../../functions/src/platform/domain/stats';

describe('percentile (nearest rank)', () => {
  it.each([
    [[], 50, undefined],
    [[7], 50, 7],
    [[7], 99, 7],
    [[1, 2], 50, 1], // rank ceil(1) = 1
    [[1, 2], 51, 2],
    [[1, 2, 3, 4], 50, 2], // rank 2
    [[1, 2, 3, 4], 90, 4], // rank ceil(3.6) = 4
    [[10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90, 90], // rank 9
    [[10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 99, 100], // rank ceil(9.9) = 10
    [[10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0, 10], // rank at least 1
    [[10, 20, 30], 100, 30],
  ])('%j p%d = %s', (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });
});

describe('mannWhitneyU', () => {
  // Worked by hand. a = 12 15 15 18 20 22 25 30 (n1 8), b = 14 15 19 21 24 26 28 31 35 (n2 9), N = 17.
  // Combined ranks: 12:1 14:2 15,15,15:4 (ranks 3,4,5) 18:6 19:7 20:8 21:9 22:10 24:11 25:12 26:13 28:14 30:15
  // 31:16 35:17. R_a = 1+4+4+6+8+10+12+15 = 60, U_a = 60 - 8*9/2 = 24, mean n1 n2 / 2 = 36.
  // Tie group of 3: t^3 - t = 24. Var = 72/12 * (18 - 24/(17*16)) = 6 * 17.911765 = 107.470588, sd 10.366802.
  // z = -(12 - 0.5) / 10.366802 = -1.109310; p = 2 (1 - Phi(1.109310)) = 0.267296.
  // scipy.stats.mannwhitneyu(a, b, method='asymptotic') gives statistic 24.0, pvalue 0.26729636.
  const a = [12, 15, 15, 18, 20, 22, 25, 30];
  const b = [14, 15, 19, 21, 24, 26, 28, 31, 35];

  it('matches the hand-computed example', () => {
    const r = mannWhitneyU(a, b);
    expect(r.u).toBe(24);
    expect(r.z).toBeCloseTo(-1.10931, 5);
    expect(r.pTwoSided).toBeCloseTo(0.267296, 5);
  });

  it('is symmetric: swapping sides gives n1 n2 - U, the opposite z and the same p', () => {
    const r = mannWhitneyU(b, a);
    expect(r.u).toBe(72 - 24);
    expect(r.z).toBeCloseTo(1.10931, 5);
    expect(r.pTwoSided).toBeCloseTo(0.267296, 5);
  });

  it('gives p 1 for identical samples and for all-tied values', () => {
    const x = [1, 2, 3, 4, 5, 6, 7, 8];
    expect(mannWhitneyU(x, [...x])).toEqual({ u: 32, z: 0, pTwoSided: 1 });
    expect(mannWhitneyU(Array(8).fill(5), Array(9).fill(5))).toEqual({ u: 36, z: 0, pTwoSided: 1 });
  });

  it('withholds p below 8 samples on either side but still reports U and z', () => {
    const r = mannWhitneyU([1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12, 13, 14, 15]);
    expect(r.u).toBe(0);
    expect(r.z).toBeLessThan(0);
    expect(r.pTwoSided).toBeUndefined();
    expect(mannWhitneyU([1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11, 12, 13, 14, 15, 16]).pTwoSided).toBeDefined();
  });

  it('separates completely different samples of 8 and 8 at p < 0.001', () => {
    // U = 0, mean 32, var 64*17/12 = 90.6667, sd 9.5219; z = -31.5/9.5219 = -3.3082, p = 0.000939.
    const r = mannWhitneyU([1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11, 12, 13, 14, 15, 16]);
    expect(r.z).toBeCloseTo(-3.3082, 4);
    expect(r.pTwoSided).toBeCloseTo(0.000939, 5);
  });
});
