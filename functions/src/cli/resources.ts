// The one list of what a fireops project needs outside `firebase deploy`: `doctor` checks each resource, and
// `bootstrap` creates those that are missing and can be created. A resource never deletes or replaces anything:
// a create adds (a resource, a version, an alias, a binding) and leaves the rest alone, so applying twice is a
// no-op the second time.
import crypto from 'node:crypto';
import type { Binding, CliApis } from './apis';
import { indexKey } from './apis';
import { accountEmail, describeResource, type IamMatrix, type IamResource } from './iam-contract';

export interface CliSettings {
  project: string;
  /** Local suite: checks whose API has no stand-in report "skipped locally" instead of failing. */
  local: boolean;
  /** Firestore location of both databases (e.g. `europe-west1`, `eur3`). */
  location: string;
  bucket: string;
  /** AUDIT_ANCHOR_BUCKET (empty or absent: the audit log is not anchored, which doctor reports). */
  anchorBucket?: string;
  webhookSecretId: string;
  githubTokenSecretId: string;
  drillDatabase: string;
  rotationTopic: string;
  topics: string[];
  /** The value bootstrap stores as the GitHub token's first version, when given (`--github-token-file`). */
  githubToken?: Buffer;
  /** Local firestore.rules source, compared with the deployed release. */
  rulesSource: string;
  /** Parsed firestore.indexes.json. */
  indexes: IndexesJson;
}

export interface IndexesJson {
  indexes?: {
    collectionGroup: string;
    fields: { fieldPath: string; order?: string; arrayConfig?: string }[];
  }[];
  fieldOverrides?: { collectionGroup: string; fieldPath: string; ttl?: boolean }[];
}

export type CheckResult =
  | { status: 'ok'; detail?: string }
  | { status: 'fail'; problem: string; fix: string }
  | { status: 'skip'; reason: string };

export interface Ctx {
  apis: CliApis;
  settings: CliSettings;
  iam: IamMatrix;
}

export interface Resource {
  describe: string;
  check(ctx: Ctx): Promise<CheckResult>;
  /** Creates what `check` found missing; absent when only a person can (the fix says how). */
  create?(ctx: Ctx): Promise<void>;
  /** What create would do, for the plan (defaults to "create <describe>"). */
  plan?: string;
}

const ok = (detail?: string): CheckResult => ({ status: 'ok', ...(detail ? { detail } : {}) });
const fail = (problem: string, fix: string): CheckResult => ({ status: 'fail', problem, fix });

/** A check whose API the local suite lacks: skipped locally (with the reason), a failure in production. */
async function needs<T>(
  ctx: Ctx,
  api: (() => Promise<T>) | undefined,
  why: string,
  then: (value: T) => CheckResult,
): Promise<CheckResult> {
  if (!api) {
    return ctx.settings.local
      ? { status: 'skip', reason: `skipped locally: ${why}` }
      : fail(`cannot check: ${why}`, 'run with credentials that can call this API');
  }
  return then(await api());
}

const REQUIRED_APIS = [
  'cloudfunctions.googleapis.com',
  'run.googleapis.com',
  'cloudbuild.googleapis.com',
  'artifactregistry.googleapis.com',
  'eventarc.googleapis.com',
  'pubsub.googleapis.com',
  'cloudscheduler.googleapis.com',
  'firestore.googleapis.com',
  'firebaserules.googleapis.com',
  'secretmanager.googleapis.com',
  'storage.googleapis.com',
  'iamcredentials.googleapis.com',
  'identitytoolkit.googleapis.com',
];

/** The project number locally: the stand-ins take any, so service agents are named with 0. */
const LOCAL_PROJECT_NUMBER = '0';

async function projectNumber(ctx: Ctx): Promise<string | undefined> {
  if (ctx.apis.projectNumber) return ctx.apis.projectNumber();
  return ctx.settings.local ? LOCAL_PROJECT_NUMBER : undefined;
}

