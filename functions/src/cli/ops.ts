// fireops ops commands (issue 15): what an operator does in the Firestore console, from a terminal. Each writes
// exactly the document the console would, after validating it with the schema its trigger uses, and refuses with
// the trigger's message; the trigger then judges it as it judges a console edit (audited, alerted).
//
//   fireops flag get KEY                       flags/KEY and the value readers use (flagState/KEY)
//   fireops flag set KEY [--enabled true|false] [--percent N] [--description D] [--expires ISO|never]
//   fireops rollout list | show ID
//   fireops rollout approve|pause|resume|abort|promote-now|rollback-now ID --reason R
//   fireops check add FILE                     a YAML or JSON object {checkId: definition, ...}
//   fireops check disable ID | list
//   fireops backup list
//   fireops audit verify [STREAM]              walks the chains (and anchors) like platform-verifyAuditLog
//   fireops status                             uptime, error budget and state of every check
//   common: --project P, --json (machine output), --actor EMAIL (recorded as `by` on rollout commands)
//
//   fireops rotate SECRET                      sets secretPolicies/SECRET.rotateRequestedAt, follows the rotation
//   fireops backup now                         runs the export's Cloud Scheduler job now, follows the export
//   fireops drill now                          sets settings/backups.drill.requestedAt, runs the drill's job now
//   common to the three: --detach (do not follow), --region R (where the scheduled functions run)
//
// The work itself always runs in the deployed functions, with their identity, retries and audit: the CLI only
// writes the request an admin would write in the console, or asks Cloud Scheduler to run the job now (what the
// console's "Force run" does; locally the Functions emulator's scheduler route), then follows the documents.
import fs from 'node:fs';
import type { Firestore } from 'firebase-admin/firestore';
import { ValidationError } from '../platform/domain/errors';
import type { Out } from './commands';

export interface OpsContext {
  db: () => Firestore;
  out: Out;
  json: boolean;
  color: boolean;
  actor: string | undefined;
  /** Runs a scheduled function's job now (Cloud Scheduler's force run; locally the emulator's route). */
  runJob?: ((functionId: string) => Promise<void>) | undefined;
  /** Do not follow the work a command started. */
  detach?: boolean | undefined;
  /** How long a followed command waits, and how often it looks (tests shorten nothing: defaults). */
  followMs?: number | undefined;
}

export interface OpsOptions {
  enabled?: string | undefined;
  percent?: string | undefined;
  description?: string | undefined;
  expires?: string | undefined;
  reason?: string | undefined;
}

const ROLLOUT_ACTIONS = ['approve', 'pause', 'resume', 'abort', 'promote-now', 'rollback-now'] as const;

const paint = (ctx: OpsContext, code: number, s: string) => (ctx.color ? `\u001b[${code}m${s}\u001b[0m` : s);
const STATE_COLOR: Record<string, number> = { up: 32, degraded: 33, down: 31, unknown: 90 };

function refuse(ctx: OpsContext, message: string): number {
  if (ctx.json) ctx.out(JSON.stringify({ ok: false, error: message }));
  else ctx.out(`${paint(ctx, 31, 'refused')}: ${message}`);
  return 1;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd(),
  );
}

