import fs from 'node:fs';
import { describe, it, beforeAll, afterAll, beforeEach } from 'vitest';
import {
  assertFails,
  assertSucceeds,
  initializeTestEnvironment,
  type RulesTestContext,
  type RulesTestEnvironment,
} from '@firebase/rules-unit-testing';
import {
  collection,
  deleteDoc,
  doc,
  getDoc,
  getDocs,
  setDoc,
  setLogLevel,
  updateDoc,
  type DocumentData,
  type Firestore,
} from 'firebase/firestore';

// Security rules tests for firestore.rules, run against the Firestore emulator (FIRESTORE_EMULATOR_HOST).

const PROJECT_ID = 'demo-fireops-rules';

let testEnv: RulesTestEnvironment;

function emulatorHostPort(): { host: string; port: number } {
  const raw = process.env.FIRESTORE_EMULATOR_HOST;
  if (!raw) throw new Error('FIRESTORE_EMULATOR_HOST is not set');
  const idx = raw.lastIndexOf(':');
  const host = raw.slice(0, idx).replace(/^\[(.*)\]$/, '$1');
  const port = Number(raw.slice(idx + 1));
  if (idx <= 0 || !Number.isInteger(port)) throw new Error(`bad FIRESTORE_EMULATOR_HOST: ${raw}`);
  return { host, port };
}

// --- contexts --------------------------------------------------------------------------------------

// Roles (docs/security.md#who-may-do-what): `role` claim; `admin: true` is the legacy claim, still 'admin'.
type Role = 'viewer' | 'operator' | 'securityAdmin' | 'admin' | 'legacyAdmin';
type Who = Role | 'user' | 'anon';
const ROLES: Role[] = ['viewer', 'operator', 'securityAdmin', 'admin', 'legacyAdmin'];
const WHO: Who[] = [...ROLES, 'user', 'anon'];

function ctx(who: Who): RulesTestContext {
  switch (who) {
    case 'legacyAdmin':
      return testEnv.authenticatedContext('legacy-admin-uid', { admin: true });
    case 'admin':
    case 'viewer':
    case 'operator':
    case 'securityAdmin':
      return testEnv.authenticatedContext(`${who}-uid`, { role: who });
    case 'user':
      return testEnv.authenticatedContext('user-uid');
    case 'anon':
      return testEnv.unauthenticatedContext();
  }
}

function db(who: Who): Firestore {
  // The compat Firestore returned by the test context is accepted by the modular API.
  return ctx(who).firestore() as unknown as Firestore;
}

function dbWithClaims(claims: Record<string, unknown>): Firestore {
  return testEnv.authenticatedContext('claims-uid', claims).firestore() as unknown as Firestore;
}

async function seed(path: string, data: DocumentData): Promise<void> {
  await testEnv.withSecurityRulesDisabled(async (context) => {
    await setDoc(doc(context.firestore() as unknown as Firestore, path), data);
  });
}

// --- collections under test ------------------------------------------------------------------------

interface Target {
  /** Label used in test names. */
  name: string;
  /** Collection path (for list queries). */
  collectionPath: string;
  /** Document id inside that collection. */
  id: string;
  /** A valid document for this collection. */
  data: DocumentData;
  /** The roles that may write it (configuration collections). */
  writers?: Role[];
}

const docPath = (t: Target): string => `${t.collectionPath}/${t.id}`;

const OPERATORS: Role[] = ['operator', 'admin', 'legacyAdmin'];
const SECURITY: Role[] = ['securityAdmin', 'admin', 'legacyAdmin'];
const nonWriters = (t: Target): Who[] => WHO.filter((w) => !(t.writers ?? []).includes(w as Role));

