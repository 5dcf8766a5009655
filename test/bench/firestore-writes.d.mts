/** Counts Firestore document writes in this process (see firestore-writes.mjs). */
export function countFirestoreWrites(fnRequire: NodeJS.Require): { writes: number };
