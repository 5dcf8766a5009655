// Issue 12.4: the one mapping per trigger kind. Infrastructure errors are transient (503 / rethrown) and alerted;
// only a ValidationError is answered 400 or acknowledged; no answer but a 400 carries the error's text.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
type Response = Parameters<typeof sendHttpError>[0];
import {
  TransientError,
  ValidationError,
  infrastructureCause,
} from '../../functions/src/platform/domain/errors';
import {
  INTERNAL_BODY,
  UNAVAILABLE_BODY,
  httpStatusFor,
  runEventHandler,
  sendHttpError,
} from '../../functions/src/platform/error-mapping';
import { INFRA_ALERT_WINDOW_MS, infraAlertKey } from '../../functions/src/platform/infra-alert';
import { logger, setLogSink } from '../../functions/src/platform/logger';
import { secretError } from '../../functions/src/platform/secret-manager';

const grpcError = (code: number, details = 'Permission denied on resource projects/p/secrets/s') =>
  Object.assign(new Error(`${code} ${details}`), { code, details });
const httpError = (status: number) =>
  Object.assign(new Error(`Request failed with status ${status} for projects/p/buckets/b`), {
    response: { status },
  });

beforeAll(() => setLogSink(() => undefined));
afterAll(() => setLogSink(undefined));

describe('infrastructureCause', () => {
  it.each<[string, unknown, string | undefined]>([
    ['gRPC PERMISSION_DENIED', grpcError(7), 'PERMISSION_DENIED'],
    ['gRPC UNAUTHENTICATED', grpcError(16), 'UNAUTHENTICATED'],
    ['gRPC UNAVAILABLE', grpcError(14), 'UNAVAILABLE'],
    ['gRPC DEADLINE_EXCEEDED', grpcError(4), 'DEADLINE_EXCEEDED'],
    ['gRPC RESOURCE_EXHAUSTED', grpcError(8), 'RESOURCE_EXHAUSTED'],
    ['gRPC INTERNAL', grpcError(13), 'INTERNAL'],
    ['gRPC UNKNOWN', grpcError(2), 'UNKNOWN'],
    ['gRPC NOT_FOUND', grpcError(5), undefined],
    ['gRPC INVALID_ARGUMENT', grpcError(3), undefined],
    ['gRPC FAILED_PRECONDITION', grpcError(9), undefined],
    ['gRPC ALREADY_EXISTS', grpcError(6), undefined],
    ['gRPC ABORTED (contention)', grpcError(10), undefined],
    ['HTTP 401 (response.status)', httpError(401), 'HTTP_401'],
    ['HTTP 403 (status)', Object.assign(new Error('x'), { status: 403 }), 'HTTP_403'],
    ['HTTP 429 (code, as @google-cloud/storage)', Object.assign(new Error('x'), { code: 429 }), 'HTTP_429'],
    ['HTTP 500', httpError(500), 'HTTP_500'],
    ['HTTP 503', httpError(503), 'HTTP_503'],
    ['HTTP 404', httpError(404), undefined],
    ['HTTP 400', httpError(400), undefined],
    ['string code (ECONNRESET)', Object.assign(new Error('x'), { code: 'ECONNRESET' }), undefined],
    [
      'TransientError wrapping PERMISSION_DENIED',
      new TransientError('x', { cause: grpcError(7) }),
      'PERMISSION_DENIED',
    ],
    ['ValidationError', new ValidationError('bad'), undefined],
    ['plain Error', new Error('x'), undefined],
    ['undefined', undefined, undefined],
  ])('%s -> %s', (_name, err, cause) => {
    expect(infrastructureCause(err)).toBe(cause);
  });
});

describe('secretError: only a missing or unusable version or a malformed name is permanent', () => {
  it.each<[number, 'ValidationError' | 'TransientError']>([
    [5, 'ValidationError'],
    [9, 'ValidationError'],
    [3, 'ValidationError'],
    [7, 'TransientError'],
    [16, 'TransientError'],
    [14, 'TransientError'],
    [4, 'TransientError'],
    [8, 'TransientError'],
    [13, 'TransientError'],
    [2, 'TransientError'],
  ])('gRPC %i -> %s', (code, kind) => {
    const mapped = secretError(grpcError(code), 'webhook secret s');
    expect(mapped.name).toBe(kind);
    if (kind === 'TransientError') expect(infrastructureCause(mapped)).toBeDefined();
  });
});

function fakeResponse() {
  const r = { statusCode: 0, body: undefined as unknown };
  const res = {
    status(code: number) {
      r.statusCode = code;
      return res;
    },
    json(body: unknown) {
      r.body = body;
      return res;
    },
  };
  return { res: res as unknown as Response, r };
}