const CONFIG: Target[] = [
  {
    name: 'flags',
    collectionPath: 'flags',
    writers: OPERATORS,
    id: 'newCheckout',
    data: { enabled: true, rolloutPercent: 25, description: 'new checkout flow' },
  },
  {
    name: 'settings',
    collectionPath: 'settings',
    writers: SECURITY,
    id: 'global',
    data: { timezone: 'UTC', retentionDays: 30 },
  },
  {
    name: 'secretPolicies',
    collectionPath: 'secretPolicies',
    writers: SECURITY,
    id: 'stripe-api-key',
    data: { rotateEveryDays: 90, owner: 'payments' },
  },
  {
    name: 'healthChecks',
    collectionPath: 'healthChecks',
    // Without headerSecrets: operators and security admins (see 'healthChecks with headerSecrets').
    writers: [...OPERATORS, 'securityAdmin'],
    id: 'api-health',
    data: { url: 'https://api.example.com/health', intervalSeconds: 60 },
  },
  {
    name: 'canaryPolicies',
    collectionPath: 'canaryPolicies',
    writers: OPERATORS,
    id: 'payments-api',
    data: { steps: [5, 25, 50, 100], maxErrorRate: 0.01 },
  },
];

const ROLLOUT: Target = {
  name: 'rollouts',
  collectionPath: 'rollouts',
  id: 'r-1',
  data: { service: 'payments-api', status: 'running', percent: 5, command: null },
};

const SYSTEM: Target[] = [
  ...[
    'auditLog',
    'auditStreams',
    'processedEvents',
    'leases',
    'flagState',
    'deliveries',
    'rolloutRequests',
    'rotations',
    'backups',
    'drills',
    'healthCycles',
    'healthStatus',
    'healthCatalog',
    'healthSummary',
    'healthDaily',
    'incidents',
    'githubHooks',
    'redeliveries',
    'rotationLocks',
  ].map((c) => ({ name: c, collectionPath: c, id: 'doc-1', data: { at: 1, note: 'system' } })),
  {
    name: 'metrics',
    collectionPath: 'metrics',
    id: 'payments-api',
    data: { lastWindow: '2026-01-01T00:00' },
  },
  {
    name: 'metrics/{service}/windows',
    collectionPath: 'metrics/payments-api/windows',
    id: '2026-01-01T00:00',
    data: { requests: 100, errors: 1 },
  },
];

const ALL: Target[] = [...CONFIG, ROLLOUT, ...SYSTEM];

// --- lifecycle -------------------------------------------------------------------------------------

beforeAll(async () => {
  // Every denied write makes the SDK log a PERMISSION_DENIED warning; the assertions already cover them.
  setLogLevel('error');
  const { host, port } = emulatorHostPort();
  testEnv = await initializeTestEnvironment({
    projectId: PROJECT_ID,
    firestore: { rules: fs.readFileSync('firestore.rules', 'utf8'), host, port },
  });
});

afterAll(async () => {
  await testEnv?.cleanup();
});

beforeEach(async () => {
  await testEnv.clearFirestore();
});

// --- reads -----------------------------------------------------------------------------------------

describe('reads', () => {
  describe.each(ALL)('$name', (t) => {
    beforeEach(async () => {
      await seed(docPath(t), t.data);
    });

    it.each(ROLES)('%s may get', async (who) => {
      await assertSucceeds(getDoc(doc(db(who), docPath(t))));
    });

    it.each(ROLES)('%s may list', async (who) => {
      await assertSucceeds(getDocs(collection(db(who), t.collectionPath)));
    });

    it.each(['user', 'anon'] as const)('%s may not get', async (who) => {
      await assertFails(getDoc(doc(db(who), docPath(t))));
    });

    it.each(['user', 'anon'] as const)('%s may not list', async (who) => {
      await assertFails(getDocs(collection(db(who), t.collectionPath)));
    });
  });

  it.each([
    ['admin: false', { admin: false }],
    ["admin: 'true' (string)", { admin: 'true' }],
    ['admin: 1', { admin: 1 }],
    ["role: 'Admin' (wrong case)", { role: 'Admin' }],
    ["role: 'root'", { role: 'root' }],
    ["role: ['admin'] (a list)", { role: ['admin'] }],
    ['roles: { admin: true }', { roles: { admin: true } }],
  ])('a token with %s has no role', async (_label, claims) => {
    await seed('flags/newCheckout', { enabled: true });
    await assertFails(getDoc(doc(dbWithClaims(claims), 'flags/newCheckout')));
    await assertFails(getDocs(collection(dbWithClaims(claims), 'auditLog')));
    await assertFails(setDoc(doc(dbWithClaims(claims), 'flags/other'), { enabled: true }));
  });
});

