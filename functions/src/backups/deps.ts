// Shared wiring of the backup functions (scheduledExport, backupMonitor, onBackupKick, restoreDrill): the engine's
// production dependencies, built on first use. The workflows are export.ts, monitor.ts, retention.ts and drill.ts.
import type { BackupDeps } from './common';
import { CloudStorageObjectStore } from './storage-client';
import { FirestoreAdminExportApi } from './firestore-admin-client';
import { DRILL_DATABASE, EXPORT_BUCKETS, EXPORT_STALL_MINUTES, EXPORT_TIME_ZONE } from '../platform/params';
import { systemClock } from '../platform/domain/clock';

export function backupDeps(overrides: Partial<BackupDeps> = {}): BackupDeps {
  return {
    clock: systemClock,
    admin: new FirestoreAdminExportApi(),
    storage: new CloudStorageObjectStore(),
    stallMs: EXPORT_STALL_MINUTES.value() * 60_000,
    timeZone: EXPORT_TIME_ZONE.value(),
    drillDatabase: DRILL_DATABASE.value(),
    allowedBuckets: EXPORT_BUCKETS.value()
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
    // Functions run up to 540 s: a run waits up to 7 minutes, then leaves the rest to the next run.
    waitMs: 7 * 60_000,
    pollMs: 5_000,
    ...overrides,
  };
}