/** Runs an ops command; undefined when `command` is not one. */
export async function opsCommand(
  positionals: string[],
  opts: OpsOptions,
  ctx: OpsContext,
): Promise<number | undefined> {
  const [group, sub, arg] = positionals;
  switch (group) {
    case 'flag':
      if (sub === 'get' && arg) return flagGet(ctx, arg);
      if (sub === 'set' && arg) return flagSet(ctx, arg, opts);
      return refuse(
        ctx,
        'usage: fireops flag get KEY | flag set KEY [--enabled true|false] [--percent N] ...',
      );
    case 'rollout':
      if (sub === 'list') return rolloutList(ctx);
      if (sub === 'show' && arg) return rolloutShow(ctx, arg);
      if ((ROLLOUT_ACTIONS as readonly string[]).includes(sub ?? '') && arg)
        return rolloutCommand(ctx, sub!, arg, opts.reason);
      return refuse(
        ctx,
        `usage: fireops rollout list | show ID | ${ROLLOUT_ACTIONS.join('|')} ID --reason R`,
      );
    case 'check':
      if (sub === 'add' && arg) return checkAdd(ctx, arg);
      if (sub === 'disable' && arg) return checkDisable(ctx, arg);
      if (sub === 'list') return checkList(ctx);
      return refuse(ctx, 'usage: fireops check add FILE | check disable ID | check list');
    case 'backup':
      if (sub === 'list') return backupList(ctx);
      if (sub === 'now') return backupNow(ctx);
      return refuse(ctx, 'usage: fireops backup list | backup now [--detach]');
    case 'drill':
      if (sub === 'now') return drillNow(ctx);
      return refuse(ctx, 'usage: fireops drill now [--detach]');
    case 'rotate':
      if (sub) return rotate(ctx, sub);
      return refuse(ctx, 'usage: fireops rotate SECRET [--detach]');
    case 'audit':
      if (sub === 'verify') return auditVerify(ctx, arg);
      return refuse(ctx, 'usage: fireops audit verify [STREAM]');
    case 'status':
      return status(ctx);
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------- flags

async function flagGet(ctx: OpsContext, key: string): Promise<number> {
  const { FLAGS, FLAG_STATE } = await import('../platform/collections.js');
  const [doc, state] = await Promise.all([
    ctx.db().collection(FLAGS).doc(key).get(),
    ctx.db().collection(FLAG_STATE).doc(key).get(),
  ]);
  if (!doc.exists && !state.exists) return refuse(ctx, `no flag '${key}'`);
  const document = plain(doc.data());
  const lastValid = plain(state.get('lastValid'));
  if (ctx.json) {
    ctx.out(JSON.stringify({ ok: true, key, document: document ?? null, lastValid: lastValid ?? null }));
    return 0;
  }
  ctx.out(`flags/${key}: ${JSON.stringify(document ?? null)}`);
  ctx.out(`readers use (last valid): ${JSON.stringify(lastValid ?? null)}`);
  return 0;
}

async function flagSet(ctx: OpsContext, key: string, opts: OpsOptions): Promise<number> {
  const { FLAGS } = await import('../platform/collections.js');
  const ref = ctx.db().collection(FLAGS).doc(key);
  const current = (await ref.get()).data() ?? {};
  const next: Record<string, unknown> = { ...current };
  if (opts.enabled !== undefined) {
    if (opts.enabled !== 'true' && opts.enabled !== 'false')
      return refuse(ctx, `--enabled must be true or false (got '${opts.enabled}')`);
    next.enabled = opts.enabled === 'true';
  }
  if (opts.percent !== undefined) next.rolloutPercent = Number(opts.percent);
  if (opts.description !== undefined) next.description = opts.description;
  if (opts.expires === 'never') delete next.expiresAt;
  else if (opts.expires !== undefined) {
    const at = new Date(opts.expires);
    if (Number.isNaN(at.getTime())) return refuse(ctx, `--expires must be an ISO time or 'never'`);
    next.expiresAt = at;
  }
  // The trigger's own judgement (flags/engine.ts validateFlag): same schema, same message.
  const { validateFlag } = await import('../flags/engine.js');
  const judged = await validateFlag(key, next);
  if (judged.kind === 'invalid') return refuse(ctx, judged.reason);
  await ref.set(next);
  if (ctx.json) ctx.out(JSON.stringify({ ok: true, key, written: plain(next) }));
  else ctx.out(`${paint(ctx, 32, 'written')}: flags/${key} (flags-onFlagWritten audits it)`);
  return 0;
}

// ------------------------------------------------------------------------------------------------- rollouts

async function rolloutList(ctx: OpsContext): Promise<number> {
  const { ROLLOUTS } = await import('../platform/collections.js');
  const snap = await ctx.db().collection(ROLLOUTS).get();
  const rows = snap.docs
    .map((d): Record<string, unknown> & { id: string } => ({ id: d.id, ...d.data() }))
    .sort((a, b) => Number(b.createdAtMs ?? 0) - Number(a.createdAtMs ?? 0))
    .slice(0, 50)
    .map((r) => ({
      id: r.id,
      service: text(r.service),
      version: text(r.version),
      phase: text(r.phase),
      weight: Number(r.weight ?? 0),
    }));
  if (ctx.json) {
    ctx.out(JSON.stringify({ ok: true, rollouts: rows }));
    return 0;
  }
  if (!rows.length) ctx.out('no rollouts');
  else
    for (const line of table([
      ['ID', 'SERVICE', 'VERSION', 'PHASE', 'WEIGHT'],
      ...rows.map((r) => [r.id, r.service, r.version, r.phase, `${r.weight}%`]),
    ]))
      ctx.out(line);
  return 0;
}

async function rolloutShow(ctx: OpsContext, id: string): Promise<number> {
  const { ROLLOUTS } = await import('../platform/collections.js');
  const snap = await ctx.db().collection(ROLLOUTS).doc(id).get();
  if (!snap.exists) return refuse(ctx, `no rollout '${id}'`);
  const r = plain(snap.data()) as Record<string, unknown>;
  if (ctx.json) {
    ctx.out(JSON.stringify({ ok: true, rollout: { id, ...r } }));
    return 0;
  }
  ctx.out(
    `rollouts/${id}: ${text(r.service)} ${text(r.version)}, ${text(r.phase)} at ${Number(r.weight ?? 0)}%`,
  );
  if (r.reason) ctx.out(`  reason: ${text(r.reason)}`);
  const analyses = Array.isArray(r.analyses) ? r.analyses.length : 0;
  ctx.out(`  analyses: ${analyses}, failed: ${Number(r.failedAnalyses ?? 0)}`);
  return 0;
}

async function rolloutCommand(ctx: OpsContext, action: string, id: string, reason: string | undefined) {
  const { ROLLOUTS } = await import('../platform/collections.js');
  const { rolloutCommandSchema } = await import('../canary/schema.js');
  const { parseOrThrow } = await import('../platform/validation.js');
  const command = { action, reason: reason ?? '', ...(ctx.actor ? { by: ctx.actor } : {}) };
  try {
    parseOrThrow(rolloutCommandSchema, command, `${ROLLOUTS}/${id}.command`);
  } catch (err) {
    if (err instanceof ValidationError) return refuse(ctx, err.message);
    throw err;
  }
  const ref = ctx.db().collection(ROLLOUTS).doc(id);
  if (!(await ref.get()).exists) return refuse(ctx, `no rollout '${id}'`);
  // What the console writes: the `command` field only (firestore.rules isValidRolloutCommand).
  await ref.update({ command });
  if (ctx.json) ctx.out(JSON.stringify({ ok: true, id, command }));
  else
    ctx.out(
      `${paint(ctx, 32, 'written')}: rollouts/${id}.command ${action} (canary-onRolloutCommand applies it)`,
    );
  return 0;
}

// --------------------------------------------------------------------------------------------------- checks

async function checkAdd(ctx: OpsContext, file: string): Promise<number> {
  const text = fs.readFileSync(file, 'utf8');
  let parsed: unknown;
  try {
    parsed = /\.ya?ml$/i.test(file) ? (await import('yaml')).parse(text) : JSON.parse(text);
  } catch (err) {
    return refuse(
      ctx,
      `${file} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(err as Error).message}`,
    );
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    return refuse(ctx, `${file} must hold an object {checkId: definition, ...}`);
  const { HEALTH_CHECKS } = await import('../platform/collections.js');
  const { healthCheckSchema } = await import('../health/schema.js');
  const { parseOrThrow } = await import('../platform/validation.js');
  const entries = Object.entries(parsed as Record<string, unknown>);
  // All or nothing: every definition is validated before any is written.
  for (const [id, definition] of entries) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/.test(id))
      return refuse(ctx, `check id '${id}' must be a plain document id`);
    try {
      parseOrThrow(healthCheckSchema, definition, 'health check');
    } catch (err) {
      if (err instanceof ValidationError) return refuse(ctx, `${id}: ${err.message}`);
      throw err;
    }
  }
  const batch = ctx.db().batch();
  for (const [id, definition] of entries)
    batch.set(ctx.db().collection(HEALTH_CHECKS).doc(id), definition as Record<string, unknown>);
  await batch.commit();
  if (ctx.json) ctx.out(JSON.stringify({ ok: true, written: entries.map(([id]) => id) }));
  else
    ctx.out(
      `${paint(ctx, 32, 'written')}: ${entries.map(([id]) => `${HEALTH_CHECKS}/${id}`).join(', ')} ` +
        '(health-onHealthCheckWritten puts them in the catalog)',
    );
  return 0;
}

async function checkDisable(ctx: OpsContext, id: string): Promise<number> {
  const { HEALTH_CHECKS } = await import('../platform/collections.js');
  const ref = ctx.db().collection(HEALTH_CHECKS).doc(id);
  const snap = await ref.get();
  if (!snap.exists) return refuse(ctx, `no check '${id}'`);
  await ref.update({ enabled: false });
  if (ctx.json) ctx.out(JSON.stringify({ ok: true, id, enabled: false }));
  else ctx.out(`${paint(ctx, 32, 'written')}: ${HEALTH_CHECKS}/${id}.enabled = false`);
  return 0;
}

async function checkList(ctx: OpsContext): Promise<number> {
  const { HEALTH_CHECKS, HEALTH_CATALOG, HEALTH_STATUS } = await import('../platform/collections.js');
  const [checks, catalog, states] = await Promise.all([
    ctx.db().collection(HEALTH_CHECKS).get(),
    ctx.db().collection(HEALTH_CATALOG).get(),
    ctx.db().collection(HEALTH_STATUS).get(),
  ]);
  const refused = new Map(catalog.docs.map((d) => [d.id, d.get('refused') as { reason: string } | null]));
  const state = new Map(states.docs.map((d) => [d.id, String(d.get('state') ?? 'unknown')]));
  const rows = checks.docs.map((d) => ({
    id: d.id,
    name: String(d.get('name') ?? ''),
    type: String(d.get('type') ?? ''),
    enabled: d.get('enabled') !== false,
    state: state.get(d.id) ?? 'unknown',
    refused: refused.get(d.id)?.reason ?? null,
  }));
  if (ctx.json) {
    ctx.out(JSON.stringify({ ok: true, checks: rows }));
    return 0;
  }
  if (!rows.length) ctx.out('no checks');
  else
    for (const line of table([
      ['ID', 'NAME', 'TYPE', 'ENABLED', 'STATE', 'REFUSED'],
      ...rows.map((r) => [r.id, r.name, r.type, String(r.enabled), r.state, r.refused ? 'yes' : '']),
    ]))
      ctx.out(line);
  return 0;
}

// ---------------------------------------------------------------------------------------- backups, audit, status

async function backupList(ctx: OpsContext): Promise<number> {
  const { BACKUPS } = await import('../platform/collections.js');
  const snap = await ctx.db().collection(BACKUPS).orderBy('startedAtMs', 'desc').limit(20).get();
  const rows = snap.docs.map((d) => ({
    id: d.id,
    state: String(d.get('state') ?? ''),
    startedAt: new Date(Number(d.get('startedAtMs') ?? 0)).toISOString(),
  }));
  if (ctx.json) ctx.out(JSON.stringify({ ok: true, backups: rows }));
  else if (!rows.length) ctx.out('no backups');
  else
    for (const line of table([['ID', 'STATE', 'STARTED'], ...rows.map((r) => [r.id, r.state, r.startedAt])]))
      ctx.out(line);
  return 0;
}

// ------------------------------------------------------------------------------- work in the deployed functions

/** The settings/backups console edit of `drill now`, validated with the drill's own schema first. */
async function drillNow(ctx: OpsContext): Promise<number> {
  const { BACKUP_SETTINGS, DRILLS } = await import('../platform/collections.js');
  const { backupSettingsSchema } = await import('../backups/schema.js');
  const { parseOrThrow } = await import('../platform/validation.js');
  const { Timestamp } = await import('firebase-admin/firestore');
  const ref = ctx.db().doc(BACKUP_SETTINGS);
  const snap = await ref.get();
  if (!snap.exists) return refuse(ctx, `${BACKUP_SETTINGS} does not exist: backups are not configured`);
  const requestedAt = Timestamp.now();
  const data = snap.data() as { drill?: Record<string, unknown> };
  try {
    const next = parseOrThrow(
      backupSettingsSchema,
      { ...data, drill: { ...(data.drill ?? {}), requestedAt } },
      BACKUP_SETTINGS,
    );
    if (!next.drill.enabled) return refuse(ctx, `drills are disabled in ${BACKUP_SETTINGS} (drill.enabled)`);
  } catch (err) {
    if (err instanceof ValidationError) return refuse(ctx, err.message);
    throw err;
  }
  await ref.update({ 'drill.requestedAt': requestedAt });
  const fromMs = requestedAt.toMillis();
  return startAndFollow(ctx, 'backups-restoreDrill', {
    what: `${BACKUP_SETTINGS}.drill.requestedAt`,
    find: async () => newest(ctx, DRILLS, fromMs),
    label: (d) => `drills/${d.id}: ${String(d.get('state'))}`,
    done: (d) => ['passed', 'failed'].includes(String(d.get('state'))),
    ok: (d) => d.get('state') === 'passed',
  });
}

async function backupNow(ctx: OpsContext): Promise<number> {
  const { BACKUPS } = await import('../platform/collections.js');
  const fromMs = Date.now();
  return startAndFollow(ctx, 'backups-scheduledExport', {
    what: 'the export job',
    find: async () => newest(ctx, BACKUPS, fromMs),
    label: (d) => `backups/${d.id}: ${String(d.get('state'))}`,
    done: (d) => ['verified', 'failed'].includes(String(d.get('state'))),
    ok: (d) => d.get('state') === 'verified',
  });
}

/** The newest document of `collection` started at or after `fromMs` (1 s of clock skew allowed). */
async function newest(ctx: OpsContext, collection: string, fromMs: number) {
  const snap = await ctx
    .db()
    .collection(collection)
    .where('startedAtMs', '>=', fromMs - 1_000)
    .orderBy('startedAtMs', 'desc')
    .limit(1)
    .get();
  return snap.docs[0];
}

async function rotate(ctx: OpsContext, secretId: string): Promise<number> {
  const { SECRET_POLICIES, ROTATIONS } = await import('../platform/collections.js');
  const { secretPolicySchema } = await import('../rotation/schema.js');
  const { parseOrThrow } = await import('../platform/validation.js');
  const { Timestamp } = await import('firebase-admin/firestore');
  const ref = ctx.db().collection(SECRET_POLICIES).doc(secretId);
  const snap = await ref.get();
  if (!snap.exists)
    return refuse(
      ctx,
      `no rotation policy ${SECRET_POLICIES}/${secretId}: fireops rotates only secrets with a policy (docs/capabilities/rotation.md)`,
    );
  const rotateRequestedAt = Timestamp.now();
  try {
    const policy = parseOrThrow(
      secretPolicySchema,
      { ...snap.data(), rotateRequestedAt },
      `${SECRET_POLICIES}/${secretId}`,
    );
    if (!policy.enabled) return refuse(ctx, `${SECRET_POLICIES}/${secretId} is disabled (enabled: false)`);
  } catch (err) {
    if (err instanceof ValidationError) return refuse(ctx, err.message);
    throw err;
  }
  // What the console writes: the request only; rotation-onSecretPolicyWrite starts the rotation as the admin.
  await ref.update({ rotateRequestedAt });
  const fromMs = rotateRequestedAt.toMillis();
  return follow(ctx, `${SECRET_POLICIES}/${secretId}.rotateRequestedAt`, {
    find: async () => {
      const all = await ctx.db().collection(ROTATIONS).where('secretId', '==', secretId).get();
      const started = (d: FirebaseFirestore.QueryDocumentSnapshot) =>
        (d.get('startedAt') as FirebaseFirestore.Timestamp | undefined)?.toMillis() ?? 0;
      return all.docs.filter((d) => started(d) >= fromMs - 1_000).sort((a, b) => started(b) - started(a))[0];
    },
    label: (d) =>
      `rotations/${d.id}: ${String(d.get('phase'))}${d.get('newVersion') ? ` (version ${String(d.get('newVersion'))})` : ''}`,
    // Grace: the new version is current and the old one still accepted; the rest happens on later sweeps.
    done: (d) => ['grace', 'retired', 'completed', 'failed'].includes(String(d.get('phase'))),
    ok: (d) => ['grace', 'retired', 'completed'].includes(String(d.get('phase'))),
  });
}

/** A request no function acted on within this is reported as refused (the work records itself in seconds). */
const NOTHING_RECORDED_MS = 60_000;

interface Followed {
  find: () => Promise<FirebaseFirestore.QueryDocumentSnapshot | undefined>;
  label: (d: FirebaseFirestore.QueryDocumentSnapshot) => string;
  done: (d: FirebaseFirestore.QueryDocumentSnapshot) => boolean;
  ok: (d: FirebaseFirestore.QueryDocumentSnapshot) => boolean;
}

async function startAndFollow(
  ctx: OpsContext,
  functionId: string,
  f: Followed & { what: string },
): Promise<number> {
  if (!ctx.runJob) return refuse(ctx, `cannot run ${functionId} from here (no scheduler access)`);
  if (!ctx.json) ctx.out(`${paint(ctx, 36, 'starting')}: ${functionId} now`);
  try {
    await ctx.runJob(functionId);
  } catch (err) {
    return refuse(ctx, `${functionId} could not be started: ${(err as Error).message}`);
  }
  return follow(ctx, `${functionId} job run`, f);
}

/** Prints each state the followed document passes through until it is done (or the wait ends: exit 3). */
async function follow(ctx: OpsContext, started: string, f: Followed): Promise<number> {
  if (ctx.detach) {
    if (ctx.json) ctx.out(JSON.stringify({ ok: true, started }));
    else ctx.out(`${paint(ctx, 32, 'started')}: ${started} (not followed: --detach)`);
    return 0;
  }
  if (!ctx.json)
    ctx.out(`${paint(ctx, 32, 'requested')}: ${started}; following (Ctrl-C stops following only)`);
  const startedAt = Date.now();
  const deadline = startedAt + (ctx.followMs ?? 10 * 60_000);
  let last = '';
  while (Date.now() < deadline) {
    const d = await f.find();
    // The function answered but recorded nothing: it refused (its settings, a bucket not allowed) or failed.
    if (!d && Date.now() - startedAt > NOTHING_RECORDED_MS) {
      const why = `nothing recorded within ${NOTHING_RECORDED_MS / 1000} s of ${started}: the function refused or failed; its log and ops-alerts say why`;
      if (ctx.json) ctx.out(JSON.stringify({ ok: false, error: why }));
      else ctx.out(`${paint(ctx, 31, 'failed')}: ${why}`);
      return 1;
    }
    if (d) {
      const line = f.label(d);
      if (line !== last && !ctx.json) ctx.out(`  ${line}`);
      last = line;
      if (f.done(d)) {
        const ok = f.ok(d);
        if (ctx.json) ctx.out(JSON.stringify({ ok, id: d.id, doc: plain(d.data()) }));
        else ctx.out(ok ? `${paint(ctx, 32, 'done')}: ${line}` : `${paint(ctx, 31, 'failed')}: ${line}`);
        return ok ? 0 : 1;
      }
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
  if (ctx.json) ctx.out(JSON.stringify({ ok: false, error: 'still running', last }));
  else
    ctx.out(
      `${paint(ctx, 33, 'still running')}: ${last || 'nothing recorded yet'}; follow it in the console`,
    );
  return 3;
}

async function auditVerify(ctx: OpsContext, stream: string | undefined): Promise<number> {
  const { verifyAuditPage, emptyVerifyState } = await import('../platform/audit-verify.js');
  const { anchorStore } = await import('../platform/verify-audit-log.js');
  const { systemClock } = await import('../platform/domain/clock.js');
  let store: Awaited<ReturnType<typeof anchorStore>> | undefined = anchorStore();
  try {
    await store.listAfter(undefined, 1);
  } catch (err) {
    // Said, not hidden: without the bucket the chains are still walked, but anchors are not compared.
    ctx.out(`note: anchors not checked (${(err as Error).message.slice(0, 200)})`);
    store = undefined;
  }
  let state = emptyVerifyState();
  let checked = 0;
  const problems: unknown[] = [];
  for (let pages = 0; pages < 100_000; pages += 1) {
    const page = await verifyAuditPage({
      state,
      store,
      clock: systemClock,
      pageSize: 2_000,
      deadlineMs: systemClock.nowMs() + 50_000,
      ...(stream ? { stream } : {}),
    });
    checked += page.entriesChecked;
    problems.push(...page.problems);
    if (ctx.color && !ctx.json) process.stderr.write(`\rverifying... ${checked} entries`);
    if (page.done || !page.ok) break;
    state = page.state;
  }
  if (ctx.color && !ctx.json) process.stderr.write('\n');
  const ok = problems.length === 0;
  if (ctx.json)
    ctx.out(JSON.stringify({ ok, entriesChecked: checked, anchorsChecked: Boolean(store), problems }));
  else {
    ctx.out(
      `${ok ? paint(ctx, 32, 'ok') : paint(ctx, 31, 'PROBLEMS')}: ${checked} entries checked${stream ? ` in ${stream}` : ''}`,
    );
    for (const p of problems) ctx.out(`  ${JSON.stringify(p)}`);
  }
  return ok ? 0 : 1;
}

async function status(ctx: OpsContext): Promise<number> {
  const { readSummary } = await import('../health/rollup.js');
  const { statusOf } = await import('../health/domain/summary.js');
  const { HEALTH_STATUS } = await import('../platform/collections.js');
  const [stored, states] = await Promise.all([
    readSummary(ctx.db()),
    ctx.db().collection(HEALTH_STATUS).get(),
  ]);
  if (!stored) return refuse(ctx, 'no health summary yet: health-healthRollup has not run');
  const byId = Object.fromEntries(states.docs.map((d) => [d.id, d.get('state') as never]));
  const body = statusOf(stored.summary, Date.now(), byId);
  if (ctx.json) {
    ctx.out(JSON.stringify({ ok: true, ...body }));
    return 0;
  }
  const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(2)}%`);
  for (const line of table([
    ['CHECK', 'STATE', '24H', '30D', 'BUDGET LEFT'],
    ...body.checks.map((c) => [
      c.name,
      paint(ctx, STATE_COLOR[c.state ?? 'unknown'] ?? 0, c.state ?? 'unknown'),
      pct(c.uptime['24h']),
      pct(c.uptime['30d']),
      c.errorBudget30d ? pct(c.errorBudget30d.remaining) : '-',
    ]),
  ]))
    ctx.out(line);
  return 0;
}

/** A document field as text: strings as they are, anything else as JSON. */
function text(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v);
}

/** Firestore values as JSON: Timestamps as ISO strings. */
function plain(v: unknown): unknown {
  if (v === null || v === undefined) return v;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && typeof (v as { toDate?: unknown }).toDate === 'function')
    return (v as { toDate(): Date }).toDate().toISOString();
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}