/** Bucket location that keeps exports next to the database: multi-regions map, regions are equal. */
export function bucketLocationFor(databaseLocation: string): string {
  const multi: Record<string, string> = { nam5: 'US', eur3: 'EU' };
  return multi[databaseLocation] ?? databaseLocation.toUpperCase();
}

/** Roles granted to `member` by the matrix on `resource`. */
function rolesFor(iam: IamMatrix, account: string, resource: IamResource): string[] {
  return iam.grants
    .filter((g) => g.account === account && JSON.stringify(g.resource) === JSON.stringify(resource))
    .map((g) => g.role);
}

/** `bindings` with `member` added to each of `roles` (nothing removed). */
export function withMember(bindings: Binding[], member: string, roles: string[]): Binding[] {
  const out = bindings.map((b) => ({ role: b.role, members: [...b.members] }));
  for (const role of roles) {
    const b = out.find((x) => x.role === role);
    if (!b) out.push({ role, members: [member] });
    else if (!b.members.includes(member)) b.members.push(member);
  }
  return out;
}

const gcloudSecretAdd = (id: string) =>
  `printf %s "$VALUE" | gcloud secrets versions add ${id} --data-file=- (then \`fireops bootstrap --apply\`)`;

function databaseResource(id: string): Resource {
  return {
    describe: `Firestore database ${id}`,
    async check({ apis, settings }) {
      const d = await apis.getDatabase(id);
      if (!d) {
        return fail(
          `database ${id} does not exist`,
          `fireops bootstrap --apply (or gcloud firestore databases create --database='${id}' --location=${settings.location})`,
        );
      }
      return ok(`in ${d.locationId}`);
    },
    async create({ apis, settings }) {
      await apis.createDatabase(id, settings.location);
    },
  };
}

function secretExists(id: string, fixIfMissing: string): Resource {
  return {
    describe: `secret ${id}`,
    async check({ apis }) {
      return (await apis.getSecret(id)) ? ok() : fail(`secret ${id} does not exist`, fixIfMissing);
    },
    async create({ apis }) {
      await apis.createSecret(id, { fireops: 'managed' });
    },
  };
}

function webhookSecretAlias(id: string): Resource {
  return {
    describe: `secret ${id}: alias current`,
    plan: `add a random first version to ${id} if it has none, and point alias current at its latest enabled version`,
    async check({ apis }) {
      const s = await apis.getSecret(id);
      if (!s) return fail(`secret ${id} does not exist`, 'fireops bootstrap --apply');
      const current = s.aliases.current;
      const enabled = await apis.enabledVersions(id);
      if (current === undefined) {
        return fail(
          `secret ${id} has no alias current (githubWebhook verifies with current and previous)`,
          enabled.length
            ? `gcloud secrets update ${id} --update-version-aliases=current=${enabled[enabled.length - 1]}`
            : 'fireops bootstrap --apply (adds a random secret as version 1; paste it into the GitHub webhook)',
        );
      }
      if (!enabled.includes(current)) {
        return fail(
          `alias current of ${id} points at version ${current}, which is not enabled`,
          `gcloud secrets versions enable ${current} --secret=${id}, or repoint current`,
        );
      }
      return ok(`current -> version ${current}`);
    },
    async create({ apis }) {
      let enabled = await apis.enabledVersions(id);
      if (!enabled.length) {
        // A new webhook secret: random, never printed; read it with `gcloud secrets versions access current`.
        enabled = [await apis.addVersion(id, Buffer.from(crypto.randomBytes(32).toString('hex')))];
      }
      const s = await apis.getSecret(id);
      if (!s || s.aliases.current !== undefined) return;
      await apis.setAliases(id, { ...s.aliases, current: enabled[enabled.length - 1]! }, s.etag);
    },
  };
}

