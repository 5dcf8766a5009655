// Tamper-evident audit log: each entry's hash covers its content and the previous entry's hash within the same
// stream (one stream per target kind). Pure: the adapter reads and writes, this module decides and checks.
import { fnv1a } from './hash';
import { createHash } from 'node:crypto';
import { canonicalJson, type JsonValue } from './canonical-json';

export type ActorType = 'github' | 'scheduler' | 'admin' | 'system';

export interface Actor {
  type: ActorType;
  id: string;
  /** How the actor authenticated, when known (Firestore auth context: `service_account`, `api_key`, ...). */
  authType?: string;
}

/** What a caller supplies for one audit entry. `before` and `after` must already be JSON (no secret values). */
export interface AuditInput {
  actor: Actor;
  action: string;
  target: string;
  reason: string;
  correlationId: string;
  before?: JsonValue;
  after?: JsonValue;
  /** Figures that drove the decision (thresholds, counts, metric values). */
  details?: JsonValue;
}

export interface AuditEntry extends AuditInput {
  /** Milliseconds since the epoch; the adapter also stores it as a Firestore timestamp for queries. */
  atMs: number;
  stream: string;
  seq: number;
  prevHash: string;
  hash: string;
}

export interface StreamHead {
  seq: number;
  hash: string;
  /** Time of the last entry; the next one is never earlier. */
  atMs?: number;
}

export const GENESIS_HASH = '0'.repeat(64);

/** Stream names are document-id safe and few: one per kind of target, or a fixed set of shards of one. */
export const STREAM_PATTERN = /^[a-z][a-zA-Z0-9-]{0,62}$/;

/**
 * The shard of a hot stream a target's entries go to: `{base}-{n}`, n = FNV-1a(key) mod `shards`. A stream's head
 * is one document written in every append's transaction, and Firestore sustains about one write a second per
 * document: a stream that many writers append to at once (canary ticks fan out per service) is cut into shards,
 * and one target always lands in the same shard, so its history stays one chain in order.
 */
export function shardedStream(base: string, key: string, shards: number): string {
  return `${base}-${fnv1a(key) % shards}`;
}

/** Every shard of a sharded stream, for readers that want them all. */
export function streamShards(base: string, shards: number): string[] {
  return Array.from({ length: shards }, (_, n) => `${base}-${n}`);
}

export function hashEntry(entry: Omit<AuditEntry, 'hash'>): string {
  const {
    atMs,
    stream,
    seq,
    prevHash,
    actor,
    action,
    target,
    reason,
    correlationId,
    before,
    after,
    details,
  } = entry;
  const body = canonicalJson({
    atMs,
    stream,
    seq,
    prevHash,
    actor,
    action,
    target,
    reason,
    correlationId,
    before: before ?? null,
    after: after ?? null,
    details: details ?? null,
  });
  return createHash('sha256').update(body).digest('hex');
}

/** The next entry of a stream whose head is `head` (undefined for an empty stream). */
export function nextEntry(
  head: StreamHead | undefined,
  stream: string,
  input: AuditInput,
  atMs: number,
): AuditEntry {
  if (!STREAM_PATTERN.test(stream)) throw new Error(`invalid audit stream name '${stream}'`);
  const seq = (head?.seq ?? 0) + 1;
  const prevHash = head?.hash ?? GENESIS_HASH;
  const withoutHash = { ...input, atMs, stream, seq, prevHash };
  return { ...withoutHash, hash: hashEntry(withoutHash) };
}

export function entryId(stream: string, seq: number): string {
  return `${stream}-${String(seq).padStart(12, '0')}`;
}

export type ChainProblem =
  | 'hash-mismatch' // the entry's content no longer matches its hash: edited
  | 'broken-link' // prevHash is not the previous entry's hash: an entry before it was replaced
  | 'missing-entry' // a sequence number is absent: deleted
  | 'out-of-order' // sequence numbers not increasing, or the id does not match the sequence: reordered
  | 'wrong-stream' // the entry claims another stream
  | 'head-mismatch' // the stream head disagrees with the last entry: entries removed from the end
  | 'anchor-mismatch' // the anchored hash of seq N (Cloud Storage) differs from the stored entry N: rewritten
  | 'anchor-chain'; // an anchor object does not name its predecessor's digest: anchors removed or forged

