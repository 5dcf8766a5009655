// restoreDrill (hourly): every settings/backups.drill.everyDays, imports the newest verified export into the
// scratch database DRILL_DATABASE, compares counts and sampled content digests with what the export promised,
// records drills/{id}, alerts on a mismatch and empties the scratch database. A long import is followed up by the
// next hourly run. Engine: backups/engine.ts.
import { onSchedule } from 'firebase-functions/v2/scheduler';
import { logger } from '../platform/logger';
import { backupDeps } from './deps';
import { baseOptions } from '../platform/options';

export const restoreDrill = onSchedule(
  { ...baseOptions, schedule: 'every 60 minutes', timeZone: 'UTC', retryCount: 1, timeoutSeconds: 540 },
  async (event) => {
    // The backup engine loads on the first run, not with every function of the codebase (issue 16.7).
    const { handleRestoreDrill } = await import('./engine.js');
    const result = await handleRestoreDrill(
      { jobName: event.jobName, scheduleTime: event.scheduleTime },
      backupDeps(),
    );
    logger({ function: 'restoreDrill' }).info('restore drill run', { ...result });
  },
);
