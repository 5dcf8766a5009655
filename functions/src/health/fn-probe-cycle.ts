// probeCycle (every minute, one function per region in PROBE_REGIONS): probes the checks due in its region and
// writes one cycle document; healthStatus and incidents only on change. Engine: health/engine.ts.
import { onSchedule } from 'firebase-functions/v2/scheduler';
import { PROBE_REGIONS } from '../platform/params';
import { healthDeps, probeFunctionId } from './deps';

function probeCycleIn(region: string) {
  return onSchedule(
    {
      region,
      schedule: 'every 1 minutes',
      timeZone: 'UTC',
      // No retries: a late retry would be a different minute's work, and the next minute comes anyway.
      retryCount: 0,
      timeoutSeconds: 55,
      memory: '512MiB',
    },
    async (event) => {
      // The engine loads with the first cycle, not with every function of the codebase (issue 16.7).
      const { runProbeCycle } = await import('./engine.js');
      await runProbeCycle({ region, scheduleTime: event.scheduleTime, jobName: event.jobName }, healthDeps());
    },
  );
}

/**
 * One scheduled function per probe region (a scheduled function has exactly one region): `probeCycleEuropeWest1`,
 * `probeCycleAfricaSouth1`, ... from PROBE_REGIONS. They are added to this module's exports by name, and
 * index.ts re-exports them with `export *`, so firebase-tools sees each as a function of its own.
 */
for (const region of PROBE_REGIONS) {
  (exports as Record<string, unknown>)[probeFunctionId(region)] = probeCycleIn(region);
}
