// Append-only, hash-chained audit log in Firestore: `auditLog/{stream}-{seq}` plus a head document per stream
// in `auditStreams/{stream}`. Appends are transactional (the head is read and written in the same transaction)
// so concurrent writers can never fork a stream; one stream per kind of target keeps each head under about one
// write a second.
import { AUDIT_COLLECTION, AUDIT_STREAMS_COLLECTION } from './collections';
import type { DocumentData, Transaction } from 'firebase-admin/firestore';
import {
  ChainVerifier,
  entryId,
  nextEntry,
  type AuditEntry,
  type AuditInput,
  type ChainReport,
  type StreamHead,
} from './domain/audit-chain';
import { systemClock, type Clock } from './domain/clock';
import { db, firestoreModule, transact } from './firestore';

/** An appender bound to one transaction; its stream heads were read in the transaction's read phase. */
export interface TxAudit {
  append(stream: string, input: AuditInput): AuditEntry;
}

/**
 * Reads the heads of `streams` inside `tx` (Firestore requires every read before the first write), and returns an
 * appender that writes entries in the same transaction.
 */
export async function openAudit(
  tx: Transaction,
  streams: readonly string[],
  clock: Clock = systemClock,
): Promise<TxAudit> {
  const firestore = db();
  const unique = [...new Set(streams)];
  const snaps = unique.length
    ? await tx.getAll(...unique.map((s) => firestore.collection(AUDIT_STREAMS_COLLECTION).doc(s)))
    : [];
  const heads = new Map<string, StreamHead | undefined>();
  unique.forEach((s, i) => heads.set(s, headFrom(snaps[i]?.data())));
  const { Timestamp } = firestoreModule();
  return {
    append(stream, input) {
      if (!heads.has(stream)) throw new Error(`audit stream '${stream}' was not opened in this transaction`);
      const head = heads.get(stream);
      // Time never runs backwards within a stream, even across machines with skewed clocks.
      const atMs = Math.max(clock.nowMs(), head?.atMs ?? 0);
      const entry = nextEntry(head, stream, input, atMs);
      tx.set(firestore.collection(AUDIT_COLLECTION).doc(entryId(stream, entry.seq)), {
        ...entry,
        at: Timestamp.fromMillis(atMs),
      });
      tx.set(firestore.collection(AUDIT_STREAMS_COLLECTION).doc(stream), {
        seq: entry.seq,
        hash: entry.hash,
        atMs,
        updatedAt: Timestamp.fromMillis(atMs),
      });
      heads.set(stream, { seq: entry.seq, hash: entry.hash, atMs });
      return entry;
    },
  };
}

function headFrom(data: DocumentData | undefined): (StreamHead & { atMs?: number }) | undefined {
  if (!data || typeof data.seq !== 'number' || typeof data.hash !== 'string') return undefined;
  return { seq: data.seq, hash: data.hash, ...(typeof data.atMs === 'number' ? { atMs: data.atMs } : {}) };
}

/** Appends one entry in a transaction of its own. */
export async function appendAudit(
  stream: string,
  input: AuditInput,
  clock: Clock = systemClock,
): Promise<AuditEntry> {
  return transact(async (tx) => {
    const audit = await openAudit(tx, [stream], clock);
    return audit.append(stream, input);
  });
}

const PAGE = 500;

/** Walks one stream from its first entry and reports the first broken or missing link. */
export async function verifyAuditStream(stream: string): Promise<ChainReport> {
  const firestore = db();
  const { FieldPath } = firestoreModule();
  const verifier = new ChainVerifier(stream);
  const collection = firestore.collection(AUDIT_COLLECTION);
  // Exactly this stream's ids: `{stream}-` and 12 digits. A plain prefix range would also take in the entries
  // of a stream whose name extends this one (`flags` and `flags-prod`).
  const first = entryId(stream, 0);
  const last = entryId(stream, 999_999_999_999);
  let after: string | undefined;
  while (!verifier.failed) {
    let query = collection.orderBy(FieldPath.documentId());
    query = after === undefined ? query.startAt(first) : query.startAfter(after);
    const page = await query.endAt(last).limit(PAGE).get();
    for (const doc of page.docs) {
      const data = doc.data();
      const { at, ...entry } = data;
      const atMs = (at as { toMillis?: () => number } | undefined)?.toMillis?.();
      if (atMs !== undefined && atMs !== entry.atMs) {
        // `at` is a query copy of the hashed `atMs`; an edit to it alone is tampering too.
        return {
          stream,
          ok: false,
          checked: 0,
          lastSeq: 0,
          firstProblem: {
            problem: 'hash-mismatch',
            seq: Number(entry.seq),
            id: doc.id,
            detail: `entry ${doc.id}: 'at' differs from the hashed time`,
          },
        };
      }
      verifier.feed(doc.id, entry as AuditEntry);
    }
    if (page.size < PAGE) break;
    after = page.docs[page.docs.length - 1]!.id;
  }
  const headSnap = await firestore.collection(AUDIT_STREAMS_COLLECTION).doc(stream).get();
  return verifier.finish(headFrom(headSnap.data()));
}

/** Every stream that has a head document. */
export async function listAuditStreams(): Promise<string[]> {
  const refs = await db().collection(AUDIT_STREAMS_COLLECTION).listDocuments();
  return refs.map((r) => r.id).sort();
}
