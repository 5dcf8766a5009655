// Secrets never enter Firestore (issue 13), through every health path: known canary values are written the ways
// an admin or a target could bring them in (credential headers inline, a key in the URL, a password in the body,
// a header secret read from Secret Manager and sent, credentials in a failing response quoted by a condition),
// probed through real cycles until incidents open and alerts are published; then every Firestore document and
// every log line is scanned for them. The admin's own healthChecks documents hold what the admin typed (fireops
// refuses them and copies nothing); they are the only documents left out of the scan.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleHealthCheckWrite } from '../../functions/src/health/catalog';
import { runProbeCycle } from '../../functions/src/health/engine';
import { probeAll } from '../../functions/src/health/probe';
import { accessSecretValue } from '../../functions/src/platform/secret-manager';
import { setLogSink } from '../../functions/src/platform/logger';
import { db } from '../../functions/src/platform/firestore';
import { allDocuments } from '../support/all-documents';
import { rest } from '../support/emulators';
import { createTestSecret, uniqueSecretId } from '../support/rotation';

const MINUTE = 60_000;
const RUN = Date.now().toString(36);
/** A canary value per path, shaped like what it stands for (the heuristic must not be what finds them here). */
const canary = (label: string, shape: (h: string) => string) =>
  shape(createHash('sha256').update(`${RUN}:${label}`).digest('base64url').slice(0, 32));
const C = {
  inlineByName: canary('inline-name', (h) => `plain-${h}`),
  inlineByValue: canary('inline-value', (h) => h),
  inUrl: canary('url', (h) => h),
  inBody: canary('body', (h) => `pw-${h}`),
  headerSecret: canary('header-secret', (h) => `hs-${h}`),
  answeredToken: canary('answered-token', (h) => `tok-${h}`),
  answeredKey: canary('answered-key', (h) => h),
  answeredBearer: canary('answered-bearer', (h) => `b-${h}`),
};
const SECRET_ID = uniqueSecretId('leak-probe');
const lines: string[] = [];
const headersSeen: string[] = [];
let server: Server;
let base = '';

beforeAll(async () => {
  setLogSink((level, message, fields) => lines.push(JSON.stringify({ level, message, fields })));
  server = createServer((req, res) => {
    headersSeen.push(String(req.headers['x-api-key'] ?? ''));
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        status: 'DOWN',
        token: C.answeredToken,
        apiKey: C.answeredKey,
        note: `Authorization: Bearer ${C.answeredBearer}`,
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await rest.clear();
  await db()
    .doc('settings/health')
    .set({ allowTargets: ['127.0.0.1'], reminderMinutes: 5 });
  await createTestSecret(SECRET_ID, [C.headerSecret], { alias: false });
});

afterAll(async () => {
  setLogSink(undefined);
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const check = (extra: Record<string, unknown>) => ({
  name: 'Leak scan',
  type: 'http',
  target: `${base}/health`,
  conditions: ['status == 200'],
  regions: ['europe-west1'],
  failureThreshold: 1,
  successThreshold: 1,
  timeoutMs: 2_000,
  ...extra,
});

let seq = 0;
const write = (checkId: string, after: Record<string, unknown>) => {
  seq += 1;
  return handleHealthCheckWrite(
    { id: `leak-${RUN}-${seq}`, checkId, authType: 'system', after, sourceTimeMs: Date.now() + seq },
    { nowMs: () => Date.now() },
    ['europe-west1'],
  );
};

describe('no health path stores a secret', () => {
  it('refuses credentials in definitions, probes with a header secret, quotes failures redacted; nothing leaks', async () => {
    // Edits that would bring a credential into Firestore: refused, by field, without the value.
    const refusals = await Promise.all([
      write(`leak-name-${RUN}`, check({ headers: { 'X-Api-Key': C.inlineByName } })),
      write(`leak-value-${RUN}`, check({ headers: { 'X-Custom': C.inlineByValue } })),
      write(`leak-url-${RUN}`, check({ target: `${base}/health?api_key=${C.inUrl}` })),
      write(
        `leak-body-${RUN}`,
        check({ method: 'POST', body: JSON.stringify({ user: 'probe', password: C.inBody }) }),
      ),
    ]);
    expect(refusals.map((r) => r.outcome)).toEqual(['refused', 'refused', 'refused', 'refused']);

    // Valid checks: the secret travels as a header; each condition fails on the answer in its own way.
    const probes = {
      [`leak-json-${RUN}`]: ['json $.token == "expected"'],
      [`leak-near-${RUN}`]: ['body !contains "apiKey"'],
      [`leak-preview-${RUN}`]: ['body contains "healthy"'],
    };
    for (const [id, conditions] of Object.entries(probes)) {
      expect(
        (await write(id, check({ conditions, headerSecrets: { 'X-Api-Key': SECRET_ID } }))).outcome,
      ).toBe('updated');
    }

    // Real cycles until the incidents open (threshold 1) and are reminded: cycle documents, statuses,
    // incidents, audit entries and alerts all written.
    const m0 = Math.floor(Date.now() / MINUTE) * MINUTE - 500 * MINUTE;
    for (let k = 0; k < 7; k++) {
      const minuteMs = m0 + k * MINUTE;
      const run = await runProbeCycle(
        { region: 'europe-west1', scheduleTime: new Date(minuteMs).toISOString() },
        {
          clock: { nowMs: () => minuteMs + 1_000 },
          regions: ['europe-west1'],
          concurrency: 5,
          allowCeiling: ['127.0.0.0/8'],
          probeAll,
          secretValue: async (id) => (await accessSecretValue(id, 'latest')).value,
        },
      );
      expect(run.outcome).toBe('ran');
    }
    expect(headersSeen).toContain(C.headerSecret); // the probe did send it
    const incidents = await db().collection('incidents').get();
    expect(incidents.size).toBeGreaterThanOrEqual(3);

    // The scan.
    const docs = (await allDocuments()).filter((d) => !d.path.startsWith('healthChecks/'));
    expect(docs.length).toBeGreaterThan(20);
    const leaks = docs.flatMap((d) =>
      Object.entries(C)
        .filter(([, v]) => d.json.includes(v))
        .map(([k]) => `${d.path} holds ${k}`),
    );
    expect(leaks).toEqual([]);
    expect(lines.length).toBeGreaterThan(5);
    const leakingLines = lines.filter((l) => Object.values(C).some((v) => l.includes(v)));
    expect(leakingLines).toEqual([]);
    // What the cycle documents' failure details say instead: the failure, redacted.
    const cycles = docs.filter((d) => d.path.startsWith('healthCycles/')).map((d) => d.json);
    expect(cycles.join('\n')).toContain('[REDACTED]');
  }, 120_000);
});
