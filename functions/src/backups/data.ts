// The Firestore reads behind export verification and restore drills: per-collection aggregation counts (one read
// per 1,000 documents), a random sample of documents reduced to content digests, and the scratch database a drill
// restores into. Digests only: no document content leaves the database it lives in.
import type { Firestore } from 'firebase-admin/firestore';
import { jsonDigest, toTypedJsonValue } from '../platform/domain/canonical-json';
import { adminApp, db, firestoreModule, projectId } from '../platform/firestore';

export function sourceDb(database: string): Firestore {
  if (database === '(default)') return db();
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose (cold start)
  const { getFirestore } = require('firebase-admin/firestore') as typeof import('firebase-admin/firestore');
  return getFirestore(adminApp(), database);
}

const drillDbs = new Map<string, Firestore>();

/**
 * The scratch database a drill restores into. The Firestore emulator cannot import into a named database, so
 * locally (FIRESTORE_EMULATOR_HOST set) the Firestore Admin stand-in maps database `{db}` to the emulator project
 * `{project}-{db}`, and this reads it there. In production it is database `{db}` of this project.
 */
export function drillDb(database: string, env: NodeJS.ProcessEnv = process.env): Firestore {
  if (database === '(default)') throw new Error('a restore drill never targets the (default) database');
  let handle = drillDbs.get(database);
  if (!handle) {
    const { Firestore: Client } =
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose (cold start)
      require('@google-cloud/firestore') as typeof import('@google-cloud/firestore');
    const project = projectId(env);
    handle = env.FIRESTORE_EMULATOR_HOST
      ? new Client({ projectId: `${project}-${database}` })
      : new Client({ projectId: project, databaseId: database });
    drillDbs.set(database, handle);
  }
  return handle;
}

/** Documents per collection, and levels below the root, that collectionsOf looks under for subcollections. */
export const DISCOVERY = { docsPerCollection: 5, depth: 3 } as const;

/**
 * The collection groups an export covers: those named (Firestore's `collectionIds` are collection groups), or,
 * for an export of everything, every root collection plus the subcollection ids found under the first
 * DISCOVERY.docsPerCollection documents of each collection, DISCOVERY.depth levels down. Bounded on purpose:
 * listing the subcollections of every document costs a call per document. A group is counted in full
 * (collectionGroup count) once its id is found anywhere; only an id that lives under none of the documents looked
 * at goes unverified.
 */
export async function collectionsOf(
  firestore: Firestore,
  collectionIds: readonly string[],
): Promise<string[]> {
  if (collectionIds.length) return [...collectionIds];
  const found = new Set<string>();
  let level = await firestore.listCollections();
  for (let depth = 0; depth <= DISCOVERY.depth && level.length; depth += 1) {
    const next: FirebaseFirestore.CollectionReference[] = [];
    for (const coll of level) {
      found.add(coll.id);
      if (depth === DISCOVERY.depth) continue;
      const docs = await coll.select().limit(DISCOVERY.docsPerCollection).get();
      for (const doc of docs.docs) next.push(...(await doc.ref.listCollections()));
    }
    level = next;
  }
  return [...found].sort();
}

/**
 * Firestore reads billed for the work done through it, by Firestore's rules: an aggregation query costs one read
 * per 1,000 index entries (at least one), a query or lookup one per document returned (at least one per query).
 */
export interface ReadMeter {
  reads: number;
}

/** Aggregation counts per collection group (root and nested alike): one read per 1,000 documents counted. */
export async function countCollections(
  firestore: Firestore,
  ids: readonly string[],
  meter?: ReadMeter,
): Promise<Record<string, number>> {
  const counts = await Promise.all(
    ids.map(async (id) => (await firestore.collectionGroup(id).count().get()).data().count),
  );
  if (meter) for (const n of counts) meter.reads += Math.max(1, Math.ceil(n / 1000));
  return Object.fromEntries(ids.map((id, i) => [id, counts[i]!]));
}

export interface DigestedDoc {
  path: string;
  digest: string;
  updateTimeMs: number;
}

