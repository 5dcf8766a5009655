// Incremental, bounded verification of the audit log against its anchors. One call (`verifyAuditPage`) does at
// most `pageSize` units of work (an entry read, an anchor object read) within `deadlineMs`, starting from a
// `VerifyState` (a checkpoint), and returns the state to continue from: the HTTP endpoint hands it back as a
// cursor, platform-verifyAuditSweep keeps it in `auditCheckpoints/verifier`. Three checks:
// 1. the anchor objects in the bucket, in name order, each naming its predecessor's SHA-256 (anchor-chain);
// 2. every call, for each stream, the stored entry at the latest anchored seq has the anchored hash
//    (anchor-mismatch): a consistent rewrite of that entry or of any entry before it changes that hash;
// 3. the chain walk from the checkpoint on: each entry matches its hash and links to the previous one, no seq is
//    missing, the head matches the last entry (hash-mismatch, broken-link, missing-entry, head-mismatch ...).
// What a checkpoint trusts: the entries before it were verified once. An edit of such an entry that is not
// carried through the chain (hash-mismatch or broken-link) is found only by a pass from genesis; a consistent
// rewrite is found by check 2 at every call, as long as the checkpoint's anchored hashes are intact, and by a
// pass from genesis (which trusts nothing in Firestore, only the bucket) even if they are not. docs/security.md.
import { AUDIT_COLLECTION, AUDIT_STREAMS_COLLECTION } from './collections';
import { anchorDigest, parseAnchor } from './domain/audit-anchor';
import {
  ChainVerifier,
  entryId,
  type AuditEntry,
  type ChainProblem,
  type ChainReport,
} from './domain/audit-chain';
import type { Clock } from './domain/clock';
import { db, firestoreModule } from './firestore';
import type { AnchorStore } from './anchor-store';

export interface VerifyState {
  /** The last anchor object verified and the SHA-256 of its bytes. */
  anchors: { last?: string; sha256?: string; count: number };
  /** stream -> the last entry verified by the walk. */
  streams: Record<string, { seq: number; hash: string }>;
  /** stream -> the latest anchored head seen in the bucket (checked against the stored entry at every call). */
  anchored: Record<string, { seq: number; hash: string; anchor: string }>;
}

export const emptyVerifyState = (): VerifyState => ({ anchors: { count: 0 }, streams: {}, anchored: {} });

export interface VerifyProblem {
  stream?: string;
  problem: ChainProblem;
  seq?: number;
  id?: string;
  anchor?: string;
  detail: string;
}

export interface VerifyPage {
  ok: boolean;
  /** Everything up to the heads read in this call was verified (false: continue from `state`). */
  done: boolean;
  /** Where the next call goes on from; unchanged past the first problem (a checkpoint never passes one). */
  state: VerifyState;
  /** Chain reports of the streams finished in this call. */
  streams: ChainReport[];
  anchors: { configured: boolean; checked: number; last?: string };
  entriesChecked: number;
  problems: VerifyProblem[];
}

export interface VerifyOptions {
  state: VerifyState;
  store: AnchorStore | undefined;
  clock: Clock;
  /** Units of work (entry or anchor reads) at most. */
  pageSize: number;
  /** Stop starting new reads after this time (clock ms). */
  deadlineMs: number;
  /** Only this stream (anchors are still all read). */
  stream?: string;
}

const READ_BATCH = 500;
const ANCHOR_BATCH = 50;

