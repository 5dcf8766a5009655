// Who runs each capability, and what it may touch: the IAM matrix, as data. Each deploy group runs as its own
// service account (platform/options.ts sets `serviceAccount` from `SERVICE_ACCOUNTS`), so a public endpoint
// (webhooks-githubWebhook, health-status) never carries rights it does not use. `fireops doctor` tests
// `REQUIRED_PERMISSIONS` with testIamPermissions and `fireops bootstrap` makes `GRANTS` (functions/src/cli/);
// docs/reference/iam.md is generated from this file.
//
// Every permission below was read off the code that calls the API (the file is named next to it), not guessed:
// change a call, change this file. Pure data: no client is imported, nothing here runs at cold start except the
// account ids.
//
// `reader` (fireops-reader) runs the two public read-only endpoints, health-status and platform-verifyAuditLog:
// they only read Firestore, so the health and platform accounts' Secret Manager access never sits behind a public
// URL (FUNCTION_ACCOUNTS below overrides their group's account).
//
// Accounts merged, and why: `flags` runs as the `platform` account (fireops-core). Both only read and write
// Firestore and publish on ops-alerts; the notifier additionally reads the chat webhook secret. A separate flags
// account would hold a subset of fireops-core's rights for one trigger, one more account to create and audit.

/** A deploy group (functions/src/index.ts) -> the service account id it runs as (the part before `@`). */
export const SERVICE_ACCOUNTS = {
  platform: 'fireops-core',
  flags: 'fireops-core',
  webhooks: 'fireops-webhooks',
  rotation: 'fireops-rotation',
  backups: 'fireops-backups',
  health: 'fireops-health',
  canary: 'fireops-canary',
  reader: 'fireops-reader',
} as const;

/** A key of SERVICE_ACCOUNTS: a deploy group, or `reader`. */
export type DeployGroup = keyof typeof SERVICE_ACCOUNTS;

/** Functions that do not run as their group's account (function id -> account key). */
export const FUNCTION_ACCOUNTS: Readonly<Record<string, DeployGroup>> = {
  'health-status': 'reader',
  'health-statusPage': 'reader',
  'platform-verifyAuditLog': 'reader',
};

/** The account key a function runs as. */
export function accountOf(functionId: string): DeployGroup {
  return FUNCTION_ACCOUNTS[functionId] ?? (functionId.split('-')[0] as DeployGroup);
}

/** What a grant or a required permission is on. `bucket`: the deployment's backups bucket (EXPORT_BUCKET). */
export type IamResource =
  | { kind: 'project' }
  | { kind: 'secret'; secret: string }
  | { kind: 'bucket' }
  /** The audit anchors' bucket (AUDIT_ANCHOR_BUCKET), retention-locked. */
  | { kind: 'anchorBucket' }
  | { kind: 'topic'; topic: string };

/**
 * An IAM condition (CEL). Secret Manager evaluates `resource.name` (projects/NUMBER/secrets/ID[/versions/V]);
 * it does not expose a secret's labels to IAM conditions, so "secrets for fireops" is a name prefix here.
 */
export interface IamCondition {
  title: string;
  expression: string;
}

export interface Grant {
  /** A key of SERVICE_ACCOUNTS (a deploy group; merged groups share the account). */
  account: DeployGroup;
  role: string;
  resource: IamResource;
  condition?: IamCondition;
  why: string;
}

export interface RequiredPermissions {
  account: DeployGroup;
  resource: IamResource;
  permissions: string[];
  /** The code that makes the calls. */
  calledBy: string;
}

/** Secrets whose ids are known at deploy time (params, read here with their defaults). */
const WEBHOOK_SECRET = process.env.WEBHOOK_SECRET_ID ?? 'github-webhook-secret';
const GITHUB_TOKEN = process.env.GITHUB_TOKEN_SECRET_ID ?? 'github-token';

/**
 * Secrets admins name at run time (secretPolicies/{id}, healthChecks' header secrets, settings/alerts'
 * webhookSecret) must start with this prefix for fireops to read them: the accounts that read them hold a
 * project-level role conditioned on it, never project-wide access to every secret.
 */
