// What the CLI needs of the IAM matrix (functions/src/platform/iam.ts, owned by the IAM work): the service account
// of each capability, the grants to make, and the permissions each account's code calls, per resource. The CLI
// takes a matrix of this shape as a parameter; `fireops.ts` loads the real module at run time.

/** A resource a grant or a required permission is on. `bucket` is the backups bucket of the deployment. */
export type IamResource =
  | { kind: 'project' }
  | { kind: 'secret'; secret: string }
  | { kind: 'bucket' }
  | { kind: 'topic'; topic: string }
  /** The audit anchors' bucket (AUDIT_ANCHOR_BUCKET). */
  | { kind: 'anchorBucket' };

export interface IamMatrix {
  /** Capability (or merged group) -> service account id (the part before `@`). */
  serviceAccounts: Record<string, string>;
  /** Roles to grant: `account` is a key of `serviceAccounts`. */
  grants: {
    account: string;
    role: string;
    resource: IamResource;
    condition?: { title: string; expression: string };
  }[];
  /** What each account's code calls, per resource: what `doctor` tests with testIamPermissions. */
  requiredPermissions: { account: string; resource: IamResource; permissions: string[] }[];
}

export function accountEmail(accountId: string, project: string): string {
  return `${accountId}@${project}.iam.gserviceaccount.com`;
}

export function describeResource(r: IamResource): string {
  switch (r.kind) {
    case 'project':
      return 'the project';
    case 'secret':
      return `secret ${r.secret}`;
    case 'bucket':
      return 'the backups bucket';
    case 'topic':
      return `topic ${r.topic}`;
    case 'anchorBucket':
      return 'the audit anchor bucket';
  }
}

/** Adapts a loaded module to the contract (names as exported by platform/iam.ts), or says what is missing. */
export function matrixFromModule(mod: Record<string, unknown>): IamMatrix {
  const serviceAccounts = mod.SERVICE_ACCOUNTS ?? mod.serviceAccounts;
  const grants: unknown = mod.GRANTS ?? mod.grants;
  const requiredPermissions: unknown = mod.REQUIRED_PERMISSIONS ?? mod.requiredPermissions;
  if (!serviceAccounts || !Array.isArray(grants) || !Array.isArray(requiredPermissions)) {
    throw new Error(
      'platform/iam.ts does not export SERVICE_ACCOUNTS, GRANTS and REQUIRED_PERMISSIONS in the shape cli/iam-contract.ts expects',
    );
  }
  return {
    serviceAccounts,
    grants: grants as unknown[],
    requiredPermissions: requiredPermissions as unknown[],
  } as IamMatrix;
}
