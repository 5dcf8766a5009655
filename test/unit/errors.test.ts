import { describe, it, expect } from 'vitest';
import {
  TransientError,
  ValidationError,
  isValidationError,
} from '../../functions/src/platform/domain/errors';

describe('ValidationError', () => {
  it('carries message, name and field', () => {
    const err = new ValidationError("flags/x: field 'enabled' is required (boolean)", 'enabled');
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.name).toBe('ValidationError');
    expect(err.message).toBe("flags/x: field 'enabled' is required (boolean)");
    expect(err.field).toBe('enabled');
    expect(String(err)).toBe("ValidationError: flags/x: field 'enabled' is required (boolean)");
    expect(err.stack).toContain('ValidationError');
  });

  it('field is optional', () => {
    const err = new ValidationError('bad');
    expect(err.field).toBeUndefined();
    expect(err.message).toBe('bad');
  });
});

describe('TransientError', () => {
  it('carries message, name and cause', () => {
    const cause = new Error('ECONNRESET');
    const err = new TransientError('firestore unavailable', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('TransientError');
    expect(err.message).toBe('firestore unavailable');
    expect(err.cause).toBe(cause);
  });

  it('cause is optional', () => {
    const err = new TransientError('later');
    expect(err.cause).toBeUndefined();
    expect(String(err)).toBe('TransientError: later');
  });
});

describe('isValidationError', () => {
  it.each<[string, unknown, boolean]>([
    ['ValidationError', new ValidationError('x', 'f'), true],
    ['TransientError', new TransientError('x'), false],
    ['plain Error', new Error('x'), false],
    ['Error renamed ValidationError', Object.assign(new Error('x'), { name: 'ValidationError' }), false],
    ['look-alike object', { name: 'ValidationError', message: 'x', field: 'f' }, false],
    ['string', 'ValidationError', false],
    ['null', null, false],
    ['undefined', undefined, false],
  ])('%s -> %s', (_name, value, expected) => {
    expect(isValidationError(value)).toBe(expected);
  });
});
