// Error mapping, one place per trigger kind. Permanent errors (ValidationError) are logged and acknowledged:
// retrying cannot fix bad input. Everything else is rethrown so `retry: true` redelivers the event.
import type { Response } from 'express';
import { ValidationError, TransientError } from './domain/errors';
import type { Logger } from './logger';

export async function runEventHandler(log: Logger, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof ValidationError) {
      log.warn('event refused: permanent error, not retried', { error: err.message, field: err.field });
      return;
    }
    log.error('event failed: will be retried', { error: err });
    throw err;
  }
}

export function sendHttpError(res: Response, log: Logger, err: unknown): void {
  if (err instanceof ValidationError) {
    res.status(400).json({ error: err.message, ...(err.field ? { field: err.field } : {}) });
    return;
  }
  log.error('request failed', { error: err });
  const status = err instanceof TransientError ? 503 : 500;
  res
    .status(status)
    .json({ error: status === 503 ? 'temporarily unavailable, retry later' : 'internal error' });
}
