// The commands, with their dependencies as parameters (the APIs, the settings, the IAM matrix, an output sink), so
// tests run them in-process against the local suite; fireops.ts builds the production ones.
import crypto from 'node:crypto';
import type { Actor } from '../platform/domain/audit-chain';
import type { Role } from '../platform/domain/roles';
import type { CheckResult, Ctx, Resource } from './resources';
import { resources } from './resources';

export type Out = (line: string) => void;

function line(r: Resource, result: CheckResult): string {
  switch (result.status) {
    case 'ok':
      return `ok    ${r.describe}${result.detail ? `: ${result.detail}` : ''}`;
    case 'skip':
      return `skip  ${r.describe}: ${result.reason}`;
    case 'fail':
      return `FAIL  ${r.describe}: ${result.problem}\n      fix: ${result.fix}`;
  }
}

async function safeCheck(r: Resource, ctx: Ctx): Promise<CheckResult> {
  try {
    return await r.check(ctx);
  } catch (err) {
    return {
      status: 'fail',
      problem: `check failed: ${(err as Error).message}`,
      fix: 'see the error; rerun',
    };
  }
}

/** Read-only preflight: one line per check; resolves the exit code (1 on any failure). */
export async function doctor(ctx: Ctx, out: Out): Promise<number> {
  let failures = 0;
  let skipped = 0;
  for (const r of resources(ctx.settings, ctx.iam)) {
    const result = await safeCheck(r, ctx);
    if (result.status === 'fail') failures += 1;
    if (result.status === 'skip') skipped += 1;
    out(line(r, result));
  }
  out(
    failures
      ? `doctor: ${failures} check(s) failed${skipped ? `, ${skipped} skipped locally` : ''}`
      : `doctor: all checks passed${skipped ? ` (${skipped} skipped locally)` : ''}`,
  );
  return failures ? 1 : 0;
}

export interface BootstrapReport {
  /** What the plan would create (or created, with apply). */
  toCreate: string[];
  /** Missing pieces only a person can provide, with the fix. */
  manual: string[];
  /** Creates that failed (apply only). */
  errors: string[];
}

/**
 * Prints the plan (like `terraform plan`): `+` what bootstrap creates, `!` what a person must do. With `apply`,
 * creates each in order, re-checking first (an earlier step may have made it), and never deletes anything.
 */
export async function bootstrap(ctx: Ctx, out: Out, { apply }: { apply: boolean }): Promise<BootstrapReport> {
  const report: BootstrapReport = { toCreate: [], manual: [], errors: [] };
  for (const r of resources(ctx.settings, ctx.iam)) {
    const result = await safeCheck(r, ctx);
    if (result.status !== 'fail') continue;
    if (!r.create) {
      report.manual.push(r.describe);
      out(`!   ${r.describe}: ${result.problem}\n    fix: ${result.fix}`);
      continue;
    }
    report.toCreate.push(r.describe);
    out(`+   ${r.plan ?? `create ${r.describe}`}`);
    if (!apply) continue;
    try {
      await r.create(ctx);
      const after = await safeCheck(r, ctx);
      if (after.status === 'fail') {
        report.errors.push(r.describe);
        out(`    still failing: ${after.problem}\n    fix: ${after.fix}`);
      } else out('    done');
    } catch (err) {
      report.errors.push(r.describe);
      out(`    failed: ${(err as Error).message}`);
    }
  }
  const verb = apply ? 'created' : 'to create';
  out(
    report.toCreate.length || report.manual.length
      ? `Plan: ${report.toCreate.length - report.errors.length} ${verb}, ${report.errors.length} failed, ${report.manual.length} for a person.`
      : 'No changes. Everything bootstrap manages exists.',
  );
  if (!apply && report.toCreate.length) out('Run again with --apply to create them.');
  return report;
}

export interface RoleClaimDeps {
  setRoleClaim(
    email: string,
    change: { grant: Role } | { revoke: Role },
  ): Promise<{ uid: string; before: Role | null; after: Role | null }>;
  appendAudit(
    stream: string,
    input: {
      actor: Actor;
      action: string;
      target: string;
      reason: string;
      correlationId: string;
      before?: Role | null;
      after?: Role | null;
    },
  ): Promise<unknown>;
}

/** Audit stream of role changes (named before roles existed: it held the admin claim's changes). */
export const ADMINS_STREAM = 'admins';

/**
 * Grants or revokes a role and audits it (also when nothing changed, as an attempt). Actions `role.granted` /
 * `role.revoked`, `before` / `after` the role names (null: none).
 */
export async function setRole(
  deps: RoleClaimDeps,
  out: Out,
  {
    email,
    role,
    grant,
    actor,
    reason,
  }: { email: string; role: Role; grant: boolean; actor: Actor; reason: string },
): Promise<number> {
  const { uid, before, after } = await deps.setRoleClaim(email, grant ? { grant: role } : { revoke: role });
  await deps.appendAudit(ADMINS_STREAM, {
    actor,
    action: grant ? 'role.granted' : 'role.revoked',
    target: `users/${uid}`,
    reason,
    correlationId: crypto.randomUUID(),
    before,
    after,
  });
  const show = (r: Role | null) => r ?? 'none';
  out(
    `${email} (${uid}): role ${before === after ? `already ${show(after)}` : `${show(before)} -> ${show(after)}`}` +
      (!grant && before !== role ? ` (does not hold ${role}; nothing revoked)` : '') +
      `; audited in stream ${ADMINS_STREAM}` +
      (after !== before ? ' (takes effect when the user next refreshes the ID token, within an hour)' : ''),
  );
  return 0;
}