function githubTokenVersion(id: string): Resource {
  return {
    describe: `secret ${id}: an enabled version`,
    plan: `store the token given with --github-token-file as the first version of ${id}`,
    async check({ apis }) {
      if (!(await apis.getSecret(id)))
        return fail(`secret ${id} does not exist`, 'fireops bootstrap --apply');
      const enabled = await apis.enabledVersions(id);
      return enabled.length
        ? ok(`latest enabled: version ${enabled[enabled.length - 1]}`)
        : fail(
            `secret ${id} has no enabled version (fireops calls GitHub with it)`,
            `fireops bootstrap --apply --github-token-file FILE, or ${gcloudSecretAdd(id)}`,
          );
    },
    async create({ apis, settings }) {
      if (!settings.githubToken) throw new Error(`no --github-token-file: ${id} needs a token from a person`);
      if ((await apis.enabledVersions(id)).length) return;
      await apis.addVersion(id, settings.githubToken);
    },
  };
}

function topicResource(topic: string): Resource {
  return {
    describe: `Pub/Sub topic ${topic}`,
    async check({ apis }) {
      return (await apis.topicExists(topic))
        ? ok()
        : fail(
            `topic ${topic} does not exist`,
            `fireops bootstrap --apply (or gcloud pubsub topics create ${topic})`,
          );
    },
    async create({ apis }) {
      await apis.createTopic(topic);
    },
  };
}

function rotationTopicGrant(): Resource {
  const role = 'roles/pubsub.publisher';
  const agent = (n: string) => `serviceAccount:service-${n}@gcp-sa-secretmanager.iam.gserviceaccount.com`;
  return {
    describe: "rotation topic: Secret Manager service agent's publisher grant",
    async check(ctx) {
      const topic = ctx.settings.rotationTopic;
      const getPolicy = ctx.apis.getTopicPolicy?.bind(ctx.apis, topic);
      return needs(
        ctx,
        getPolicy && (async () => ({ bindings: await getPolicy(), n: await projectNumber(ctx) })),
        'the Pub/Sub emulator has no IAM',
        ({ bindings, n }) => {
          const member = agent(n ?? '?');
          return bindings.some((b) => b.role === role && b.members.includes(member))
            ? ok()
            : fail(
                `${member} cannot publish to ${topic} (Secret Manager's rotation notices)`,
                `gcloud pubsub topics add-iam-policy-binding ${topic} --member=${member} --role=${role}`,
              );
        },
      );
    },
    async create(ctx) {
      const { apis, settings } = ctx;
      if (!apis.getTopicPolicy || !apis.setTopicPolicy) return;
      const n = await projectNumber(ctx);
      if (!n) throw new Error('no project number');
      const bindings = await apis.getTopicPolicy(settings.rotationTopic);
      await apis.setTopicPolicy(settings.rotationTopic, withMember(bindings, agent(n), [role]));
    },
  };
}

function bucketResource(): Resource {
  return {
    describe: 'backups bucket',
    plan: 'create the backups bucket next to the (default) database, with uniform access and a 400-day lifecycle backstop',
    async check({ apis, settings }) {
      const b = await apis.getBucket(settings.bucket);
      return b
        ? ok(`gs://${settings.bucket} in ${b.location}`)
        : fail(`bucket gs://${settings.bucket} does not exist`, 'fireops bootstrap --apply');
    },
    async create({ apis, settings }) {
      const d = await apis.getDatabase('(default)');
      // Retention deletes exports by policy; the lifecycle rule only catches what retention never saw.
      await apis.createBucket(settings.bucket, bucketLocationFor(d?.locationId ?? settings.location), {
        rule: [{ action: { type: 'Delete' }, condition: { age: 400 } }],
      });
    },
  };
}

/** Anchors are kept this long (400 days: longer than a year of audit questions); the lock makes it binding. */
export const ANCHOR_RETENTION_SECONDS = 400 * 24 * 3600;

