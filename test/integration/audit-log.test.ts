// The hash-chained audit log against the Firestore emulator: appends (sequential, concurrent, several streams),
// the verifier, and tampering the way an admin with console access would do it (the REST API as `owner`).
import { describe, it, expect, beforeEach, afterAll } from 'vitest';
import {
  appendAudit,
  listAuditStreams,
  openAudit,
  verifyAuditStream,
} from '../../functions/src/platform/audit-log';
import { AUDIT_COLLECTION, AUDIT_STREAMS_COLLECTION } from '../../functions/src/platform/collections';
import { db, firestoreModule } from '../../functions/src/platform/firestore';
import {
  GENESIS_HASH,
  entryId,
  hashEntry,
  nextEntry,
  type AuditEntry,
  type AuditInput,
  type StreamHead,
} from '../../functions/src/platform/domain/audit-chain';
import { rest } from '../support/emulators';

const STREAM = 'ledger';

function input(n: number, extra: Partial<AuditInput> = {}): AuditInput {
  return {
    actor: { type: 'admin', id: `admin-${n}@example.com`, authType: 'service_account' },
    action: 'flag.updated',
    target: `flags/f${n}`,
    reason: `edit number ${n}`,
    correlationId: `corr-${n}`,
    before: { enabled: false, rollout: 0.25, n },
    after: { enabled: true, rollout: 0.5, n },
    details: { changed: ['enabled', 'rollout'], threshold: 3 },
    ...extra,
  };
}

async function appendMany(stream: string, count: number): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for (let i = 1; i <= count; i++) out.push(await appendAudit(stream, input(i)));
  return out;
}

type RestDoc = Record<string, unknown>;

/** Reads an entry the way the console does, without the REST client's bookkeeping field. */
async function readRaw(id: string): Promise<RestDoc> {
  const doc = (await rest.get(`${AUDIT_COLLECTION}/${id}`)) as RestDoc | undefined;
  expect(doc, `auditLog/${id} exists`).toBeDefined();
  const { __updateTime: _updateTime, ...data } = doc!;
  return data;
}

/** Saves a whole document as the console does (timestamps as `{ $timestamp }` stay timestamps). */
async function writeRaw(id: string, data: RestDoc): Promise<void> {
  await rest.set(`${AUDIT_COLLECTION}/${id}`, data);
}

async function storedEntries(stream: string): Promise<AuditEntry[]> {
  const snap = await db().collection(AUDIT_COLLECTION).where('stream', '==', stream).get();
  return snap.docs.map((d) => d.data() as AuditEntry).sort((a, b) => a.seq - b.seq);
}

beforeEach(async () => {
  await rest.clear();
});

afterAll(async () => {
  await db().terminate();
});

