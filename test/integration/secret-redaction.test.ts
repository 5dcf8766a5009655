// A known secret value goes through every flow that touches secrets; afterwards it is in no log line and no
// Firestore document. The value only ever lives in the Secret Manager emulator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../../functions/src/platform/audit-log';
import { log, setLogSink } from '../../functions/src/platform/logger';
import { runOnce } from '../../functions/src/platform/idempotency';
import { accessSecretValue, secretManager, secretName } from '../../functions/src/platform/secret-manager';
import { ValidationError } from '../../functions/src/platform/domain/errors';
import { allDocuments } from '../support/all-documents';
import { PROJECT_ID, rest, waitFor } from '../support/emulators';

const SECRET_ID = `redaction-${Date.now()}`;
const KNOWN_VALUE = `whsec-KNOWN-${Math.random().toString(36).slice(2)}-do-not-leak`;
const lines: string[] = [];

beforeAll(async () => {
  setLogSink((level, message, fields) => lines.push(JSON.stringify({ level, message, fields })));
  const client = secretManager();
  await client.createSecret({
    parent: `projects/${PROJECT_ID}`,
    secretId: SECRET_ID,
    secret: { replication: { automatic: {} } },
  });
  await client.addSecretVersion({
    parent: secretName(SECRET_ID),
    payload: { data: Buffer.from(KNOWN_VALUE) },
  });
});

afterAll(() => setLogSink(undefined));

describe('secret values never leave Secret Manager', () => {
  it('reads the value, then logs, errors, audits and admin edits around it without leaking it', async () => {
    const { value, version } = await accessSecretValue(SECRET_ID, 'latest');
    expect(value).toBe(KNOWN_VALUE);
    expect(version).toBe('1');

    // Careless code paths: the value in a message, a field, a nested object, an error and its stack.
    log.info(`signing with ${value}`, { value, nested: { deeper: [value] }, webhookSecret: 'x'.repeat(12) });
    log.error('signature check failed', { error: new Error(`HMAC with ${value} did not match`) });
    log.warn('config', { secretId: SECRET_ID, version });

    // A missing version names the version, never a value.
    const missing = await accessSecretValue(SECRET_ID, 7).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ValidationError);
    log.warn('read failed', { error: missing });

    // Audit entries and idempotent effects record what happened around the secret by version number.
    await appendAudit('secrets', {
      actor: { type: 'system', id: 'test' },
      action: 'secret.read',
      target: `secrets/${SECRET_ID}`,
      reason: `version ${version} read`,
      correlationId: 'redaction-test',
      details: { version },
    });
    await runOnce('command', `redaction-${SECRET_ID}`, () => Promise.resolve({ value: version }));

    // An admin pastes the value into a flag by mistake, in an invalid edit: the trigger reverts the document
    // and audits the attempt by field names and digest only.
    await rest.set(`flags/leak-${SECRET_ID}`, { enabled: true, rolloutPercent: 0, description: 'ok' });
    await waitFor(async () => (await rest.get(`flagState/leak-${SECRET_ID}`)) !== undefined, {
      what: 'flag accepted',
    });
    await rest.set(`flags/leak-${SECRET_ID}`, {
      enabled: true,
      rolloutPercent: 0,
      description: 'ok',
      note: KNOWN_VALUE,
    });
    await waitFor(async () => (await rest.get(`flags/leak-${SECRET_ID}`))?.note === undefined, {
      what: 'revert',
    });
    await waitFor(
      async () => {
        const docs = await allDocuments();
        return docs.some((d) => d.json.includes('flag.rejected')) ? docs : undefined;
      },
      { what: 'the rejection audit entry' },
    );

    expect(lines.length).toBeGreaterThanOrEqual(4);
    const leakingLines = lines.filter((l) => l.includes(KNOWN_VALUE));
    expect(leakingLines).toEqual([]);
    expect(lines.join('\n')).toContain('[REDACTED]');

    const docs = await allDocuments();
    expect(docs.length).toBeGreaterThan(3);
    expect(docs.filter((d) => d.json.includes(KNOWN_VALUE)).map((d) => d.path)).toEqual([]);
  });
});