// --- system collections: never writable ------------------------------------------------------------

describe('system collections are never client-writable', () => {
  describe.each(SYSTEM)('$name', (t) => {
    it.each(WHO)('%s may not create', async (who) => {
      await assertFails(setDoc(doc(db(who), `${t.collectionPath}/new-doc`), t.data));
    });

    it.each(WHO)('%s may not update', async (who) => {
      await seed(docPath(t), t.data);
      await assertFails(updateDoc(doc(db(who), docPath(t)), { note: 'tampered' }));
    });

    it.each(WHO)('%s may not overwrite', async (who) => {
      await seed(docPath(t), t.data);
      await assertFails(setDoc(doc(db(who), docPath(t)), { note: 'tampered' }));
    });

    it.each(WHO)('%s may not delete', async (who) => {
      await seed(docPath(t), t.data);
      await assertFails(deleteDoc(doc(db(who), docPath(t))));
    });
  });
});

// --- configuration collections ---------------------------------------------------------------------

describe('configuration collections', () => {
  describe.each(CONFIG)('$name', (t) => {
    it.each(t.writers!)('%s may create a valid document', async (who) => {
      await assertSucceeds(setDoc(doc(db(who), docPath(t)), t.data));
    });

    it.each(t.writers!)('%s may update', async (who) => {
      await seed(docPath(t), t.data);
      await assertSucceeds(setDoc(doc(db(who), docPath(t)), t.data));
      const [firstKey] = Object.keys(t.data);
      await assertSucceeds(updateDoc(doc(db(who), docPath(t)), { [firstKey!]: t.data[firstKey!] }));
    });

    it.each(t.writers!)('%s may delete', async (who) => {
      await seed(docPath(t), t.data);
      await assertSucceeds(deleteDoc(doc(db(who), docPath(t))));
    });

    it.each(nonWriters(t))('%s may not create, update or delete', async (who) => {
      await assertFails(setDoc(doc(db(who), `${t.collectionPath}/fresh`), t.data));
      await seed(docPath(t), t.data);
      await assertFails(setDoc(doc(db(who), docPath(t)), t.data));
      await assertFails(updateDoc(doc(db(who), docPath(t)), t.data));
      await assertFails(deleteDoc(doc(db(who), docPath(t))));
    });

    it('admin may not write an unlisted subcollection', async () => {
      await seed(docPath(t), t.data);
      await assertFails(setDoc(doc(db('admin'), `${docPath(t)}/history/h-1`), { x: 1 }));
      await assertFails(getDocs(collection(db('admin'), `${docPath(t)}/history`)));
    });

    it('admin may not create a document with an unsafe id', async () => {
      await assertFails(setDoc(doc(db('admin'), `${t.collectionPath}/has space`), t.data));
    });
  });

  it('admin may not write a settings document with too many top-level keys', async () => {
    const huge = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i]));
    await assertFails(setDoc(doc(db('admin'), 'settings/global'), huge));
  });
});

// --- health checks that send secrets --------------------------------------------------------------