describe('appendAudit', () => {
  it('numbers sequential entries 1..n under `{stream}-{seq:12}` ids and links each to the previous hash', async () => {
    const returned = await appendMany(STREAM, 5);
    expect(returned.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);

    // This stream's entries only: deployed functions may still audit in other streams in the background.
    const snap = await db()
      .collection(AUDIT_COLLECTION)
      .orderBy(firestoreModule().FieldPath.documentId())
      .startAt(`${STREAM}-`)
      .endAt(`${STREAM}-~`)
      .get();
    expect(snap.docs.map((d) => d.id)).toEqual([
      'ledger-000000000001',
      'ledger-000000000002',
      'ledger-000000000003',
      'ledger-000000000004',
      'ledger-000000000005',
    ]);

    let prev = GENESIS_HASH;
    snap.docs.forEach((doc, i) => {
      const { at, ...entry } = doc.data() as AuditEntry & { at: { toMillis(): number } };
      expect(entry).toEqual(returned[i]);
      expect(entry.stream).toBe(STREAM);
      expect(entry.prevHash).toBe(prev);
      expect(entry.hash).toBe(hashEntry(entry));
      expect(at.toMillis()).toBe(entry.atMs);
      if (i > 0) expect(entry.atMs).toBeGreaterThanOrEqual(returned[i - 1]!.atMs);
      prev = entry.hash;
    });

    const head = (await db().collection(AUDIT_STREAMS_COLLECTION).doc(STREAM).get()).data();
    expect(head).toMatchObject({ seq: 5, hash: returned[4]!.hash, atMs: returned[4]!.atMs });

    const report = await verifyAuditStream(STREAM);
    expect(report).toEqual({ stream: STREAM, ok: true, checked: 5, lastSeq: 5 });
  });

  it('gives 20 concurrent appends on one stream the sequence numbers 1..20 exactly once, without a fork', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        appendAudit(STREAM, input(i + 1, { correlationId: `c-${i + 1}` })),
      ),
    );
    expect(results.map((e) => e.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );

    const stored = await storedEntries(STREAM);
    expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // Every caller's entry made it (none overwritten by a concurrent writer that read the same head).
    expect(new Set(stored.map((e) => e.correlationId)).size).toBe(20);
    // One chain: every prevHash is used exactly once.
    expect(new Set(stored.map((e) => e.prevHash)).size).toBe(20);

    const report = await verifyAuditStream(STREAM);
    expect(report).toEqual({ stream: STREAM, ok: true, checked: 20, lastSeq: 20 });
  });

  it('keeps streams independent: each has its own sequence, chain and head', async () => {
    const a = await appendAudit('ledger', input(1));
    const b = await appendAudit('vault', input(2, { action: 'lease.yielded' }));
    const a2 = await appendAudit('ledger', input(3));
    const b2 = await appendAudit('vault', input(4, { action: 'lease.yielded' }));
    const b3 = await appendAudit('vault', input(5, { action: 'lease.yielded' }));

    expect([a.seq, a2.seq]).toEqual([1, 2]);
    expect([b.seq, b2.seq, b3.seq]).toEqual([1, 2, 3]);
    expect(a.prevHash).toBe(GENESIS_HASH);
    expect(b.prevHash).toBe(GENESIS_HASH);
    expect(a2.prevHash).toBe(a.hash);
    expect(b2.prevHash).toBe(b.hash);

    expect(await verifyAuditStream('ledger')).toEqual({ stream: 'ledger', ok: true, checked: 2, lastSeq: 2 });
    expect(await verifyAuditStream('vault')).toEqual({ stream: 'vault', ok: true, checked: 3, lastSeq: 3 });

    // Tampering with one stream does not implicate the other.
    const raw = await readRaw(entryId('vault', 2));
    await writeRaw(entryId('vault', 2), { ...raw, reason: 'nothing to see here' });
    expect((await verifyAuditStream('vault')).ok).toBe(false);
    expect(await verifyAuditStream('ledger')).toEqual({ stream: 'ledger', ok: true, checked: 2, lastSeq: 2 });
  });

  it('verifies a stream whose name is another stream name plus a suffix (ledger / ledger-prod) on its own', async () => {
    // STREAM_PATTERN allows '-', so `ledger-prod-000000000001` sorts between `ledger-000000000000` and `ledger-~`.
    await appendMany('ledger', 2);
    await appendMany('ledger-prod', 3);

    expect(await verifyAuditStream('ledger-prod')).toEqual({
      stream: 'ledger-prod',
      ok: true,
      checked: 3,
      lastSeq: 3,
    });
    expect(await verifyAuditStream('ledger')).toEqual({ stream: 'ledger', ok: true, checked: 2, lastSeq: 2 });
  });

  it('appends to several streams in one transaction with openAudit, and rejects a stream it did not open', async () => {
    const entries = await db().runTransaction(async (tx) => {
      const audit = await openAudit(tx, ['ledger', 'vault', 'ledger']);
      const first = audit.append('ledger', input(1));
      const second = audit.append('ledger', input(2));
      const other = audit.append('vault', input(3));
      expect(() => audit.append('deploys', input(4))).toThrow(/not opened/);
      return [first, second, other];
    });
    expect(entries.map((e) => [e.stream, e.seq])).toEqual([
      ['ledger', 1],
      ['ledger', 2],
      ['vault', 1],
    ]);
    expect(entries[1]!.prevHash).toBe(entries[0]!.hash);
    expect((await verifyAuditStream('ledger')).ok).toBe(true);
    expect((await verifyAuditStream('vault')).ok).toBe(true);
  });

  it('never lets time run backwards within a stream, even when the writer clock does', async () => {
    let t = 1_800_000_000_000;
    const clock = { nowMs: () => t };
    const first = await appendAudit(STREAM, input(1), clock);
    t -= 60_000; // a second machine, a minute behind
    const second = await appendAudit(STREAM, input(2), clock);
    expect(first.atMs).toBe(1_800_000_000_000);
    expect(second.atMs).toBe(first.atMs);
    expect((await verifyAuditStream(STREAM)).ok).toBe(true);
  });
});