function digestOf(snap: FirebaseFirestore.DocumentSnapshot): DigestedDoc {
  return {
    path: snap.ref.path,
    digest: jsonDigest(toTypedJsonValue(snap.data() ?? {})),
    updateTimeMs: snap.updateTime ? snap.updateTime.toMillis() : 0,
  };
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomDocId(random: () => number): string {
  let id = '';
  for (let i = 0; i < 20; i += 1) id += ID_ALPHABET[Math.floor(random() * ID_ALPHABET.length)];
  return id;
}

/**
 * About `size` documents spread over `ids`: per collection, the documents from a random id onwards (wrapping to
 * the start), so each sample costs as many reads as documents and no index.
 */
export async function sampleDocuments(
  firestore: Firestore,
  ids: readonly string[],
  size: number,
  random: () => number = Math.random,
  meter?: ReadMeter,
): Promise<DigestedDoc[]> {
  if (!ids.length) return [];
  const { FieldPath } = firestoreModule();
  const per = Math.max(1, Math.ceil(size / ids.length));
  const out: DigestedDoc[] = [];
  for (const id of ids) {
    const coll = firestore.collection(id);
    const from = randomDocId(random);
    const first = await coll.orderBy(FieldPath.documentId()).startAt(from).limit(per).get();
    if (meter) meter.reads += Math.max(1, first.size);
    const docs = first.docs.map(digestOf);
    if (docs.length < per) {
      const wrap = await coll
        .orderBy(FieldPath.documentId())
        .endBefore(from)
        .limit(per - docs.length)
        .get();
      if (meter) meter.reads += Math.max(1, wrap.size);
      docs.push(...wrap.docs.map(digestOf));
    }
    if (docs.length < per) {
      // A subcollection's group (or a root collection smaller than its share): the first documents of the group
      // by path, wherever they are nested.
      const seen = new Set(docs.map((d) => d.path));
      const group = await firestore
        .collectionGroup(id)
        .limit(per + docs.length)
        .get();
      if (meter) meter.reads += Math.max(1, group.size);
      for (const snap of group.docs) {
        if (docs.length >= per) break;
        if (!seen.has(snap.ref.path)) docs.push(digestOf(snap));
      }
    }
    out.push(...docs);
  }
  return out.slice(0, size);
}

/** Digests and update times of documents by path (undefined where absent), 100 per round trip. */
export async function digestsByPath(
  firestore: Firestore,
  paths: readonly string[],
  meter?: ReadMeter,
): Promise<Map<string, DigestedDoc | undefined>> {
  const out = new Map<string, DigestedDoc | undefined>();
  for (let i = 0; i < paths.length; i += 100) {
    const chunk = paths.slice(i, i + 100);
    const snaps = await firestore.getAll(...chunk.map((p) => firestore.doc(p)));
    if (meter) meter.reads += chunk.length;
    snaps.forEach((s, j) => out.set(chunk[j]!, s.exists ? digestOf(s) : undefined));
  }
  return out;
}

/** Deletes every document of a drill's scratch database (never the source: drillDb refuses `(default)`). */
/**
 * The marker fireops writes in the drill's scratch database when it creates or adopts it (`_fireops/drillDatabase`):
 * fireops empties a database only when it carries this, so DRILL_DATABASE pointed at a named production database
 * by mistake is refused, never wiped.
 */
export const DRILL_MARKER = {
  collection: '_fireops',
  doc: 'drillDatabase',
  purpose: 'fireops-restore-drill',
} as const;

/**
 * Whether the drill may empty `database`: never `(default)` nor the database exported (sameDatabaseRefusal); else it
 * must carry the marker, or be empty (then fireops adopts it and writes the marker) (checkDrillTarget). Each returns
 * the refusal's reason, or null.
 */
export function sameDatabaseRefusal(database: string, sourceDatabase: string): string | null {
  return database === '(default)' || database === sourceDatabase
    ? `DRILL_DATABASE '${database}' is a database fireops exports: a drill restores into a separate scratch database`
    : null;
}

/** The marker check of a scratch database that is not a source (sameDatabaseRefusal first). */
export async function checkDrillTarget(
  database: string,
  firestore: Firestore,
  nowMs: number,
): Promise<string | null> {
  const marker = firestore.collection(DRILL_MARKER.collection).doc(DRILL_MARKER.doc);
  const snap = await marker.get();
  if (snap.exists && snap.get('purpose') === DRILL_MARKER.purpose) return null;
  const others = (await firestore.listCollections()).filter((c) => c.id !== DRILL_MARKER.collection);
  if (others.length) {
    const names = others
      .slice(0, 5)
      .map((c) => c.id)
      .join(', ');
    return (
      `database '${database}' holds data (${names}${others.length > 5 ? ', ...' : ''}) and no fireops marker: ` +
      `fireops empties only a scratch database it created or adopted. If '${database}' is the drill's scratch ` +
      `database, write ${DRILL_MARKER.collection}/${DRILL_MARKER.doc} {purpose: "${DRILL_MARKER.purpose}"} in it; ` +
      'if not, point DRILL_DATABASE at an empty database'
    );
  }
  await marker.set({ purpose: DRILL_MARKER.purpose, database, adoptedAtMs: nowMs });
  return null;
}

/** Empties the scratch database, keeping its fireops marker. */
export async function clearDatabase(firestore: Firestore): Promise<number> {
  let collections = 0;
  for (const coll of await firestore.listCollections()) {
    if (coll.id === DRILL_MARKER.collection) continue;
    await firestore.recursiveDelete(coll);
    collections += 1;
  }
  return collections;
}
