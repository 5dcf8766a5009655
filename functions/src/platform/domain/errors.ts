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

/**
 * gRPC codes that say the platform, not the request, failed: a missing IAM grant (PERMISSION_DENIED,
 * UNAUTHENTICATED) is fixed by an operator, quota and outages pass. The same request succeeds once they are
 * fixed, so they are retried, never answered 4xx or acknowledged as bad input.
 * https://grpc.github.io/grpc/core/md_doc_statuscodes.html
 */
export const INFRASTRUCTURE_GRPC_CODES: Readonly<Record<number, string>> = {
  2: 'UNKNOWN',
  4: 'DEADLINE_EXCEEDED',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};

/** HTTP statuses of Google's JSON APIs that mean the same as the gRPC codes above. */
function isInfrastructureHttpStatus(status: number): boolean {
  return status === 401 || status === 403 || status === 429 || (status >= 500 && status <= 599);
}

function statusOf(err: object): number | undefined {
  const e = err as { code?: unknown; status?: unknown; response?: { status?: unknown } };
  for (const v of [e.code, e.status, e.response?.status]) if (typeof v === 'number') return v;
  return undefined;
}

/**
 * The infrastructure cause of `err` (`PERMISSION_DENIED`, `HTTP_403`, ...), following `cause` links (a
 * TransientError wrapping a client error), or undefined when `err` is not an infrastructure failure. gRPC codes
 * are 0..16 and HTTP statuses 100..599, so one number field can be read both ways.
 */
export function infrastructureCause(err: unknown, depth = 0): string | undefined {
  if (typeof err !== 'object' || err === null || depth > 5) return undefined;
  if (err instanceof ValidationError) return undefined;
  const status = statusOf(err);
  if (status !== undefined) {
    if (status <= 16) {
      const name = INFRASTRUCTURE_GRPC_CODES[status];
      if (name) return name;
    } else if (isInfrastructureHttpStatus(status)) return `HTTP_${status}`;
  }
  return infrastructureCause((err as { cause?: unknown }).cause, depth + 1);
}
