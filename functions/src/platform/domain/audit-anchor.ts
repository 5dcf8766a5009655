// Anchors of the audit log: objects in a Cloud Storage bucket with a retention lock, each holding the heads
// (stream, seq, hash, time) of the streams that moved since the previous anchor and the SHA-256 of the previous
// anchor's bytes, so the anchors form a chain of their own. Pure: building, parsing and the digest.
import { createHash } from 'node:crypto';
import { STREAM_PATTERN } from './audit-chain';

export const ANCHOR_PREFIX = 'anchors/';
export const ANCHOR_VERSION = 1;

export interface AnchoredHead {
  stream: string;
  seq: number;
  hash: string;
  atMs: number;
}

export interface AnchorDoc {
  version: number;
  /** When the anchor was written (ISO 8601); also the object's name. */
  writtenAt: string;
  /** The previous anchor object and the SHA-256 (hex) of its bytes; null for the first anchor. */
  prev: { name: string; sha256: string } | null;
  heads: AnchoredHead[];
}

/** `anchors/2026-12-05T02:15:00.000Z.json`: ISO times sort as strings, so listing order is time order. */
export function anchorName(atMs: number): string {
  return `${ANCHOR_PREFIX}${new Date(atMs).toISOString()}.json`;
}

export function anchorDigest(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function serializeAnchor(doc: AnchorDoc): Buffer {
  return Buffer.from(`${JSON.stringify(doc)}\n`, 'utf8');
}

/** Parses an anchor object; throws with the reason when it is not one. */
export function parseAnchor(bytes: Buffer | string): AnchorDoc {
  const raw: unknown = JSON.parse(bytes.toString());
  const fail = (why: string): never => {
    throw new Error(`not an audit anchor: ${why}`);
  };
  if (typeof raw !== 'object' || raw === null) return fail('not an object');
  const o = raw as Record<string, unknown>;
  if (o.version !== ANCHOR_VERSION) fail(`version ${String(o.version)}`);
  if (typeof o.writtenAt !== 'string') fail('writtenAt');
  const prev = o.prev as AnchorDoc['prev'];
  if (prev !== null && (typeof prev?.name !== 'string' || !/^[0-9a-f]{64}$/.test(prev.sha256 ?? ''))) {
    fail('prev');
  }
  if (!Array.isArray(o.heads)) return fail('heads');
  for (const h of o.heads as AnchoredHead[]) {
    if (
      !STREAM_PATTERN.test(String(h?.stream)) ||
      !Number.isInteger(h.seq) ||
      h.seq < 1 ||
      !/^[0-9a-f]{64}$/.test(String(h.hash)) ||
      typeof h.atMs !== 'number'
    ) {
      fail(`head ${JSON.stringify(h)}`);
    }
  }
  return raw as AnchorDoc;
}

/** The heads that moved since the last anchor (`anchored`: stream -> seq), sorted by stream. */
export function changedHeads(
  heads: readonly AnchoredHead[],
  anchored: Readonly<Record<string, number>>,
): AnchoredHead[] {
  return heads
    .filter((h) => anchored[h.stream] !== h.seq)
    .sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0));
}
