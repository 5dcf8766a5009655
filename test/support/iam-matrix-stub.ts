// A stand-in for functions/src/platform/iam.ts (the IAM matrix, from the IAM work) in the shape the CLI's contract
// expects (functions/src/cli/iam-contract.ts), for the CLI tests only. Replaced by the real module once it lands.
import type { IamMatrix } from '../../functions/src/cli/iam-contract';

export const IAM_MATRIX_STUB: IamMatrix = {
  serviceAccounts: { webhooks: 'fireops-webhooks', backups: 'fireops-backups' },
  grants: [
    // readWebhookSecretCandidates calls getSecret (secrets.get) and accessSecretVersion (versions.access):
    // secretAccessor alone is the README's old advice, which fails in production (issue 12).
    {
      account: 'webhooks',
      role: 'roles/secretmanager.secretAccessor',
      resource: { kind: 'secret', secret: 'github-webhook-secret' },
    },
    {
      account: 'webhooks',
      role: 'roles/secretmanager.viewer',
      resource: { kind: 'secret', secret: 'github-webhook-secret' },
    },
    { account: 'backups', role: 'roles/storage.objectAdmin', resource: { kind: 'bucket' } },
    { account: 'backups', role: 'roles/datastore.importExportAdmin', resource: { kind: 'project' } },
  ],
  requiredPermissions: [
    {
      account: 'webhooks',
      resource: { kind: 'secret', secret: 'github-webhook-secret' },
      permissions: ['secretmanager.secrets.get', 'secretmanager.versions.access'],
    },
    {
      account: 'backups',
      resource: { kind: 'bucket' },
      permissions: ['storage.objects.list', 'storage.objects.get', 'storage.objects.delete'],
    },
    { account: 'backups', resource: { kind: 'project' }, permissions: ['datastore.databases.export'] },
  ],
};
