// Helpers for the secret rotation tests (test/integration/rotation.test.ts): a clock the test moves by hand, the
// engine's in-process dependencies, Secret Manager state as plain values, the audit trail of the `rotations`
// stream, a local http-callback service and the GitHub stand-in's control API.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { db } from '../../functions/src/platform/firestore';
import { OctokitGithubApi } from '../../functions/src/platform/github-api';
import type { EngineDeps } from '../../functions/src/rotation/engine';
import { secretManager, secretName } from '../../functions/src/platform/secret-manager';
import { PROJECT_ID } from './emulators';

export interface TestClock {
  t: number;
  nowMs(): number;
}

/** Starts at the real time; tests move `t` forward to pass grace periods and destruction delays. */
export function makeClock(): TestClock {
  return {
    t: Date.now(),
    nowMs() {
      return this.t;
    },
  };
}

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;

export function engineDeps(clock: TestClock, extra: Partial<EngineDeps> = {}): EngineDeps {
  return {
    clock,
    github: new OctokitGithubApi('github-token'),
    idToken: () => Promise.resolve(undefined),
    pingTimeoutMs: 15_000,
    // The Functions emulator's githubWebhook caches the webhook secret for 3 s (functions/.env.demo-fireops).
    webhookSecretPropagationMs: 3_500,
    // What functions/.env.demo-fireops gives the deployed functions: local callback services on any port.
    trust: {
      callbackOrigins: ['http://127.0.0.1:*'],
      extraSecretIds: ['github-webhook-secret'],
      projectId: PROJECT_ID,
    },
    ...extra,
  };
}

let counter = 0;
/** A secret id no other test (or earlier run against the same emulator) uses. */
export function uniqueSecretId(prefix = 'rot'): string {
  counter += 1;
  return `fireops-${prefix}-${Date.now()}-${counter}`; // fireops rotates only fireops- secrets (issue 13)
}

/**
 * Creates `secretId` with one version per value; alias `current` on the last one unless `alias` is false. Returns
 * the version numbers.
 */
export async function createTestSecret(
  secretId: string,
  values: string[],
  { alias = true }: { alias?: boolean } = {},
): Promise<number[]> {
  const client = secretManager();
  await client.createSecret({
    parent: `projects/${PROJECT_ID}`,
    secretId,
    secret: { replication: { automatic: {} } },
  });
  const versions: number[] = [];
  for (const value of values) {
    const [added] = await client.addSecretVersion({
      parent: secretName(secretId),
      payload: { data: Buffer.from(value) },
    });
    versions.push(Number(added.name!.split('/').pop()));
  }
  if (alias) {
    await client.updateSecret({
      secret: { name: secretName(secretId), versionAliases: { current: versions[versions.length - 1]! } },
      updateMask: { paths: ['version_aliases'] },
    });
  }
  return versions;
}

export async function secretState(secretId: string): Promise<{
  aliases: Record<string, number>;
  annotations: Record<string, string>;
}> {
  const [secret] = await secretManager().getSecret({ name: secretName(secretId) });
  const aliases: Record<string, number> = {};
  for (const [k, v] of Object.entries(secret.versionAliases ?? {})) aliases[k] = Number(String(v));
  return { aliases, annotations: { ...(secret.annotations ?? {}) } };
}

/** Every version of the secret, by number, with its state (ENABLED, DISABLED, DESTROYED). */
export async function versionStates(secretId: string): Promise<Record<string, string>> {
  const [versions] = await secretManager().listSecretVersions({ parent: secretName(secretId) });
  const out: Record<string, string> = {};
  for (const v of versions) out[v.name!.split('/').pop()!] = String(v.state);
  return out;
}

export interface RotationDoc {
  id: string;
  secretId: string;
  phase: string;
  oldVersion: string | null;
  newVersion: string | null;
  failedStep: string | null;
  error: string | null;
  graceEndsAtMs: number | null;
  destroyAtMs: number | null;
}

