// Handlers of the secret rotation functions (functions.ts): Secret Manager's notices, the hourly sweep and
// admin edits of `secretPolicies/{secretId}`. Decisions:
// rotation/domain/rotation.ts; engine: rotation/engine.ts.
import { SECRET_POLICIES } from '../platform/collections';
import type { DocumentData } from 'firebase-admin/firestore';
import { alertPublish } from '../platform/alerts';
import { appendAudit, openAudit } from '../platform/audit-log';
import { db } from '../platform/firestore';
import { runOnce } from '../platform/idempotency';
import { logger } from '../platform/logger';
import { runScheduledOnce } from '../platform/scheduled-run';
import { activeRotationIds, advanceRotation, startRotation, type EngineDeps } from './engine';
import { ROTATION_LOCKS } from '../platform/collections';
import { rotationDeps } from './deps';
import type { SecretPolicy } from './schema';
import type { Actor } from '../platform/domain/audit-chain';
import { toJsonValue } from '../platform/domain/canonical-json';
import { diffFields } from '../platform/domain/diff';
import { rotationDue } from './domain/rotation';
import { actorFromAuth } from '../platform/actor';
import { FIREOPS_SECRET_PREFIX } from '../platform/iam';
import { callbackRefusal, type PolicyTrust } from './strategies';

const STREAM = 'rotations';

type PolicyCheck = { ok: true; policy: SecretPolicy } | { ok: false; reason: string; field: string };

/**
 * A policy, validated, and checked against what deploy allows: the secret must be one fireops may rotate (the
 * FIREOPS_SECRET_PREFIX the IAM condition grants, or WEBHOOK_SECRET_ID), an http-callback's URL an origin of
 * CALLBACK_ORIGINS. An admin edit chooses among these; anything else is refused (policy.rejected).
 */
export async function checkPolicy(
  secretId: string,
  data: DocumentData | undefined,
  trust: PolicyTrust,
): Promise<PolicyCheck> {
  const { secretPolicySchema, SECRET_ID_PATTERN, formatZodError } = await import('./schema.js');
  const target = `${SECRET_POLICIES}/${secretId}`;
  if (!SECRET_ID_PATTERN.test(secretId))
    return { ok: false, reason: `secret id '${secretId}' is not valid`, field: 'secretId' };
  if (!secretId.startsWith(FIREOPS_SECRET_PREFIX) && !trust.extraSecretIds.includes(secretId)) {
    return {
      ok: false,
      field: 'secretId',
      reason:
        `${target}: secret '${secretId}' is not one fireops may rotate: ids start with '${FIREOPS_SECRET_PREFIX}' ` +
        '(the IAM condition grants fireops nothing else) or are the webhook secret (WEBHOOK_SECRET_ID)',
    };
  }
  const parsed = secretPolicySchema.safeParse(data ?? null);
  if (!parsed.success) {
    const { message, field } = formatZodError(parsed.error, target);
    return { ok: false, reason: message, field };
  }
  if (parsed.data.strategy === 'http-callback') {
    const refused = callbackRefusal(parsed.data.url, trust);
    if (refused) return { ok: false, field: 'url', reason: `${target}: field 'url': ${refused}` };
  }
  return { ok: true, policy: parsed.data };
}

async function readPolicy(secretId: string, trust: PolicyTrust): Promise<PolicyCheck | undefined> {
  const snap = await db().collection(SECRET_POLICIES).doc(secretId).get();
  return snap.exists ? checkPolicy(secretId, snap.data(), trust) : undefined;
}

/** A Secret Manager notice. SECRET_ROTATE starts a rotation; every other event type is audited only. */
export async function handleSecretEvent(
  eventId: string,
  attributes: Record<string, string>,
  deps: EngineDeps = rotationDeps(),
): Promise<{ rotationId?: string; outcome: string }> {
  const eventType = attributes.eventType ?? 'UNKNOWN';
  const secretId = (attributes.secretId ?? '').split('/').pop() ?? '';
  const actor: Actor = { type: 'system', id: 'secret-manager' };
  const log = logger({ correlationId: eventId, secretId, eventType });
  if (eventType !== 'SECRET_ROTATE') {
    await runOnce('cloudevent', eventId, async ({ tx }) => {
      const audit = await openAudit(tx, [STREAM], deps.clock);
      audit.append(STREAM, {
        actor,
        action: 'secret.notification',
        target: `secrets/${secretId}`,
        reason: `${eventType} notice (audited only)`,
        correlationId: eventId,
        details: { eventType, versionId: attributes.versionId ?? null },
      });
      return { value: true };
    });
    return { outcome: 'audited' };
  }
  const check = await readPolicy(secretId, deps.trust);
  if (!check?.ok || !check.policy.enabled) {
    const reason = !check
      ? `no ${SECRET_POLICIES}/${secretId}: Secret Manager asked for a rotation fireops cannot do`
      : !check.ok
        ? check.reason
        : `${SECRET_POLICIES}/${secretId} is disabled (enabled: false)`;
    await runOnce('cloudevent', eventId, async ({ tx }) => {
      const audit = await openAudit(tx, [STREAM], deps.clock);
      audit.append(STREAM, {
        actor,
        action: 'rotation.refused',
        target: `secrets/${secretId}`,
        reason,
        correlationId: eventId,
      });
      return {
        value: true,
        publishes: [
          alertPublish({
            alertId: `rotation-refused:${eventId}`,
            severity: 'warning',
            kind: 'rotation.refused',
            title: `Rotation of ${secretId} not started`,
            text: reason,
            target: `secrets/${secretId}`,
            correlationId: eventId,
            atMs: deps.clock.nowMs(),
          }),
        ],
      };
    });
    log.warn('rotation refused', { reason });
    return { outcome: 'refused' };
  }
  // Secret Manager may send a notice twice (different message ids, same scheduled time): key on that time.
  const key = `notice:${attributes.timestamp ?? attributes.rotationTime ?? eventId}`;
  const started = await startRotation(
    secretId,
    check.policy,
    { kind: 'notification', actor },
    key,
    deps.clock,
  );
  const rotationId = started.started ? started.rotationId : started.activeRotationId;
  if (rotationId) await advanceRotation(rotationId, deps, eventId);
  return { ...(rotationId ? { rotationId } : {}), outcome: started.started ? 'started' : started.reason };
}

