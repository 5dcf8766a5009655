// onHealthCheckWritten: admin edits of `healthChecks/{id}`. A valid definition goes into `healthCatalog/current`
// (what the probe cycle runs) and is audited with its diff; an invalid one is refused with the field named,
// audited and alerted, and the previous valid definition stays in the catalog and keeps running. Events can
// arrive out of order: the catalog remembers each check's source update time and never goes back.
import { auditDigest } from '../platform/domain/credentials';
import type { DocumentData } from 'firebase-admin/firestore';
import type { HealthCheck } from './schema';
import { alertPublish } from '../platform/alerts';
import { openAudit } from '../platform/audit-log';
import { db, firestoreModule } from '../platform/firestore';
import { HEALTH_STREAM, type HealthCatalogDoc } from './docs';
import { HEALTH_CATALOG, HEALTH_CHECKS } from '../platform/collections';
import { runOnce } from '../platform/idempotency';
import { PROBE_REGIONS } from '../platform/params';
import { toJsonValue } from '../platform/domain/canonical-json';
import { systemClock, type Clock } from '../platform/domain/clock';
import { diffFields } from '../platform/domain/diff';
import { ValidationError } from '../platform/domain/errors';
import { actorFromAuth } from '../platform/actor';

export interface HealthCheckWriteEvent {
  id: string;
  checkId: string;
  authType: string;
  authId?: string | undefined;
  after: DocumentData | undefined;
  /** Update time of the written document in ms (the event time for a deletion). */
  sourceTimeMs: number;
}

export interface CheckWriteOutcome {
  outcome: 'updated' | 'refused' | 'deleted' | 'stale' | 'duplicate';
  reason?: string;
}

export async function handleHealthCheckWrite(
  event: HealthCheckWriteEvent,
  clock: Clock = systemClock,
  probeRegions: readonly string[] = PROBE_REGIONS,
): Promise<CheckWriteOutcome> {
  const actor = actorFromAuth(event.authType, event.authId);
  const target = `${HEALTH_CHECKS}/${event.checkId}`;
  let parsed: Awaited<ReturnType<typeof parse>> | undefined;
  if (event.after) parsed = await parse(event.after, probeRegions);
  const catalogRef = db().doc(HEALTH_CATALOG);
  const result = await runOnce<CheckWriteOutcome>('cloudevent', event.id, async ({ tx }) => {
    const snap = await tx.get(catalogRef);
    const audit = await openAudit(tx, [HEALTH_STREAM], clock);
    // A catalog whose first write was a refusal has no `checks` yet (merge writes only the fields they set).
    const catalog: HealthCatalogDoc & { sourceTimes?: Record<string, number> } = {
      checks: {},
      refused: {},
      updatedAtMs: 0,
      ...(snap.data() as (HealthCatalogDoc & { sourceTimes?: Record<string, number> }) | undefined),
    };
    const sourceTimes = catalog.sourceTimes ?? {};
    if ((sourceTimes[event.checkId] ?? 0) > event.sourceTimeMs) return { value: { outcome: 'stale' } };
    const { FieldValue } = firestoreModule();
    const now = clock.nowMs();
    if (!parsed) {
      tx.set(
        catalogRef,
        {
          checks: { [event.checkId]: FieldValue.delete() },
          refused: { [event.checkId]: FieldValue.delete() },
          sourceTimes: { [event.checkId]: event.sourceTimeMs },
          updatedAtMs: now,
        },
        { merge: true },
      );
      const deleted = catalog.checks[event.checkId];
      audit.append(HEALTH_STREAM, {
        actor,
        action: 'check.deleted',
        target,
        reason: `deleted by ${actor.type} ${actor.id}; no longer probed`,
        correlationId: event.id,
        before: toJsonValue(deleted ? auditView(deleted) : null),
      });
      return { value: { outcome: 'deleted' } };
    }
    if (!parsed.ok) {
      tx.set(
        catalogRef,
        {
          refused: { [event.checkId]: { reason: parsed.reason, field: parsed.field, atMs: now } },
          sourceTimes: { [event.checkId]: event.sourceTimeMs },
          updatedAtMs: now,
        },
        { merge: true },
      );
      const running = catalog.checks[event.checkId] !== undefined;
      audit.append(HEALTH_STREAM, {
        actor,
        action: 'check.refused',
        target,
        reason: parsed.reason,
        correlationId: event.id,
        details: { field: parsed.field, previousKeepsRunning: running },
      });
      return {
        value: { outcome: 'refused', reason: parsed.reason },
        publishes: [
          alertPublish({
            alertId: `check-refused:${event.id}`,
            severity: 'warning',
            kind: 'check.refused',
            title: `Invalid health check ${event.checkId}: ${running ? 'the previous definition keeps running' : 'not probed'}`,
            text: `${parsed.reason}. Edited by ${actor.type} ${actor.id}.`,
            target,
            correlationId: event.id,
            atMs: now,
          }),
        ],
      };
    }
    const before = catalog.checks[event.checkId];
    tx.set(
      catalogRef,
      {
        checks: { [event.checkId]: parsed.check },
        refused: { [event.checkId]: FieldValue.delete() },
        sourceTimes: { [event.checkId]: event.sourceTimeMs },
        updatedAtMs: now,
      },
      { merge: true },
    );
    const beforeJson = before ? toJsonValue(auditView(before)) : null;
    const afterJson = toJsonValue(auditView(parsed.check));
    audit.append(HEALTH_STREAM, {
      actor,
      action: before ? 'check.updated' : 'check.created',
      target,
      reason: `valid edit by ${actor.type} ${actor.id}`,
      correlationId: event.id,
      before: beforeJson,
      after: afterJson,
      details: { changed: diffFields(beforeJson, afterJson) },
    });
    return { value: { outcome: 'updated' } };
  });
  if (result.duplicate) return { outcome: 'duplicate' };
  return result.value;
}

/**
 * A definition as its audit entry keeps it: header values and the request body as digests (auditDigest), never
 * as text. Credential-looking values are refused before this (schema.ts), but a header value or a body may still be
 * sensitive, and an audit entry is permanent. `details.changed` still names every field that changed.
 */
export function auditView(check: HealthCheck): HealthCheck {
  if (check.type !== 'http') return check;
  const digested: HealthCheck = { ...check };
  if (check.headers)
    digested.headers = Object.fromEntries(Object.entries(check.headers).map(([k, v]) => [k, auditDigest(v)]));
  if (check.body !== undefined) digested.body = auditDigest(check.body);
  return digested;
}

async function parse(data: DocumentData, probeRegions: readonly string[]) {
  const { healthCheckSchema, parseOrThrow } = await import('./schema.js');
  try {
    // Headers and body are kept as written; header secrets are ids, never values (the schema refuses inline
    // credentials), so the catalog holds nothing secret.
    const check = parseOrThrow(healthCheckSchema, data, 'health check');
    // Only the deployment knows its regions, so the schema cannot: a region no probeCycle runs in would leave the
    // check unprobed there, and, counted in the majority, unable to ever go down.
    const unknown = (check.regions ?? []).findIndex((r) => !probeRegions.includes(r));
    if (unknown >= 0) {
      throw new ValidationError(
        `field 'regions[${unknown}]' must be one of the deployed probe regions (${probeRegions.join(', ')}): ` +
          `'${check.regions![unknown]}' is not`,
        `regions[${unknown}]`,
      );
    }
    return { ok: true as const, check };
  } catch (err) {
    if (err instanceof ValidationError)
      return { ok: false as const, reason: err.message, field: err.field ?? '' };
    throw err;
  }
}
