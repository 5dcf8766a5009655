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
