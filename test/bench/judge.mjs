// How often each canary judge cries wolf and how often it catches a slow canary, on simulated data (pure: no
// emulators). Per trial, one analysis of two metrics:
// - latencyMs (critical, 'increase'): n latency samples per side, log-normal with median 120 ms and log-spread
//   sigma (0.25: probe timings or per-minute p95s of a steady service; 0.5: raw request latencies). A canary
//   "X % slower at the p95" has every sample scaled by 1 + X (a scale change moves every quantile, the p95 too).
// - errorRate (non-critical, 'increase'): n per-minute error rates, Poisson(200 requests x 1 %) errors / 200 a
//   minute, identical for both sides except in the 'errors x2' scenario.
// Judges: threshold (latency p95 of the canary's samples <= the true baseline p95 x 1.2, error rate over the
// samples <= 2 %), and mann-whitney at confidence 0.98, tolerance 0.1, minSamples 20. Printed: the share of
// TRIALS analyses that fail, the false alarm rate under 'identical' and the detection rate otherwise, for
// n = 30, 100, 300; targets: mann-whitney false alarms <= 2 %, detection >= 95 % for 20 % slower at n = 100.
// Seeded (mulberry32), so every run prints the same figures.
import { createRequire } from 'node:module';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const TRIALS = Number(process.env.BENCH_JUDGE_TRIALS ?? 1000);
const SIZES = [30, 100, 300];
const SIGMAS = [0.25, 0.5];
const MEDIAN_MS = 120;
const REQUESTS_PER_MINUTE = 200;
const ERROR_RATE = 0.01;
const SCENARIOS = [
  { name: 'identical', slower: 0, errors: 1 },
  { name: '10% slower', slower: 0.1, errors: 1 },
  { name: '20% slower', slower: 0.2, errors: 1 },
  { name: '50% slower', slower: 0.5, errors: 1 },
  { name: 'errors x2', slower: 0, errors: 2 },
];
const MW = { kind: 'mann-whitney', confidence: 0.98, tolerance: 0.1, minSamples: 20 };
const Z95 = 1.6448536269514722; // standard normal 95th percentile

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(rand) {
  // Box-Muller; 1 - u keeps log away from 0.
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

function poisson(rand, lambda) {
  // Knuth: fine for the small lambdas here (2 and 4).
  const limit = Math.exp(-lambda);
  let k = 0;
  for (let p = rand(); p > limit; p *= rand()) k++;
  return k;
}

const latencies = (rand, n, sigma, scale) =>
  Array.from({ length: n }, () => scale * MEDIAN_MS * Math.exp(sigma * normal(rand)));
const errorRates = (rand, n, factor) =>
  Array.from(
    { length: n },
    () => poisson(rand, REQUESTS_PER_MINUTE * ERROR_RATE * factor) / REQUESTS_PER_MINUTE,
  );
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (x) => `${(100 * x).toFixed(1)}%`.padStart(7);

/** Wilson 95 % interval of a rate from TRIALS trials: a 2.2 % rate from 1,000 trials is no evidence above 2 %. */
function wilson(rate, trials = TRIALS, z = 1.96) {
  const centre = (rate + (z * z) / (2 * trials)) / (1 + (z * z) / trials);
  const half =
    (z * Math.sqrt((rate * (1 - rate)) / trials + (z * z) / (4 * trials * trials))) / (1 + (z * z) / trials);
  return [centre - half, centre + half];
}

export async function judge() {
  const fnRequire = createRequire(path.join(ROOT, 'functions', 'package.json'));
  const { judgeThreshold, judgeMannWhitney } = fnRequire('./lib/core/canary-judge.js');
  const { percentile } = fnRequire('./lib/core/health.js');

  const results = { trials: TRIALS, config: { mannWhitney: MW }, sigmas: {} };
  const misses = [];
  const noise = [];
  const t0 = performance.now();
  for (const sigma of SIGMAS) {
    const truthP95 = MEDIAN_MS * Math.exp(sigma * Z95);
    const specs = [
      { name: 'latencyMs', source: 'health', direction: 'increase', critical: true, max: truthP95 * 1.2 },
      { name: 'errorRate', source: 'metrics', direction: 'increase', critical: false, max: 2 * ERROR_RATE },
    ];
    const bySigma = (results.sigmas[sigma] = {});
    console.log(
      `\nsigma ${sigma} (baseline p95 ${truthP95.toFixed(0)} ms): share of ${TRIALS} analyses failing, ` +
        `n = ${SIZES.join(' / ')} samples a side`,
    );
    for (const scenario of SCENARIOS) {
      const row = (bySigma[scenario.name] = { threshold: {}, mannWhitney: {} });
      for (const n of SIZES) {
        // One seed per cell: a cell's figures do not depend on which other cells run.
        const rand = mulberry32(Math.round(sigma * 1000) * 1_000_003 + n * 101 + SCENARIOS.indexOf(scenario));
        let thresholdFails = 0;
        let mwFails = 0;
        let mwInconclusive = 0;
        for (let t = 0; t < TRIALS; t++) {
          const samples = {
            latencyMs: {
              baseline: latencies(rand, n, sigma, 1),
              canary: latencies(rand, n, sigma, 1 + scenario.slower),
            },
            errorRate: { baseline: errorRates(rand, n, 1), canary: errorRates(rand, n, scenario.errors) },
          };
          const values = {
            latencyMs: percentile(
              [...samples.latencyMs.canary].sort((a, b) => a - b),
              95,
            ),
            errorRate: mean(samples.errorRate.canary),
          };
          if (judgeThreshold(specs, values).verdict === 'fail') thresholdFails++;
          const verdict = judgeMannWhitney(specs, samples, MW).verdict;
          if (verdict === 'fail') mwFails++;
          if (verdict === 'inconclusive') mwInconclusive++;
        }
        row.threshold[n] = thresholdFails / TRIALS;
        row.mannWhitney[n] = mwFails / TRIALS;
        if (mwInconclusive)
          row.mannWhitneyInconclusive = { ...row.mannWhitneyInconclusive, [n]: mwInconclusive };
      }
      const kind = scenario.name === 'identical' ? 'false alarms' : 'detected    ';
      for (const [label, key] of [
        ['threshold   ', 'threshold'],
        ['mann-whitney', 'mannWhitney'],
      ]) {
        console.log(
          `  ${scenario.name.padEnd(11)} ${label} ${kind} ${SIZES.map((n) => pct(row[key][n])).join(' ')}`,
        );
      }
    }
    // A target is missed when the whole 95 % interval of the measured rate lies on the wrong side of it.
    for (const n of SIZES) {
      const fa = bySigma.identical.mannWhitney[n];
      const [lo] = wilson(fa);
      if (lo > 0.02) misses.push(`sigma ${sigma}: mann-whitney false alarms ${pct(fa).trim()} at n = ${n}`);
      else if (fa > 0.02) noise.push(`sigma ${sigma}: false alarms ${pct(fa).trim()} at n = ${n}`);
    }
    const detect = bySigma['20% slower'].mannWhitney[100];
    const [, hi] = wilson(detect);
    if (hi < 0.95)
      misses.push(`sigma ${sigma}: mann-whitney detects 20% slower at n = 100 ${pct(detect).trim()}`);
    else if (detect < 0.95)
      noise.push(`sigma ${sigma}: 20% slower detected ${pct(detect).trim()} at n = 100`);
  }
  results.targetsMissed = misses;
  results.withinNoiseOfTarget = noise;
  results.seconds = Math.round((performance.now() - t0) / 100) / 10;
  console.log(
    `\ntargets (mann-whitney: false alarms <= 2 %, 20 % slower at n = 100 detected >= 95 %): ` +
      (misses.length ? `missed: ${misses.join('; ')}` : 'met at every sigma') +
      (noise.length ? `; beyond the target but within its 95 % interval: ${noise.join('; ')}` : ''),
  );
  console.log(`${TRIALS} trials a cell in ${results.seconds} s`);
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) await judge();
