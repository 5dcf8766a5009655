// platform-anchorAuditLog: writes the heads of the audit streams that moved since the last anchor to a new object
// in the anchor bucket (AUDIT_ANCHOR_BUCKET, retention-locked), chained to the previous anchor by its SHA-256.
// The previous anchor's name and the SHA-256 of the bytes written are kept in `auditCheckpoints/anchorWriter`, so
// the anchoring account needs only storage.objects.create (roles/storage.objectCreator: no read, no delete). An
// edit of that document can only break the anchor chain, which the verifier (reading the bucket) reports.
import { AUDIT_CHECKPOINTS, AUDIT_STREAMS_COLLECTION } from './collections';
import {
  ANCHOR_VERSION,
  anchorDigest,
  anchorName,
  changedHeads,
  serializeAnchor,
  type AnchorDoc,
  type AnchoredHead,
} from './domain/audit-anchor';
import type { Clock } from './domain/clock';
import { db } from './firestore';
import type { AnchorStore } from './anchor-store';

export const ANCHOR_WRITER_DOC = 'anchorWriter';

export interface AnchorOutcome {
  outcome: 'written' | 'unchanged';
  name?: string;
  heads: number;
}

interface WriterState {
  name: string;
  /** SHA-256 (hex) of the bytes of `name`. */
  sha256: string;
  /** stream -> seq last anchored (what "changed" is measured against). */
  anchored: Record<string, number>;
}

export async function anchorAuditLog(store: AnchorStore, clock: Clock): Promise<AnchorOutcome> {
  const firestore = db();
  const stateRef = firestore.collection(AUDIT_CHECKPOINTS).doc(ANCHOR_WRITER_DOC);
  const [stateSnap, headSnaps] = await Promise.all([
    stateRef.get(),
    firestore.collection(AUDIT_STREAMS_COLLECTION).get(),
  ]);
  const state = stateSnap.data() as WriterState | undefined;
  const heads: AnchoredHead[] = [];
  for (const doc of headSnaps.docs) {
    const d = doc.data();
    if (typeof d.seq !== 'number' || typeof d.hash !== 'string') continue;
    heads.push({ stream: doc.id, seq: d.seq, hash: d.hash, atMs: typeof d.atMs === 'number' ? d.atMs : 0 });
  }
  const changed = changedHeads(heads, state?.anchored ?? {});
  if (changed.length === 0) return { outcome: 'unchanged', heads: 0 };

  const prev: AnchorDoc['prev'] = state?.name ? { name: state.name, sha256: state.sha256 } : null;
  const nowMs = clock.nowMs();
  const name = anchorName(nowMs);
  const doc: AnchorDoc = {
    version: ANCHOR_VERSION,
    writtenAt: new Date(nowMs).toISOString(),
    prev,
    heads: changed,
  };
  const bytes = serializeAnchor(doc);
  await store.create(name, bytes);
  const anchored = { ...(state?.anchored ?? {}) };
  for (const h of changed) anchored[h.stream] = h.seq;
  await stateRef.set({ name, sha256: anchorDigest(bytes), anchored } satisfies WriterState);
  return { outcome: 'written', name, heads: changed.length };
}