export const FIREOPS_SECRET_PREFIX = 'fireops-';
const fireopsSecrets: IamCondition = {
  title: 'fireops secrets only',
  expression: `resource.name.extract("secrets/{id}/").startsWith("${FIREOPS_SECRET_PREFIX}") || resource.name.extract("secrets/{id}").startsWith("${FIREOPS_SECRET_PREFIX}")`,
};

const project = { kind: 'project' } as const;
const firestoreUser = (account: DeployGroup, why: string): Grant => ({
  account,
  role: 'roles/datastore.user',
  resource: project,
  why,
});
const publisher = (account: DeployGroup, topic: string, why: string): Grant => ({
  account,
  role: 'roles/pubsub.publisher',
  resource: { kind: 'topic', topic },
  why,
});
const ALERTS = 'ops-alerts';

/** Accounts whose functions are event triggers (Firestore via Eventarc, Pub/Sub) or scheduled. */
const TRIGGERED: readonly DeployGroup[] = ['platform', 'webhooks', 'rotation', 'backups', 'health', 'canary'];

export const GRANTS: readonly Grant[] = [
  // Every account that runs triggered functions: Eventarc and Pub/Sub push call the function's Cloud Run service as
  // the function's own account, and firebase-tools grants these two roles to the default compute account only.
  ...TRIGGERED.flatMap((account): Grant[] => [
    {
      account,
      role: 'roles/eventarc.eventReceiver',
      resource: project,
      why: "Firestore and Pub/Sub triggers are Eventarc triggers whose identity is the function's account",
    },
    {
      account,
      role: 'roles/run.invoker',
      resource: project,
      why: "Eventarc, Pub/Sub push and Cloud Scheduler invoke the function as its account (narrow it to the account's own services where your tooling can)",
    },
  ]),
  // reader: the public read-only endpoints
  {
    account: 'reader',
    role: 'roles/datastore.viewer',
    resource: project,
    why: 'health-status and health-statusPage read healthSummary, healthStatus and incidents; verifyAuditLog reads the audit chains',
  },
  // platform + flags (fireops-core)
  firestoreUser('platform', 'audit log, processedEvents, flags, settings/alerts'),
  publisher('platform', ALERTS, 'flags-onFlagWritten alerts on an invalid edit'),
  {
    account: 'platform',
    role: 'roles/secretmanager.secretAccessor',
    resource: project,
    condition: fireopsSecrets,
    why: 'notifyAlerts reads the channel URLs, signing keys and relay tokens settings/alerts names (platform/notifier.ts)',
  },
  // webhooks
  firestoreUser('webhooks', 'deliveries, rolloutRequests, githubHooks, audit log'),
  publisher('webhooks', 'ops-events', 'onDeliveryRecorded announces each delivery'),
  publisher('webhooks', ALERTS, 'infrastructure and recovery alerts'),
  {
    account: 'webhooks',
    role: 'roles/secretmanager.secretAccessor',
    resource: { kind: 'secret', secret: WEBHOOK_SECRET },
    why: 'the webhook secret values (alias current, previous during a grace period)',
  },
  {
    account: 'webhooks',
    role: 'roles/secretmanager.viewer',
    resource: { kind: 'secret', secret: WEBHOOK_SECRET },
    why: 'getSecret: which versions the aliases point at (secretAccessor alone lacks secrets.get)',
  },
  {
    account: 'webhooks',
    role: 'roles/secretmanager.secretAccessor',
    resource: { kind: 'secret', secret: GITHUB_TOKEN },
    why: 'redeliverFailedWebhooks calls the GitHub API with this token',
  },
  // rotation
  firestoreUser('rotation', 'rotations, rotationLocks, secretPolicies, audit log'),
  publisher('rotation', ALERTS, 'rotation failures and rollbacks'),
  {
    account: 'rotation',
    role: 'roles/secretmanager.admin',
    resource: project,
    condition: fireopsSecrets,
    why: 'adds, enables, disables and destroys versions and moves aliases of the secrets it rotates',
  },
  {
    account: 'rotation',
    role: 'roles/secretmanager.admin',
    resource: { kind: 'secret', secret: WEBHOOK_SECRET },
    why: 'the GitHub webhook secret is rotated too (its id is a param, not necessarily prefixed)',
  },
  {
    account: 'rotation',
    role: 'roles/secretmanager.secretAccessor',
    resource: { kind: 'secret', secret: GITHUB_TOKEN },
    why: "sets the new webhook secret on GitHub's hook config",
  },
  // backups
  firestoreUser(
    'backups',
    'backups, drills, counts and samples of the exported collections, the drill database',
  ),
  {
    account: 'backups',
    role: 'roles/datastore.importExportAdmin',
    resource: project,
    why: 'managed exports and the drill imports, and their operations',
  },
  {
    account: 'backups',
    role: 'roles/storage.objectAdmin',
    resource: { kind: 'bucket' },
    why: 'lists and deletes exports for retention (the Firestore service agent writes them)',
  },
  publisher('backups', 'backup-monitor', 'scheduledExport kicks the monitor'),
  publisher('backups', ALERTS, 'failed exports and drills'),
  // health
  firestoreUser('health', 'healthCatalog, healthCycles, healthStatus, incidents, healthSummary, healthDaily'),
  publisher('health', ALERTS, 'incidents opened, reminded, resolved'),
  publisher('health', 'health-probe-shards', 'probeCycle hands the shards of a large catalog to probeShard'),
  {
    account: 'health',
    role: 'roles/secretmanager.secretAccessor',
    resource: project,
    condition: fireopsSecrets,
    why: 'probe header values a check names by secret id (health/deps.ts)',
  },
  // canary
  firestoreUser('canary', 'rollouts, canaryPolicies, flags (firestore-flag router), metrics, healthCycles'),
  publisher('canary', 'canary-kick', 'commands and requests kick one service now'),
  publisher('canary', ALERTS, 'rollbacks and failed restores'),
  {
    account: 'canary',
    role: 'roles/secretmanager.secretAccessor',
    resource: { kind: 'secret', secret: GITHUB_TOKEN },
    why: 'GitHub deployment statuses',
  },
  {
    account: 'canary',
    role: 'roles/run.developer',
    resource: project,
    why: "the cloud-run router reads and updates a service's traffic split (canary/routers.ts); grant it on the routed services only where the org allows per-service bindings",
  },
  {
    account: 'canary',
    role: 'roles/iam.serviceAccountUser',
    resource: project,
    why: 'updating a Cloud Run service acts as its runtime service account',
  },
  // --- Anchored audit log (issue 13) ---
  {
    account: 'platform',
    role: 'roles/storage.objectCreator',
    resource: { kind: 'anchorBucket' },
    why: 'anchorAuditLog creates one anchor object per run; no read, overwrite or delete (the retention lock refuses those to everyone anyway)',
  },
  {
    account: 'platform',
    role: 'roles/storage.objectViewer',
    resource: { kind: 'anchorBucket' },
    why: 'verifyAuditSweep lists and reads the anchors',
  },
  {
    account: 'reader',
    role: 'roles/storage.objectViewer',
    resource: { kind: 'anchorBucket' },
    why: 'verifyAuditLog lists and reads the anchors',
  },
];

