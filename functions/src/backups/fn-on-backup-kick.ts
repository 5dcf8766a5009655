// onBackupKick (Pub/Sub `backup-monitor`): scheduledExport publishes here once an export has started; this runs the
// monitor at once and keeps polling while the export runs (BACKUP_KICK_WAIT_SECONDS, default 7 minutes), so a small export is verified within
// seconds of finishing instead of at the next 10-minute tick. Not retried: the schedule is the safety net.
import { onMessagePublished } from 'firebase-functions/v2/pubsub';
import { logger } from '../platform/logger';
import { BACKUP_KICK_WAIT_SECONDS } from '../platform/params';
import { BACKUP_MONITOR_TOPIC } from '../platform/topics';
import { backupDeps } from './deps';
import { runEventHandler } from '../platform/error-mapping';
import { baseOptions } from '../platform/options';

export const onBackupKick = onMessagePublished(
  { ...baseOptions, topic: BACKUP_MONITOR_TOPIC, retry: false, timeoutSeconds: 540 },
  async (event) => {
    const log = logger({ correlationId: event.id, function: 'onBackupKick' });
    await runEventHandler(log, async () => {
      // The backup engine loads on the first run, not with every function of the codebase (issue 16.7).
      const { handleBackupMonitor } = await import('./engine.js');
      const result = await handleBackupMonitor(
        { correlationId: event.id, actor: { type: 'system', id: 'onBackupKick' }, wait: true },
        backupDeps({ waitMs: BACKUP_KICK_WAIT_SECONDS.value() * 1000 }),
      );
      log.info('backup monitor kicked', { ...result });
    });
  },
);