describe('sendHttpError', () => {
  it.each<[string, unknown, number, unknown]>([
    [
      'a ValidationError',
      new ValidationError('field x is bad', 'x'),
      400,
      { error: 'field x is bad', field: 'x' },
    ],
    ['PERMISSION_DENIED from a client', grpcError(7), 503, UNAVAILABLE_BODY],
    [
      'a TransientError wrapping PERMISSION_DENIED',
      secretError(grpcError(7), 'webhook secret s'),
      503,
      UNAVAILABLE_BODY,
    ],
    ['HTTP 403 from a Google API', httpError(403), 503, UNAVAILABLE_BODY],
    ['a TransientError (deadline)', new TransientError('Firestore did not answer'), 503, UNAVAILABLE_BODY],
    ['a bug', new TypeError('x is undefined at projects/p'), 500, INTERNAL_BODY],
  ])('%s: the status and body of the table, no internal text', async (_name, err, status, body) => {
    const { res, r } = fakeResponse();
    const alerter = vi.fn(() => Promise.resolve());
    await sendHttpError(res, logger(), err, { fn: 'g.f', alerter });
    expect(r.statusCode).toBe(status);
    expect(r.body).toEqual(body);
    if (status !== 400) expect(JSON.stringify(r.body)).not.toMatch(/projects\/|denied|status \d/i);
    expect(alerter).toHaveBeenCalledTimes(infrastructureCause(err) ? 1 : 0);
  });

  it('an endpoint without input answers a ValidationError 500, generic', async () => {
    const { res, r } = fakeResponse();
    await sendHttpError(res, logger(), new ValidationError('healthSummary/current is invalid'), {
      clientErrors: false,
    });
    expect(r).toEqual({ statusCode: 500, body: INTERNAL_BODY });
    expect(httpStatusFor(new ValidationError('x'))).toBe(400);
  });

  it('an alert that fails or hangs never changes the answer', async () => {
    const { res, r } = fakeResponse();
    await sendHttpError(res, logger(), grpcError(7), {
      alerter: () => Promise.reject(new Error('Firestore down')),
    });
    expect(r).toEqual({ statusCode: 503, body: UNAVAILABLE_BODY });
  });
});

describe('runEventHandler', () => {
  it('acknowledges a ValidationError (not retried, not alerted)', async () => {
    const alerter = vi.fn(() => Promise.resolve());
    await expect(
      runEventHandler(logger(), () => Promise.reject(new ValidationError('bad')), { alerter }),
    ).resolves.toBeUndefined();
    expect(alerter).not.toHaveBeenCalled();
  });

  it.each([
    ['PERMISSION_DENIED', grpcError(7)],
    ['a Secret Manager PERMISSION_DENIED as mapped', secretError(grpcError(7), 'webhook secret s')],
    ['HTTP 429', httpError(429)],
  ])('rethrows %s (retry) and reports it with its cause', async (_name, err) => {
    const alerter = vi.fn(() => Promise.resolve());
    await expect(runEventHandler(logger(), () => Promise.reject(err), { fn: 'g.f', alerter })).rejects.toBe(
      err,
    );
    expect(alerter).toHaveBeenCalledWith(
      expect.objectContaining({ fn: 'g.f', cause: infrastructureCause(err) }),
    );
  });

  it('rethrows other errors without an infrastructure alert', async () => {
    const alerter = vi.fn(() => Promise.resolve());
    const err = new TransientError('contention');
    await expect(runEventHandler(logger(), () => Promise.reject(err), { alerter })).rejects.toBe(err);
    expect(alerter).not.toHaveBeenCalled();
  });
});

describe('infraAlertKey: one key per (function, cause) and hour', () => {
  const t = Date.UTC(2026, 11, 4, 23, 10);
  it('is the same within the hour and differs across hours, functions and causes', () => {
    const f = { fn: 'webhooks.githubWebhook', cause: 'PERMISSION_DENIED' };
    expect(infraAlertKey(f, t)).toBe('webhooks.githubWebhook:PERMISSION_DENIED:2026-12-04T23:00:00.000Z');
    expect(infraAlertKey(f, t + 49 * 60_000)).toBe(infraAlertKey(f, t));
    expect(infraAlertKey(f, t + INFRA_ALERT_WINDOW_MS)).not.toBe(infraAlertKey(f, t));
    expect(infraAlertKey({ ...f, cause: 'UNAVAILABLE' }, t)).not.toBe(infraAlertKey(f, t));
    expect(infraAlertKey({ ...f, fn: 'health.status' }, t)).not.toBe(infraAlertKey(f, t));
  });
});
