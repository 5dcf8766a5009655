// Tests for the local Secret Manager emulator (emulators/secret-manager/server.mjs), driven through the real,
// unmodified SecretManagerServiceClient. The emulator runs in-process on a free port; the
// SECRET_MANAGER_EMULATOR_HOST the integration setup insists on is not used here.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { crc32c } from '../../emulators/shared/crc32c.mjs';
import { startSecretManagerEmulator } from '../../emulators/secret-manager/server.mjs';

const PROJECT = 'demo-fireops';
const PARENT = `projects/${PROJECT}`;
const SERVER_PATH = fileURLToPath(new URL('../../emulators/secret-manager/server.mjs', import.meta.url));

const SEED = {
  projects: {
    [PROJECT]: {
      projectNumber: '123456789012',
      secrets: {
        'seeded-api-key': {
          labels: { team: 'ops' },
          annotations: { owner: 'fireops' },
          versionAliases: { current: 2 },
          versions: [
            { data: 'old-key' },
            { data: { base64: Buffer.from('new-key').toString('base64') } },
            { data: 'gone', state: 'DESTROYED' as const },
            { data: 'off', state: 'DISABLED' as const },
          ],
        },
      },
    },
  },
};

type Emulator = Awaited<ReturnType<typeof startSecretManagerEmulator>>;

function newClient(port: number) {
  return new SecretManagerServiceClient({
    apiEndpoint: '127.0.0.1',
    port,
    sslCreds: grpc.credentials.createInsecure(),
    projectId: PROJECT,
    // Optional: stops google-auth-library probing for Application Default Credentials / the GCE metadata
    // server to learn the universe domain. Insecure sslCreds already mean no credentials are sent.
    universeDomain: 'googleapis.com',
  });
}

let emulator: Emulator;
let client: SecretManagerServiceClient;

beforeAll(async () => {
  emulator = await startSecretManagerEmulator({ port: 0, seed: SEED });
  client = newClient(emulator.port);
});

afterAll(async () => {
  await client?.close();
  await emulator?.close();
});

beforeEach(() => {
  emulator.reset();
});

const automatic = { replication: { automatic: {} } };

async function createSecret(secretId: string, secret: Record<string, unknown> = {}) {
  const [created] = await client.createSecret({
    parent: PARENT,
    secretId,
    secret: { ...automatic, ...secret },
  });
  return created;
}

async function addVersion(secretName: string, data: string) {
  const [version] = await client.addSecretVersion({
    parent: secretName,
    payload: { data: Buffer.from(data) },
  });
  return version;
}

async function access(name: string) {
  const [response] = await client.accessSecretVersion({ name });
  return { name: response.name, data: Buffer.from(response.payload?.data ?? '').toString('utf8') };
}

