// The backup functions (group `backups`): the daily managed export, its monitor (scheduled and kicked), and the
// hourly restore drill. Wiring only: each workflow loads on its first run, not with every function of the
// codebase (issue 16.7). Worst case of each is a full poll of a running export: 540 s, the 2nd-gen event maximum.
import { onMessagePublished } from 'firebase-functions/v2/pubsub';
import { onSchedule } from 'firebase-functions/v2/scheduler';
import { eventMeta, runEventHandler } from '../platform/error-mapping';
import { scheduleKey } from '../platform/idempotency';
import { logger } from '../platform/logger';
import { groupOptions } from '../platform/options';
import { BACKUP_KICK_WAIT_SECONDS, EXPORT_SCHEDULE, EXPORT_TIME_ZONE } from '../platform/params';
import { BACKUP_MONITOR_TOPIC } from '../platform/topics';
import { backupDeps } from './deps';

const options = groupOptions('backups');

/**
 * scheduledExport (daily, EXPORT_SCHEDULE): counts and samples the collections, starts a managed Firestore export
 * to gs://{bucket}/{database}/{yyyy}/{mm}/{dd}/{HHmmss}, records backups/{id} as running and kicks the monitor.
 * One export per schedule time, never two at once.
 */
export const scheduledExport = onSchedule(
  {
    ...options,
    schedule: EXPORT_SCHEDULE,
    timeZone: EXPORT_TIME_ZONE,
    retryCount: 3,
    timeoutSeconds: 540,
  },
  async (event) => {
    const { handleScheduledExport } = await import('./export.js');
    await handleScheduledExport({ jobName: event.jobName, scheduleTime: event.scheduleTime }, backupDeps());
  },
);

/**
 * backupMonitor (every 10 minutes): polls running exports to a verdict (verified, or failed on error, stall or
 * shortfall, alerted), then applies retention once a new export is verified.
 */
export const backupMonitor = onSchedule(
  { ...options, schedule: 'every 10 minutes', timeZone: 'UTC', retryCount: 1, timeoutSeconds: 540 },
  async (event) => {
    const { handleBackupMonitor } = await import('./monitor.js');
    await handleBackupMonitor(
      {
        correlationId: scheduleKey(event.jobName, event.scheduleTime, 'backupMonitor'),
        actor: { type: 'scheduler', id: event.jobName ?? 'backupMonitor' },
      },
      backupDeps(),
    );
  },
);

/**
 * onBackupKick (Pub/Sub `backup-monitor`): scheduledExport publishes here once an export has started; this runs
 * the monitor at once and keeps polling while the export runs (BACKUP_KICK_WAIT_SECONDS, default 7 minutes), so a
 * small export is verified within seconds of finishing instead of at the next 10-minute tick. Not retried: the
 * schedule is the safety net.
 */
export const onBackupKick = onMessagePublished(
  { ...options, topic: BACKUP_MONITOR_TOPIC, retry: false, timeoutSeconds: 540 },
  async (event) => {
    const log = logger({ correlationId: event.id, function: 'onBackupKick' });
    await runEventHandler(
      log,
      async () => {
        const { handleBackupMonitor } = await import('./monitor.js');
        const result = await handleBackupMonitor(
          { correlationId: event.id, actor: { type: 'system', id: 'onBackupKick' }, wait: true },
          backupDeps({ waitMs: BACKUP_KICK_WAIT_SECONDS.value() * 1000 }),
        );
        log.info('backup monitor kicked', { ...result });
      },
      { event: eventMeta(event) },
    );
  },
);

/**
 * restoreDrill (hourly): every settings/backups.drill.everyDays, imports the newest verified export into the
 * scratch database DRILL_DATABASE, compares counts and sampled content digests with what the export promised,
 * records drills/{id}, alerts on a mismatch and empties the scratch database. A long import is followed up by the
 * next hourly run.
 */
export const restoreDrill = onSchedule(
  { ...options, schedule: 'every 60 minutes', timeZone: 'UTC', retryCount: 1, timeoutSeconds: 540 },
  async (event) => {
    const { handleRestoreDrill } = await import('./drill.js');
    const result = await handleRestoreDrill(
      { jobName: event.jobName, scheduleTime: event.scheduleTime },
      backupDeps(),
    );
    logger({ function: 'restoreDrill' }).info('restore drill run', { ...result });
  },
);