describe('healthChecks with headerSecrets', () => {
  const path = 'healthChecks/api-health';
  const plain = { url: 'https://api.example.com/health', intervalSeconds: 60 };
  const withSecret = { ...plain, headerSecrets: { 'X-Api-Key': 'api-key-secret' } };

  it.each(['securityAdmin', 'admin', 'legacyAdmin'] as const)('%s may name a secret', async (who) => {
    await assertSucceeds(setDoc(doc(db(who), path), withSecret));
    await assertSucceeds(updateDoc(doc(db(who), path), { intervalSeconds: 30 }));
    await assertSucceeds(deleteDoc(doc(db(who), path)));
  });

  it('an operator may not create, add, change, strip or delete headerSecrets', async () => {
    await assertFails(setDoc(doc(db('operator'), path), withSecret));
    await seed(path, plain);
    await assertFails(updateDoc(doc(db('operator'), path), { headerSecrets: { 'X-Api-Key': 'other' } }));
    await seed(path, withSecret);
    await assertFails(updateDoc(doc(db('operator'), path), { intervalSeconds: 30 }));
    await assertFails(setDoc(doc(db('operator'), path), plain));
    await assertFails(deleteDoc(doc(db('operator'), path)));
  });

  it('a viewer may read it but not write it', async () => {
    await seed(path, withSecret);
    await assertSucceeds(getDoc(doc(db('viewer'), path)));
    await assertFails(updateDoc(doc(db('viewer'), path), { intervalSeconds: 30 }));
  });
});

// --- flags shape -----------------------------------------------------------------------------------

describe('flags shape', () => {
  const path = 'flags/newCheckout';

  it.each<[string, DocumentData]>([
    ['enabled only', { enabled: false }],
    ['rolloutPercent 0', { enabled: true, rolloutPercent: 0 }],
    ['rolloutPercent 100', { enabled: true, rolloutPercent: 100 }],
    ['with expiresAt', { enabled: true, description: 'temp', expiresAt: new Date('2030-01-01T00:00:00Z') }],
    [
      'all keys',
      { enabled: true, rolloutPercent: 10, description: 'd', expiresAt: new Date('2030-01-01T00:00:00Z') },
    ],
  ])('admin may write a valid flag (%s)', async (_label, data) => {
    await assertSucceeds(setDoc(doc(db('admin'), path), data));
  });

  it.each<[string, DocumentData]>([
    ['enabled missing', { rolloutPercent: 10 }],
    ['enabled is a string', { enabled: 'true' }],
    ['enabled is a number', { enabled: 1 }],
    ['rolloutPercent above 100', { enabled: true, rolloutPercent: 101 }],
    ['rolloutPercent negative', { enabled: true, rolloutPercent: -1 }],
    ['rolloutPercent not an integer', { enabled: true, rolloutPercent: 12.5 }],
    ['rolloutPercent is a string', { enabled: true, rolloutPercent: '50' }],
    ['description is a number', { enabled: true, description: 42 }],
    ['unknown key', { enabled: true, owner: 'someone' }],
  ])('admin may not create an invalid flag (%s)', async (_label, data) => {
    await assertFails(setDoc(doc(db('admin'), path), data));
  });

  it('admin may not update a flag into an invalid shape', async () => {
    await seed(path, { enabled: true, rolloutPercent: 10 });
    await assertFails(updateDoc(doc(db('admin'), path), { rolloutPercent: 150 }));
    await assertFails(updateDoc(doc(db('admin'), path), { extra: true }));
    await assertSucceeds(updateDoc(doc(db('admin'), path), { rolloutPercent: 50 }));
  });

  it.each(['deployFreeze', 'maintenanceMode'])('admin may not delete the reserved flag %s', async (key) => {
    await seed(`flags/${key}`, { enabled: false });
    await assertFails(deleteDoc(doc(db('admin'), `flags/${key}`)));
  });

  it.each(['deployFreeze', 'maintenanceMode'])('admin may still toggle the reserved flag %s', async (key) => {
    await seed(`flags/${key}`, { enabled: false });
    await assertSucceeds(updateDoc(doc(db('admin'), `flags/${key}`), { enabled: true }));
  });
});

// --- rollouts --------------------------------------------------------------------------------------

