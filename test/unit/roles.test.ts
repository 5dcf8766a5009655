// Roles for humans (issue 13.B): the claim shape the rules, verifyAuditLog and the CLI share.
import { describe, expect, it } from 'vitest';
import { claimsWithRole, claimsWithoutRole, roleOf } from '../../functions/src/platform/domain/roles';

describe('roles', () => {
  it.each<[Record<string, unknown> | undefined, string | null]>([
    [undefined, null],
    [{}, null],
    [{ admin: true }, 'admin'],
    [{ admin: 'true' }, null],
    [{ role: 'viewer' }, 'viewer'],
    [{ role: 'operator' }, 'operator'],
    [{ role: 'securityAdmin' }, 'securityAdmin'],
    [{ role: 'admin' }, 'admin'],
    [{ role: 'Admin' }, null],
    [{ role: ['admin'] }, null],
    [{ role: 'viewer', admin: true }, 'admin'],
  ])('roleOf(%j) is %s', (claims, role) => {
    expect(roleOf(claims)).toBe(role);
  });

  it('granting replaces the role, keeps other claims, and sets admin: true only for admin', () => {
    expect(claimsWithRole({ team: 'x', admin: true }, 'operator')).toEqual({ team: 'x', role: 'operator' });
    expect(claimsWithRole({ team: 'x' }, 'admin')).toEqual({ team: 'x', role: 'admin', admin: true });
  });

  it('revoking removes only the role held', () => {
    expect(claimsWithoutRole({ team: 'x', role: 'operator' }, 'operator')).toEqual({ team: 'x' });
    expect(claimsWithoutRole({ role: 'admin', admin: true }, 'viewer')).toEqual({
      role: 'admin',
      admin: true,
    });
    expect(claimsWithoutRole({ admin: true }, 'admin')).toEqual({});
  });
});