/** The hourly sweep: policy-due rotations start; active ones advance (resume, retire, destroy). */
export async function handleRotationSweep(
  schedule: { jobName?: string | undefined; scheduleTime?: string | undefined },
  deps: EngineDeps = rotationDeps(),
): Promise<{ ran: boolean; started: string[]; advanced: string[] }> {
  const run = await runScheduledOnce(
    'rotationSweep',
    schedule,
    { ttlMs: 30 * 60_000, clock: deps.clock },
    async ({ correlationId, actor }) => {
      const started: string[] = [];
      const policies = await db().collection(SECRET_POLICIES).get();
      for (const doc of policies.docs) {
        const check = await checkPolicy(doc.id, doc.data(), deps.trust);
        if (!check.ok || !check.policy.enabled || !check.policy.intervalDays) continue;
        const lock = await db().collection(ROTATION_LOCKS).doc(doc.id).get();
        const last = (lock.get('lastRotatedAtMs') as number | undefined) ?? null;
        if (!rotationDue(check.policy.intervalDays, last, deps.clock.nowMs())) continue;
        const r = await startRotation(
          doc.id,
          check.policy,
          { kind: 'schedule', actor },
          `schedule:${correlationId}`,
          deps.clock,
        );
        if (r.started) started.push(r.rotationId);
      }
      const advanced: string[] = [];
      for (const id of await activeRotationIds()) {
        await advanceRotation(id, deps, correlationId);
        advanced.push(id);
      }
      return { started, advanced };
    },
  );
  // A schedule time that already ran counts as a run that had nothing left to do.
  if (run.kind === 'yielded') return { ran: false, started: [], advanced: [] };
  return run.kind === 'ran' ? { ran: true, ...run.value } : { ran: true, started: [], advanced: [] };
}

/** Admin edits of a policy: validated and audited; a changed `rotateRequestedAt` starts a rotation. */
export async function handlePolicyWrite(
  event: {
    id: string;
    secretId: string;
    authType: string;
    authId?: string | undefined;
    before?: DocumentData;
    after?: DocumentData;
  },
  deps: EngineDeps = rotationDeps(),
): Promise<{ outcome: string; rotationId?: string }> {
  const actor = actorFromAuth(event.authType, event.authId);
  const target = `${SECRET_POLICIES}/${event.secretId}`;
  if (!event.after) {
    await appendAudit(STREAM, {
      actor,
      action: 'policy.deleted',
      target,
      reason: 'policy deleted',
      correlationId: event.id,
    });
    return { outcome: 'deleted' };
  }
  const check = await checkPolicy(event.secretId, event.after, deps.trust);
  if (!check.ok) {
    await runOnce('cloudevent', event.id, async ({ tx }) => {
      const audit = await openAudit(tx, [STREAM], deps.clock);
      audit.append(STREAM, {
        actor,
        action: 'policy.rejected',
        target,
        reason: check.reason,
        correlationId: event.id,
        details: { field: check.field },
      });
      return {
        value: true,
        publishes: [
          alertPublish({
            alertId: `policy-rejected:${event.id}`,
            severity: 'warning',
            kind: 'policy.rejected',
            title: `Invalid secret policy ${event.secretId}: no rotation will start from it`,
            text: check.reason,
            target,
            correlationId: event.id,
            atMs: deps.clock.nowMs(),
          }),
        ],
      };
    });
    return { outcome: 'rejected' };
  }
  const before = event.before ? toJsonValue(event.before) : null;
  const after = toJsonValue(event.after);
  const changed = diffFields(before, after);
  const first = await runOnce('cloudevent', event.id, async ({ tx }) => {
    const audit = await openAudit(tx, [STREAM], deps.clock);
    audit.append(STREAM, {
      actor,
      action: 'policy.updated',
      target,
      reason: `valid edit by ${actor.type} ${actor.id}`,
      correlationId: event.id,
      before,
      after,
      details: { changed },
    });
    return { value: true };
  });
  if (first.duplicate || !('rotateRequestedAt' in changed) || event.after.rotateRequestedAt === undefined)
    return { outcome: 'updated' };
  const started = await startRotation(
    event.secretId,
    check.policy,
    { kind: 'admin', actor },
    `admin:${event.id}`,
    deps.clock,
  );
  if (started.started) await advanceRotation(started.rotationId, deps, event.id);
  return {
    outcome: started.started ? 'rotation-started' : started.reason,
    ...(started.started ? { rotationId: started.rotationId } : {}),
  };
}
