// The pure pieces of the fireops CLI (functions/src/cli/resources.ts): where the bucket belongs, and adding IAM
// members without removing anything (what makes bootstrap safe to run twice).
import { describe, expect, it } from 'vitest';
import { bucketLocationFor, withMember } from '../../functions/src/cli/resources';

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
