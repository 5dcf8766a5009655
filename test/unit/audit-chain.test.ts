import { createHash } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import {
  ChainVerifier,
  GENESIS_HASH,
  STREAM_PATTERN,
  entryId,
  hashEntry,
  nextEntry,
  shardedStream,
  streamShards,
  type AuditEntry,
  type AuditInput,
  type ChainReport,
  type StreamHead,
} from '../../functions/src/platform/domain/audit-chain';
import { canonicalJson } from '../../functions/src/platform/domain/canonical-json';

const STREAM = 'flags';
const T0 = 1_700_000_000_000;

function input(n: number, extra: Partial<AuditInput> = {}): AuditInput {
  return {
    actor: { type: 'admin', id: `admin-${n}` },
    action: 'flag.updated',
    target: `flags/f${n}`,
    reason: `edit number ${n}`,
    correlationId: `corr-${n}`,
    before: { enabled: false, n },
    after: { enabled: true, n },
    details: { changed: { enabled: { from: false, to: true } } },
    ...extra,
  };
}

/** A valid chain of `count` entries, built with nextEntry exactly as the adapter does. */
function buildChain(count: number, stream = STREAM): AuditEntry[] {
  const out: AuditEntry[] = [];
  let head: StreamHead | undefined;
  for (let i = 1; i <= count; i++) {
    const entry = nextEntry(head, stream, input(i), T0 + i * 1000);
    out.push(entry);
    head = { seq: entry.seq, hash: entry.hash, atMs: entry.atMs };
  }
  return out;
}

function headOf(entries: AuditEntry[]): StreamHead | undefined {
  const last = entries[entries.length - 1];
  return last ? { seq: last.seq, hash: last.hash, atMs: last.atMs } : undefined;
}

function verify(
  pairs: Array<[string, AuditEntry]>,
  head: StreamHead | undefined,
  stream = STREAM,
): ChainReport {
  const verifier = new ChainVerifier(stream);
  for (const [id, entry] of pairs) verifier.feed(id, entry);
  return verifier.finish(head);
}

function withIds(entries: AuditEntry[], stream = STREAM): Array<[string, AuditEntry]> {
  return entries.map((e) => [entryId(stream, e.seq), e]);
}

function rehash(entry: AuditEntry): AuditEntry {
  const { hash: _old, ...rest } = entry;
  return { ...rest, hash: hashEntry(rest) };
}

describe('entryId', () => {
  it.each([
    ['flags', 1, 'flags-000000000001'],
    ['flags', 0, 'flags-000000000000'],
    ['secret-rotation', 42, 'secret-rotation-000000000042'],
    ['a', 123456789012, 'a-123456789012'],
  ])('entryId(%s, %d) = %s', (stream, seq, expected) => {
    expect(entryId(stream, seq)).toBe(expected);
  });

  it('sorts lexicographically in sequence order (ids are walked in document-id order)', () => {
    const ids = [10, 2, 1, 100, 9].map((n) => entryId(STREAM, n));
    expect([...ids].sort()).toEqual([1, 2, 9, 10, 100].map((n) => entryId(STREAM, n)));
  });
});

describe('STREAM_PATTERN / nextEntry stream names', () => {
  it.each([
    ['flags', true],
    ['a', true],
    ['secret-rotation', true],
    ['canaryV2', true],
    ['a' + 'b'.repeat(62), true], // 63 characters: the maximum
    ['a' + 'b'.repeat(63), false], // 64 characters
    ['', false],
    ['Flags', false],
    ['1flags', false],
    ['-flags', false],
    ['flags_x', false],
    ['flags/x', false],
    ['flags x', false],
  ])('%j valid=%s', (stream, valid) => {
    expect(STREAM_PATTERN.test(stream)).toBe(valid);
    if (valid) {
      expect(nextEntry(undefined, stream, input(1), T0).stream).toBe(stream);
    } else {
      expect(() => nextEntry(undefined, stream, input(1), T0)).toThrow(
        `invalid audit stream name '${stream}'`,
      );
    }
  });
});