function anchorBucketResource(): Resource {
  return {
    describe: 'audit anchor bucket (AUDIT_ANCHOR_BUCKET), with a locked retention policy',
    plan: 'create the audit anchor bucket with a 400-day retention policy (lock it by hand: irreversible)',
    async check({ apis, settings }) {
      const name = settings.anchorBucket;
      if (!name) {
        return fail(
          'AUDIT_ANCHOR_BUCKET is not set: the audit log is not anchored',
          'set AUDIT_ANCHOR_BUCKET in functions/.env.<project>, then fireops bootstrap --apply',
        );
      }
      const b = await apis.getBucket(name);
      if (!b) return fail(`bucket gs://${name} does not exist`, 'fireops bootstrap --apply');
      if (!b.retentionPolicy?.retentionPeriod) {
        return fail(
          `bucket gs://${name} has no retention policy: anchors can be deleted`,
          `gcloud storage buckets update gs://${name} --retention-period=${ANCHOR_RETENTION_SECONDS}s`,
        );
      }
      if (!b.retentionPolicy.isLocked) {
        const fix = `gcloud storage buckets update gs://${name} --lock-retention-period (irreversible; docs/security.md#tamper-evidence)`;
        return settings.local
          ? { status: 'skip', reason: `skipped locally: retention policy not locked (${fix})` }
          : fail(`the retention policy of gs://${name} is not locked: a bucket admin can remove it`, fix);
      }
      return ok(`gs://${name}, retention ${b.retentionPolicy.retentionPeriod} s, locked`);
    },
    async create({ apis, settings }) {
      if (!settings.anchorBucket) throw new Error('set AUDIT_ANCHOR_BUCKET first');
      if (await apis.getBucket(settings.anchorBucket)) {
        throw new Error(
          `gs://${settings.anchorBucket} exists without a retention policy: gcloud storage buckets update gs://${settings.anchorBucket} --retention-period=${ANCHOR_RETENTION_SECONDS}s`,
        );
      }
      const d = await apis.getDatabase('(default)');
      await apis.createBucket(
        settings.anchorBucket,
        bucketLocationFor(d?.locationId ?? settings.location),
        undefined,
        ANCHOR_RETENTION_SECONDS,
      );
    },
  };
}

function bucketLocation(): Resource {
  return {
    describe: "backups bucket: location against the (default) database's",
    async check({ apis, settings }) {
      const [b, d] = await Promise.all([apis.getBucket(settings.bucket), apis.getDatabase('(default)')]);
      if (!b || !d) return fail('bucket or (default) database missing', 'fireops bootstrap --apply');
      const want = bucketLocationFor(d.locationId);
      return b.location.toUpperCase() === want
        ? ok(`${b.location} next to ${d.locationId}`)
        : fail(
            `bucket gs://${settings.bucket} is in ${b.location} but the (default) database is in ${d.locationId}` +
              ' (exports cross regions: slower, egress billed, data leaves its region)',
            `a bucket cannot move: create one in ${want} (gcloud storage buckets create gs://NEW --location=${want} ` +
              '--uniform-bucket-level-access), point settings/backups.bucket at it, then run fireops bootstrap --apply',
          );
    },
  };
}

function firestoreAgentOnBucket(): Resource {
  const role = 'roles/storage.admin';
  const permissions = [
    'storage.buckets.get',
    'storage.objects.create',
    'storage.objects.get',
    'storage.objects.list',
  ];
  const agent = (n: string) => `serviceAccount:service-${n}@gcp-sa-firestore.iam.gserviceaccount.com`;
  return {
    describe: "backups bucket: the Firestore service agent's access (exports and imports)",
    async check(ctx) {
      const n = await projectNumber(ctx);
      if (!n) return fail('no project number', 'run with credentials that can read the project');
      if (!(await ctx.apis.getBucket(ctx.settings.bucket)))
        return fail('bucket missing', 'fireops bootstrap --apply');
      const held = await ctx.apis.testBucketPermissions(ctx.settings.bucket, agent(n), permissions);
      const missing = permissions.filter((p) => !held.includes(p));
      return missing.length
        ? fail(
            `${agent(n)} lacks ${missing.join(', ')} on gs://${ctx.settings.bucket}`,
            `fireops bootstrap --apply (or gcloud storage buckets add-iam-policy-binding gs://${ctx.settings.bucket} --member=${agent(n)} --role=${role})`,
          )
        : ok();
    },
    async create(ctx) {
      const n = await projectNumber(ctx);
      if (!n) throw new Error('no project number');
      const bindings = await ctx.apis.getBucketPolicy(ctx.settings.bucket);
      await ctx.apis.setBucketPolicy(ctx.settings.bucket, withMember(bindings, agent(n), [role]));
    },
  };
}

