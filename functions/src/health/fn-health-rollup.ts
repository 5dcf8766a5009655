// healthRollup (every 10 minutes, UTC): folds the probe cycles written since the last run into
// healthSummary/current and writes the daily rollups of completed days. Engine: health/rollup.ts.
import { onSchedule } from 'firebase-functions/v2/scheduler';
import { runHealthRollup } from './rollup';
import { scheduleKey } from '../platform/idempotency';
import { baseOptions } from '../platform/options';

export const healthRollup = onSchedule(
  // A catch-up run reads at most 24 h of cycles (1,440 per region): well within 5 minutes.
  { ...baseOptions, schedule: 'every 10 minutes', timeZone: 'UTC', retryCount: 1, timeoutSeconds: 300 },
  async (event) => {
    await runHealthRollup({
      nowMs: Date.now(),
      correlationId: scheduleKey(event.jobName, event.scheduleTime, 'healthRollup'),
    });
  },
);
