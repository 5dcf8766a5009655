// rotationSweep (hourly): starts rotations due by policy and advances active ones (resume after a crash, retire
// after the grace period, destroy later). Handler: handleRotationSweep in rotation.ts.
import { onSchedule } from 'firebase-functions/v2/scheduler';
import { handleRotationSweep } from './handlers';
import { baseOptions } from '../platform/options';

export const rotationSweep = onSchedule(
  { ...baseOptions, schedule: 'every 60 minutes', timeZone: 'UTC', retryCount: 3 },
  async (event) => {
    await handleRotationSweep({ jobName: event.jobName, scheduleTime: event.scheduleTime });
  },
);
