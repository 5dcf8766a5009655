// The probe cycle's view of `healthCatalog/{checkId}` (one document per check, kept by onHealthCheckWritten in
// catalog.ts), cached per instance so a warm cycle does not read 10,000 definitions a minute.
//
// Each catalog document carries `updatedAt`, the server time of the commit that wrote it. A commit not yet seen by
// this instance commits after the latest `updatedAt` it has seen, so one query `updatedAt > latestSeen` returns
// every change since the last refresh (deletions are tombstones, kept 30 days by a TTL, so they are seen too). A
// count of the span's documents (1 read per 1,000) is compared with what the cache knows: a mismatch (a tombstone
// expired before this instance saw it, a database restored or wiped) reloads the span. So a warm cycle costs two
// reads for the catalog (the count: 1 per 1,000 documents), a cold one its span's documents; a reload is forced
// at least every 6 hours.
//
// Spans: the orchestrator reads the whole catalog (to size the shards), a shard worker only its bucket range;
// an instance keeps the few spans it served last.
import type { QueryDocumentSnapshot, Timestamp } from 'firebase-admin/firestore';
import type { HealthCheck } from './schema';
import type { HealthCatalogEntryDoc } from './docs';
import { HEALTH_CATALOG } from '../platform/collections';
import { db, firestoreModule } from '../platform/firestore';
import { BUCKETS, inSpan, spanKey, type Span } from './domain/shards';

export const FULL_SPAN: Span = { lo: 0, hi: BUCKETS };
/**
 * A span is read again from scratch at least this often: belt and braces (the delta and the count already catch
 * every change but a deletion and a creation in the same span missed together), priced in the cost model.
 */
export const CATALOG_RELOAD_MS = 6 * 60 * 60_000;
/** Spans one instance keeps. */
const MAX_SPANS = 4;

export interface LiveCheck {
  bucket: number;
  check: HealthCheck;
}

interface SpanState {
  span: Span;
  /** Every catalog document id in the span, tombstones and refusals included (what `count()` counts). */
  known: Set<string>;
  /** Checks with a valid definition. */
  live: Map<string, LiveCheck>;
  latestSeen: Timestamp | undefined;
  loadedAtMs: number;
}

export interface CatalogRead {
  checks: Map<string, LiveCheck>;
  /** Billed document reads this refresh cost (a query returning nothing counts 1). */
  reads: number;
  reloaded: boolean;
}

export class CatalogCache {
  private readonly spans = new Map<string, SpanState>();

  async read(span: Span, nowMs: number): Promise<CatalogRead> {
    const key = spanKey(span);
    let state = this.spans.get(key);
    let reads = 0;
    let reloaded = false;
    if (state && nowMs - state.loadedAtMs < CATALOG_RELOAD_MS) {
      const { Timestamp } = firestoreModule();
      const [delta, count] = await Promise.all([
        db()
          .collection(HEALTH_CATALOG)
          .where('updatedAt', '>', state.latestSeen ?? Timestamp.fromMillis(0))
          .get(),
        spanQuery(span).count().get(),
      ]);
      reads += Math.max(1, delta.size) + 1;
      for (const doc of delta.docs) apply(state, doc);
      if (count.data().count !== state.known.size) state = undefined;
    } else {
      state = undefined;
    }
    if (!state) {
      const snap = await spanQuery(span).get();
      reads += Math.max(1, snap.size);
      state = { span, known: new Set(), live: new Map(), latestSeen: undefined, loadedAtMs: nowMs };
      for (const doc of snap.docs) apply(state, doc);
      reloaded = true;
    }
    this.spans.delete(key);
    this.spans.set(key, state);
    while (this.spans.size > MAX_SPANS) this.spans.delete(this.spans.keys().next().value!);
    return { checks: state.live, reads, reloaded };
  }
}

function spanQuery(span: Span) {
  const all = db().collection(HEALTH_CATALOG);
  return span.lo === 0 && span.hi === BUCKETS
    ? all
    : all.where('bucket', '>=', span.lo).where('bucket', '<', span.hi);
}

function apply(state: SpanState, doc: QueryDocumentSnapshot): void {
  const d = doc.data() as Partial<HealthCatalogEntryDoc>;
  const updatedAt = d.updatedAt;
  if (updatedAt && (!state.latestSeen || updatedAt.toMillis() > state.latestSeen.toMillis()))
    state.latestSeen = updatedAt;
  const full = state.span.lo === 0 && state.span.hi === BUCKETS;
  const bucketed = typeof d.bucket === 'number';
  // Counted as the span's count() query counts: the full span counts every document (a stray one without a bucket,
  // such as the single-document catalog of earlier versions, included), a range only bucketed ones.
  if (full || (bucketed && inSpan(d.bucket!, state.span))) state.known.add(doc.id);
  if (!bucketed || !inSpan(d.bucket!, state.span)) return;
  if (d.check) state.live.set(doc.id, { bucket: d.bucket!, check: d.check });
  else state.live.delete(doc.id);
}

let instanceCache: CatalogCache | undefined;

/** The instance's cache (production); tests make their own. */
export function instanceCatalog(): CatalogCache {
  return (instanceCache ??= new CatalogCache());
}
