import { describe, expect, it } from 'vitest';
import { backupSettingsSchema } from '../../functions/src/backups/schema';
import { parseOrThrow } from '../../functions/src/platform/validation';
import { ValidationError } from '../../functions/src/platform/domain/errors';

function refusal(value: unknown): ValidationError {
  try {
    parseOrThrow(backupSettingsSchema, value, 'settings/backups');
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected settings/backups to be refused');
}

describe('settings/backups', () => {
  it('fills the documented defaults from a bucket alone', () => {
    expect(parseOrThrow(backupSettingsSchema, { bucket: 'bvester-backups' }, 'settings/backups')).toEqual({
      enabled: true,
      bucket: 'bvester-backups',
      database: '(default)',
      collectionIds: [],
      retention: { daily: 7, weekly: 4, monthly: 12 },
      drill: { enabled: true, everyDays: 7, sampleSize: 50 },
      verification: { toleranceDocuments: 0 },
    });
  });

  it('keeps partial sub-objects partial: defaults only for the missing fields', () => {
    const s = parseOrThrow(
      backupSettingsSchema,
      { bucket: 'b-1', retention: { daily: 3 }, drill: { everyDays: 1 } },
      'settings/backups',
    );
    expect(s.retention).toEqual({ daily: 3, weekly: 4, monthly: 12 });
    expect(s.drill).toEqual({ enabled: true, everyDays: 1, sampleSize: 50 });
  });

  it.each([
    [{}, 'bucket'],
    [{ bucket: 'gs://b' }, 'bucket'],
    [{ bucket: 'Upper' }, 'bucket'],
    [{ bucket: 'ab' }, 'bucket'],
    [{ bucket: 'b-1', collectionIds: ['a/b'] }, 'collectionIds[0]'],
    [{ bucket: 'b-1', collectionIds: ['__x__'] }, 'collectionIds[0]'],
    [{ bucket: 'b-1', collectionIds: ['a', 'a'] }, 'collectionIds'],
    [{ bucket: 'b-1', retention: { daily: -1 } }, 'retention.daily'],
    [{ bucket: 'b-1', retention: { daily: 1.5 } }, 'retention.daily'],
    [{ bucket: 'b-1', retention: { daily: 0, weekly: 0, monthly: 0 } }, 'retention'],
    [{ bucket: 'b-1', retention: { yearly: 2 } }, 'retention.yearly'],
    [{ bucket: 'b-1', drill: { everyDays: 0 } }, 'drill.everyDays'],
    [{ bucket: 'b-1', drill: { enabled: 'yes' } }, 'drill.enabled'],
    [{ bucket: 'b-1', database: 'Prod DB' }, 'database'],
    [{ bucket: 'b-1', verification: { toleranceDocuments: -3 } }, 'verification.toleranceDocuments'],
    [{ bucket: 'b-1', extra: true }, 'extra'],
  ])('refuses %j, naming %s', (value, field) => {
    const err = refusal(value);
    expect(err.field ?? '').toBe(field);
    expect(err.message).toContain('settings/backups');
  });
});

describe('messages an admin can act on', () => {
  it("uses the schema's own wording for a malformed value, not the format's name", () => {
    expect(refusal({ bucket: 'gs://b' }).message).toBe(
      'settings/backups: field \'bucket\' must be a Cloud Storage bucket name (3-63 lowercase letters, digits, ".", "-", "_"), without gs://',
    );
  });
});
