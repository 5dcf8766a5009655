// The facts a canary analysis judges, from the two metric sources: `health` (the probe results of the baseline's
// and the canary's health checks in healthCycles) and `metrics` (the windows the service writes in
// metrics/{service}/windows). The judges are canary/domain/judge.ts; this reads and shapes their input.
import { METRICS } from '../platform/collections';
import type { Analysis, CanaryPolicy, MetricAnalysis } from './domain/canary';
import {
  aggregateWindows,
  judgeMannWhitney,
  judgeThreshold,
  windowSamples,
  type Analysis as JudgeAnalysis,
  type MetricSamples,
  type WindowDoc,
} from './domain/judge';
import { percentile } from '../platform/domain/stats';
import { db } from '../platform/firestore';
import { type CycleResult } from '../health/docs';
import { HEALTH_CYCLES } from '../platform/collections';

interface Side {
  ok: number[];
  ms: number[];
}

/** Per-probe samples of the two health checks over [fromMs, toMs), every region, maintenance excluded. */
async function healthSamples(
  policy: CanaryPolicy,
  fromMs: number,
  toMs: number,
): Promise<{ baseline: Side; canary: Side }> {
  const out = { baseline: { ok: [], ms: [] } as Side, canary: { ok: [], ms: [] } as Side };
  const ids = { baseline: policy.targets.baseline.healthCheck, canary: policy.targets.canary.healthCheck };
  if (!ids.baseline && !ids.canary) return out;
  const snap = await db()
    .collection(HEALTH_CYCLES)
    .where('minuteMs', '>=', fromMs)
    .where('minuteMs', '<', toMs)
    .get();
  for (const doc of snap.docs) {
    const r = (doc.get('r') ?? {}) as Record<string, CycleResult>;
    for (const side of ['baseline', 'canary'] as const) {
      const id = ids[side];
      const result = id ? r[id] : undefined;
      if (!result || result[4] === 1) continue;
      out[side].ok.push(result[0]);
      if (result[0] === 1) out[side].ms.push(result[1]);
    }
  }
  return out;
}

function healthValue(name: string, side: Side): number | undefined {
  if (!side.ok.length) return undefined;
  const success = side.ok.reduce((a, b) => a + b, 0) / side.ok.length;
  if (name === 'successRate') return success;
  if (name === 'errorRate') return 1 - success;
  const q = /^latencyP(\d+)Ms$/.exec(name);
  if (!q) return undefined;
  return percentile(
    [...side.ms].sort((a, b) => a - b),
    Number(q[1]),
  );
}

function healthSeries(name: string, side: Side): number[] {
  if (name === 'successRate') return side.ok;
  if (name === 'errorRate') return side.ok.map((v) => 1 - v);
  return side.ms;
}

/** Window documents of [fromMs, toMs), cohorts renamed to `baseline` and `canary` as the judge expects. */
async function windowDocs(
  service: string,
  policy: CanaryPolicy,
  fromMs: number,
  toMs: number,
): Promise<WindowDoc[]> {
  const snap = await db()
    .collection(METRICS)
    .doc(service)
    .collection('windows')
    .where('minuteMs', '>=', fromMs)
    .where('minuteMs', '<', toMs)
    .get();
  const names = new Map([
    [policy.targets.baseline.cohort, 'baseline'],
    [policy.targets.canary.cohort, 'canary'],
  ]);
  const docs: WindowDoc[] = [];
  for (const d of snap.docs) {
    const data = d.data() as Partial<WindowDoc>;
    const cohort = typeof data.cohort === 'string' ? names.get(data.cohort) : undefined;
    if (!cohort || typeof data.minuteMs !== 'number') continue; // not one of this rollout's cohorts
    docs.push({ service, cohort, minuteMs: data.minuteMs, shards: data.shards ?? {} });
  }
  return docs;
}

/** Runs the policy's judge over [fromMs, toMs). */
export async function analyse(
  service: string,
  policy: CanaryPolicy,
  fromMs: number,
  toMs: number,
): Promise<Analysis> {
  const usesHealth = policy.metrics.some((m) => m.source === 'health');
  const usesMetrics = policy.metrics.some((m) => m.source === 'metrics');
  const [health, windows] = await Promise.all([
    usesHealth ? healthSamples(policy, fromMs, toMs) : undefined,
    usesMetrics ? windowDocs(service, policy, fromMs, toMs) : undefined,
  ]);
  const aggregates = windows ? aggregateWindows(windows) : {};
  const perMinute = windows ? windowSamples(windows) : undefined;
  const values: Record<string, number | undefined> = {};
  const baselineValues: Record<string, number | undefined> = {};
  const samples: Record<string, MetricSamples | undefined> = {};
  for (const m of policy.metrics) {
    if (m.source === 'health' && health) {
      values[m.name] = healthValue(m.name, health.canary);
      baselineValues[m.name] = healthValue(m.name, health.baseline);
      samples[m.name] = {
        baseline: healthSeries(m.name, health.baseline),
        canary: healthSeries(m.name, health.canary),
      };
    } else if (m.source === 'metrics') {
      const pick = (agg: object | undefined) => {
        const v = agg ? (agg as Record<string, unknown>)[m.name] : undefined;
        return typeof v === 'number' ? v : undefined;
      };
      values[m.name] = pick(aggregates.canary);
      baselineValues[m.name] = pick(aggregates.baseline);
      samples[m.name] = perMinute?.[m.name as keyof typeof perMinute];
    }
  }
  let judged: JudgeAnalysis;
  if (policy.judge.kind === 'threshold') {
    judged = judgeThreshold(policy.metrics, values);
  } else {
    judged = judgeMannWhitney(policy.metrics, samples, {
      kind: 'mann-whitney',
      confidence: policy.judge.confidence,
      tolerance: policy.judge.tolerance,
      minSamples: policy.minSamples,
    });
    // min/max are absolute guards on top of the statistical test.
    const bounded = policy.metrics.filter((m) => m.min !== undefined || m.max !== undefined);
    if (bounded.length) {
      const guard = judgeThreshold(bounded, values);
      if (guard.verdict === 'fail') judged = { ...guard, why: `absolute bound: ${guard.why}` };
    }
  }
  const metrics: MetricAnalysis[] = policy.metrics.map((m) => {
    const v = judged.metrics.find((x) => x.name === m.name);
    return {
      name: m.name,
      source: m.source,
      verdict: v?.verdict ?? 'inconclusive',
      canary: finite(values[m.name]),
      baseline: finite(baselineValues[m.name]),
      why: v?.why ?? 'not judged',
    };
  });
  return { verdict: judged.verdict, why: judged.why, metrics };
}

function finite(v: number | undefined): number | null {
  return v !== undefined && Number.isFinite(v) ? v : null;
}
