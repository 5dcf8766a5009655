// The Google Cloud calls the CLI makes, behind one narrow interface so checks and bootstrap steps read as what
// they do, and tests drive them against the local suite. Built from the same clients the functions use, pointed
// at the stand-ins by the same variables (SECRET_MANAGER_EMULATOR_HOST, STORAGE_EMULATOR_HOST,
// FIRESTORE_ADMIN_EMULATOR_HOST, PUBSUB_EMULATOR_HOST, FIREBASE_AUTH_EMULATOR_HOST).
//
// The optional members are the APIs the local suite has no stand-in for (Service Usage, Cloud Resource Manager,
// Pub/Sub IAM, Firebase Rules, Firestore indexes and TTL): `localApis` leaves them out, and a check that needs one
// reports "skipped locally" in local mode and fails in production mode.
import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import type { Storage } from '@google-cloud/storage';
import type { PubSub } from '@google-cloud/pubsub';
import type { v1 } from '@google-cloud/firestore';
import type { Auth } from 'firebase-admin/auth';
import { claimsWithRole, claimsWithoutRole, roleOf, type Role } from '../platform/domain/roles';
import type { GoogleAuth } from 'google-auth-library';
import { emulatorClientOptions } from '../platform/secret-manager';

export interface Binding {
  role: string;
  members: string[];
}

export interface SecretInfo {
  labels: Record<string, string>;
  aliases: Record<string, number>;
  etag: string;
}

export interface CliApis {
  getSecret(id: string): Promise<SecretInfo | undefined>;
  /** Enabled version numbers, oldest first. */
  enabledVersions(id: string): Promise<number[]>;
  createSecret(id: string, labels: Record<string, string>): Promise<void>;
  addVersion(id: string, data: Buffer): Promise<number>;
  setAliases(id: string, aliases: Record<string, number>, etag: string): Promise<void>;
  getSecretPolicy(id: string): Promise<Binding[]>;
  setSecretPolicy(id: string, bindings: Binding[]): Promise<void>;
  /** The subset of `permissions` `member` holds on the secret, asked as that member. */
  testSecretPermissions(id: string, member: string, permissions: string[]): Promise<string[]>;

  getDatabase(id: string): Promise<{ locationId: string } | undefined>;
  createDatabase(id: string, locationId: string): Promise<void>;

  getBucket(name: string): Promise<
    | {
        location: string;
        lifecycle: unknown;
        retentionPolicy?: { retentionPeriod: string; isLocked?: boolean } | undefined;
      }
    | undefined
  >;
  /** `retentionPeriodSeconds`: a retention policy (not locked: locking is a person's irreversible decision). */
  createBucket(
    name: string,
    location: string,
    lifecycle: unknown,
    retentionPeriodSeconds?: number,
  ): Promise<void>;
  getBucketPolicy(name: string): Promise<Binding[]>;
  setBucketPolicy(name: string, bindings: Binding[]): Promise<void>;
  testBucketPermissions(name: string, member: string, permissions: string[]): Promise<string[]>;

  topicExists(topic: string): Promise<boolean>;
  createTopic(topic: string): Promise<void>;

  /** Emails of users whose custom claims make them 'admin' (`role: 'admin'` or the legacy `admin: true`). */
  adminUsers(): Promise<string[]>;
  /** Grants or revokes a role (platform/domain/roles.ts); the other custom claims are kept. */
  setRoleClaim(
    email: string,
    change: { grant: Role } | { revoke: Role },
  ): Promise<{ uid: string; before: Role | null; after: Role | null }>;

  // Not answered by the local suite (see the header).
  projectNumber?(): Promise<string>;
  enabledApis?(): Promise<string[]>;
  testProjectPermissions?(member: string, permissions: string[]): Promise<string[]>;
  /** The project's IAM bindings, conditions included (policy version 3); absent locally. */
  getProjectPolicy?(): Promise<{ role: string; members: string[]; condition?: { expression?: string } }[]>;
  getTopicPolicy?(topic: string): Promise<Binding[]>;
  testTopicPermissions?(topic: string, member: string, permissions: string[]): Promise<string[]>;
  setTopicPolicy?(topic: string, bindings: Binding[]): Promise<void>;
  deployedRulesSource?(): Promise<string | undefined>;
  /** Composite indexes as `collectionGroup:field1 ASC,field2 DESC`. */
  compositeIndexes?(database: string): Promise<string[]>;
  /** `collectionGroup.field` of each active TTL policy. */
  ttlFields?(database: string): Promise<string[]>;
}

const NOT_FOUND = 5;
const isNotFound = (err: unknown) =>
  (err as { code?: number }).code === NOT_FOUND || (err as { code?: number }).code === 404;

/** The caller-naming header the stand-ins honour (emulators/secret-manager/README.md, Control API). */
export const PRINCIPAL_HEADER = 'x-fireops-principal';