/** One check per (account, resource) of the matrix: testIamPermissions as that account. */
function accountPermissions(entry: IamMatrix['requiredPermissions'][number]): Resource {
  const { account, resource, permissions } = entry;
  const what = describeResource(resource);
  return {
    describe: `service account ${account}: ${permissions.length} permission(s) on ${what}`,
    plan: `grant ${account} its roles on ${what}`,
    async check(ctx) {
      const accountId = ctx.iam.serviceAccounts[account];
      if (!accountId) return fail(`the IAM matrix names no account ${account}`, 'fix platform/iam.ts');
      const member = `serviceAccount:${accountEmail(accountId, ctx.settings.project)}`;
      const roles = rolesFor(ctx.iam, account, resource);
      const report = (held: string[]): CheckResult => {
        const missing = permissions.filter((p) => !held.includes(p));
        if (!missing.length) return ok();
        return fail(
          `${member} lacks ${missing.join(', ')} on ${what}`,
          `${roles.length ? `grant ${roles.join(', ')}` : 'add a grant to platform/iam.ts'}: ${grantCommand(ctx, resource, member, roles, account)}`,
        );
      };
      switch (resource.kind) {
        case 'secret':
          if (!(await ctx.apis.getSecret(resource.secret)))
            return fail(`${what} missing`, 'fireops bootstrap --apply');
          return report(await ctx.apis.testSecretPermissions(resource.secret, member, permissions));
        case 'bucket':
          if (!(await ctx.apis.getBucket(ctx.settings.bucket)))
            return fail(`${what} missing`, 'fireops bootstrap --apply');
          return report(await ctx.apis.testBucketPermissions(ctx.settings.bucket, member, permissions));
        case 'anchorBucket': {
          const name = ctx.settings.anchorBucket;
          if (!name) return fail('AUDIT_ANCHOR_BUCKET is not set', 'set it in functions/.env.<project>');
          if (!(await ctx.apis.getBucket(name))) return fail(`${what} missing`, 'fireops bootstrap --apply');
          return report(await ctx.apis.testBucketPermissions(name, member, permissions));
        }
        case 'project': {
          const t = ctx.apis.testProjectPermissions?.bind(ctx.apis, member, permissions);
          return needs(ctx, t, 'no Cloud Resource Manager stand-in', report);
        }
        case 'topic': {
          const t = ctx.apis.testTopicPermissions?.bind(ctx.apis, resource.topic, member, permissions);
          return needs(ctx, t, 'the Pub/Sub emulator has no IAM', report);
        }
      }
    },
    async create(ctx) {
      const accountId = ctx.iam.serviceAccounts[account];
      if (!accountId) return;
      const member = `serviceAccount:${accountEmail(accountId, ctx.settings.project)}`;
      const roles = rolesFor(ctx.iam, account, resource);
      if (!roles.length) return;
      if (resource.kind === 'secret') {
        const b = await ctx.apis.getSecretPolicy(resource.secret);
        await ctx.apis.setSecretPolicy(resource.secret, withMember(b, member, roles));
      } else if (resource.kind === 'bucket') {
        const b = await ctx.apis.getBucketPolicy(ctx.settings.bucket);
        await ctx.apis.setBucketPolicy(ctx.settings.bucket, withMember(b, member, roles));
      } else if (resource.kind === 'anchorBucket' && ctx.settings.anchorBucket) {
        const b = await ctx.apis.getBucketPolicy(ctx.settings.anchorBucket);
        await ctx.apis.setBucketPolicy(ctx.settings.anchorBucket, withMember(b, member, roles));
      } else if (resource.kind === 'topic' && ctx.apis.getTopicPolicy && ctx.apis.setTopicPolicy) {
        const b = await ctx.apis.getTopicPolicy(resource.topic);
        await ctx.apis.setTopicPolicy(resource.topic, withMember(b, member, roles));
      } else {
        // Project-level grants stay with a person (they reach every resource of the project).
        throw new Error(`grant by hand: ${grantCommand(ctx, resource, member, roles, account)}`);
      }
    },
  };
}

