// backupMonitor (every 10 minutes): polls running exports to a verdict (verified, or failed on error, stall or
// shortfall, alerted), then applies retention once a new export is verified. Engine: backups/engine.ts.
import { onSchedule } from 'firebase-functions/v2/scheduler';
import { scheduleKey } from '../platform/idempotency';
import { backupDeps } from './deps';
import { baseOptions } from '../platform/options';

export const backupMonitor = onSchedule(
  { ...baseOptions, schedule: 'every 10 minutes', timeZone: 'UTC', retryCount: 1, timeoutSeconds: 540 },
  async (event) => {
    // The backup engine loads on the first run, not with every function of the codebase (issue 16.7).
    const { handleBackupMonitor } = await import('./engine.js');
    await handleBackupMonitor(
      {
        correlationId: scheduleKey(event.jobName, event.scheduleTime, 'backupMonitor'),
        actor: { type: 'scheduler', id: event.jobName ?? 'backupMonitor' },
      },
      backupDeps(),
    );
  },
);
