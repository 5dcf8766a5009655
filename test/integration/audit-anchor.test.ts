// The anchored audit log against the Firestore emulator and the Cloud Storage stand-in: anchors written to a
// retention-locked bucket, chained, never overwritten or deleted; the verifier against them, in bounded pages from
// checkpoints; and the attacks: an edited entry, a deleted entry, and an attacker with database write who rewrites
// a stream and its head consistently (found only through the anchor).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { appendAudit, verifyAuditStream } from '../../functions/src/platform/audit-log';
import { anchorAuditLog } from '../../functions/src/platform/audit-anchor';
import { CloudStorageAnchorStore } from '../../functions/src/platform/anchor-store';
import {
  emptyVerifyState,
  verifyAuditPage,
  type VerifyState,
} from '../../functions/src/platform/audit-verify';
import { sweepAuditVerification } from '../../functions/src/platform/audit-verify-sweep';
import { AUDIT_COLLECTION, AUDIT_STREAMS_COLLECTION } from '../../functions/src/platform/collections';
import { anchorDigest, parseAnchor } from '../../functions/src/platform/domain/audit-anchor';
import { entryId, hashEntry, type AuditEntry } from '../../functions/src/platform/domain/audit-chain';
import { systemClock } from '../../functions/src/platform/domain/clock';
import { db } from '../../functions/src/platform/firestore';
import { fnRequire } from '../support/functions-require';
import { PROJECT_ID, rest } from '../support/emulators';

const BUCKETS_DIR = process.env.FIREOPS_BUCKETS_DIR ?? '';
if (!process.env.STORAGE_EMULATOR_HOST || !BUCKETS_DIR) {
  throw new Error(
    'STORAGE_EMULATOR_HOST and FIREOPS_BUCKETS_DIR must be set: run under emulators/launcher.mjs',
  );
}
const { Storage } = fnRequire('@google-cloud/storage');
const RUN = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
let n = 0;
const buckets: string[] = [];
let storage: any;
let store: CloudStorageAnchorStore;

async function freshBucket(): Promise<CloudStorageAnchorStore> {
  const name = `anchors-${RUN}-${++n}`;
  buckets.push(name);
  await storage.createBucket(name, { retentionPolicy: { retentionPeriod: 3600 } });
  return new CloudStorageAnchorStore(name);
}

async function seed(stream: string, count: number) {
  for (let i = 1; i <= count; i++) {
    await appendAudit(stream, {
      actor: { type: 'system', id: 'test' },
      action: 'test.step',
      target: `tests/${i}`,
      reason: `step ${i}`,
      correlationId: `c-${i}`,
    });
  }
}

/** What an attacker with database write does: edit entry `seq`, recompute every later hash and the head. */
async function rewriteConsistently(stream: string, seq: number, reason: string) {
  const firestore = db();
  const snap = await firestore.collection(AUDIT_COLLECTION).where('stream', '==', stream).get();
  const entries = snap.docs
    .map((d) => d.data() as AuditEntry & { at: unknown })
    .sort((a, b) => a.seq - b.seq);
  let prevHash = entries.find((e) => e.seq === seq - 1)?.hash ?? '0'.repeat(64);
  let last: AuditEntry | undefined;
  for (const e of entries.filter((x) => x.seq >= seq)) {
    const { hash: _h, at, ...rest } = e;
    const changed = { ...rest, prevHash, ...(e.seq === seq ? { reason } : {}) };
    const hash = hashEntry(changed);
    await firestore
      .collection(AUDIT_COLLECTION)
      .doc(entryId(stream, e.seq))
      .set({ ...changed, hash, at });
    prevHash = hash;
    last = { ...changed, hash };
  }
  await firestore
    .collection(AUDIT_STREAMS_COLLECTION)
    .doc(stream)
    .set({ seq: last!.seq, hash: last!.hash, atMs: last!.atMs }, { merge: true });
}

async function verifyAll(state: VerifyState = emptyVerifyState(), pageSize = 1000) {
  return verifyAuditPage({ state, store, clock: systemClock, pageSize, deadlineMs: Date.now() + 60_000 });
}

beforeAll(() => {
  storage = new Storage({ projectId: PROJECT_ID });
});

beforeEach(async () => {
  await rest.clear();
  store = await freshBucket();
});