function grantCommand(ctx: Ctx, r: IamResource, member: string, roles: string[], account?: string): string {
  const role = roles[0] ?? 'ROLE';
  // A conditional grant (e.g. Secret Manager roles limited to fireops- secrets) is printed with its condition: the
  // role without it would reach every secret of the project.
  const condition = ctx.iam.grants.find(
    (g) => g.account === account && g.role === role && JSON.stringify(g.resource) === JSON.stringify(r),
  )?.condition;
  const withCondition = (cmd: string) =>
    condition ? `${cmd} --condition='expression=${condition.expression},title=${condition.title}'` : cmd;
  switch (r.kind) {
    case 'secret':
      return `gcloud secrets add-iam-policy-binding ${r.secret} --member=${member} --role=${role}`;
    case 'bucket':
      return `gcloud storage buckets add-iam-policy-binding gs://${ctx.settings.bucket} --member=${member} --role=${role}`;
    case 'anchorBucket':
      return `gcloud storage buckets add-iam-policy-binding gs://${ctx.settings.anchorBucket ?? 'AUDIT_ANCHOR_BUCKET'} --member=${member} --role=${role}`;
    case 'topic':
      return `gcloud pubsub topics add-iam-policy-binding ${r.topic} --member=${member} --role=${role}`;
    case 'project':
      return withCondition(
        `gcloud projects add-iam-policy-binding ${ctx.settings.project} --member=${member} --role=${role}`,
      );
  }
}

function ttlPolicies(): Resource {
  return {
    describe: 'TTL policies (firestore.indexes.json)',
    async check(ctx) {
      const want = (ctx.settings.indexes.fieldOverrides ?? [])
        .filter((f) => f.ttl)
        .map((f) => `${f.collectionGroup}.${f.fieldPath}`);
      const list = ctx.apis.ttlFields?.bind(ctx.apis, '(default)');
      return needs(ctx, list, 'the Firestore emulator has no TTL policies', (active) => {
        const missing = want.filter((w) => !active.includes(w));
        return missing.length
          ? fail(`no active TTL policy on ${missing.join(', ')}`, 'firebase deploy --only firestore:indexes')
          : ok(want.join(', '));
      });
    },
  };
}

function compositeIndexes(): Resource {
  return {
    describe: 'composite indexes (firestore.indexes.json)',
    async check(ctx) {
      const want = (ctx.settings.indexes.indexes ?? []).map((i) =>
        indexKey(
          i.collectionGroup,
          i.fields.map((f) => ({ fieldPath: f.fieldPath, order: f.order, arrayConfig: f.arrayConfig })),
        ),
      );
      const list = ctx.apis.compositeIndexes?.bind(ctx.apis, '(default)');
      return needs(ctx, list, 'the Firestore emulator needs no indexes', (ready) => {
        const missing = want.filter((w) => !ready.includes(w));
        return missing.length
          ? fail(
              `${missing.length} index(es) not ready: ${missing.join('; ')}`,
              'firebase deploy --only firestore:indexes',
            )
          : ok(`${want.length} ready`);
      });
    },
  };
}

