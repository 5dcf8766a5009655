// Two kinds of error, mapped in one place per trigger kind (see triggers/shared/*):
// permanent ones are recorded and audited, never retried; transient ones are retried.

/** Bad input or invalid configuration: retrying cannot help. HTTP 4xx; Pub/Sub and schedules ack and audit. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    message: string,
    /** Dotted path of the offending field, when one field is to blame. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Network trouble, contention, an unavailable dependency: the same input may succeed later. */
export class TransientError extends Error {
  override readonly name = 'TransientError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isValidationError(err: unknown): err is ValidationError {
  return err instanceof ValidationError;
}
