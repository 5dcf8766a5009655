// Counts Firestore document writes in this process: every write, batch and transaction commit of the Firestore
// client goes through WriteBatch (set, create, update, delete), so patching its prototype counts them all.
// Returns the counter; read `.writes`, reset it by assigning 0.
export function countFirestoreWrites(fnRequire) {
  const counter = { writes: 0 };
  const { WriteBatch } = fnRequire('@google-cloud/firestore');
  for (const op of ['set', 'create', 'update', 'delete']) {
    const original = WriteBatch.prototype[op];
    WriteBatch.prototype[op] = function counted(...args) {
      counter.writes += 1;
      return original.apply(this, args);
    };
  }
  return counter;
}
