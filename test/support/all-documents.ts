// Every document of the project, for tests that must prove something appears nowhere in Firestore.
import { db } from '../../functions/src/platform/firestore';

export async function allDocuments(): Promise<{ path: string; json: string }[]> {
  const out: { path: string; json: string }[] = [];
  const walk = async (collections: FirebaseFirestore.CollectionReference[]) => {
    for (const c of collections) {
      const refs = await c.listDocuments();
      for (const ref of refs) {
        const snap = await ref.get();
        if (snap.exists) out.push({ path: ref.path, json: JSON.stringify(snap.data()) });
        await walk(await ref.listCollections());
      }
    }
  };
  await walk(await db().listCollections());
  return out;
}
