// verifyAuditLog through the Functions emulator, with ID tokens from the Auth emulator.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fnRequire } from '../support/functions-require';
import { appendAudit } from '../../functions/src/platform/audit-log';
import { FUNCTIONS_URL, PROJECT_ID, rest } from '../support/emulators';
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

/** AUDIT_ANCHOR_BUCKET of functions/.env.demo-fireops. */
const ANCHOR_BUCKET = 'demo-fireops-audit-anchors';

describe('verifyAuditLog', () => {
  beforeAll(async () => {
    const { Storage } = fnRequire('@google-cloud/storage');
    await new Storage({ projectId: PROJECT_ID })
      .createBucket(ANCHOR_BUCKET, { retentionPolicy: { retentionPeriod: 3600 } })
      .catch((err: any) => {
        if (err?.code !== 409) throw err;
      });
  });

  beforeEach(async () => {
    await rest.clear();
    // Anchors of earlier tests name streams the clear removed: reset the stand-in's folder (tests only).
    rmSync(path.join(process.env.FIREOPS_BUCKETS_DIR ?? '', ANCHOR_BUCKET, 'anchors'), {
      recursive: true,
      force: true,
    });
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

  it('answers in bounded pages: a log bigger than one page is verified across calls, each given the last cursor', async () => {
    await seedStream('vpages', 7);
    const admin = await idToken({ admin: true });
    let query = '?stream=vpages&pageSize=3';
    const answers: { entriesChecked: number; done: boolean }[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await call(query, admin);
      expect(res.status).toBe(200);
      expect(res.body.ok).toBe(true);
      answers.push(res.body);
      if (res.body.done) break;
      expect(res.body.next.cursor).toEqual(expect.any(String));
      query = `?stream=vpages&pageSize=3&cursor=${encodeURIComponent(res.body.next.cursor)}`;
    }
    expect(answers.length).toBeGreaterThan(2);
    expect(answers.reduce((sum: number, a) => sum + a.entriesChecked, 0)).toBe(7);
    expect(answers.at(-1)).toMatchObject({
      done: true,
      anchors: { configured: true },
      streams: [{ stream: 'vpages', ok: true, lastSeq: 7 }],
    });
    expect((await call('?cursor=garbage', admin)).status).toBe(400);
  });

  it('refuses an invalid stream name with 400', async () => {
    const res = await call('?stream=../etc', await idToken({ admin: true }));
    expect(res.status).toBe(400);
    expect(res.body.field).toBe('stream');
  });
});
