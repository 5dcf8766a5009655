// onHealthCheckWritten: admin edits of `healthChecks/{id}`. A valid definition goes into `healthCatalog/{id}`
// (what the probe cycle runs, one document per check) and is audited with its diff; an invalid one is refused with the field named,
// audited and alerted, and the previous valid definition stays in the catalog and keeps running. Events can
// arrive out of order: the catalog remembers each check's source update time and never goes back. Audited in the
// check's shard of the `health` stream (`health-0` .. `health-7`).
import { auditDigest } from '../platform/domain/credentials';
import type { DocumentData } from 'firebase-admin/firestore';
import type { HealthCheck } from './schema';
import { alertPublish } from '../platform/alerts';
import { openAudit } from '../platform/audit-log';
import { db, firestoreModule } from '../platform/firestore';
import { HEALTH_STREAM, HEALTH_STREAM_SHARDS, type HealthCatalogEntryDoc } from './docs';
import { shardedStream } from '../platform/domain/audit-chain';
import { bucketOf } from './domain/shards';
import { HEALTH_CATALOG, HEALTH_CHECKS } from '../platform/collections';
import { runOnce } from '../platform/idempotency';
import { PROBE_REGIONS } from '../platform/params';
import { toJsonValue } from '../platform/domain/canonical-json';
import { systemClock, type Clock } from '../platform/domain/clock';
import { diffFields } from '../platform/domain/diff';
import { ValidationError } from '../platform/domain/errors';
import { actorFromAuth } from '../platform/actor';

const TOMBSTONE_DAYS = 30;
const DAY_MS = 86_400_000;

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
  const entryRef = db().collection(HEALTH_CATALOG).doc(event.checkId);
  const stream = shardedStream(HEALTH_STREAM, event.checkId, HEALTH_STREAM_SHARDS);
  const result = await runOnce<CheckWriteOutcome>('cloudevent', event.id, async ({ tx }) => {
    const snap = await tx.get(entryRef);
    const audit = await openAudit(tx, [stream], clock);
    const entry = snap.data() as HealthCatalogEntryDoc | undefined;
    if ((entry?.sourceTimeMs ?? 0) > event.sourceTimeMs) return { value: { outcome: 'stale' } };
    const { Timestamp } = firestoreModule();
    const now = clock.nowMs();
    const running = entry?.check ?? null;
    const write = (fields: Pick<HealthCatalogEntryDoc, 'check' | 'refused'>, tombstone = false) =>
      tx.set(entryRef, {
        ...catalogEntry(event.checkId, fields.check, { sourceTimeMs: event.sourceTimeMs, nowMs: now }),
        refused: fields.refused,
        ...(tombstone ? { expireAt: Timestamp.fromMillis(now + TOMBSTONE_DAYS * DAY_MS) } : {}),
      });
    if (!parsed) {
      // A tombstone, not a deletion: caches see it (catalog-cache.ts), and an older event arriving late is still
      // recognised as stale. Firestore's TTL removes it after 30 days.
      write({ check: null, refused: null }, true);
      audit.append(stream, {
        actor,
        action: 'check.deleted',
        target,
        reason: `deleted by ${actor.type} ${actor.id}; no longer probed`,
        correlationId: event.id,
        before: toJsonValue(running ? auditView(running) : null),
      });
      return { value: { outcome: 'deleted' } };
    }
    if (!parsed.ok) {
      write({ check: running, refused: { reason: parsed.reason, field: parsed.field, atMs: now } });
      audit.append(stream, {
        actor,
        action: 'check.refused',
        target,
        reason: parsed.reason,
        correlationId: event.id,
        details: { field: parsed.field, previousKeepsRunning: running !== null },
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
    write({ check: parsed.check, refused: null });
    const beforeJson = running ? toJsonValue(auditView(running)) : null;
    const afterJson = toJsonValue(auditView(parsed.check));
    audit.append(stream, {
      actor,
      action: running ? 'check.updated' : 'check.created',
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
 * The catalog document of a check (`healthCatalog/{checkId}`): what onHealthCheckWritten writes, and what the bench
 * and tests seed. `updatedAt` is the commit's server time, which catalog caches follow (catalog-cache.ts).
 */
export function catalogEntry(
  checkId: string,
  check: HealthCheck | null,
  at: { sourceTimeMs: number; nowMs: number } = { sourceTimeMs: Date.now(), nowMs: Date.now() },
) {
  return {
    checkId,
    bucket: bucketOf(checkId),
    check,
    live: check !== null,
    refused: null,
    sourceTimeMs: at.sourceTimeMs,
    updatedAtMs: at.nowMs,
    updatedAt: firestoreModule().FieldValue.serverTimestamp(),
  };
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
