// scheduledExport (daily, EXPORT_SCHEDULE): counts and samples the collections, starts a managed Firestore export
// to gs://{bucket}/{database}/{yyyy}/{mm}/{dd}/{HHmmss}, records backups/{id} as running and kicks the monitor.
// One export per schedule time, never two at once. Engine: backups/engine.ts.
import { onSchedule } from 'firebase-functions/v2/scheduler';
import { EXPORT_SCHEDULE, EXPORT_TIME_ZONE } from '../platform/params';
import { backupDeps } from './deps';
import { baseOptions } from '../platform/options';

export const scheduledExport = onSchedule(
  {
    ...baseOptions,
    schedule: EXPORT_SCHEDULE,
    timeZone: EXPORT_TIME_ZONE,
    retryCount: 3,
    timeoutSeconds: 540,
  },
  async (event) => {
    // The backup engine loads on the first run, not with every function of the codebase (issue 16.7).
    const { handleScheduledExport } = await import('./engine.js');
    await handleScheduledExport({ jobName: event.jobName, scheduleTime: event.scheduleTime }, backupDeps());
  },
);