/** What each account's code calls, per resource: what `fireops doctor` checks with testIamPermissions. */
export const REQUIRED_PERMISSIONS: readonly RequiredPermissions[] = [
  {
    account: 'webhooks',
    resource: { kind: 'secret', secret: WEBHOOK_SECRET },
    permissions: ['secretmanager.secrets.get', 'secretmanager.versions.access'],
    calledBy: 'webhooks/webhook-secrets.ts (getSecret for the aliases), platform/secret-manager.ts (access)',
  },
  {
    account: 'webhooks',
    resource: { kind: 'secret', secret: GITHUB_TOKEN },
    permissions: ['secretmanager.versions.access'],
    calledBy: 'platform/github-api.ts (token for redeliveries)',
  },
  {
    account: 'webhooks',
    resource: { kind: 'topic', topic: 'ops-events' },
    permissions: ['pubsub.topics.publish'],
    calledBy: 'webhooks/relay.ts',
  },
  {
    account: 'rotation',
    resource: { kind: 'secret', secret: WEBHOOK_SECRET },
    permissions: [
      'secretmanager.secrets.get',
      'secretmanager.secrets.update',
      'secretmanager.versions.add',
      'secretmanager.versions.list',
      'secretmanager.versions.get',
      'secretmanager.versions.access',
      'secretmanager.versions.enable',
      'secretmanager.versions.disable',
      'secretmanager.versions.destroy',
    ],
    calledBy: 'rotation/secrets.ts (aliases via updateSecret, versions), rotation/strategies.ts',
  },
  {
    account: 'rotation',
    resource: { kind: 'secret', secret: GITHUB_TOKEN },
    permissions: ['secretmanager.versions.access'],
    calledBy: 'rotation/strategies.ts (GitHub hook config)',
  },
  {
    account: 'backups',
    resource: { kind: 'bucket' },
    permissions: ['storage.objects.list', 'storage.objects.get', 'storage.objects.delete'],
    calledBy: 'backups/storage-client.ts (getFiles, delete)',
  },
  {
    account: 'backups',
    resource: project,
    permissions: ['datastore.databases.export', 'datastore.databases.import', 'datastore.operations.list'],
    calledBy: 'backups/firestore-admin-client.ts (exportDocuments, importDocuments, listOperations)',
  },
  {
    account: 'backups',
    resource: { kind: 'topic', topic: 'backup-monitor' },
    permissions: ['pubsub.topics.publish'],
    calledBy: 'backups/export.ts',
  },
  {
    account: 'health',
    resource: { kind: 'topic', topic: 'health-probe-shards' },
    permissions: ['pubsub.topics.publish'],
    calledBy: 'health/engine.ts (runProbeCycle fanning out)',
  },
  {
    account: 'canary',
    resource: { kind: 'secret', secret: GITHUB_TOKEN },
    permissions: ['secretmanager.versions.access'],
    calledBy: 'platform/github-api.ts (deployment statuses)',
  },
  {
    account: 'canary',
    resource: project,
    permissions: ['run.services.get', 'run.services.update', 'run.operations.get'],
    calledBy: 'canary/routers.ts (getService, updateService and waiting on its operation)',
  },
  ...(['platform', 'webhooks', 'rotation', 'backups', 'health', 'canary'] as const).map(
    (account): RequiredPermissions => ({
      account,
      resource: { kind: 'topic', topic: ALERTS },
      permissions: ['pubsub.topics.publish'],
      calledBy: 'platform/alerts.ts',
    }),
  ),
  // --- Anchored audit log (issue 13) ---
  {
    account: 'platform',
    resource: { kind: 'anchorBucket' },
    permissions: ['storage.objects.create', 'storage.objects.list', 'storage.objects.get'],
    calledBy: 'platform/anchor-store.ts (save with ifGenerationMatch 0; getFiles, download for the sweep)',
  },
  {
    account: 'reader',
    resource: { kind: 'anchorBucket' },
    permissions: ['storage.objects.list', 'storage.objects.get'],
    calledBy: 'platform/anchor-store.ts (getFiles, download for verifyAuditLog)',
  },
];

// Issue 13.A: grants to principals outside fireops (bootstrap does not make them: fireops does not know the
// principals; doctor and docs render them for the person who does).
/** A grant to someone who is not a fireops account. */
export interface ExternalGrant {
  /** Who receives it, in words (the principal is the deployment's choice). */
  principal: string;
  role: string;
  resource: IamResource;
  why: string;
}

export const EXTERNAL_GRANTS: readonly ExternalGrant[] = [
  {
    principal:
      'metric writers: the runtime service account of each service whose rollouts the canary judges on metric windows',
    role: 'roles/pubsub.publisher',
    resource: { kind: 'topic', topic: 'canary-metrics' },
    why: 'publish metric windows for canary-ingestMetrics to validate and store; no Firestore role at all (docs/security.md#metric-writers)',
  },
];
