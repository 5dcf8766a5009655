// The pure pieces of the fireops CLI (functions/src/cli/resources.ts): where the bucket belongs, and adding IAM
// members without removing anything (what makes bootstrap safe to run twice).
import { describe, expect, it } from 'vitest';
import { matrixFromModule } from '../../functions/src/cli/iam-contract';
import { bucketLocationFor, projectGrant, withMember } from '../../functions/src/cli/resources';
import * as iamModule from '../../functions/src/platform/iam';

describe('bucketLocationFor', () => {
  it.each([
    ['eur3', 'EU'],
    ['nam5', 'US'],
    ['europe-west1', 'EUROPE-WEST1'],
    ['africa-south1', 'AFRICA-SOUTH1'],
  ])('puts a %s database next to a %s bucket', (db, bucket) => {
    expect(bucketLocationFor(db)).toBe(bucket);
  });
});

describe('withMember', () => {
  const m = 'serviceAccount:a@p.iam.gserviceaccount.com';
  it('adds a binding for a new role and keeps the others', () => {
    const before = [{ role: 'roles/x', members: ['user:b@example.com'] }];
    expect(withMember(before, m, ['roles/y'])).toEqual([
      { role: 'roles/x', members: ['user:b@example.com'] },
      { role: 'roles/y', members: [m] },
    ]);
    expect(before).toEqual([{ role: 'roles/x', members: ['user:b@example.com'] }]);
  });
  it('adds the member to an existing role once', () => {
    const once = withMember([{ role: 'roles/x', members: ['user:b@example.com'] }], m, ['roles/x']);
    expect(withMember(once, m, ['roles/x'])).toEqual([
      { role: 'roles/x', members: ['user:b@example.com', m] },
    ]);
  });
});

describe('projectGrant (project-level grants stay with a person)', () => {
  const iam = matrixFromModule(iamModule);
  const conditional = iam.grants.find((g) => g.resource.kind === 'project' && g.condition)!;
  const member = `serviceAccount:${iam.serviceAccounts[conditional.account]}@p.iam.gserviceaccount.com`;
  const ctx = (
    bindings: { role: string; members: string[]; condition?: { expression?: string } }[] | undefined,
  ) =>
    ({
      settings: { project: 'p', local: bindings === undefined },
      iam,
      apis: bindings === undefined ? {} : { getProjectPolicy: () => Promise.resolve(bindings) },
    }) as never;

  it('fails when the binding is missing, printing the gcloud command with its condition', async () => {
    const r = await projectGrant(conditional).check(ctx([]));
    expect(r).toMatchObject({ status: 'fail' });
    expect((r as { fix: string }).fix).toContain(`--role=${conditional.role} --condition='expression=`);
  });
  it('fails on the role without the condition: it would reach every secret', async () => {
    const r = await projectGrant(conditional).check(ctx([{ role: conditional.role, members: [member] }]));
    expect(r).toMatchObject({ status: 'fail', problem: expect.stringContaining('without the condition') });
  });
  it('passes with the conditional binding, and is skipped (never passed) locally', async () => {
    const held = [{ role: conditional.role, members: [member], condition: { expression: 'x' } }];
    expect(await projectGrant(conditional).check(ctx(held))).toMatchObject({ status: 'ok' });
    expect(await projectGrant(conditional).check(ctx(undefined))).toMatchObject({ status: 'skip' });
  });
});