function deployedRules(): Resource {
  return {
    describe: 'deployed Firestore rules match firestore.rules',
    async check(ctx) {
      const get = ctx.apis.deployedRulesSource?.bind(ctx.apis);
      return needs(ctx, get, 'the Firestore emulator loads firestore.rules itself', (source) =>
        source?.trim() === ctx.settings.rulesSource.trim()
          ? ok()
          : fail(
              source === undefined
                ? 'no Firestore rules are deployed'
                : 'the deployed rules differ from firestore.rules',
              'firebase deploy --only firestore:rules',
            ),
      );
    },
  };
}

function enabledApis(): Resource {
  return {
    describe: 'APIs enabled',
    async check(ctx) {
      const get = ctx.apis.enabledApis?.bind(ctx.apis);
      return needs(ctx, get, 'no Service Usage stand-in', (enabled) => {
        const missing = REQUIRED_APIS.filter((a) => !enabled.includes(a));
        return missing.length
          ? fail(
              `not enabled: ${missing.join(', ')}`,
              `gcloud services enable ${missing.join(' ')} --project=${ctx.settings.project}`,
            )
          : ok(`${REQUIRED_APIS.length} enabled`);
      });
    },
  };
}

function adminClaim(): Resource {
  return {
    describe: 'at least one user holds the admin claim',
    async check({ apis }) {
      const admins = await apis.adminUsers();
      return admins.length
        ? ok(`${admins.length} admin(s)`)
        : fail(
            "no user holds the role admin (custom claim role: 'admin', or the legacy admin: true)",
            'fireops grant-admin EMAIL --project P (= grant-role admin; the user signs in once first)',
          );
    },
  };
}

/**
 * A project-level grant of the matrix (a person makes it: it reaches every resource of the project), checked
 * against the project's policy with its condition: an unconditional binding where the matrix has a condition is
 * reported too, since it grants more than fireops needs.
 */
export function projectGrant(grant: IamMatrix['grants'][number]): Resource {
  const what = `project grant ${grant.role} to ${grant.account}${grant.condition ? ` (${grant.condition.title})` : ''}`;
  return {
    describe: what,
    async check(ctx) {
      const accountId = ctx.iam.serviceAccounts[grant.account];
      if (!accountId) return fail(`the IAM matrix names no account ${grant.account}`, 'fix platform/iam.ts');
      const member = `serviceAccount:${accountEmail(accountId, ctx.settings.project)}`;
      const policy = ctx.apis.getProjectPolicy?.bind(ctx.apis);
      const fix = grantCommand(ctx, grant.resource, member, [grant.role], grant.account);
      return needs(ctx, policy, 'no Cloud Resource Manager stand-in', (bindings) => {
        const held = bindings.filter((b) => b.role === grant.role && b.members.includes(member));
        if (!held.length) return fail(`${member} lacks ${grant.role} on the project`, fix);
        if (grant.condition && held.some((b) => !b.condition))
          return fail(
            `${member} holds ${grant.role} on the project without the condition`,
            `remove it, then ${fix}`,
          );
        return ok();
      });
    },
  };
}

/** Everything, in the order it must exist (a secret before its alias, the database before the bucket). */
export function resources(settings: CliSettings, iam: IamMatrix): Resource[] {
  return [
    enabledApis(),
    databaseResource('(default)'),
    databaseResource(settings.drillDatabase),
    ...settings.topics.map(topicResource),
    rotationTopicGrant(),
    secretExists(settings.webhookSecretId, 'fireops bootstrap --apply'),
    webhookSecretAlias(settings.webhookSecretId),
    secretExists(settings.githubTokenSecretId, 'fireops bootstrap --apply'),
    githubTokenVersion(settings.githubTokenSecretId),
    bucketResource(),
    bucketLocation(),
    firestoreAgentOnBucket(),
    anchorBucketResource(),
    ...iam.requiredPermissions.map(accountPermissions),
    ...iam.grants.filter((g) => g.resource.kind === 'project').map(projectGrant),
    ttlPolicies(),
    compositeIndexes(),
    deployedRules(),
    adminClaim(),
  ];
}