interface Clients {
  project: string;
  secrets: SecretManagerServiceClient;
  storage: Storage;
  pubsub: PubSub;
  firestoreAdmin: InstanceType<typeof v1.FirestoreAdminClient>;
  auth: Auth;
}

function buildClients(project: string, env: NodeJS.ProcessEnv, auth: Auth): Clients {
  /* eslint-disable @typescript-eslint/no-require-imports -- the CLI loads what the command needs */
  const { SecretManagerServiceClient: SecretClient } =
    require('@google-cloud/secret-manager') as typeof import('@google-cloud/secret-manager');
  const { Storage: StorageClient } =
    require('@google-cloud/storage') as typeof import('@google-cloud/storage');
  const { PubSub: PubSubClient } = require('@google-cloud/pubsub') as typeof import('@google-cloud/pubsub');
  const { v1: firestoreV1 } = require('@google-cloud/firestore') as typeof import('@google-cloud/firestore');
  /* eslint-enable @typescript-eslint/no-require-imports */
  return {
    project,
    secrets: new SecretClient({
      projectId: project,
      ...emulatorClientOptions(env.SECRET_MANAGER_EMULATOR_HOST),
    }),
    storage: new StorageClient({
      projectId: project,
      ...(env.STORAGE_EMULATOR_HOST ? { apiEndpoint: env.STORAGE_EMULATOR_HOST } : {}),
    }),
    pubsub: new PubSubClient({ projectId: project }),
    firestoreAdmin: new firestoreV1.FirestoreAdminClient({
      projectId: project,
      ...emulatorClientOptions(env.FIRESTORE_ADMIN_EMULATOR_HOST),
    }),
    auth,
  };
}