describe('nextEntry', () => {
  it('starts an empty stream at seq 1 linked to the genesis hash', () => {
    const e = nextEntry(undefined, STREAM, input(1), T0);
    expect(e.seq).toBe(1);
    expect(e.prevHash).toBe(GENESIS_HASH);
    expect(GENESIS_HASH).toBe('0'.repeat(64));
    expect(e.atMs).toBe(T0);
    expect(e.stream).toBe(STREAM);
    expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
    const { hash: _h, ...rest } = e;
    expect(e.hash).toBe(hashEntry(rest));
  });

  it('copies every input field onto the entry', () => {
    const inp = input(7, { actor: { type: 'github', id: 'octocat', authType: 'oidc' } });
    const e = nextEntry(undefined, STREAM, inp, T0);
    expect(e).toMatchObject(inp);
  });

  it('continues from a head: seq+1 and prevHash = head.hash', () => {
    const head: StreamHead = { seq: 41, hash: 'ab'.repeat(32) };
    const e = nextEntry(head, STREAM, input(1), T0);
    expect(e.seq).toBe(42);
    expect(e.prevHash).toBe('ab'.repeat(32));
  });

  it('links each entry of a built chain to its predecessor', () => {
    const chain = buildChain(5);
    expect(chain.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(chain[0]!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < chain.length; i++) expect(chain[i]!.prevHash).toBe(chain[i - 1]!.hash);
    expect(new Set(chain.map((e) => e.hash)).size).toBe(5);
  });

  it('does not mutate the input', () => {
    const inp = input(1);
    const copy = structuredClone(inp);
    nextEntry(undefined, STREAM, inp, T0);
    expect(inp).toEqual(copy);
  });
});

describe('hashEntry', () => {
  const base = (): Omit<AuditEntry, 'hash'> => ({
    atMs: T0,
    stream: STREAM,
    seq: 1,
    prevHash: GENESIS_HASH,
    actor: { type: 'system', id: 'fireops' },
    action: 'flag.created',
    target: 'flags/x',
    reason: 'r',
    correlationId: 'c',
    before: null,
    after: { enabled: true },
    details: { a: 1, b: { c: [1, 2], d: 'x' } },
  });

  it('is the SHA-256 of the canonical body with absent before/after/details as null', () => {
    const body =
      '{"action":"flag.created","actor":{"id":"fireops","type":"system"},"after":{"enabled":true},' +
      '"atMs":1700000000000,"before":null,"correlationId":"c","details":{"a":1,"b":{"c":[1,2],"d":"x"}},' +
      `"prevHash":"${'0'.repeat(64)}","reason":"r","seq":1,"stream":"flags","target":"flags/x"}`;
    expect(canonicalJson({ ...base() })).toBe(body);
    expect(hashEntry(base())).toBe(createHash('sha256').update(body).digest('hex'));
  });

  it('is pinned: stored hashes must stay verifiable across releases', () => {
    // Golden value: if this changes, every stored audit chain fails verification.
    expect(hashEntry(base())).toBe(hashEntry(JSON.parse(JSON.stringify(base())) as Omit<AuditEntry, 'hash'>));
    expect(hashEntry(base())).toBe(GOLDEN_HASH);
  });

  it('is stable across key order of details (and of the entry itself)', () => {
    const a = base();
    const b: Omit<AuditEntry, 'hash'> = {
      details: { b: { d: 'x', c: [1, 2] }, a: 1 },
      after: { enabled: true },
      before: null,
      correlationId: 'c',
      reason: 'r',
      target: 'flags/x',
      action: 'flag.created',
      actor: { id: 'fireops', type: 'system' },
      prevHash: GENESIS_HASH,
      seq: 1,
      stream: STREAM,
      atMs: T0,
    };
    expect(hashEntry(b)).toBe(hashEntry(a));
  });

  it('treats absent before/after/details like null, and absent authType like undefined', () => {
    const withNulls = { ...base(), before: null, after: null, details: null };
    const { before: _b, after: _a, details: _d, ...absent } = withNulls;
    expect(hashEntry(absent)).toBe(hashEntry(withNulls));
    const withUndefined = {
      ...base(),
      actor: { type: 'system' as const, id: 'fireops', authType: undefined },
    };
    expect(hashEntry(withUndefined)).toBe(hashEntry(base()));
  });

  it('ignores fields that are not part of an entry (e.g. the adapter`s `at` copy)', () => {
    const extra = { ...base(), at: { seconds: 1 } } as Omit<AuditEntry, 'hash'>;
    expect(hashEntry(extra)).toBe(hashEntry(base()));
  });

  it.each<[string, (e: Omit<AuditEntry, 'hash'>) => Omit<AuditEntry, 'hash'>]>([
    ['atMs', (e) => ({ ...e, atMs: e.atMs + 1 })],
    ['stream', (e) => ({ ...e, stream: 'other' })],
    ['seq', (e) => ({ ...e, seq: 2 })],
    ['prevHash', (e) => ({ ...e, prevHash: '1'.repeat(64) })],
    ['actor.type', (e) => ({ ...e, actor: { ...e.actor, type: 'admin' } })],
    ['actor.id', (e) => ({ ...e, actor: { ...e.actor, id: 'other' } })],
    ['actor.authType', (e) => ({ ...e, actor: { ...e.actor, authType: 'api_key' } })],
    ['action', (e) => ({ ...e, action: 'flag.deleted' })],
    ['target', (e) => ({ ...e, target: 'flags/y' })],
    ['reason', (e) => ({ ...e, reason: 'r2' })],
    ['correlationId', (e) => ({ ...e, correlationId: 'c2' })],
    ['before', (e) => ({ ...e, before: { enabled: false } })],
    ['after', (e) => ({ ...e, after: { enabled: false } })],
    ['details (nested)', (e) => ({ ...e, details: { a: 1, b: { c: [2, 1], d: 'x' } } })],
    ['details null vs {}', (e) => ({ ...e, details: {} })],
    ['number vs string', (e) => ({ ...e, details: { a: '1', b: { c: [1, 2], d: 'x' } } })],
  ])('changes when %s changes', (_field, mutate) => {
    expect(hashEntry(mutate(base()))).not.toBe(hashEntry(base()));
  });
});

describe('ChainVerifier', () => {
  it('accepts an intact chain of 5 entries', () => {
    const chain = buildChain(5);
    expect(verify(withIds(chain), headOf(chain))).toEqual({
      stream: STREAM,
      ok: true,
      checked: 5,
      lastSeq: 5,
    });
  });

  it('accepts an intact chain fed in several pages', () => {
    const chain = buildChain(5);
    const verifier = new ChainVerifier(STREAM);
    for (const [id, e] of withIds(chain).slice(0, 2)) verifier.feed(id, e);
    expect(verifier.failed).toBe(false);
    for (const [id, e] of withIds(chain).slice(2)) verifier.feed(id, e);
    expect(verifier.finish(headOf(chain))).toEqual({ stream: STREAM, ok: true, checked: 5, lastSeq: 5 });
  });

  it('accepts a chain that survived a JSON (Firestore-like) round trip with keys reordered', () => {
    const chain = buildChain(5).map((e) => {
      const copy = JSON.parse(JSON.stringify(e)) as AuditEntry;
      const reversed = Object.fromEntries(Object.entries(copy).reverse()) as unknown as AuditEntry;
      return reversed;
    });
    expect(verify(withIds(chain), headOf(chain)).ok).toBe(true);
  });

  it('accepts an empty stream with no head', () => {
    expect(verify([], undefined)).toEqual({ stream: STREAM, ok: true, checked: 0, lastSeq: 0 });
  });

  it('accepts an empty stream whose head is at seq 0', () => {
    expect(verify([], { seq: 0, hash: GENESIS_HASH })).toEqual({
      stream: STREAM,
      ok: true,
      checked: 0,
      lastSeq: 0,
    });
  });

  it('edit a field of entry 3 -> hash-mismatch at seq 3', () => {
    const chain = buildChain(5);
    chain[2] = { ...chain[2]!, reason: 'nothing to see here' };
    const report = verify(withIds(chain), headOf(chain));
    expect(report).toEqual({
      stream: STREAM,
      ok: false,
      checked: 2,
      lastSeq: 2,
      firstProblem: {
        problem: 'hash-mismatch',
        seq: 3,
        id: 'flags-000000000003',
        detail: 'entry flags-000000000003 does not match its hash',
      },
    });
  });

  it.each<[string, (e: AuditEntry) => AuditEntry]>([
    ['details', (e) => ({ ...e, details: { changed: {} } })],
    ['after', (e) => ({ ...e, after: { enabled: false, n: 3 } })],
    ['before dropped', (e) => ({ ...e, before: undefined })],
    ['actor', (e) => ({ ...e, actor: { type: 'system', id: 'admin-3' } })],
    ['atMs', (e) => ({ ...e, atMs: e.atMs - 1 })],
    ['hash itself', (e) => ({ ...e, hash: 'f'.repeat(64) })],
  ])('edit of entry 3 %s -> hash-mismatch at seq 3', (_what, edit) => {
    const chain = buildChain(5);
    chain[2] = edit(chain[2]!);
    const report = verify(withIds(chain), headOf(chain));
    expect(report.firstProblem?.problem).toBe('hash-mismatch');
    expect(report.firstProblem?.seq).toBe(3);
    expect(report.ok).toBe(false);
  });

  it('delete entry 2 -> missing-entry at seq 2', () => {
    const chain = buildChain(5);
    const pairs = withIds(chain).filter(([, e]) => e.seq !== 2);
    expect(verify(pairs, headOf(chain))).toEqual({
      stream: STREAM,
      ok: false,
      checked: 1,
      lastSeq: 1,
      firstProblem: {
        problem: 'missing-entry',
        seq: 2,
        id: 'flags-000000000002',
        detail: 'entry seq 2 is missing (next present is 3)',
      },
    });
  });

  it('delete entry 1 -> missing-entry at seq 1', () => {
    const chain = buildChain(5);
    const report = verify(withIds(chain).slice(1), headOf(chain));
    expect(report.firstProblem).toEqual({
      problem: 'missing-entry',
      seq: 1,
      id: 'flags-000000000001',
      detail: 'entry seq 1 is missing (next present is 2)',
    });
  });

  it('swap the ids of entries 2 and 3 -> out-of-order at the first swapped document', () => {
    const chain = buildChain(5);
    const pairs = withIds(chain);
    const e2 = pairs[1]![1];
    const e3 = pairs[2]![1];
    pairs[1] = [entryId(STREAM, 2), e3];
    pairs[2] = [entryId(STREAM, 3), e2];
    const report = verify(pairs, headOf(chain));
    expect(report.ok).toBe(false);
    expect(report.checked).toBe(1);
    expect(report.firstProblem).toEqual({
      problem: 'out-of-order',
      seq: 3,
      id: 'flags-000000000002',
      detail: 'entry flags-000000000002 holds seq 3, expected id flags-000000000003',
    });
  });

  it('reorder by renumbering (entry 3 content re-stored as seq 2, entry 2 as seq 3) -> hash-mismatch at seq 2', () => {
    const chain = buildChain(5);
    const e2 = chain[1]!;
    const e3 = chain[2]!;
    chain[1] = { ...e3, seq: 2 };
    chain[2] = { ...e2, seq: 3 };
    const report = verify(withIds(chain), headOf(chain));
    expect(report.firstProblem?.problem).toBe('hash-mismatch');
    expect(report.firstProblem?.seq).toBe(2);
    expect(report.checked).toBe(1);
  });

  it('a sequence going backwards (duplicate seq 2 after 3) -> out-of-order', () => {
    const chain = buildChain(3);
    const verifier = new ChainVerifier(STREAM);
    for (const [id, e] of withIds(chain)) verifier.feed(id, e);
    verifier.feed(entryId(STREAM, 2), chain[1]!);
    const report = verifier.finish(headOf(chain));
    expect(report.firstProblem).toEqual({
      problem: 'out-of-order',
      seq: 2,
      id: 'flags-000000000002',
      detail: 'seq 2 after 3',
    });
    expect(report.checked).toBe(3);
  });

  it('entries fed out of id order (1,3,2,...) -> missing-entry at seq 2', () => {
    const chain = buildChain(5);
    const pairs = withIds(chain);
    const order = [pairs[0]!, pairs[2]!, pairs[1]!, pairs[3]!, pairs[4]!];
    const report = verify(order, headOf(chain));
    expect(report.firstProblem?.problem).toBe('missing-entry');
    expect(report.firstProblem?.seq).toBe(2);
  });

  it('replace entry 3 with a re-hashed forgery -> broken-link at seq 4', () => {
    const chain = buildChain(5);
    const forged = rehash({ ...chain[2]!, reason: 'forged', after: { enabled: false, n: 3 } });
    expect(forged.prevHash).toBe(chain[1]!.hash); // the forgery itself links correctly
    chain[2] = forged;
    const report = verify(withIds(chain), headOf(chain));
    expect(report).toEqual({
      stream: STREAM,
      ok: false,
      checked: 3,
      lastSeq: 3,
      firstProblem: {
        problem: 'broken-link',
        seq: 4,
        id: 'flags-000000000004',
        detail: `entry flags-000000000004 links to ${chain[3]!.prevHash.slice(0, 12)}…, previous is ${forged.hash.slice(0, 12)}…`,
      },
    });
  });

  it('a re-hashed entry whose prevHash was also changed -> broken-link at its own seq', () => {
    const chain = buildChain(5);
    chain[2] = rehash({ ...chain[2]!, prevHash: 'e'.repeat(64) });
    const report = verify(withIds(chain), headOf(chain));
    expect(report.firstProblem?.problem).toBe('broken-link');
    expect(report.firstProblem?.seq).toBe(3);
  });

  it('replace the last entry with a re-hashed forgery -> head-mismatch (head hash disagrees)', () => {
    const chain = buildChain(5);
    const head = headOf(chain);
    chain[4] = rehash({ ...chain[4]!, reason: 'forged' });
    const report = verify(withIds(chain), head);
    expect(report.ok).toBe(false);
    expect(report.checked).toBe(5);
    expect(report.firstProblem?.problem).toBe('head-mismatch');
  });

  it('drop the last entry while the head says 5 -> missing-entry at seq 5 via finish(head)', () => {
    const chain = buildChain(5);
    const head = headOf(chain);
    const verifier = new ChainVerifier(STREAM);
    for (const [id, e] of withIds(chain.slice(0, 4))) verifier.feed(id, e);
    expect(verifier.failed).toBe(false);
    expect(verifier.finish(head)).toEqual({
      stream: STREAM,
      ok: false,
      checked: 4,
      lastSeq: 4,
      firstProblem: {
        problem: 'missing-entry',
        seq: 5,
        id: 'flags-000000000005',
        detail: 'stream head is at seq 5 but the log ends at seq 4',
      },
    });
  });

  it('all entries deleted while a head exists -> missing-entry at seq 1', () => {
    const chain = buildChain(3);
    const report = verify([], headOf(chain));
    expect(report.firstProblem).toEqual({
      problem: 'missing-entry',
      seq: 1,
      id: 'flags-000000000001',
      detail: 'stream head is at seq 3 but the log ends at seq 0',
    });
  });

  it('head behind the log (head seq 3, log ends at 5) -> head-mismatch', () => {
    const chain = buildChain(5);
    const report = verify(withIds(chain), headOf(chain.slice(0, 3)));
    expect(report.ok).toBe(false);
    expect(report.checked).toBe(5);
    expect(report.firstProblem).toEqual({
      problem: 'head-mismatch',
      seq: 3,
      id: 'flags-000000000003',
      detail: "stream head (seq 3) does not match the log's last entry (seq 5)",
    });
  });

  it('entries but no head -> head-mismatch at the last seq', () => {
    const chain = buildChain(5);
    expect(verify(withIds(chain), undefined)).toEqual({
      stream: STREAM,
      ok: false,
      checked: 5,
      lastSeq: 5,
      firstProblem: { problem: 'head-mismatch', seq: 5, detail: 'stream has entries but no head' },
    });
  });

  it('entry that claims another stream -> wrong-stream', () => {
    const other = buildChain(1, 'alerts')[0]!;
    const report = verify([[entryId(STREAM, 1), other]], { seq: 1, hash: other.hash });
    expect(report).toEqual({
      stream: STREAM,
      ok: false,
      checked: 0,
      lastSeq: 0,
      firstProblem: {
        problem: 'wrong-stream',
        seq: 1,
        id: 'flags-000000000001',
        detail: "entry flags-000000000001 names stream 'alerts'",
      },
    });
  });

  it('a valid chain of another stream verified as this stream -> wrong-stream at seq 1', () => {
    const chain = buildChain(2, 'alerts');
    const report = verify(withIds(chain, 'alerts'), headOf(chain), STREAM);
    expect(report.firstProblem?.problem).toBe('wrong-stream');
    expect(report.firstProblem?.seq).toBe(1);
  });

  it('only the first problem is reported; later feeds are ignored', () => {
    const chain = buildChain(5);
    chain[1] = { ...chain[1]!, reason: 'edited' }; // hash-mismatch at 2
    const pairs = withIds(chain).filter(([, e]) => e.seq !== 4); // and a gap at 4
    const verifier = new ChainVerifier(STREAM);
    for (const [id, e] of pairs) verifier.feed(id, e);
    expect(verifier.failed).toBe(true);
    const report = verifier.finish(undefined);
    expect(report.firstProblem?.problem).toBe('hash-mismatch');
    expect(report.firstProblem?.seq).toBe(2);
    expect(report.lastSeq).toBe(1);
  });

  it('exposes its stream and reports failed only after a problem', () => {
    const chain = buildChain(2);
    const verifier = new ChainVerifier(STREAM);
    expect(verifier.stream).toBe(STREAM);
    verifier.feed(entryId(STREAM, 1), chain[0]!);
    expect(verifier.failed).toBe(false);
    verifier.feed(entryId(STREAM, 2), { ...chain[1]!, target: 'flags/other' });
    expect(verifier.failed).toBe(true);
  });
});

const GOLDEN_HASH = '75d35b81df0513e44f3d72b71b5dde4e850d81f945103202ffaf827385ce536d';

describe('sharded streams', () => {
  it('puts one key always in the same shard, spreads keys over all shards, and names valid streams', () => {
    expect(shardedStream('canary', 'payments-api', 8)).toBe(shardedStream('canary', 'payments-api', 8));
    const shards = streamShards('canary', 8);
    expect(shards).toEqual([
      'canary-0',
      'canary-1',
      'canary-2',
      'canary-3',
      'canary-4',
      'canary-5',
      'canary-6',
      'canary-7',
    ]);
    const seen = new Map<string, number>();
    for (let i = 0; i < 800; i++) {
      const s = shardedStream('canary', `service-${i}`, 8);
      expect(shards).toContain(s);
      expect(STREAM_PATTERN.test(s)).toBe(true);
      seen.set(s, (seen.get(s) ?? 0) + 1);
    }
    // 800 services over 8 shards: every shard used, none with more than twice its share.
    expect(seen.size).toBe(8);
    expect(Math.max(...seen.values())).toBeLessThan(200);
  });
});
