// Every deployed function against the table of what it should run as and with (issue 12.1): the service account of
// its deploy group (functions/src/platform/iam.ts), the timeout, memory and instance cap chosen from its worst case
// (reasons next to each function in <group>/functions.ts). Reads the built manifest (`__endpoint`) the way
// firebase-tools does, so a function added without an entry here, or an option changed without this table, fails.
// Needs the build (`launcher.mjs test` builds first).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GRANTS, REQUIRED_PERMISSIONS, SERVICE_ACCOUNTS, accountOf } from '../../functions/src/platform/iam';

const FUNCTIONS = path.resolve(import.meta.dirname, '..', '..', 'functions');

interface Manifest {
  id: string;
  serviceAccountEmail?: string;
  timeoutSeconds?: number;
  availableMemoryMb?: number;
  maxInstances?: number;
  https: boolean;
}

/** The endpoints of functions/lib/index.js, loaded in a fresh process with a bare environment. */
function manifest(): Manifest[] {
  const script = `
    const walk = (o, p) => Object.entries(o).flatMap(([k, v]) =>
      v && v.__endpoint ? [[p + k, v.__endpoint]] : v && typeof v === 'object' ? walk(v, p + k + '-') : []);
    // An option left unset is absent or firebase-functions' RESET_VALUE (the platform default): both read as absent.
    const set = (v) => (typeof v === 'number' || typeof v === 'string' ? v : undefined);
    const out = walk(require('./lib/index.js'), '').map(([id, e]) => ({
      id, serviceAccountEmail: set(e.serviceAccountEmail), timeoutSeconds: set(e.timeoutSeconds),
      availableMemoryMb: set(e.availableMemoryMb), maxInstances: set(e.maxInstances),
      https: Boolean(e.httpsTrigger) }));
    process.stdout.write(JSON.stringify(out));`;
  const out = execFileSync(process.execPath, ['-e', script], {
    cwd: FUNCTIONS,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, GCLOUD_PROJECT: 'demo-fireops' },
  });
  return JSON.parse(out) as Manifest[];
}

type Expected = Pick<Manifest, 'timeoutSeconds' | 'availableMemoryMb' | 'maxInstances'>;
/** Options each function declares (absent: the platform default, 60 s / 256 MiB / no cap). */
const TABLE: Record<string, Expected> = {
  'platform-notifyAlerts': {},
  'platform-notifySweep': { timeoutSeconds: 300 },
  'platform-verifyAuditLog': { timeoutSeconds: 300, maxInstances: 2 },
  'platform-anchorAuditLog': { timeoutSeconds: 60 },
  'platform-verifyAuditSweep': { timeoutSeconds: 300 },
  'flags-onFlagWritten': {},
  'webhooks-githubWebhook': { timeoutSeconds: 30, maxInstances: 10 },
  'webhooks-onDeliveryRecorded': {},
  'webhooks-onOpsEvent': {},
  'webhooks-redeliverFailedWebhooks': { timeoutSeconds: 540 },
  'rotation-onSecretEvent': { timeoutSeconds: 300 },
  'rotation-rotationSweep': { timeoutSeconds: 300 },
  'rotation-onSecretPolicyWritten': { timeoutSeconds: 300 },
  'backups-scheduledExport': { timeoutSeconds: 540 },
  'backups-backupMonitor': { timeoutSeconds: 540 },
  'backups-onBackupKick': { timeoutSeconds: 540 },
  'backups-restoreDrill': { timeoutSeconds: 540 },
  'health-onHealthCheckWritten': {},
  'health-healthRollup': { timeoutSeconds: 300, availableMemoryMb: 1024 },
  'health-status': { maxInstances: 5 },
  'health-statusPage': { maxInstances: 5 },
  'canary-onRolloutRequest': {},
  'canary-onRolloutCommand': {},
  'canary-canaryKick': { timeoutSeconds: 120 },
  'canary-canaryController': { timeoutSeconds: 60 },
  'canary-ingestMetrics': { maxInstances: 10 },
};
/** One scheduled cycle and one shard worker per probe region: same options whatever PROBE_REGIONS holds. */
const PROBE_CYCLE: Expected = { timeoutSeconds: 55, availableMemoryMb: 512 };