/** The APIs every mode has: Secret Manager, Firestore databases, Storage, Pub/Sub topics, Auth. */
function commonApis(c: Clients, testAs: TestAs): CliApis {
  const secretName = (id: string) => `projects/${c.project}/secrets/${id}`;
  return {
    async getSecret(id) {
      try {
        const [s] = await c.secrets.getSecret({ name: secretName(id) });
        return {
          labels: s.labels ?? {},
          aliases: Object.fromEntries(Object.entries(s.versionAliases ?? {}).map(([k, v]) => [k, Number(v)])),
          etag: s.etag ?? '',
        };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async enabledVersions(id) {
      const [versions] = await c.secrets.listSecretVersions({
        parent: secretName(id),
        filter: 'state:ENABLED',
      });
      return versions.map((v) => Number(v.name?.split('/').pop())).sort((a, b) => a - b);
    },
    async createSecret(id, labels) {
      await c.secrets.createSecret({
        parent: `projects/${c.project}`,
        secretId: id,
        secret: { labels, replication: { automatic: {} } },
      });
    },
    async addVersion(id, data) {
      const [v] = await c.secrets.addSecretVersion({ parent: secretName(id), payload: { data } });
      return Number(v.name?.split('/').pop());
    },
    async setAliases(id, aliases, etag) {
      await c.secrets.updateSecret({
        secret: { name: secretName(id), versionAliases: aliases, etag },
        updateMask: { paths: ['version_aliases'] },
      });
    },
    async getSecretPolicy(id) {
      const [policy] = await c.secrets.getIamPolicy({ resource: secretName(id) });
      return (policy.bindings ?? []).map((b) => ({ role: b.role ?? '', members: b.members ?? [] }));
    },
    async setSecretPolicy(id, bindings) {
      await c.secrets.setIamPolicy({ resource: secretName(id), policy: { bindings } });
    },
    testSecretPermissions: (id, member, permissions) => testAs.secret(secretName(id), member, permissions),

    async getDatabase(id) {
      try {
        const [d] = await c.firestoreAdmin.getDatabase({ name: `projects/${c.project}/databases/${id}` });
        return { locationId: d.locationId ?? '' };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async createDatabase(id, locationId) {
      const [op] = await c.firestoreAdmin.createDatabase({
        parent: `projects/${c.project}`,
        databaseId: id,
        database: { locationId, type: 'FIRESTORE_NATIVE' },
      });
      // The real API creates in the background; wait for it (the stand-in answers done at once).
      if (!op.done) await op.promise();
    },

    async getBucket(name) {
      try {
        const [m] = await c.storage.bucket(name).getMetadata();
        const r = m.retentionPolicy as { retentionPeriod?: string | number; isLocked?: unknown } | undefined;
        return {
          location: String(m.location ?? ''),
          lifecycle: m.lifecycle,
          retentionPolicy: r
            ? { retentionPeriod: String(r.retentionPeriod ?? ''), isLocked: r.isLocked === true }
            : undefined,
        };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async createBucket(name, location, lifecycle, retentionPeriodSeconds) {
      await c.storage.createBucket(name, {
        location,
        lifecycle: lifecycle as never,
        ...(retentionPeriodSeconds ? { retentionPolicy: { retentionPeriod: retentionPeriodSeconds } } : {}),
        iamConfiguration: { uniformBucketLevelAccess: { enabled: true } },
      });
    },
    async getBucketPolicy(name) {
      const [policy] = await c.storage.bucket(name).iam.getPolicy({ requestedPolicyVersion: 3 });
      return (policy.bindings ?? []).map((b) => ({ role: b.role, members: b.members ?? [] }));
    },
    async setBucketPolicy(name, bindings) {
      await c.storage.bucket(name).iam.setPolicy({ bindings });
    },
    testBucketPermissions: (name, member, permissions) => testAs.bucket(name, member, permissions),

    async topicExists(topic) {
      const [exists] = await c.pubsub.topic(topic).exists();
      return exists;
    },
    async createTopic(topic) {
      await c.pubsub
        .topic(topic)
        .create()
        .catch((e: { code?: number }) => {
          if (e.code !== 6) throw e; // ALREADY_EXISTS: created meanwhile
        });
    },

    async adminUsers() {
      const out: string[] = [];
      let pageToken: string | undefined;
      do {
        const page = await c.auth.listUsers(1000, pageToken);
        for (const u of page.users) if (roleOf(u.customClaims) === 'admin') out.push(u.email ?? u.uid);
        pageToken = page.pageToken;
      } while (pageToken);
      return out;
    },
    async setRoleClaim(email, change) {
      const user = await c.auth.getUserByEmail(email);
      const claims = { ...(user.customClaims ?? {}) };
      const next =
        'grant' in change ? claimsWithRole(claims, change.grant) : claimsWithoutRole(claims, change.revoke);
      await c.auth.setCustomUserClaims(user.uid, next);
      return { uid: user.uid, before: roleOf(claims), after: roleOf(next) };
    },
  };
}

/** How a permission test is asked as another member. */
interface TestAs {
  secret(name: string, member: string, permissions: string[]): Promise<string[]>;
  bucket(name: string, member: string, permissions: string[]): Promise<string[]>;
}

/**
 * Against the local suite: the stand-ins answer testIamPermissions for the member named by the
 * `x-fireops-principal` header (the real APIs answer for the caller's credentials).
 */
export function localApis(project: string, env: NodeJS.ProcessEnv, auth: Auth): CliApis {
  const c = buildClients(project, env, auth);
  return commonApis(c, {
    async secret(name, member, permissions) {
      const [r] = await c.secrets.testIamPermissions(
        { resource: name, permissions },
        { otherArgs: { headers: { [PRINCIPAL_HEADER]: member } } },
      );
      return r.permissions ?? [];
    },
    async bucket(name, member, permissions) {
      const url = `${env.STORAGE_EMULATOR_HOST}/b/${encodeURIComponent(name)}/iam/testPermissions?${permissions
        .map((p) => `permissions=${encodeURIComponent(p)}`)
        .join('&')}`;
      const res = await fetch(url, { headers: { [PRINCIPAL_HEADER]: member } });
      if (!res.ok) throw new Error(`testPermissions on bucket ${name}: HTTP ${res.status}`);
      return ((await res.json()) as { permissions?: string[] }).permissions ?? [];
    },
  });
}

/**
 * Against a real project: permission tests run as the function's service account through short-lived impersonated
 * credentials (the operator needs roles/iam.serviceAccountTokenCreator on it), and the APIs without a stand-in are
 * called over REST with the operator's application default credentials.
 */
export function productionApis(project: string, env: NodeJS.ProcessEnv, auth: Auth): CliApis {
  const c = buildClients(project, env, auth);
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded by the command that needs it */
  const gal = require('google-auth-library') as typeof import('google-auth-library');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const scopes = ['https://www.googleapis.com/auth/cloud-platform'];
  const operator: GoogleAuth = new gal.GoogleAuth({ scopes });
  const impersonated = async (member: string) =>
    new gal.Impersonated({
      sourceClient: await operator.getClient(),
      targetPrincipal: member.replace(/^serviceAccount:/, ''),
      targetScopes: scopes,
      lifetime: 300,
    });
  async function rest<T>(
    url: string,
    init: { method?: string; body?: unknown } = {},
    as?: string,
  ): Promise<T> {
    const client = as ? await impersonated(as) : await operator.getClient();
    const res = await client.request<T>({
      url,
      method: init.method ?? 'GET',
      ...(init.body ? { data: init.body } : {}),
    });
    return res.data;
  }
  const testAs: TestAs = {
    async secret(name, member, permissions) {
      const r = await rest<{ permissions?: string[] }>(
        `https://secretmanager.googleapis.com/v1/${name}:testIamPermissions`,
        { method: 'POST', body: { permissions } },
        member,
      );
      return r.permissions ?? [];
    },
    async bucket(name, member, permissions) {
      const q = permissions.map((p) => `permissions=${encodeURIComponent(p)}`).join('&');
      const r = await rest<{ permissions?: string[] }>(
        `https://storage.googleapis.com/storage/v1/b/${encodeURIComponent(name)}/iam/testPermissions?${q}`,
        {},
        member,
      );
      return r.permissions ?? [];
    },
  };
  return {
    ...commonApis(c, testAs),
    async projectNumber() {
      const r = await rest<{ projectNumber: string }>(
        `https://cloudresourcemanager.googleapis.com/v1/projects/${project}`,
      );
      return r.projectNumber;
    },
    async enabledApis() {
      const out: string[] = [];
      let pageToken = '';
      do {
        const r = await rest<{ services?: { config?: { name?: string } }[]; nextPageToken?: string }>(
          `https://serviceusage.googleapis.com/v1/projects/${project}/services?filter=state:ENABLED&pageSize=200${
            pageToken ? `&pageToken=${pageToken}` : ''
          }`,
        );
        for (const s of r.services ?? []) if (s.config?.name) out.push(s.config.name);
        pageToken = r.nextPageToken ?? '';
      } while (pageToken);
      return out;
    },
    async testProjectPermissions(member, permissions) {
      const r = await rest<{ permissions?: string[] }>(
        `https://cloudresourcemanager.googleapis.com/v1/projects/${project}:testIamPermissions`,
        { method: 'POST', body: { permissions } },
        member,
      );
      return r.permissions ?? [];
    },
    async getProjectPolicy() {
      const r = await rest<{
        bindings?: { role?: string; members?: string[]; condition?: { expression?: string } }[];
      }>(`https://cloudresourcemanager.googleapis.com/v1/projects/${project}:getIamPolicy`, {
        method: 'POST',
        body: { options: { requestedPolicyVersion: 3 } },
      });
      return (r.bindings ?? []).map((b) => ({
        role: b.role ?? '',
        members: b.members ?? [],
        ...(b.condition ? { condition: b.condition } : {}),
      }));
    },
    async testTopicPermissions(topic, member, permissions) {
      const r = await rest<{ permissions?: string[] }>(
        `https://pubsub.googleapis.com/v1/projects/${project}/topics/${topic}:testIamPermissions`,
        { method: 'POST', body: { permissions } },
        member,
      );
      return r.permissions ?? [];
    },
    async getTopicPolicy(topic) {
      const [policy] = await c.pubsub.topic(topic).iam.getPolicy();
      return (policy.bindings ?? []).map((b) => ({ role: b.role ?? '', members: b.members ?? [] }));
    },
    async setTopicPolicy(topic, bindings) {
      await c.pubsub.topic(topic).iam.setPolicy({ bindings });
    },
    async deployedRulesSource() {
      const release: { rulesetName?: string } = await rest<{ rulesetName?: string }>(
        `https://firebaserules.googleapis.com/v1/projects/${project}/releases/cloud.firestore`,
      ).catch((err: unknown) => {
        if (isNotFound(err) || (err as { status?: number }).status === 404) return {};
        throw err;
      });
      if (!release.rulesetName) return undefined;
      const ruleset = await rest<{ source?: { files?: { content?: string }[] } }>(
        `https://firebaserules.googleapis.com/v1/${release.rulesetName}`,
      );
      return ruleset.source?.files?.[0]?.content;
    },
    async compositeIndexes(database) {
      const [indexes] = await c.firestoreAdmin.listIndexes({
        parent: `projects/${project}/databases/${database}/collectionGroups/-`,
      });
      return indexes
        .filter((i) => i.state === 'READY')
        .map((i) => indexKey(i.name?.split('/')[5] ?? '', i.fields ?? []));
    },
    async ttlFields(database) {
      const [fields] = await c.firestoreAdmin.listFields({
        parent: `projects/${project}/databases/${database}/collectionGroups/-`,
        filter: 'ttlConfig:*',
      });
      return fields
        .filter((f) => String(f.ttlConfig?.state) === 'ACTIVE')
        .map((f) => {
          const parts = (f.name ?? '').split('/');
          return `${parts[5]}.${parts[7]}`;
        });
    },
  };
}

/** A comparable key for a composite index (the same for firestore.indexes.json and the API). */
export function indexKey(
  collectionGroup: string,
  fields: { fieldPath?: string | null; order?: string | number | null; arrayConfig?: unknown }[],
): string {
  const f = fields
    .filter((x) => x.fieldPath !== '__name__')
    .map((x) => `${x.fieldPath} ${x.arrayConfig ? 'CONTAINS' : (x.order ?? 'ASCENDING')}`);
  return `${collectionGroup}:${f.join(',')}`;
}