describe('secrets', () => {
  it('creates, gets, lists, updates and deletes a secret', async () => {
    const created = await createSecret('db-password', { labels: { env: 'test' } });
    expect(created).toMatchObject({
      name: `${PARENT}/secrets/db-password`,
      labels: { env: 'test' },
      replication: { automatic: {} },
    });
    expect(Number(created.createTime?.seconds)).toBeGreaterThan(0);
    expect(created.etag).toMatch(/^".+"$/);

    const [got] = await client.getSecret({ name: `${PARENT}/secrets/db-password` });
    expect(got).toMatchObject({ name: created.name, labels: { env: 'test' }, etag: created.etag });

    const [listed] = await client.listSecrets({ parent: PARENT });
    expect(listed.map((s) => s.name)).toEqual([created.name, `${PARENT}/secrets/seeded-api-key`]);

    const [updated] = await client.updateSecret({
      secret: { name: created.name, labels: { env: 'prod' }, annotations: { 'fireops.io_owner': 'ops' } },
      updateMask: { paths: ['labels', 'annotations'] },
    });
    expect(updated).toMatchObject({ labels: { env: 'prod' }, annotations: { 'fireops.io_owner': 'ops' } });
    expect(updated.etag).not.toBe(created.etag);
    const [reread] = await client.getSecret({ name: created.name });
    expect(reread.labels).toEqual({ env: 'prod' });

    await client.deleteSecret({ name: created.name });
    await expect(client.getSecret({ name: created.name })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
    await expect(client.deleteSecret({ name: created.name })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
  });

  it('refuses a duplicate secret id with ALREADY_EXISTS', async () => {
    await createSecret('dup');
    await expect(createSecret('dup')).rejects.toMatchObject({ code: grpc.status.ALREADY_EXISTS });
  });

  it('refuses bad secret ids, bad parents and missing replication with INVALID_ARGUMENT', async () => {
    const bad = [
      () => client.createSecret({ parent: PARENT, secretId: 'has spaces', secret: automatic }),
      () => client.createSecret({ parent: PARENT, secretId: 'dots.not.allowed', secret: automatic }),
      () => client.createSecret({ parent: PARENT, secretId: 'x'.repeat(256), secret: automatic }),
      () => client.createSecret({ parent: PARENT, secretId: '', secret: automatic }),
      () => client.createSecret({ parent: 'projects', secretId: 'ok', secret: automatic }),
      () => client.createSecret({ parent: 'folders/1', secretId: 'ok', secret: automatic }),
      () => client.createSecret({ parent: 'projects/Bad_Project', secretId: 'ok', secret: automatic }),
      () => client.createSecret({ parent: PARENT, secretId: 'no-replication', secret: {} }),
      () => client.createSecret({ parent: PARENT, secretId: 'no-secret' }),
      () =>
        client.createSecret({
          parent: PARENT,
          secretId: 'no-replicas',
          secret: { replication: { userManaged: { replicas: [] } } },
        }),
    ];
    for (const call of bad)
      await expect(call()).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    // A 255-character id is fine.
    await expect(createSecret('x'.repeat(255))).resolves.toMatchObject({
      name: `${PARENT}/secrets/${'x'.repeat(255)}`,
    });
    const [listed] = await client.listSecrets({ parent: PARENT });
    expect(listed).toHaveLength(2);
  });

  it('refuses malformed names with INVALID_ARGUMENT and unknown ones with NOT_FOUND', async () => {
    for (const name of [
      '',
      'secrets/x',
      `${PARENT}/secrets`,
      `${PARENT}/secrets/a/b`,
      `${PARENT}/secrets/bad.id`,
    ]) {
      await expect(client.getSecret({ name })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    }
    await expect(client.getSecret({ name: `${PARENT}/secrets/missing` })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
    await expect(
      client.getSecretVersion({ name: `${PARENT}/secrets/missing/versions/1` }),
    ).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
    await expect(
      client.accessSecretVersion({ name: `${PARENT}/secrets/seeded-api-key/versions/99` }),
    ).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(
      client.accessSecretVersion({ name: `${PARENT}/secrets/seeded-api-key/versions/no-such-alias` }),
    ).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(
      client.accessSecretVersion({ name: `${PARENT}/secrets/seeded-api-key/versions/0` }),
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await expect(client.listSecretVersions({ parent: `${PARENT}/secrets/missing` })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
    await createSecret('empty');
    await expect(
      client.accessSecretVersion({ name: `${PARENT}/secrets/empty/versions/latest` }),
    ).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('refuses an update whose etag does not match with ABORTED', async () => {
    const created = await createSecret('etagged');
    const [updated] = await client.updateSecret({
      secret: { name: created.name, labels: { a: '1' }, etag: created.etag },
      updateMask: { paths: ['labels'] },
    });
    // created.etag is now stale.
    await expect(
      client.updateSecret({
        secret: { name: created.name, labels: { a: '2' }, etag: created.etag },
        updateMask: { paths: ['labels'] },
      }),
    ).rejects.toMatchObject({ code: grpc.status.ABORTED });
    await expect(client.deleteSecret({ name: created.name, etag: '"bogus"' })).rejects.toMatchObject({
      code: grpc.status.ABORTED,
    });
    const [still] = await client.getSecret({ name: created.name });
    expect(still.labels).toEqual({ a: '1' });
    await client.deleteSecret({ name: created.name, etag: updated.etag });
    await expect(client.getSecret({ name: created.name })).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
  });

  it('refuses update masks over immutable or unknown fields and empty masks', async () => {
    const created = await createSecret('masked');
    for (const paths of [['replication'], ['name'], ['no_such_field'], []]) {
      await expect(
        client.updateSecret({ secret: { name: created.name, labels: { a: 'b' } }, updateMask: { paths } }),
      ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    }
  });

  it('lists secrets page by page', async () => {
    for (const id of ['p1', 'p2', 'p3', 'p4']) await createSecret(id);
    const [page1, next1, raw1] = await client.listSecrets(
      { parent: PARENT, pageSize: 3 },
      { autoPaginate: false },
    );
    expect(page1.map((s) => s.name?.split('/').pop())).toEqual(['p4', 'p3', 'p2']);
    expect(raw1?.totalSize).toBe(5);
    expect(next1?.pageToken).toBeTruthy();
    const [page2, next2] = await client.listSecrets(
      { parent: PARENT, pageSize: 3, pageToken: next1?.pageToken },
      { autoPaginate: false },
    );
    expect(page2.map((s) => s.name?.split('/').pop())).toEqual(['p1', 'seeded-api-key']);
    expect(next2).toBeNull();
    const [filtered] = await client.listSecrets({ parent: PARENT, filter: 'labels.team=ops' });
    expect(filtered.map((s) => s.name)).toEqual([`${PARENT}/secrets/seeded-api-key`]);
    await expect(
      client.listSecrets({ parent: PARENT, pageToken: 'not-a-token' }, { autoPaginate: false }),
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });
});

describe('versions', () => {
  it('numbers versions 1, 2, 3 and accesses them by number, latest and alias', async () => {
    const secret = await createSecret('versioned');
    const versions = [];
    for (const data of ['one', 'two', 'three']) versions.push(await addVersion(secret.name!, data));
    expect(versions.map((v) => v.name)).toEqual([1, 2, 3].map((n) => `${secret.name}/versions/${n}`));
    expect(versions.every((v) => v.state === 'ENABLED' && Number(v.createTime?.seconds) > 0)).toBe(true);

    expect(await access(`${secret.name}/versions/2`)).toEqual({
      name: `${secret.name}/versions/2`,
      data: 'two',
    });
    // `latest` resolves to the most recently created version; the response names it by number.
    expect(await access(`${secret.name}/versions/latest`)).toEqual({
      name: `${secret.name}/versions/3`,
      data: 'three',
    });

    await client.updateSecret({
      secret: { name: secret.name, versionAliases: { stable: 1 } },
      updateMask: { paths: ['version_aliases'] },
    });
    expect(await access(`${secret.name}/versions/stable`)).toEqual({
      name: `${secret.name}/versions/1`,
      data: 'one',
    });
    const [byAlias] = await client.getSecretVersion({ name: `${secret.name}/versions/stable` });
    expect(byAlias.name).toBe(`${secret.name}/versions/1`);
    const [reread] = await client.getSecret({ name: secret.name });
    expect(reread.versionAliases).toEqual({ stable: '1' });
  });

  it('returns a CRC32C with the payload and checks a client-supplied one', async () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    const secret = await createSecret('checksummed');
    const data = Buffer.from('payload');
    await expect(
      client.addSecretVersion({ parent: secret.name, payload: { data, dataCrc32c: crc32c(data) + 1 } }),
    ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    const [version] = await client.addSecretVersion({
      parent: secret.name,
      payload: { data, dataCrc32c: crc32c(data) },
    });
    expect(version).toMatchObject({
      name: `${secret.name}/versions/1`,
      clientSpecifiedPayloadChecksum: true,
    });
    const [response] = await client.accessSecretVersion({ name: version.name });
    expect(Number(response.payload?.dataCrc32c)).toBe(crc32c(data));
    // The refused version was not stored.
    const [listed] = await client.listSecretVersions({ parent: secret.name });
    expect(listed).toHaveLength(1);
  });

  it('refuses aliases to missing or destroyed versions and invalid alias names', async () => {
    const secret = await createSecret('aliased');
    await addVersion(secret.name!, 'one');
    await addVersion(secret.name!, 'two');
    await client.destroySecretVersion({ name: `${secret.name}/versions/2` });
    const badAliases: Record<string, number>[] = [
      { current: 3 },
      { current: 2 },
      { latest: 1 },
      { '1abc': 1 },
    ];
    for (const versionAliases of badAliases) {
      await expect(
        client.updateSecret({
          secret: { name: secret.name, versionAliases },
          updateMask: { paths: ['version_aliases'] },
        }),
      ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    }
    await expect(createSecret('aliased-at-birth', { versionAliases: { current: 1 } })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    const [reread] = await client.getSecret({ name: secret.name });
    expect(reread.versionAliases).toEqual({});
  });

  it('disables, re-enables and destroys a version', async () => {
    const secret = await createSecret('lifecycle');
    const v1 = await addVersion(secret.name!, 'secret-data');
    const name = v1.name!;

    const [disabled] = await client.disableSecretVersion({ name });
    expect(disabled.state).toBe('DISABLED');
    await expect(client.accessSecretVersion({ name })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
    });
    await expect(
      client.accessSecretVersion({ name: `${secret.name}/versions/latest` }),
    ).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
    });

    const [enabled] = await client.enableSecretVersion({ name });
    expect(enabled.state).toBe('ENABLED');
    expect(await access(name)).toEqual({ name, data: 'secret-data' });

    const [destroyed] = await client.destroySecretVersion({ name });
    expect(destroyed.state).toBe('DESTROYED');
    expect(Number(destroyed.destroyTime?.seconds)).toBeGreaterThan(0);
    await expect(client.accessSecretVersion({ name })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
    });
    // The payload is gone from the emulator's memory, and a destroyed version cannot come back.
    const record = emulator.state.secrets.get(`${PARENT}/secrets/lifecycle`);
    expect(record?.versions[0]?.data).toBeNull();
    await expect(client.enableSecretVersion({ name })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
    });
    await expect(client.destroySecretVersion({ name })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
    });
    const [metadata] = await client.getSecretVersion({ name });
    expect(metadata.state).toBe('DESTROYED');
  });

  it('refuses version state changes whose etag does not match with ABORTED', async () => {
    const secret = await createSecret('version-etag');
    const v1 = await addVersion(secret.name!, 'x');
    const [disabled] = await client.disableSecretVersion({ name: v1.name, etag: v1.etag });
    expect(disabled.etag).not.toBe(v1.etag);
    await expect(client.enableSecretVersion({ name: v1.name, etag: v1.etag })).rejects.toMatchObject({
      code: grpc.status.ABORTED,
    });
    await expect(client.destroySecretVersion({ name: v1.name, etag: '"nope"' })).rejects.toMatchObject({
      code: grpc.status.ABORTED,
    });
    const [enabled] = await client.enableSecretVersion({ name: v1.name, etag: disabled.etag });
    expect(enabled.state).toBe('ENABLED');
  });

  it('refuses to destroy a version an alias points to with FAILED_PRECONDITION', async () => {
    const name = `${PARENT}/secrets/seeded-api-key/versions/2`;
    await expect(client.destroySecretVersion({ name })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
    });
    await client.updateSecret({
      secret: { name: `${PARENT}/secrets/seeded-api-key`, versionAliases: {} },
      updateMask: { paths: ['version_aliases'] },
    });
    const [destroyed] = await client.destroySecretVersion({ name });
    expect(destroyed.state).toBe('DESTROYED');
  });

  it('lists versions newest first, page by page, with a state filter', async () => {
    const secret = await createSecret('many');
    for (let i = 1; i <= 5; i++) await addVersion(secret.name!, `v${i}`);
    await client.disableSecretVersion({ name: `${secret.name}/versions/4` });

    const [page1, next1, raw1] = await client.listSecretVersions(
      { parent: secret.name, pageSize: 2 },
      { autoPaginate: false },
    );
    expect(page1.map((v) => v.name?.split('/').pop())).toEqual(['5', '4']);
    expect(raw1?.totalSize).toBe(5);
    const [page2, next2] = await client.listSecretVersions(
      { parent: secret.name, pageSize: 2, pageToken: next1?.pageToken },
      { autoPaginate: false },
    );
    expect(page2.map((v) => v.name?.split('/').pop())).toEqual(['3', '2']);
    const [page3, next3] = await client.listSecretVersions(
      { parent: secret.name, pageSize: 2, pageToken: next2?.pageToken },
      { autoPaginate: false },
    );
    expect(page3.map((v) => v.name?.split('/').pop())).toEqual(['1']);
    expect(next3).toBeNull();

    // The async iterator follows the page tokens to the end.
    const all = [];
    for await (const v of client.listSecretVersionsAsync(
      { parent: secret.name, pageSize: 2 },
      { autoPaginate: false },
    ))
      all.push(v.name);
    expect(all).toHaveLength(5);
    const [enabledOnly] = await client.listSecretVersions({ parent: secret.name, filter: 'state:ENABLED' });
    expect(enabledOnly.map((v) => v.name?.split('/').pop())).toEqual(['5', '3', '2', '1']);
  });
});

describe('seed', () => {
  const seeded = `${PARENT}/secrets/seeded-api-key`;

  it('loads secrets, versions, states and aliases from the seed, and reset() restores them', async () => {
    const [secret] = await client.getSecret({ name: seeded });
    expect(secret).toMatchObject({
      labels: { team: 'ops' },
      annotations: { owner: 'fireops' },
      versionAliases: { current: '2' },
      replication: { automatic: {} },
    });
    expect(await access(`${seeded}/versions/1`)).toMatchObject({ data: 'old-key' });
    expect(await access(`${seeded}/versions/current`)).toEqual({
      name: `${seeded}/versions/2`,
      data: 'new-key',
    });
    const [v3] = await client.getSecretVersion({ name: `${seeded}/versions/3` });
    expect(v3.state).toBe('DESTROYED');
    await expect(client.accessSecretVersion({ name: `${seeded}/versions/latest` })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
    });

    // The project number from the seed addresses the same secrets.
    expect(await access('projects/123456789012/secrets/seeded-api-key/versions/2')).toMatchObject({
      data: 'new-key',
    });

    await client.deleteSecret({ name: seeded });
    emulator.reset();
    expect(await access(`${seeded}/versions/current`)).toMatchObject({ data: 'new-key' });
  });

  it('rejects a seed whose alias points to a missing version', async () => {
    await expect(
      startSecretManagerEmulator({
        seed: {
          projects: {
            [PROJECT]: { secrets: { s: { versionAliases: { a: 2 }, versions: [{ data: 'x' }] } } },
          },
        },
      }),
    ).rejects.toThrow(/alias/);
  });

  it('runs from the command line with --port 0 and --seed <file>', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sm-emulator-'));
    const seedFile = path.join(dir, 'seed.json');
    writeFileSync(
      seedFile,
      JSON.stringify({
        projects: { [PROJECT]: { secrets: { 'from-file': { versions: [{ data: 'file-data' }] } } } },
      }),
    );
    const child = spawn(process.execPath, [SERVER_PATH, '--port', '0', '--seed', seedFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let cliClient: SecretManagerServiceClient | undefined;
    try {
      const address = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const m = /listening on (\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`emulator exited with ${code}: ${out}`)));
      });
      cliClient = newClient(Number(address.split(':').pop()));
      const [response] = await cliClient.accessSecretVersion({
        name: `${PARENT}/secrets/from-file/versions/latest`,
      });
      expect(Buffer.from(response.payload?.data ?? '').toString()).toBe('file-data');
    } finally {
      await cliClient?.close();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('IAM', () => {
  const SECRET = `${PARENT}/secrets/seeded-api-key`;
  const SA = 'serviceAccount:fn@demo-fireops.iam.gserviceaccount.com';
  const as = (member: string) => ({ otherArgs: { headers: { 'x-fireops-principal': member } } });

  it('keeps a policy per secret and answers TestIamPermissions for the member named in the header', async () => {
    const [empty] = await client.getIamPolicy({ resource: SECRET });
    expect(empty.bindings).toEqual([]);
    await client.setIamPolicy({
      resource: SECRET,
      policy: { bindings: [{ role: 'roles/secretmanager.secretAccessor', members: [SA] }] },
    });
    const [policy] = await client.getIamPolicy({ resource: SECRET });
    expect(policy.bindings).toMatchObject([{ role: 'roles/secretmanager.secretAccessor', members: [SA] }]);
    const asked = ['secretmanager.secrets.get', 'secretmanager.versions.access'];
    const [held] = await client.testIamPermissions({ resource: SECRET, permissions: asked }, as(SA));
    expect(held.permissions).toEqual(['secretmanager.versions.access']);
    // No header: the owner, who holds everything.
    const [owner] = await client.testIamPermissions({ resource: SECRET, permissions: asked });
    expect(owner.permissions).toEqual(asked);
  });

  it('enforces per-RPC permissions for a named caller only when asked', async () => {
    await client.setIamPolicy({
      resource: SECRET,
      policy: { bindings: [{ role: 'roles/secretmanager.secretAccessor', members: [SA] }] },
    });
    await expect(client.getSecret({ name: SECRET }, as(SA))).resolves.toBeTruthy();
    emulator.state.enforce = true;
    await expect(client.getSecret({ name: SECRET }, as(SA))).rejects.toMatchObject({
      code: grpc.status.PERMISSION_DENIED,
      details: `Permission 'secretmanager.secrets.get' denied for resource '${SECRET}' (or it may not exist).`,
    });
    await expect(
      client.accessSecretVersion({ name: `${SECRET}/versions/current` }, as(SA)),
    ).resolves.toBeTruthy();
    await expect(client.getSecret({ name: SECRET })).resolves.toBeTruthy();
    await expect(
      client.createSecret(
        { parent: PARENT, secretId: 'x', secret: { replication: { automatic: {} } } },
        as(SA),
      ),
    ).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
  });
});