const expectedFor = (id: string): Expected | undefined =>
  id.startsWith('health-probeCycle') || id.startsWith('health-probeShard') ? PROBE_CYCLE : TABLE[id];

describe('the deployed functions (built manifest)', () => {
  const functions = manifest();

  it('are all in the table, and the table names no function that is gone', () => {
    expect(functions.length).toBeGreaterThan(20);
    expect(functions.filter((f) => !expectedFor(f.id)).map((f) => f.id)).toEqual([]);
    const ids = new Set(functions.map((f) => f.id));
    expect(Object.keys(TABLE).filter((id) => !ids.has(id))).toEqual([]);
    expect(functions.some((f) => f.id.startsWith('health-probeCycle'))).toBe(true);
    expect(functions.filter((f) => f.id.startsWith('health-probeShard')).length).toBe(
      functions.filter((f) => f.id.startsWith('health-probeCycle')).length,
    );
  });

  it("each runs as its deploy group's service account, the public read-only endpoints as the reader", () => {
    for (const f of functions) {
      const account = accountOf(f.id);
      expect(SERVICE_ACCOUNTS, f.id).toHaveProperty(account);
      expect(f.serviceAccountEmail, f.id).toBe(`${SERVICE_ACCOUNTS[account]}@`);
    }
    const byId = new Map(functions.map((f) => [f.id, f.serviceAccountEmail]));
    expect(byId.get('health-status')).toBe('fireops-reader@');
    expect(byId.get('health-statusPage')).toBe('fireops-reader@');
    expect(byId.get('platform-verifyAuditLog')).toBe('fireops-reader@');
    expect(byId.get('webhooks-githubWebhook')).toBe('fireops-webhooks@');
  });

  it('each declares the timeout, memory and instance cap of the table', () => {
    for (const f of functions) {
      const want = expectedFor(f.id)!;
      expect(
        {
          timeoutSeconds: f.timeoutSeconds,
          availableMemoryMb: f.availableMemoryMb,
          maxInstances: f.maxInstances,
        },
        f.id,
      ).toEqual({
        timeoutSeconds: want.timeoutSeconds,
        availableMemoryMb: want.availableMemoryMb,
        maxInstances: want.maxInstances,
      });
    }
  });

  it('public HTTPS endpoints are capped', () => {
    const https = functions.filter((f) => f.https);
    expect(https.map((f) => f.id).sort()).toEqual([
      'health-status',
      'health-statusPage',
      'platform-verifyAuditLog',
      'webhooks-githubWebhook',
    ]);
    for (const f of https) expect(f.maxInstances, f.id).toBeGreaterThan(0);
  });
});

describe('the IAM matrix', () => {
  it('grants every account something and checks only accounts it knows', () => {
    const groups = new Set(Object.keys(SERVICE_ACCOUNTS));
    for (const g of GRANTS) expect(groups.has(g.account), g.account).toBe(true);
    for (const r of REQUIRED_PERMISSIONS) expect(groups.has(r.account), r.account).toBe(true);
    const granted = new Set(GRANTS.map((g) => SERVICE_ACCOUNTS[g.account]));
    expect([...new Set(Object.values(SERVICE_ACCOUNTS))].filter((a) => !granted.has(a))).toEqual([]);
  });

  it("gives the webhook account secrets.get on the webhook secret, not only versions.access (issue 12's outage)", () => {
    const webhookSecret = REQUIRED_PERMISSIONS.find(
      (r) =>
        r.account === 'webhooks' &&
        r.resource.kind === 'secret' &&
        r.permissions.includes('secretmanager.secrets.get'),
    );
    expect(webhookSecret).toBeDefined();
    const roles = GRANTS.filter(
      (g) =>
        g.account === 'webhooks' && JSON.stringify(g.resource) === JSON.stringify(webhookSecret!.resource),
    ).map((g) => g.role);
    expect(roles).toEqual(
      expect.arrayContaining(['roles/secretmanager.secretAccessor', 'roles/secretmanager.viewer']),
    );
  });
});
