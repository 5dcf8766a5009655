// `settings/backups`, edited by admins: what the daily export covers, how long exports are kept, and how often a
// restore drill proves one restorable. Validated on every run; an invalid document starts no export.
import { z } from 'zod';
import { timestampSchema } from '../platform/schema';

// Cloud Storage bucket names: 3-63 characters, lowercase letters, digits, '-', '_' and '.', starting and ending
// with a letter or digit (dotted names up to 222 are legal but unusual; fireops refuses them to stay simple).
const bucketName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/,
    'must be a Cloud Storage bucket name (3-63 lowercase letters, digits, ".", "-", "_"), without gs://',
  )
  .refine((s) => !s.includes('..') && !s.startsWith('goog'), 'is not a valid bucket name');

// Firestore collection ids: no '/', not '.' or '..', not __reserved__, at most 1500 bytes (fireops: 200).
const collectionId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^/]+$/, 'must be a collection id (no "/")')
  .refine((s) => s !== '.' && s !== '..' && !/^__.*__$/.test(s), 'is a reserved collection id');

const count = (max: number, fallback: number) => z.number().int().min(0).max(max).default(fallback);

export const backupSettingsSchema = z.strictObject({
  /** Turns the daily export off without deleting the settings (the monitor, retention and drills keep going). */
  enabled: z.boolean().default(true),
  bucket: bucketName,
  /** Firestore database exported (`(default)` or a named database). */
  database: z
    .string()
    .regex(/^(\(default\)|[a-z][a-z0-9-]{2,61}[a-z0-9])$/, 'must be (default) or a database id')
    .default('(default)'),
  /** Collections exported; [] exports every collection (and then every root collection is counted). */
  collectionIds: z
    .array(collectionId)
    .max(100)
    .refine((ids) => new Set(ids).size === ids.length, 'must not repeat a collection')
    .default([]),
  retention: z
    .strictObject({ daily: count(366, 7), weekly: count(520, 4), monthly: count(1200, 12) })
    .default({ daily: 7, weekly: 4, monthly: 12 })
    .refine((r) => r.daily + r.weekly + r.monthly > 0, 'must keep at least one export'),
  drill: z
    .strictObject({
      enabled: z.boolean().default(true),
      everyDays: z.number().int().min(1).max(365).default(7),
      /** Documents sampled per export for the drill's content digest comparison. */
      sampleSize: z.number().int().min(1).max(500).default(50),
      /**
       * Set by an admin (or `fireops drill now`) to ask for a drill at the next run, whatever everyDays says and
       * even if the newest export was drilled already; a drill started after it satisfies it.
       */
      requestedAt: timestampSchema.optional(),
    })
    .default({ enabled: true, everyDays: 7, sampleSize: 50 }),
  verification: z
    .strictObject({
      /** Documents an export may hold below the count floor (see backups/domain/backup.ts judgeCounts); default 0. */
      toleranceDocuments: z.number().int().min(0).max(1_000_000).default(0),
    })
    .default({ toleranceDocuments: 0 }),
});

export type BackupSettings = z.infer<typeof backupSettingsSchema>;

export { formatZodError, parseOrThrow } from '../platform/validation';
