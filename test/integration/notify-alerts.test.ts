// notifyAlerts, wrapped with firebase-functions-test: valid alerts are logged at their severity; invalid ones are
// refused with the field named and acknowledged (not retried).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLogSink } from '../../functions/src/adapters/logger';
import { notifyAlerts } from '../../functions/src/triggers/notify-alerts';
import { fnRequire } from '../support/functions-require';

const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
const ft = (fnRequire('firebase-functions-test') as typeof import('firebase-functions-test'))({
  projectId: 'demo-fireops',
});

beforeAll(() => setLogSink((level, message, fields) => lines.push({ level, message, fields })));
afterAll(() => {
  setLogSink(undefined);
  ft.cleanup();
});

const alert = {
  alertId: 'a-1',
  severity: 'critical',
  kind: 'test.alert',
  title: 'Something broke',
  text: 'details',
  target: 'flags/x',
  correlationId: 'c-1',
  atMs: 1,
};

describe('notifyAlerts', () => {
  it('logs a valid alert at its severity', async () => {
    lines.length = 0;
    await ft.wrap(notifyAlerts)({ data: { message: ft.pubsub.makeMessage(alert) } } as never);
    expect(lines).toEqual([expect.objectContaining({ level: 'error', message: 'ALERT Something broke' })]);
  });

  it('acknowledges an invalid alert with a warning naming the field (permanent: no retry)', async () => {
    lines.length = 0;
    await expect(
      ft.wrap(notifyAlerts)({
        data: { message: ft.pubsub.makeMessage({ ...alert, severity: 'loud' }) },
      } as never),
    ).resolves.toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe('warn');
    expect(String(lines[0]!.fields.error)).toContain("field 'severity' must be one of");
  });
});