export async function verifyAuditPage(opts: VerifyOptions): Promise<VerifyPage> {
  const { store, clock } = opts;
  const state: VerifyState = structuredClone(opts.state);
  const problems: VerifyProblem[] = [];
  const reports: ChainReport[] = [];
  let budget = opts.pageSize;
  let done = true;
  const outOfTime = () => budget <= 0 || clock.nowMs() >= opts.deadlineMs;
  let anchorsChecked = 0;

  // 1. New anchors, in order, each chained to the one before.
  if (store) {
    anchors: while (!outOfTime()) {
      const asked = Math.min(ANCHOR_BATCH, budget);
      const names = await store.listAfter(state.anchors.last, asked);
      if (names.length === 0) break;
      for (const name of names) {
        if (outOfTime()) {
          done = false;
          break anchors;
        }
        budget -= 1;
        const bytes = await store.read(name);
        if (!bytes) break anchors; // listed, then gone: read again next time
        let doc;
        try {
          doc = parseAnchor(bytes);
        } catch (err) {
          problems.push({ problem: 'anchor-chain', anchor: name, detail: (err as Error).message });
          break anchors;
        }
        const expected = state.anchors.last
          ? { name: state.anchors.last, sha256: state.anchors.sha256 }
          : null;
        const matches =
          expected === null
            ? doc.prev === null
            : doc.prev?.name === expected.name && doc.prev.sha256 === expected.sha256;
        if (!matches) {
          problems.push({
            problem: 'anchor-chain',
            anchor: name,
            detail:
              `anchor ${name} names predecessor ${doc.prev ? `${doc.prev.name} (${doc.prev.sha256.slice(0, 12)}…)` : 'none'}` +
              `, expected ${expected ? `${expected.name} (${expected.sha256?.slice(0, 12)}…)` : 'none (first anchor)'}`,
          });
          break anchors;
        }
        for (const h of doc.heads) {
          const seen = state.anchored[h.stream];
          if (!seen || h.seq >= seen.seq)
            state.anchored[h.stream] = { seq: h.seq, hash: h.hash, anchor: name };
        }
        state.anchors = { last: name, sha256: anchorDigest(bytes), count: state.anchors.count + 1 };
        anchorsChecked += 1;
      }
      if (names.length < asked) break;
    }
    if (outOfTime() && problems.length === 0) {
      // Anchors may remain: say so only if there are some.
      const more = await store.listAfter(state.anchors.last, 1);
      if (more.length) done = false;
    }
  }

  const firestore = db();
  const wanted = (s: string) => opts.stream === undefined || s === opts.stream;

  // 2. The latest anchored entry of every stream, against the bucket's hash (one read per stream, every call).
  const anchoredStreams = Object.keys(state.anchored).filter(wanted).sort();
  if (anchoredStreams.length) {
    const snaps = await firestore.getAll(
      ...anchoredStreams.map((s) =>
        firestore.collection(AUDIT_COLLECTION).doc(entryId(s, state.anchored[s]!.seq)),
      ),
    );
    anchoredStreams.forEach((s, i) => {
      const a = state.anchored[s]!;
      const stored = snaps[i]?.data();
      if (!stored || stored.hash !== a.hash) {
        problems.push({
          stream: s,
          problem: 'anchor-mismatch',
          seq: a.seq,
          id: entryId(s, a.seq),
          anchor: a.anchor,
          detail: stored
            ? `entry ${entryId(s, a.seq)} has hash ${String(stored.hash).slice(0, 12)}…, anchor ${a.anchor} says ${a.hash.slice(0, 12)}…: the stream was rewritten`
            : `entry ${entryId(s, a.seq)} is anchored by ${a.anchor} but missing: the stream was truncated`,
        });
      }
    });
  }

  // 3. The chain walk from each stream's checkpoint.
  const headRefs = await firestore.collection(AUDIT_STREAMS_COLLECTION).listDocuments();
  const streams = [...new Set([...headRefs.map((r) => r.id), ...Object.keys(state.anchored)])]
    .filter(wanted)
    .sort();
  const { FieldPath } = firestoreModule();
  let entriesChecked = 0;
  for (const stream of streams) {
    if (outOfTime()) {
      done = false;
      break;
    }
    const verifier = new ChainVerifier(stream, state.streams[stream]);
    const last = entryId(stream, 999_999_999_999);
    let finished = false;
    let tampered: ChainReport['firstProblem'];
    while (!verifier.failed && !tampered) {
      if (outOfTime()) break;
      const limit = Math.min(READ_BATCH, budget);
      const page = await firestore
        .collection(AUDIT_COLLECTION)
        .orderBy(FieldPath.documentId())
        .startAfter(entryId(stream, verifier.position.seq))
        .endAt(last)
        .limit(limit)
        .get();
      budget -= Math.max(1, page.size);
      for (const doc of page.docs) {
        const { at, ...entry } = doc.data();
        const atMs = (at as { toMillis?: () => number } | undefined)?.toMillis?.();
        if (atMs !== undefined && atMs !== entry.atMs) {
          // `at` is a query copy of the hashed `atMs`; an edit to it alone is tampering too.
          tampered = {
            problem: 'hash-mismatch',
            seq: Number(entry.seq),
            id: doc.id,
            detail: `entry ${doc.id}: 'at' differs from the hashed time`,
          };
          break;
        }
        verifier.feed(doc.id, entry as AuditEntry);
        if (!verifier.failed) entriesChecked += 1;
      }
      if (page.size < limit) {
        finished = true;
        break;
      }
    }
    if (tampered) {
      reports.push({ stream, ok: false, checked: 0, lastSeq: verifier.position.seq, firstProblem: tampered });
      problems.push({ stream, ...tampered });
      continue;
    }
    if (!finished && !verifier.failed) {
      state.streams[stream] = verifier.position; // a page boundary: go on from here next time
      done = false;
      break;
    }
    const headSnap = await firestore.collection(AUDIT_STREAMS_COLLECTION).doc(stream).get();
    const d = headSnap.data();
    const head =
      d && typeof d.seq === 'number' && typeof d.hash === 'string' ? { seq: d.seq, hash: d.hash } : undefined;
    const report = verifier.finish(head);
    reports.push(report);
    if (report.ok) state.streams[stream] = verifier.position;
    else if (report.firstProblem) problems.push({ stream, ...report.firstProblem });
  }

  return {
    ok: problems.length === 0,
    done: done && problems.length === 0,
    // Past a problem nothing advances: the next call finds it again.
    state: problems.length ? opts.state : state,
    streams: reports,
    anchors: {
      configured: store !== undefined,
      checked: anchorsChecked,
      ...(state.anchors.last ? { last: state.anchors.last } : {}),
    },
    entriesChecked,
    problems,
  };
}

/** The state as an opaque cursor for the HTTP answer (base64url JSON) and back. */
export function encodeCursor(state: VerifyState): string {
  return Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): VerifyState {
  const raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as VerifyState;
  if (
    typeof raw !== 'object' ||
    raw === null ||
    typeof raw.anchors !== 'object' ||
    typeof raw.streams !== 'object' ||
    typeof raw.anchored !== 'object'
  ) {
    throw new Error('not a verification cursor');
  }
  return raw;
}