afterAll(() => {
  for (const b of buckets) rmSync(path.join(BUCKETS_DIR, b), { recursive: true, force: true });
});

describe('anchorAuditLog', () => {
  it('writes the heads that moved, chains each anchor to the previous one, and the bucket refuses overwrite and delete', async () => {
    await seed('ledger', 3);
    const first = await anchorAuditLog(store, systemClock);
    // Other streams may move meanwhile: the Functions emulator still runs triggers of the suite's set-up or of
    // the file before; the assertions are about the streams this test writes.
    expect(first).toMatchObject({ outcome: 'written', heads: expect.any(Number) });
    const bytes1 = (await store.read(first.name!))!;
    const doc1 = parseAnchor(bytes1);
    expect(doc1.prev).toBeNull();
    expect(doc1.heads).toContainEqual(expect.objectContaining({ stream: 'ledger', seq: 3 }));
    expect(doc1.heads).toHaveLength(first.heads);

    // Nothing this test wrote moved: no head of ledger in a new object (if one is written, it is for others).
    const idle = await anchorAuditLog(store, systemClock);
    let prev = { name: first.name, bytes: bytes1 };
    if (idle.outcome === 'written') {
      const idleBytes = (await store.read(idle.name!))!;
      expect(parseAnchor(idleBytes).heads.map((h) => h.stream)).not.toContain('ledger');
      prev = { name: idle.name, bytes: idleBytes };
    } else expect(idle).toMatchObject({ outcome: 'unchanged' });

    await seed('other', 1);
    const second = await anchorAuditLog(store, systemClock);
    const doc2 = parseAnchor((await store.read(second.name!))!);
    expect(doc2.prev).toEqual({ name: prev.name, sha256: anchorDigest(prev.bytes) });
    expect(doc2.heads.map((h) => h.stream)).toContain('other');
    expect(doc2.heads.map((h) => h.stream)).not.toContain('ledger');

    // The retention lock: neither the anchoring code path nor anyone else can replace or remove an anchor.
    const file = storage.bucket(store.bucket).file(first.name);
    const overwrite: any = await file.save('{}', { resumable: false }).catch((e: unknown) => e);
    expect(overwrite?.code).toBe(403);
    expect(overwrite?.errors?.[0]?.reason).toBe('retentionPolicyNotMet');
    const del: any = await file.delete().catch((e: unknown) => e);
    expect(del?.code).toBe(403);
    await expect(store.create(first.name!, Buffer.from('{}'))).rejects.toThrow();
    expect((await store.read(first.name!))!.equals(bytes1)).toBe(true);
  });
});