export interface ChainReport {
  stream: string;
  ok: boolean;
  checked: number;
  lastSeq: number;
  firstProblem?: { problem: ChainProblem; seq: number; id?: string; detail: string };
}

/**
 * Walks entries of one stream in id order (incrementally: feed pages in order) and reports the first broken or
 * missing link. Call `finish(head)` once all pages are fed.
 */
export class ChainVerifier {
  private expectedSeq = 1;
  private prevHash = GENESIS_HASH;
  private checked = 0;
  private problem: ChainReport['firstProblem'];

  /** `start`: the last entry already verified (a checkpoint); the walk goes on from the entry after it. */
  constructor(
    readonly stream: string,
    start?: { seq: number; hash: string },
  ) {
    if (start && start.seq > 0) {
      this.expectedSeq = start.seq + 1;
      this.prevHash = start.hash;
    }
  }

  /** The last entry verified so far (seq 0 and the genesis hash before the first). */
  get position(): { seq: number; hash: string } {
    return { seq: this.expectedSeq - 1, hash: this.prevHash };
  }

  get failed(): boolean {
    return this.problem !== undefined;
  }

  feed(id: string, entry: AuditEntry): void {
    if (this.problem) return;
    const fail = (problem: ChainProblem, detail: string) => {
      this.problem = {
        problem,
        seq: typeof entry.seq === 'number' ? entry.seq : this.expectedSeq,
        id,
        detail,
      };
    };
    if (entry.stream !== this.stream)
      return fail('wrong-stream', `entry ${id} names stream '${entry.stream}'`);
    if (id !== entryId(this.stream, entry.seq)) {
      return fail(
        'out-of-order',
        `entry ${id} holds seq ${entry.seq}, expected id ${entryId(this.stream, entry.seq)}`,
      );
    }
    if (entry.seq > this.expectedSeq) {
      this.problem = {
        problem: 'missing-entry',
        seq: this.expectedSeq,
        id: entryId(this.stream, this.expectedSeq),
        detail: `entry seq ${this.expectedSeq} is missing (next present is ${entry.seq})`,
      };
      return;
    }
    if (entry.seq < this.expectedSeq)
      return fail('out-of-order', `seq ${entry.seq} after ${this.expectedSeq - 1}`);
    const { hash, ...rest } = entry;
    if (hashEntry(rest) !== hash) return fail('hash-mismatch', `entry ${id} does not match its hash`);
    if (entry.prevHash !== this.prevHash) {
      return fail(
        'broken-link',
        `entry ${id} links to ${entry.prevHash.slice(0, 12)}…, previous is ${this.prevHash.slice(0, 12)}…`,
      );
    }
    this.prevHash = hash;
    this.expectedSeq += 1;
    this.checked += 1;
  }

  finish(head: StreamHead | undefined): ChainReport {
    const lastSeq = this.expectedSeq - 1;
    if (!this.problem && head && head.seq > lastSeq) {
      this.problem = {
        problem: 'missing-entry',
        seq: lastSeq + 1,
        id: entryId(this.stream, lastSeq + 1),
        detail: `stream head is at seq ${head.seq} but the log ends at seq ${lastSeq}`,
      };
    } else if (
      !this.problem &&
      head &&
      (head.seq < lastSeq || (lastSeq > 0 && head.hash !== this.prevHash))
    ) {
      this.problem = {
        problem: 'head-mismatch',
        seq: head.seq,
        id: entryId(this.stream, head.seq),
        detail: `stream head (seq ${head.seq}) does not match the log's last entry (seq ${lastSeq})`,
      };
    }
    if (!this.problem && !head && lastSeq > 0) {
      this.problem = { problem: 'head-mismatch', seq: lastSeq, detail: 'stream has entries but no head' };
    }
    return {
      stream: this.stream,
      ok: !this.problem,
      checked: this.checked,
      lastSeq,
      ...(this.problem ? { firstProblem: this.problem } : {}),
    };
  }
}