describe('verifyAuditStream', () => {
  it('reports an empty or unknown stream as ok with nothing checked', async () => {
    expect(await verifyAuditStream('nothing-here')).toEqual({
      stream: 'nothing-here',
      ok: true,
      checked: 0,
      lastSeq: 0,
    });
  });

  it('pages through a stream longer than one query page (1001 entries)', async () => {
    // Written directly (a valid chain built as the adapter builds it) to keep the test fast.
    const { Timestamp } = firestoreModule();
    const count = 1001;
    let head: StreamHead | undefined;
    const t0 = 1_750_000_000_000;
    for (let start = 1; start <= count; start += 400) {
      const batch = db().batch();
      for (let seq = start; seq < start + 400 && seq <= count; seq++) {
        const entry = nextEntry(head, STREAM, input(seq), t0 + seq);
        batch.set(db().collection(AUDIT_COLLECTION).doc(entryId(STREAM, seq)), {
          ...entry,
          at: Timestamp.fromMillis(entry.atMs),
        });
        head = { seq: entry.seq, hash: entry.hash, atMs: entry.atMs };
      }
      await batch.commit();
    }
    await db()
      .collection(AUDIT_STREAMS_COLLECTION)
      .doc(STREAM)
      .set({ ...head, updatedAt: Timestamp.fromMillis(head!.atMs!) });

    expect(await verifyAuditStream(STREAM)).toEqual({
      stream: STREAM,
      ok: true,
      checked: count,
      lastSeq: count,
    });

    // A problem on a later page is found too.
    const id = entryId(STREAM, 777);
    await writeRaw(id, { ...(await readRaw(id)), reason: 'edited on page two' });
    const report = await verifyAuditStream(STREAM);
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({ problem: 'hash-mismatch', seq: 777, id });
  });
});

