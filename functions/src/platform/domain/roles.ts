// Roles for humans (docs/security.md#who-may-do-what). One custom claim, `role`, holds one of ROLES; the
// legacy claim `admin: true` (fireops grant-admin before roles existed) keeps meaning 'admin', so tokens and
// rules deployed before the split keep working. firestore.rules encodes the same table.

/** viewer reads; operator and securityAdmin each add their writes; admin is both. */
export const ROLES = ['viewer', 'operator', 'securityAdmin', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (value: unknown): value is Role =>
  typeof value === 'string' && (ROLES as readonly string[]).includes(value);

/** The role a token's (or a user's) custom claims carry, or null. */
export function roleOf(claims: Record<string, unknown> | undefined | null): Role | null {
  if (!claims) return null;
  if (claims.admin === true) return 'admin';
  return isRole(claims.role) ? claims.role : null;
}

/** Claims with `role` granted (the legacy `admin` claim is kept for 'admin' only, so an old reader still works). */
export function claimsWithRole(claims: Record<string, unknown>, role: Role): Record<string, unknown> {
  const next: Record<string, unknown> = { ...claims, role };
  if (role === 'admin') next.admin = true;
  else delete next.admin;
  return next;
}

/** Claims with `role` revoked: only when the user holds exactly that role (revoking 'viewer' from an admin is a no-op). */
export function claimsWithoutRole(claims: Record<string, unknown>, role: Role): Record<string, unknown> {
  if (roleOf(claims) !== role) return { ...claims };
  const next: Record<string, unknown> = { ...claims };
  delete next.role;
  delete next.admin;
  return next;
}
