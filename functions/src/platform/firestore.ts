// The one Firestore handle. Constructed on first use, never at module load: loading the Firestore client costs
// ~0.4 s of cold start, which every function would pay otherwise.
import type { App } from 'firebase-admin/app';
import type { Firestore } from 'firebase-admin/firestore';

let app: App | undefined;
let firestore: Firestore | undefined;

export function adminApp(): App {
  if (!app) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose (cold start)
    const { getApps, initializeApp } = require('firebase-admin/app') as typeof import('firebase-admin/app');
    app = getApps()[0] ?? initializeApp();
  }
  return app;
}

export function db(): Firestore {
  if (!firestore) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose (cold start)
    const { getFirestore } = require('firebase-admin/firestore') as typeof import('firebase-admin/firestore');
    firestore = getFirestore(adminApp());
  }
  return firestore;
}

/** The firebase-admin/firestore module (FieldValue, Timestamp), loaded on first use. */
export function firestoreModule(): typeof import('firebase-admin/firestore') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose (cold start)
  return require('firebase-admin/firestore') as typeof import('firebase-admin/firestore');
}

export function projectId(env: NodeJS.ProcessEnv = process.env): string {
  const id = env.GCLOUD_PROJECT ?? env.GOOGLE_CLOUD_PROJECT ?? env.FIREOPS_PROJECT_ID;
  if (id) return id;
  const fromConfig = env.FIREBASE_CONFIG
    ? (JSON.parse(env.FIREBASE_CONFIG) as { projectId?: string }).projectId
    : undefined;
  if (fromConfig) return fromConfig;
  throw new Error('no project id: set GCLOUD_PROJECT');
}

/**
 * `firestore.runTransaction`, plus one more retry the client does not do: INVALID_ARGUMENT "Transaction is invalid
 * or closed". The Firestore emulator answers that (instead of ABORTED) to a transaction whose lock another
 * transaction took over (firebase/firebase-tools#4473), and the client retries only ABORTED-like codes, so two
 * overlapping runs of one scheduled minute failed one of them. The callback is already written to run more than
 * once (the client re-runs it on ABORTED), so running it again here is safe; production never answers this code
 * for contention, where this is a no-op.
 */
export async function transact<T>(
  fn: (tx: import('firebase-admin/firestore').Transaction) => Promise<T>,
  firestore: Firestore = db(),
  attempts = 4,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await firestore.runTransaction(fn);
    } catch (err) {
      const e = err as { code?: unknown; details?: unknown; message?: unknown };
      const text = typeof e.details === 'string' ? e.details : typeof e.message === 'string' ? e.message : '';
      const closed = e.code === 3 && /transaction is invalid or closed/i.test(text);
      if (!closed || attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 20 * attempt + Math.floor(Math.random() * 50)));
    }
  }
}