describe('tampering through the console (REST API as owner)', () => {
  beforeEach(async () => {
    await appendMany(STREAM, 5);
    expect((await verifyAuditStream(STREAM)).ok).toBe(true);
  });

  it('round-trips an untouched entry through the REST client without breaking the chain (control)', async () => {
    const id = entryId(STREAM, 3);
    await writeRaw(id, await readRaw(id));
    expect(await verifyAuditStream(STREAM)).toEqual({ stream: STREAM, ok: true, checked: 5, lastSeq: 5 });
  });

  it('(a) an edited reason is a hash mismatch at that entry', async () => {
    const id = entryId(STREAM, 3);
    const raw = await readRaw(id);
    expect(raw.reason).toBe('edit number 3');
    await writeRaw(id, { ...raw, reason: 'routine cleanup' });

    const report = await verifyAuditStream(STREAM);
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({
      problem: 'hash-mismatch',
      seq: 3,
      id: 'ledger-000000000003',
    });
  });

  it('(a2) an edited nested value (the actor) is a hash mismatch too', async () => {
    const id = entryId(STREAM, 2);
    const raw = await readRaw(id);
    await writeRaw(id, { ...raw, actor: { ...(raw.actor as object), id: 'someone-else@example.com' } });
    const report = await verifyAuditStream(STREAM);
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({
      problem: 'hash-mismatch',
      seq: 2,
      id: 'ledger-000000000002',
    });
  });

  it('(b) a deleted entry is a missing entry', async () => {
    await rest.delete(`${AUDIT_COLLECTION}/${entryId(STREAM, 2)}`);
    const report = await verifyAuditStream(STREAM);
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({
      problem: 'missing-entry',
      seq: 2,
      id: 'ledger-000000000002',
    });
  });

  it('(c) swapping the contents of two entries is reported at the first of them as out of order', async () => {
    const id2 = entryId(STREAM, 2);
    const id3 = entryId(STREAM, 3);
    const [raw2, raw3] = [await readRaw(id2), await readRaw(id3)];
    await writeRaw(id2, raw3);
    await writeRaw(id3, raw2);

    const report = await verifyAuditStream(STREAM);
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({ problem: 'out-of-order', id: 'ledger-000000000002' });
  });

  it('(d) deleting the last entry is a missing entry at the seq the head names', async () => {
    await rest.delete(`${AUDIT_COLLECTION}/${entryId(STREAM, 5)}`);
    const head = await rest.get(`${AUDIT_STREAMS_COLLECTION}/${STREAM}`);
    expect(head?.seq).toBe(5);

    const report = await verifyAuditStream(STREAM);
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({
      problem: 'missing-entry',
      seq: 5,
      id: 'ledger-000000000005',
    });
  });

  it('(d2) deleting the last entry and rolling the head back to match is a broken head hash', async () => {
    // The head keeps the hash of entry 5; moving only its seq back leaves it pointing at a missing entry's hash.
    await rest.delete(`${AUDIT_COLLECTION}/${entryId(STREAM, 5)}`);
    const head = (await rest.get(`${AUDIT_STREAMS_COLLECTION}/${STREAM}`)) as RestDoc;
    const { __updateTime: _u, ...headData } = head;
    await rest.set(`${AUDIT_STREAMS_COLLECTION}/${STREAM}`, { ...headData, seq: 4 });

    const report = await verifyAuditStream(STREAM);
    expect(report.ok).toBe(false);
    expect(report.firstProblem?.problem).toBe('head-mismatch');
  });

  it('(e) an edit to the `at` timestamp alone is detected', async () => {
    const id = entryId(STREAM, 3);
    const raw = await readRaw(id);
    const at = raw.at as { $timestamp: string };
    expect(typeof at.$timestamp).toBe('string');
    const moved = new Date(Date.parse(at.$timestamp) - 3_600_000).toISOString();
    await writeRaw(id, { ...raw, at: { $timestamp: moved } });
    expect((await readRaw(id)).atMs).toBe(raw.atMs); // the hashed copy is untouched

    const report = await verifyAuditStream(STREAM);
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({ problem: 'hash-mismatch', seq: 3, id });
  });

  it('(f) a forged entry with a recomputed hash breaks the link of the entry after it', async () => {
    const id = entryId(STREAM, 3);
    const raw = await readRaw(id);
    const { hash: _old, at: _at, ...content } = raw as unknown as AuditEntry & { at: unknown };
    const forged = { ...content, reason: 'approved by the CFO' };
    const hash = hashEntry(forged);
    expect(hash).not.toBe(raw.hash);
    await writeRaw(id, { ...raw, reason: forged.reason, hash });

    const report = await verifyAuditStream(STREAM);
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({ problem: 'broken-link', seq: 4, id: 'ledger-000000000004' });
  });

  it('(g) an entry moved in from another stream is reported', async () => {
    await appendAudit('vault', input(9));
    const foreign = await readRaw(entryId('vault', 1));
    await writeRaw(entryId(STREAM, 2), foreign);
    const report = await verifyAuditStream(STREAM);
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({ problem: 'wrong-stream', id: 'ledger-000000000002' });
  });
});

describe('listAuditStreams', () => {
  it('lists every stream with a head, sorted', async () => {
    // Deployed functions may still be auditing in the background (a trigger that fires after the emulator was
    // cleared), so only this test's streams are compared exactly.
    const mine = ['deploys', 'ledger', 'vault'];
    expect((await listAuditStreams()).filter((s) => mine.includes(s))).toEqual([]);
    await appendAudit('vault', input(1));
    await appendAudit('ledger', input(2));
    await appendAudit('deploys', input(3));
    await appendAudit('ledger', input(4));
    const all = await listAuditStreams();
    expect(all).toEqual([...all].sort());
    expect(all.filter((s) => mine.includes(s))).toEqual(mine);
  });
});
