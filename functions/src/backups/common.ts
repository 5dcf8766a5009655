// What the four backup workflows (export.ts, monitor.ts, retention.ts, drill.ts) share: collection names, their
// dependencies, the validated settings read and the alert helper. Decisions are the pure functions of
// domain/backup.ts and domain/retention.ts; the workflows gather facts, write state and audit.
//
//
// Every state change of a backup or drill is one transaction that checks the state it moves from, appends the
// audit entry and, for failures, queues the alert in the same commit (runOnce outbox): a crash anywhere leaves a
// state the next run continues from, and never a second alert.
import { BACKUP_SETTINGS } from '../platform/collections';
import type { BackupSettings } from './schema';
import type { Clock } from '../platform/domain/clock';
import { ValidationError } from '../platform/domain/errors';
import type { Alert } from '../platform/schema';
import { alertPublish } from '../platform/alerts';
import type { ObjectStore } from './storage-client';
import type { ExportApi } from './firestore-admin-client';
import { db } from '../platform/firestore';
import type { Publish } from '../platform/pubsub';

export const STREAM = 'backups';
/** A backup stuck in `starting` this long never got its operation (the start crashed and nothing adopted it). */
export const STARTING_TIMEOUT_MS = 15 * 60_000;

export interface BackupDeps {
  clock: Clock;
  admin: ExportApi;
  storage: ObjectStore;
  /** No progress for this long: the export (or drill import) is failed as stalled. */
  stallMs: number;
  /** Time zone of retention's weeks and months. */
  timeZone: string;
  /** Scratch database of restore drills. */
  drillDatabase: string;
  /** EXPORT_BUCKETS: the buckets settings/backups.bucket may name (fixed at deploy: an export copies everything). */
  allowedBuckets: readonly string[];
  /** How long one run waits for a drill's import (or, when kicked, an export) to finish before leaving it. */
  waitMs: number;
  /** Pause between polls while waiting. */
  pollMs: number;
  random?: () => number;
}

export type SettingsRead =
  | { ok: true; settings: BackupSettings }
  | { ok: false; reason: string; field?: string | undefined; missing?: boolean };

/** settings/backups, validated; invalid or missing is a reason, never defaults. */
/**
 * settings/backups, validated, and its bucket checked against the deploy-time list: an admin edit may choose among
 * the buckets deploy allowed, never send the whole database to another (a foreign project's bucket, say).
 */
export async function readBackupSettings(allowedBuckets: readonly string[]): Promise<SettingsRead> {
  const snap = await db().doc(BACKUP_SETTINGS).get();
  if (!snap.exists) return { ok: false, reason: `${BACKUP_SETTINGS} does not exist`, missing: true };
  const { parseOrThrow, backupSettingsSchema } = await import('./schema.js');
  try {
    const settings = parseOrThrow(backupSettingsSchema, snap.data(), BACKUP_SETTINGS);
    if (!allowedBuckets.includes(settings.bucket)) {
      return {
        ok: false,
        field: 'bucket',
        reason:
          `${BACKUP_SETTINGS}: field 'bucket': '${settings.bucket}' is not an export bucket this deployment allows ` +
          `(EXPORT_BUCKETS: ${allowedBuckets.length ? allowedBuckets.join(', ') : 'none set'}); ` +
          'add it to EXPORT_BUCKETS and redeploy to export there',
      };
    }
    return { ok: true, settings };
  } catch (err) {
    if (err instanceof ValidationError) return { ok: false, reason: err.message, field: err.field };
    throw err;
  }
}

export function alert(partial: Omit<Alert, 'atMs' | 'alertId'> & { alertId: string }, clock: Clock): Publish {
  return alertPublish({ ...partial, atMs: clock.nowMs() });
}