describe('verification against the anchors', () => {
  it('passes on an untouched log', async () => {
    await seed('ledger', 4);
    await anchorAuditLog(store, systemClock);
    await seed('ledger', 2);
    const page = await verifyAll();
    expect(page.problems).toEqual([]);
    expect(page).toMatchObject({ ok: true, done: true, anchors: { configured: true, checked: 1 } });
    expect(page.state.streams.ledger?.seq).toBe(6);
    expect(page.state.anchored.ledger?.seq).toBe(4);
  });

  it('finds an edited entry (hash-mismatch) and a deleted one (missing-entry)', async () => {
    await seed('ledger', 4);
    await anchorAuditLog(store, systemClock);
    const ref = db().collection(AUDIT_COLLECTION).doc(entryId('ledger', 2));
    const original = (await ref.get()).data()!;
    await ref.set({ ...original, reason: 'nothing to see here' });
    expect((await verifyAll()).problems[0]).toMatchObject({
      stream: 'ledger',
      problem: 'hash-mismatch',
      seq: 2,
    });
    await ref.delete();
    expect((await verifyAll()).problems[0]).toMatchObject({
      stream: 'ledger',
      problem: 'missing-entry',
      seq: 2,
    });
  });

  it('finds a stream rewritten consistently with its head, which the chain alone cannot see', async () => {
    await seed('ledger', 5);
    await anchorAuditLog(store, systemClock);
    await rewriteConsistently('ledger', 2, 'nothing to see here');
    // The unanchored chain walk (today's verifier) is fooled: every hash and link is right.
    expect((await verifyAuditStream('ledger')).ok).toBe(true);
    const page = await verifyAll();
    expect(page.ok).toBe(false);
    expect(page.problems).toEqual([
      expect.objectContaining({
        stream: 'ledger',
        problem: 'anchor-mismatch',
        seq: 5,
        id: entryId('ledger', 5),
      }),
    ]);
  });

  it('finds entries cut from the end with the head moved back (truncation)', async () => {
    await seed('ledger', 4);
    await anchorAuditLog(store, systemClock);
    const e3 = (await db().collection(AUDIT_COLLECTION).doc(entryId('ledger', 3)).get()).data()!;
    await db().collection(AUDIT_COLLECTION).doc(entryId('ledger', 4)).delete();
    await db()
      .collection(AUDIT_STREAMS_COLLECTION)
      .doc('ledger')
      .set({ seq: 3, hash: e3.hash, atMs: e3.atMs });
    expect((await verifyAuditStream('ledger')).ok).toBe(true);
    expect((await verifyAll()).problems[0]).toMatchObject({ problem: 'anchor-mismatch', seq: 4 });
  });

  it('finds an anchor slipped into the bucket that does not chain to its predecessor', async () => {
    await seed('ledger', 2);
    const first = await anchorAuditLog(store, systemClock);
    // Someone with objectCreator on the bucket adds a forged anchor (creating is all that role allows).
    const forged = first.name!.replace('.json', 'Z-forged.json');
    mkdirSync(path.join(BUCKETS_DIR, store.bucket, 'anchors'), { recursive: true });
    writeFileSync(
      path.join(BUCKETS_DIR, store.bucket, ...forged.split('/')),
      JSON.stringify({ version: 1, writtenAt: new Date().toISOString(), prev: null, heads: [] }),
    );
    expect((await verifyAll()).problems[0]).toMatchObject({ problem: 'anchor-chain', anchor: forged });
  });
});

describe('bounded pages and checkpoints', () => {
  it('verifies a log bigger than one page across several calls, each continuing where the last stopped', async () => {
    await seed('ledger', 12);
    await anchorAuditLog(store, systemClock);
    await seed('other', 5);
    let state = emptyVerifyState();
    let calls = 0;
    let checked = 0;
    for (;;) {
      const page = await verifyAll(state, 4);
      calls += 1;
      expect(page.problems).toEqual([]);
      checked += page.entriesChecked;
      state = page.state;
      if (page.done) break;
      expect(calls).toBeLessThan(20);
    }
    expect(calls).toBeGreaterThan(3);
    expect(state.streams).toMatchObject({ ledger: { seq: 12 }, other: { seq: 5 } });
    // Every entry of every stream was checked once: 17 of this test's, plus any other stream's.
    const all = Object.values(state.streams as Record<string, { seq: number }>).reduce(
      (n, s) => n + s.seq,
      0,
    );
    expect(checked).toBe(all);
    expect(checked).toBeGreaterThanOrEqual(17);
  });

  it('the sweep keeps a checkpoint, goes on from it, and still finds a consistent rewrite of entries before it', async () => {
    await seed('ledger', 9);
    await anchorAuditLog(store, systemClock);
    const first = await sweepAuditVerification(store, systemClock, { pageSize: 4, budgetMs: 60_000 });
    expect(first).toMatchObject({ ok: true, done: true, newPass: true });
    expect(first.entriesChecked).toBeGreaterThanOrEqual(9); // and any other stream's entries
    expect(first.pages).toBeGreaterThan(1);

    await seed('ledger', 2);
    const second = await sweepAuditVerification(store, systemClock, { pageSize: 4, budgetMs: 60_000 });
    expect(second).toMatchObject({ ok: true, done: true, newPass: false });
    expect(second.entriesChecked).toBeGreaterThanOrEqual(2); // only what was appended since, ours and others'

    // Entries 1..9 are behind the checkpoint; the anchor (seq 9) still catches the rewrite.
    await rewriteConsistently('ledger', 3, 'nothing to see here');
    const third = await sweepAuditVerification(store, systemClock, { pageSize: 4, budgetMs: 60_000 });
    expect(third.ok).toBe(false);
    expect(third.problems[0]).toMatchObject({ problem: 'anchor-mismatch', stream: 'ledger', seq: 9 });
  });
});
