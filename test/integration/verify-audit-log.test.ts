// verifyAuditLog through the Functions emulator, with ID tokens from the Auth emulator.
import { beforeEach, describe, expect, it } from 'vitest';
import { appendAudit } from '../../functions/src/platform/audit-log';
import { FUNCTIONS_URL, rest } from '../support/emulators';
import { idToken } from '../support/auth';

const url = `${FUNCTIONS_URL}/platform-verifyAuditLog`;

async function call(query: string, token?: string) {
  const res = await fetch(`${url}${query}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const body: any = await res.json();
  return { status: res.status, body };
}

async function seedStream(stream: string, n: number) {
  for (let i = 1; i <= n; i++) {
    await appendAudit(stream, {
      actor: { type: 'system', id: 'test' },
      action: 'test.step',
      target: `tests/${i}`,
      reason: `step ${i}`,
      correlationId: `c-${i}`,
    });
  }
}

describe('verifyAuditLog', () => {
  beforeEach(async () => {
    await rest.clear();
  });

  it('refuses callers without a token (401), with a bad token (401) and without the admin claim (403)', async () => {
    expect((await call('')).status).toBe(401);
    expect((await call('', 'not-a-jwt')).status).toBe(401);
    expect((await call('', await idToken())).status).toBe(403);
    expect((await call('', await idToken({ role: 'root' }))).status).toBe(403);
  });

  it.each(['viewer', 'operator', 'securityAdmin', 'admin'])('a %s may verify', async (role) => {
    await seedStream('vrole', 1);
    const res = await call('?stream=vrole', await idToken({ role }));
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(true);
  });

  it('reports an intact stream as ok, and names the entry an admin edited in the console', async () => {
    await seedStream('vtest', 4);
    const admin = await idToken({ admin: true });
    const intact = await call('?stream=vtest', admin);
    expect(intact.status).toBe(200);
    expect(intact.body).toMatchObject({
      ok: true,
      streams: [{ stream: 'vtest', ok: true, checked: 4, lastSeq: 4 }],
    });

    const doc = await rest.get('auditLog/vtest-000000000002');
    const { __updateTime: _t, ...data } = doc!;
    await rest.set('auditLog/vtest-000000000002', { ...data, reason: 'nothing to see here' });
    const tampered = await call('', admin);
    expect(tampered.body.ok).toBe(false);
    // Other streams may exist (late trigger events of earlier tests); this one must be named broken.
    expect(tampered.body.streams.find((s: { stream: string }) => s.stream === 'vtest')).toEqual(
      expect.objectContaining({
        stream: 'vtest',
        ok: false,
        firstProblem: expect.objectContaining({ problem: 'hash-mismatch', seq: 2, id: 'vtest-000000000002' }),
      }),
    );
  });

  it('refuses an invalid stream name with 400', async () => {
    const res = await call('?stream=../etc', await idToken({ admin: true }));
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('stream');
  });
});