export async function rotationsOf(secretId: string): Promise<RotationDoc[]> {
  const snap = await db().collection('rotations').where('secretId', '==', secretId).get();
  return snap.docs.map((d) => d.data() as RotationDoc);
}

export async function rotation(id: string): Promise<RotationDoc | undefined> {
  return (await db().collection('rotations').doc(id).get()).data() as RotationDoc | undefined;
}

export interface AuditDoc {
  seq: number;
  action: string;
  target: string;
  reason: string;
  correlationId: string;
  actor: { type: string; id: string; authType?: string };
  details?: Record<string, unknown> | null;
}

/** The `rotations` audit stream, in order. */
export async function rotationAudit(): Promise<AuditDoc[]> {
  const snap = await db().collection('auditLog').where('stream', '==', 'rotations').orderBy('seq').get();
  return snap.docs.map((d) => d.data() as AuditDoc);
}

export async function writePolicy(secretId: string, policy: Record<string, unknown>): Promise<void> {
  await db().collection('secretPolicies').doc(secretId).set(policy);
}

export interface CallbackCall {
  step: string;
  secretId: string;
  rotationId: string;
  version?: string | null;
  authorization: string | undefined;
}

export interface CallbackService {
  url: string;
  calls: CallbackCall[];
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

/**
 * A service following HttpCallbackStrategy's contract: `answer(step)` gives the status and JSON body of each step.
 */
export async function startCallbackService(
  answer: (step: string) => { status: number; body?: unknown; raw?: string },
): Promise<CallbackService> {
  const calls: CallbackCall[] = [];
  const server: Server = createServer((req, res) => {
    void readJson(req).then(
      (body) => {
        const step = String(body.step);
        calls.push({
          step,
          secretId: String(body.secretId),
          rotationId: String(body.rotationId),
          ...('version' in body ? { version: body.version as string | null } : {}),
          authorization: req.headers.authorization,
        });
        const { status, body: out, raw } = answer(step);
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(raw ?? (out === undefined ? '' : JSON.stringify(out)));
      },
      () => {
        res.writeHead(400).end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/rotate`,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The GitHub stand-in's control API (emulators/github/README.md). */
export async function standIn(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${process.env.GITHUB_API_URL!}/_stand-in${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`stand-in ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The webhook secret as it is before fireops ever rotated it: one version, no alias (githubWebhook then reads
 * `latest`). test/support/github.ts's resetWebhookSecret puts `current` on it instead.
 */
export async function resetWebhookSecretWithoutAliases(value: string): Promise<void> {
  const client = secretManager();
  const name = secretName('github-webhook-secret');
  await client.deleteSecret({ name }).catch(() => undefined);
  await client.createSecret({
    parent: `projects/${PROJECT_ID}`,
    secretId: 'github-webhook-secret',
    secret: { replication: { automatic: {} } },
  });
  await client.addSecretVersion({ parent: name, payload: { data: Buffer.from(value) } });
}

export interface WebhookProxy {
  url: string;
  /** What the proxy saw: each delivery's event and the status it answered. */
  seen: { event: string; status: number }[];
  close(): Promise<void>;
}

/**
 * Stands between the GitHub stand-in and githubWebhook: forwards each delivery unchanged (same body bytes and
 * headers, so signatures hold) unless `refuse(event)` says to answer 503 instead, as a receiver having a bad moment
 * would (GitHub records such a delivery as failed and does not retry it by itself).
 */
export async function startWebhookProxy(
  target: string,
  refuse: (event: string) => boolean,
): Promise<WebhookProxy> {
  const seen: WebhookProxy['seen'] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      const event = String(req.headers['x-github-event'] ?? '');
      if (refuse(event)) {
        seen.push({ event, status: 503 });
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"unavailable"}');
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k)) headers[k] = v;
      }
      const upstream = await fetch(target, { method: 'POST', headers, body });
      const text = await upstream.text();
      seen.push({ event, status: upstream.status });
      res
        .writeHead(upstream.status, {
          'content-type': upstream.headers.get('content-type') ?? 'application/json',
        })
        .end(text);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(502).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/githubWebhook`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