describe('rollouts', () => {
  const path = docPath(ROLLOUT);

  beforeEach(async () => {
    await seed(path, ROLLOUT.data);
  });

  it.each(['approve', 'pause', 'resume', 'abort', 'promote-now', 'rollback-now'])(
    'admin may set command %s',
    async (action) => {
      await assertSucceeds(
        updateDoc(doc(db('admin'), path), { command: { action, reason: 'ops ticket 42' } }),
      );
    },
  );

  it('admin may set command via a merge write', async () => {
    await assertSucceeds(
      setDoc(doc(db('admin'), path), { command: { action: 'pause', reason: 'x' } }, { merge: true }),
    );
  });

  it('admin may not update another field', async () => {
    // Seed a valid command so that only the affectedKeys().hasOnly(['command']) check can deny this.
    await seed(path, { ...ROLLOUT.data, command: { action: 'pause', reason: 'earlier' } });
    await assertFails(updateDoc(doc(db('admin'), path), { status: 'done' }));
    await assertFails(updateDoc(doc(db('admin'), path), { percent: 100 }));
  });

  it('admin may not update command together with another field', async () => {
    await assertFails(
      updateDoc(doc(db('admin'), path), { command: { action: 'approve', reason: 'r' }, percent: 100 }),
    );
  });

  it('admin may not overwrite the whole document', async () => {
    await assertFails(setDoc(doc(db('admin'), path), { command: { action: 'approve', reason: 'r' } }));
  });

  it.each<[string, unknown]>([
    ['unknown action', { action: 'delete-everything', reason: 'r' }],
    ['action wrong case', { action: 'Approve', reason: 'r' }],
    ['missing reason', { action: 'approve' }],
    ['reason not a string', { action: 'approve', reason: 7 }],
    ['missing action', { reason: 'r' }],
    ['command is a string', 'approve'],
    ['command is null', null],
  ])('admin may not set an invalid command (%s)', async (_label, command) => {
    await assertFails(updateDoc(doc(db('admin'), path), { command }));
  });

  it('admin may not create a rollout', async () => {
    await assertFails(setDoc(doc(db('admin'), 'rollouts/r-2'), ROLLOUT.data));
    await assertFails(
      setDoc(
        doc(db('admin'), 'rollouts/r-3'),
        { command: { action: 'approve', reason: 'r' } },
        { merge: true },
      ),
    );
  });

  it('admin may not delete a rollout', async () => {
    await assertFails(deleteDoc(doc(db('admin'), path)));
  });

  it.each(OPERATORS)('%s may set a command', async (who) => {
    await assertSucceeds(updateDoc(doc(db(who), path), { command: { action: 'pause', reason: 'r' } }));
  });

  it.each(['viewer', 'securityAdmin', 'user', 'anon'] as const)('%s may not set a command', async (who) => {
    await assertFails(updateDoc(doc(db(who), path), { command: { action: 'approve', reason: 'r' } }));
  });

  it.each(WHO)('%s may not create or delete', async (who) => {
    await assertFails(setDoc(doc(db(who), 'rollouts/r-2'), ROLLOUT.data));
    await assertFails(deleteDoc(doc(db(who), path)));
  });

  it('admin may not touch rollout subcollections', async () => {
    await assertFails(setDoc(doc(db('admin'), `${path}/events/e-1`), { x: 1 }));
    await assertFails(getDocs(collection(db('admin'), `${path}/events`)));
  });
});

// --- everything else -------------------------------------------------------------------------------

describe('unlisted collections', () => {
  it.each(['users', 'secrets', 'flag', 'Flags', 'audit_log'])('%s is closed even to admins', async (name) => {
    await seed(`${name}/x`, { a: 1 });
    for (const who of WHO) {
      await assertFails(getDoc(doc(db(who), `${name}/x`)));
      await assertFails(getDocs(collection(db(who), name)));
      await assertFails(setDoc(doc(db(who), `${name}/y`), { a: 1 }));
      await assertFails(updateDoc(doc(db(who), `${name}/x`), { a: 2 }));
      await assertFails(deleteDoc(doc(db(who), `${name}/x`)));
    }
  });
});
