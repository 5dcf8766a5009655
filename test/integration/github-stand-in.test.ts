// Tests for the local GitHub stand-in (emulators/github/server.mjs): webhook deliveries as GitHub's Hookshot sends
// them (headers, HMAC signatures, failures, redelivery, pings), the REST routes as api.github.com answers them, and
// compatibility with the real, unmodified Octokit client the functions use. The stand-in and a tiny webhook receiver
// run in-process on free ports; no Firebase emulator is used (the integration setup's env check is satisfied by the
// runner).
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { type AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGitHubStandIn, type GitHubStandIn } from '../../emulators/github/server.mjs';
import { signPayload, verifySignature } from '../../emulators/github/sign.mjs';
import { fnRequire, ROOT } from '../support/functions-require';

type OctokitModule = typeof import('../../functions/node_modules/@octokit/rest/dist-types/index.js');
type Octokit = InstanceType<OctokitModule['Octokit']>;
type Verify = (secret: string, payload: string, signature: string) => Promise<boolean>;

const SERVER_PATH = fileURLToPath(new URL('../../emulators/github/server.mjs', import.meta.url));
const OWNER = 'acme';
const REPO = 'payments';
const TOKEN = 'ghs_test-token-do-not-log-0123456789';
const SECRET_A = 'first-secret';
const SECRET_B = 'second-secret';

// ------------------------------------------------------------------------------------------------------------
// A tiny webhook receiver
// ------------------------------------------------------------------------------------------------------------

interface Received {
  headers: http.IncomingHttpHeaders;
  rawBody: Buffer;
  json: any;
}

let receiver: http.Server;
let receiverUrl: string;
let received: Received[] = [];
let respond: (r: Received, res: http.ServerResponse) => void = (_r, res) => res.end('ok');

function startReceiver(): Promise<void> {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      let json: unknown;
      try {
        json = JSON.parse(rawBody.toString('utf8'));
      } catch {
        json = undefined;
      }
      const r = { headers: req.headers, rawBody, json };
      received.push(r);
      respond(r, res);
    });
  });
  return new Promise((resolve) =>
    receiver.listen(0, '127.0.0.1', () => {
      receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhook`;
      resolve();
    }),
  );
}

// ------------------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------------------

let standIn: GitHubStandIn;
let octokit: Octokit;
let OctokitCtor: OctokitModule['Octokit'];
let octokitVerify: Verify;

/** A REST call as any HTTP client would make it. `token: null` sends no Authorization header. */
async function api(method: string, urlPath: string, body?: unknown, token: string | null = TOKEN) {
  const headers: Record<string, string> = { accept: 'application/vnd.github+json' };
  if (token !== null) headers.authorization = `token ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(new URL(urlPath, standIn.url), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

async function control(method: string, urlPath: string, body?: unknown) {
  const res = await fetch(new URL(`/_stand-in${urlPath}`, standIn.url), {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function createHook(opts: { secret?: string; url?: string } = {}): Promise<number> {
  const res = await control('POST', '/hooks', {
    owner: OWNER,
    repo: REPO,
    url: opts.url ?? receiverUrl,
    secret: 'secret' in opts ? opts.secret : SECRET_A,
    events: ['push', 'deployment_status'],
  });
  expect(res.status).toBe(201);
  return res.body.id as number;
}

async function deliver(hookId: number, body: Record<string, unknown>) {
  const res = await control('POST', `/hooks/${hookId}/deliver`, body);
  expect(res.status).toBe(200);
  return res.body as {
    guid: string;
    deliveryId: number;
    status_code: number;
    status: string;
    responseBody: string | null;
  };
}

const hmac = (algo: string, secret: string, body: Buffer) =>
  crypto.createHmac(algo, secret).update(body).digest('hex');
const safeEqual = (a: string, b: string) =>
  a.length === b.length && crypto.timingSafeEqual(Buffer.from(a), Buffer.from(b));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// ------------------------------------------------------------------------------------------------------------
// Setup
// ------------------------------------------------------------------------------------------------------------

beforeAll(async () => {
  // The real @octokit/rest the functions use (ESM-only): resolved through functions/node_modules by its package.json
  // `exports` (the "default" condition), then imported by file URL.
  const octokitEntry = fnRequire.resolve('@octokit/rest');
  ({ Octokit: OctokitCtor } = (await import(pathToFileURL(octokitEntry).href)) as OctokitModule);
  // @octokit/webhooks-methods (what functions/src/webhooks/signature.ts verifies with) only has a "node"
  // + "import" export: read its entry point from package.json.
  const wmDir = path.join(ROOT, 'functions', 'node_modules', '@octokit', 'webhooks-methods');
  const wmPkg = JSON.parse(readFileSync(path.join(wmDir, 'package.json'), 'utf8'));
  ({ verify: octokitVerify } = (await import(
    pathToFileURL(path.join(wmDir, wmPkg.exports['.'].node.import)).href
  )) as {
    verify: Verify;
  });

  await startReceiver();
  standIn = await startGitHubStandIn({ port: 0 });
  octokit = new OctokitCtor({
    auth: TOKEN,
    baseUrl: standIn.url,
    log: { debug() {}, info() {}, warn() {}, error() {} },
  });
});

afterAll(async () => {
  await standIn?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

beforeEach(() => {
  standIn.reset();
  received = [];
  respond = (_r, res) => res.end('ok');
});

// ------------------------------------------------------------------------------------------------------------
// Signatures
// ------------------------------------------------------------------------------------------------------------

describe('signPayload', () => {
  it("matches GitHub's documented test vector", () => {
    expect(signPayload("It's a Secret to Everybody", 'Hello, World!')).toBe(
      'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    );
    expect(signPayload("It's a Secret to Everybody", Buffer.from('Hello, World!'))).toBe(
      'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    );
    expect(
      verifySignature(
        "It's a Secret to Everybody",
        'Hello, World!',
        'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
      ),
    ).toBe(true);
    expect(verifySignature('other', 'Hello, World!', signPayload('x', 'Hello, World!'))).toBe(false);
  });
});

// ------------------------------------------------------------------------------------------------------------
// Webhook sending
// ------------------------------------------------------------------------------------------------------------

describe('webhook deliveries', () => {
  it('arrive with the headers GitHub sends and a signature that verifies', async () => {
    const hookId = await createHook();
    expect(hookId).toBe(1000);
    const payload = { action: 'created', deployment_status: { state: 'success' }, note: 'ünïcode ✓' };
    const result = await deliver(hookId, { event: 'deployment_status', payload });
    expect(result).toMatchObject({ status_code: 200, status: 'OK', responseBody: 'ok' });
    expect(result.guid).toMatch(UUID);

    expect(received).toHaveLength(1);
    const { headers, rawBody, json } = received[0]!;
    expect(json).toEqual(payload);
    expect(rawBody.toString('utf8')).toBe(JSON.stringify(payload));
    expect(headers['content-type']).toBe('application/json');
    expect(headers['user-agent']).toBe('GitHub-Hookshot/stand-in');
    expect(headers['x-github-event']).toBe('deployment_status');
    expect(headers['x-github-delivery']).toBe(result.guid);
    expect(headers['x-github-hook-id']).toBe(String(hookId));
    expect(headers['x-github-hook-installation-target-type']).toBe('repository');
    const repoId = standIn.state.repos.get(`${OWNER}/${REPO}`)!.id;
    expect(headers['x-github-hook-installation-target-id']).toBe(String(repoId));
    expect(headers['content-length']).toBe(String(rawBody.length));

    const sig256 = headers['x-hub-signature-256'] as string;
    expect(sig256).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(safeEqual(sig256, `sha256=${hmac('sha256', SECRET_A, rawBody)}`)).toBe(true);
    expect(headers['x-hub-signature']).toBe(`sha1=${hmac('sha1', SECRET_A, rawBody)}`);
    expect(sig256).toBe(signPayload(SECRET_A, rawBody));
    expect(await octokitVerify(SECRET_A, rawBody.toString('utf8'), sig256)).toBe(true);
    expect(await octokitVerify(SECRET_B, rawBody.toString('utf8'), sig256)).toBe(false);

    // Recorded as GitHub shows it.
    const got = await api('GET', `/repos/${OWNER}/${REPO}/hooks/${hookId}/deliveries/${result.deliveryId}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      id: result.deliveryId,
      guid: result.guid,
      redelivery: false,
      status: 'OK',
      status_code: 200,
      event: 'deployment_status',
      action: 'created',
      installation_id: null,
      repository_id: repoId,
      throttled_at: null,
      request: { payload },
      response: { payload: 'ok' },
    });
    expect(got.body.delivered_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(typeof got.body.duration).toBe('number');
    expect(got.body.request.headers['X-Hub-Signature-256']).toBe(sig256);
    expect(got.body.request.headers['X-GitHub-Delivery']).toBe(result.guid);
  });

  it('sends no signature headers for a hook without a secret; honours guid, signature and body overrides', async () => {
    const bare = await createHook({ secret: undefined });
    await deliver(bare, { event: 'push', payload: { ref: 'refs/heads/main' }, guid: 'fixed-guid' });
    expect(received[0]!.headers['x-github-delivery']).toBe('fixed-guid');
    expect(received[0]!.headers['x-hub-signature-256']).toBeUndefined();
    expect(received[0]!.headers['x-hub-signature']).toBeUndefined();

    const hookId = await createHook();
    const bad = `sha256=${'0'.repeat(64)}`;
    respond = (r, res) => {
      res.statusCode = verifySignature(SECRET_A, r.rawBody, r.headers['x-hub-signature-256'] as string)
        ? 204
        : 401;
      res.end();
    };
    const refused = await deliver(hookId, { event: 'push', payload: { a: 1 }, signatureOverride: bad });
    expect(received[1]!.headers['x-hub-signature-256']).toBe(bad);
    expect(refused).toMatchObject({ status_code: 401, status: 'Invalid HTTP Response: 401' });

    const raw = '{"b":2,  "spacing":"kept"}';
    const accepted = await deliver(hookId, { event: 'push', bodyOverride: raw });
    expect(received[2]!.rawBody.toString('utf8')).toBe(raw);
    expect(received[2]!.headers['x-hub-signature-256']).toBe(signPayload(SECRET_A, raw));
    expect(accepted).toMatchObject({ status_code: 204, status: 'OK' });

    const unsigned = await deliver(hookId, { event: 'push', payload: {}, signatureOverride: null });
    expect(received[3]!.headers['x-hub-signature-256']).toBeUndefined();
    expect(unsigned.status_code).toBe(401);
  });

  it('records a 500 from the receiver, and an unreachable receiver, as failed', async () => {
    const hookId = await createHook();
    respond = (_r, res) => {
      res.writeHead(500, { 'content-type': 'text/plain', 'x-receiver': 'yes' });
      res.end('boom');
    };
    const failed = await deliver(hookId, { event: 'push', payload: { n: 1 } });
    expect(failed).toMatchObject({
      status_code: 500,
      status: 'Invalid HTTP Response: 500',
      responseBody: 'boom',
    });
    const got = await api('GET', `/repos/${OWNER}/${REPO}/hooks/${hookId}/deliveries/${failed.deliveryId}`);
    expect(got.body).toMatchObject({ status_code: 500, status: 'Invalid HTTP Response: 500' });
    expect(got.body.response.payload).toBe('boom');
    expect(got.body.response.headers['x-receiver']).toBe('yes');

    // A port nothing listens on.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const deadPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const dead = await createHook({ url: `http://127.0.0.1:${deadPort}/hook` });
    const unreachable = await deliver(dead, { event: 'push', payload: {} });
    expect(unreachable).toMatchObject({ status_code: 0, status: 'failed to connect', responseBody: null });

    const hook = await api('GET', `/repos/${OWNER}/${REPO}/hooks/${hookId}`);
    expect(hook.body.last_response).toEqual({
      code: 500,
      status: 'active',
      message: 'Invalid HTTP Response: 500',
    });
  });

  it('truncates recorded response bodies to 64 KiB and times out slow receivers', async () => {
    const hookId = await createHook();
    respond = (_r, res) => res.end('x'.repeat(100_000));
    const big = await deliver(hookId, { event: 'push', payload: {} });
    expect(big.responseBody).toHaveLength(64 * 1024);

    const quick = await startGitHubStandIn({ port: 0, deliveryTimeoutMs: 200 });
    try {
      const created = await fetch(`${quick.url}/_stand-in/hooks`, {
        method: 'POST',
        body: JSON.stringify({ owner: OWNER, repo: REPO, url: receiverUrl, secret: SECRET_A }),
      }).then((r) => r.json());
      respond = (_r, res) => setTimeout(() => res.end('late'), 1_000);
      const slow = await fetch(`${quick.url}/_stand-in/hooks/${created.id}/deliver`, {
        method: 'POST',
        body: JSON.stringify({ event: 'push', payload: {} }),
      }).then((r) => r.json());
      expect(slow).toMatchObject({ status_code: 0, status: 'timed out' });
    } finally {
      await quick.close();
    }
  });
});

// ------------------------------------------------------------------------------------------------------------
// REST: hooks and deliveries
// ------------------------------------------------------------------------------------------------------------

describe('hook deliveries REST', () => {
  it('lists deliveries newest first with cursor pagination and a Link header', async () => {
    const hookId = await createHook();
    const base = Date.parse('2026-01-10T12:00:00Z');
    const ids: number[] = [];
    // Recorded out of time order: the list is ordered by delivered_at, newest first.
    for (const offsetMin of [0, 30, 10, 40, 20]) {
      const res = await control('POST', `/hooks/${hookId}/deliveries`, {
        event: 'push',
        status_code: offsetMin === 30 ? 500 : 200,
        delivered_at: new Date(base + offsetMin * 60_000).toISOString(),
      });
      expect(res.status).toBe(201);
      ids[offsetMin / 10] = res.body.id;
    }
    const expected = [...ids].reverse();
    const listPath = `/repos/${OWNER}/${REPO}/hooks/${hookId}/deliveries`;

    const all = await api('GET', listPath);
    expect(all.status).toBe(200);
    expect(all.headers.get('link')).toBeNull();
    expect(all.body.map((d: { id: number }) => d.id)).toEqual(expected);
    expect(all.body[0]).toEqual({
      id: ids[4]!,
      guid: expect.stringMatching(UUID),
      delivered_at: '2026-01-10T12:40:00Z',
      redelivery: false,
      duration: 0,
      status: 'OK',
      status_code: 200,
      event: 'push',
      action: null,
      installation_id: null,
      repository_id: expect.any(Number),
      throttled_at: null,
    });
    expect(all.body[1]).toMatchObject({ status: 'Invalid HTTP Response: 500', status_code: 500 });

    const seen: number[] = [];
    let next: string | undefined = `${listPath}?per_page=2`;
    const pageSizes: number[] = [];
    while (next) {
      const page = await api('GET', next);
      expect(page.status).toBe(200);
      pageSizes.push(page.body.length);
      seen.push(...page.body.map((d: { id: number }) => d.id));
      const link = page.headers.get('link');
      if (!link) break;
      const m = /^<([^>]+)>; rel="next"$/.exec(link);
      expect(m).not.toBeNull();
      const u = new URL(m![1]!);
      expect(u.origin).toBe(standIn.url);
      expect(u.pathname).toBe(listPath);
      expect(u.search).toMatch(/^\?cursor=[^&]+&per_page=2$/);
      next = `${u.pathname}${u.search}`;
    }
    expect(pageSizes).toEqual([2, 2, 1]);
    expect(seen).toEqual(expected);

    const bad = await api('GET', `${listPath}?cursor=nonsense`);
    expect(bad.status).toBe(422);
  });

  it('returns 404 for unknown repositories, hooks and deliveries, and for hooks of another repository', async () => {
    const hookId = await createHook();
    await control('POST', '/hooks', { owner: OWNER, repo: 'other', url: receiverUrl, secret: 's' });
    for (const p of [
      `/repos/${OWNER}/nope/hooks/${hookId}/deliveries`,
      `/repos/${OWNER}/${REPO}/hooks/999/deliveries`,
      `/repos/${OWNER}/other/hooks/${hookId}/config`,
      `/repos/${OWNER}/${REPO}/hooks/${hookId}/deliveries/12345`,
      `/repos/${OWNER}/${REPO}/no-such-route`,
    ]) {
      const res = await api('GET', p);
      expect(res.status, p).toBe(404);
      expect(res.body).toMatchObject({
        message: 'Not Found',
        documentation_url: expect.stringContaining('docs.github.com'),
      });
    }
  });

  it('masks the secret in the hook config and hook views', async () => {
    const hookId = await createHook();
    const config = await api('GET', `/repos/${OWNER}/${REPO}/hooks/${hookId}/config`);
    expect(config.status).toBe(200);
    expect(config.body).toEqual({
      content_type: 'json',
      insecure_ssl: '0',
      secret: '********',
      url: receiverUrl,
    });

    const bare = await createHook({ secret: undefined });
    const bareConfig = await api('GET', `/repos/${OWNER}/${REPO}/hooks/${bare}/config`);
    expect(bareConfig.body).toEqual({ content_type: 'json', insecure_ssl: '0', url: receiverUrl });

    const hooks = await api('GET', `/repos/${OWNER}/${REPO}/hooks`);
    expect(hooks.body.map((h: { id: number }) => h.id)).toEqual([hookId, bare]);
    expect(hooks.body[0]).toMatchObject({
      type: 'Repository',
      name: 'web',
      active: true,
      events: ['push', 'deployment_status'],
    });
    expect(JSON.stringify(hooks.body)).not.toContain(SECRET_A);

    const state = await control('GET', '/state');
    expect(JSON.stringify(state.body)).not.toContain(SECRET_A);
    expect(state.body.hooks[0].config.secret).toBe('********');
  });

  it('PATCH config rotates the secret used for the next deliveries and validates the body', async () => {
    const hookId = await createHook();
    const patched = await api('PATCH', `/repos/${OWNER}/${REPO}/hooks/${hookId}/config`, {
      secret: SECRET_B,
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({
      content_type: 'json',
      insecure_ssl: '0',
      secret: '********',
      url: receiverUrl,
    });
    await deliver(hookId, { event: 'push', payload: { after: 'rotation' } });
    const { rawBody, headers } = received[0]!;
    expect(verifySignature(SECRET_B, rawBody, headers['x-hub-signature-256'] as string)).toBe(true);
    expect(verifySignature(SECRET_A, rawBody, headers['x-hub-signature-256'] as string)).toBe(false);

    const invalid = await api('PATCH', `/repos/${OWNER}/${REPO}/hooks/${hookId}/config`, {
      url: 'not a url',
      content_type: 'xml',
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.message).toBe('Validation Failed');
    expect(invalid.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'content_type',
      'url',
    ]);
  });

  it('redelivers with the same GUID, redelivery: true, signed with the current secret', async () => {
    const hookId = await createHook();
    respond = (_r, res) => {
      res.statusCode = 503;
      res.end('down');
    };
    const first = await deliver(hookId, { event: 'push', payload: { ref: 'refs/heads/main' } });
    expect(first.status_code).toBe(503);

    await api('PATCH', `/repos/${OWNER}/${REPO}/hooks/${hookId}/config`, { secret: SECRET_B });
    respond = (_r, res) => res.end('ok');
    const attempt = await api(
      'POST',
      `/repos/${OWNER}/${REPO}/hooks/${hookId}/deliveries/${first.deliveryId}/attempts`,
    );
    expect(attempt.status).toBe(202);
    expect(attempt.body).toEqual({});

    expect(received).toHaveLength(2);
    const again = received[1]!;
    expect(again.headers['x-github-delivery']).toBe(first.guid);
    expect(again.rawBody.equals(received[0]!.rawBody)).toBe(true);
    expect(verifySignature(SECRET_B, again.rawBody, again.headers['x-hub-signature-256'] as string)).toBe(
      true,
    );
    expect(verifySignature(SECRET_A, again.rawBody, again.headers['x-hub-signature-256'] as string)).toBe(
      false,
    );

    const list = await api('GET', `/repos/${OWNER}/${REPO}/hooks/${hookId}/deliveries`);
    expect(list.body).toHaveLength(2);
    expect(list.body[0]).toMatchObject({
      guid: first.guid,
      redelivery: true,
      status: 'OK',
      status_code: 200,
    });
    expect(list.body[1]).toMatchObject({ guid: first.guid, redelivery: false, status_code: 503 });
    expect(list.body[0].id).not.toBe(first.deliveryId);
  });

  it('redelivers a delivery recorded without sending (recovery of faked failures)', async () => {
    const hookId = await createHook();
    const payload = { action: 'created', deployment: { id: 7 } };
    const recorded = await control('POST', `/hooks/${hookId}/deliveries`, {
      event: 'deployment_status',
      status_code: 0,
      guid: 'lost-guid',
      payload,
    });
    expect(received).toHaveLength(0);
    const entry = await api('GET', `/repos/${OWNER}/${REPO}/hooks/${hookId}/deliveries/${recorded.body.id}`);
    expect(entry.body).toMatchObject({
      status: 'failed to connect',
      status_code: 0,
      action: 'created',
      guid: 'lost-guid',
    });

    await api('POST', `/repos/${OWNER}/${REPO}/hooks/${hookId}/deliveries/${recorded.body.id}/attempts`);
    expect(received).toHaveLength(1);
    expect(received[0]!.json).toEqual(payload);
    expect(received[0]!.headers['x-github-delivery']).toBe('lost-guid');
    expect(received[0]!.headers['x-github-event']).toBe('deployment_status');
  });

  it('ping sends a ping event', async () => {
    const hookId = await createHook();
    const res = await api('POST', `/repos/${OWNER}/${REPO}/hooks/${hookId}/pings`);
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    expect(received).toHaveLength(1);
    const { headers, json, rawBody } = received[0]!;
    expect(headers['x-github-event']).toBe('ping');
    expect(verifySignature(SECRET_A, rawBody, headers['x-hub-signature-256'] as string)).toBe(true);
    expect(json).toMatchObject({
      zen: expect.any(String),
      hook_id: hookId,
      hook: {
        id: hookId,
        type: 'Repository',
        name: 'web',
        active: true,
        events: ['push', 'deployment_status'],
        config: { content_type: 'json', insecure_ssl: '0', secret: '********', url: receiverUrl },
      },
      repository: { name: REPO, full_name: `${OWNER}/${REPO}`, owner: { login: OWNER } },
      sender: { login: expect.any(String) },
    });
    const list = await api('GET', `/repos/${OWNER}/${REPO}/hooks/${hookId}/deliveries`);
    expect(list.body[0]).toMatchObject({ event: 'ping', action: null, status: 'OK' });
  });
});

// ------------------------------------------------------------------------------------------------------------
// REST: deployment statuses, auth, request log
// ------------------------------------------------------------------------------------------------------------

describe('deployment statuses REST', () => {
  async function createDeployment(extra: Record<string, unknown> = {}): Promise<number> {
    const res = await control('POST', '/deployments', {
      owner: OWNER,
      repo: REPO,
      environment: 'staging',
      sha: 'a'.repeat(40),
      ref: 'main',
      ...extra,
    });
    expect(res.status).toBe(201);
    return res.body.id as number;
  }

  it('creates a deployment through REST as Octokit sends it (201), and refuses one without a ref (422)', async () => {
    await createDeployment(); // the repository exists once GitHub knows it
    const { status, data } = await octokit.rest.repos.createDeployment({
      owner: OWNER,
      repo: REPO,
      ref: 'v1.1.0',
      environment: 'production',
      task: 'deploy:fireops-canary',
      description: 'fireops canary of payments v1.1.0',
      payload: { rollout: 'release-1-2' },
      auto_merge: false,
      required_contexts: [],
    });
    expect(status).toBe(201);
    const id = (data as { id: number }).id;
    expect(data).toMatchObject({ ref: 'v1.1.0', task: 'deploy:fireops-canary', environment: 'production' });
    expect(standIn.state.deployments.get(id)).toMatchObject({ ref: 'v1.1.0', productionEnvironment: true });
    const missing = await api('POST', `/repos/${OWNER}/${REPO}/deployments`, { environment: 'production' });
    expect(missing.status).toBe(422);
    expect(JSON.stringify(missing.body)).toContain('"field":"ref"');
  });

  it('creates statuses (201) and lists them newest first', async () => {
    const id = await createDeployment({ id: 4242 });
    expect(id).toBe(4242);
    const statusesPath = `/repos/${OWNER}/${REPO}/deployments/${id}/statuses`;
    const created = await api('POST', statusesPath, {
      state: 'in_progress',
      description: 'Deploying',
      log_url: 'https://ci.example/run/1',
      environment_url: 'https://staging.example',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.any(Number),
      state: 'in_progress',
      description: 'Deploying',
      log_url: 'https://ci.example/run/1',
      target_url: 'https://ci.example/run/1',
      environment_url: 'https://staging.example',
      environment: 'staging',
      url: `${standIn.url}${statusesPath}/${created.body.id}`,
      deployment_url: `${standIn.url}/repos/${OWNER}/${REPO}/deployments/${id}`,
    });
    expect(created.body.created_at).toMatch(/Z$/);
    expect(created.body.updated_at).toBe(created.body.created_at);

    const done = await api('POST', statusesPath, { state: 'success' });
    expect(done.status).toBe(201);
    expect(done.body.description).toBe('');

    const list = await api('GET', statusesPath);
    expect(list.status).toBe(200);
    expect(list.body.map((s: { state: string }) => s.state)).toEqual(['success', 'in_progress']);
    expect(standIn.state.deployments.get(id)!.statuses).toHaveLength(2);
  });

  it('rejects invalid bodies with 422 Validation Failed', async () => {
    const id = await createDeployment();
    const statusesPath = `/repos/${OWNER}/${REPO}/deployments/${id}/statuses`;
    const tooLong = await api('POST', statusesPath, { state: 'success', description: 'x'.repeat(141) });
    expect(tooLong.status).toBe(422);
    expect(tooLong.body).toMatchObject({
      message: 'Validation Failed',
      errors: [{ resource: 'DeploymentStatus', field: 'description', code: 'custom' }],
    });
    expect((await api('POST', statusesPath, { state: 'success', description: 'é'.repeat(140) })).status).toBe(
      201,
    );
    expect((await api('POST', statusesPath, { state: 'bogus' })).status).toBe(422);
    expect((await api('POST', statusesPath, {})).status).toBe(422);
  });

  it('answers 404 for unknown deployments and 401 without a token', async () => {
    const id = await createDeployment();
    const unknown = await api('POST', `/repos/${OWNER}/${REPO}/deployments/${id + 1}/statuses`, {
      state: 'success',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({
      message: 'Not Found',
      documentation_url: expect.stringContaining('https://'),
    });
    const otherRepo = await api('POST', `/repos/${OWNER}/elsewhere/deployments/${id}/statuses`, {
      state: 'success',
    });
    expect(otherRepo.status).toBe(404);

    const anonymous = await api(
      'POST',
      `/repos/${OWNER}/${REPO}/deployments/${id}/statuses`,
      { state: 'success' },
      null,
    );
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ message: 'Requires authentication' });

    const bearer = await fetch(`${standIn.url}/repos/${OWNER}/${REPO}/deployments/${id}/statuses`, {
      headers: { authorization: 'Bearer some.jwt.value' },
    });
    expect(bearer.status).toBe(200);
    expect(standIn.state.tokensSeen.has('some.jwt.value')).toBe(true);
  });

  it('auto_inactive marks prior successful deployments of the same environment inactive', async () => {
    const older = await createDeployment();
    const newer = await createDeployment();
    await api('POST', `/repos/${OWNER}/${REPO}/deployments/${older}/statuses`, { state: 'success' });
    await api('POST', `/repos/${OWNER}/${REPO}/deployments/${newer}/statuses`, { state: 'success' });
    const olderStatuses = await api('GET', `/repos/${OWNER}/${REPO}/deployments/${older}/statuses`);
    expect(olderStatuses.body.map((s: { state: string }) => s.state)).toEqual(['inactive', 'success']);
  });

  it('logs every REST request without the token (and masks secrets in bodies)', async () => {
    const hookId = await createHook();
    const id = await createDeployment();
    await api('POST', `/repos/${OWNER}/${REPO}/deployments/${id}/statuses`, { state: 'queued' });
    await api('PATCH', `/repos/${OWNER}/${REPO}/hooks/${hookId}/config?x=1`, { secret: SECRET_B });
    await api('GET', `/repos/${OWNER}/${REPO}/hooks`, undefined, null);

    const log = await control('GET', '/requests');
    expect(log.status).toBe(200);
    expect(log.body).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: `/repos/${OWNER}/${REPO}/deployments/${id}/statuses`,
        query: {},
        body: { state: 'queued' },
        at: expect.any(String),
        status: 201,
        auth: 'token',
      }),
      expect.objectContaining({
        method: 'PATCH',
        query: { x: '1' },
        body: { secret: '********' },
        status: 200,
      }),
      expect.objectContaining({
        method: 'GET',
        path: `/repos/${OWNER}/${REPO}/hooks`,
        status: 401,
        auth: null,
      }),
    ]);
    const everything = JSON.stringify([log.body, (await control('GET', '/state')).body]);
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(SECRET_B);
    expect(standIn.state.tokensSeen.has(TOKEN)).toBe(true);

    expect((await control('DELETE', '/requests')).status).toBe(204);
    expect((await control('GET', '/requests')).body).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------------------------------
// Control API
// ------------------------------------------------------------------------------------------------------------

describe('control API', () => {
  it('state, reset, injected faults and input validation', async () => {
    const hookId = await createHook();
    await deliver(hookId, { event: 'push', payload: {} });
    const state = await control('GET', '/state');
    expect(state.body.hooks).toHaveLength(1);
    expect(state.body.deliveries).toHaveLength(1);
    expect(state.body.hooks[0].secretFingerprint).toBe(
      crypto.createHash('sha256').update(SECRET_A).digest('hex').slice(0, 12),
    );

    const fault = await control('POST', '/faults', {
      path: `/repos/${OWNER}/${REPO}/hooks`,
      status: 502,
      times: 1,
    });
    expect(fault.status).toBe(201);
    expect((await api('GET', `/repos/${OWNER}/${REPO}/hooks`)).status).toBe(502);
    expect((await api('GET', `/repos/${OWNER}/${REPO}/hooks`)).status).toBe(200);

    expect((await control('POST', '/hooks', { owner: OWNER, repo: REPO })).status).toBe(400);
    expect((await control('POST', '/hooks/999/deliver', { event: 'push' })).status).toBe(404);
    expect((await control('POST', '/deployments', { owner: OWNER, repo: REPO, id: 5 })).status).toBe(201);
    expect((await control('POST', '/deployments', { owner: OWNER, repo: REPO, id: 5 })).status).toBe(409);

    expect((await control('POST', '/reset')).status).toBe(204);
    const after = await control('GET', '/state');
    expect(after.body).toMatchObject({ hooks: [], deliveries: [], deployments: [], requestCount: 0 });
    expect(await createHook()).toBe(1000);
  });

  it('runs from the command line and prints its URL', async () => {
    const child = spawn(process.execPath, [SERVER_PATH, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /http:\/\/127\.0\.0\.1:\d+/.exec(out);
          if (m) resolve(m[0]);
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
      });
      const health = await fetch(`${line}/_stand-in/health`);
      expect(await health.json()).toEqual({ ok: true });
    } finally {
      child.kill('SIGTERM');
    }
  });
});

// ------------------------------------------------------------------------------------------------------------
// The real Octokit client
// ------------------------------------------------------------------------------------------------------------

describe('Octokit compatibility', () => {
  it('createDeploymentStatus, listDeploymentStatuses and error mapping', async () => {
    const { body } = await control('POST', '/deployments', {
      owner: OWNER,
      repo: REPO,
      environment: 'production',
    });
    const created = await octokit.rest.repos.createDeploymentStatus({
      owner: OWNER,
      repo: REPO,
      deployment_id: body.id,
      state: 'success',
      description: 'Deployed by fireops',
      log_url: 'https://ci.example/run/9',
      environment_url: 'https://app.example',
    });
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({
      state: 'success',
      description: 'Deployed by fireops',
      environment: 'production',
    });

    const list = await octokit.rest.repos.listDeploymentStatuses({
      owner: OWNER,
      repo: REPO,
      deployment_id: body.id,
    });
    expect(list.data.map((s) => s.id)).toEqual([created.data.id]);

    await expect(
      octokit.rest.repos.createDeploymentStatus({
        owner: OWNER,
        repo: REPO,
        deployment_id: 999_999,
        state: 'success',
      }),
    ).rejects.toMatchObject({ status: 404, response: { data: { message: 'Not Found' } } });
    await expect(
      octokit.rest.repos.createDeploymentStatus({
        owner: OWNER,
        repo: REPO,
        deployment_id: body.id,
        state: 'failure',
        description: 'y'.repeat(141),
      }),
    ).rejects.toMatchObject({ status: 422, response: { data: { message: 'Validation Failed' } } });

    const anonymous = new OctokitCtor({ baseUrl: standIn.url });
    await expect(
      anonymous.rest.repos.createDeploymentStatus({
        owner: OWNER,
        repo: REPO,
        deployment_id: body.id,
        state: 'success',
      }),
    ).rejects.toMatchObject({ status: 401 });

    const log = standIn.state.requests;
    expect(log.some((r) => r.path.endsWith('/statuses') && r.auth === 'token')).toBe(true);
    expect(JSON.stringify(log)).not.toContain(TOKEN);
  });

  it('listWebhookDeliveries, paginate, getWebhookDelivery, redeliverWebhookDelivery', async () => {
    const hookId = await createHook();
    const guids: string[] = [];
    for (let i = 0; i < 5; i++) {
      respond = (_r, res) => {
        res.statusCode = i === 2 ? 500 : 200;
        res.end();
      };
      guids.push((await deliver(hookId, { event: 'push', payload: { i } })).guid);
    }
    respond = (_r, res) => res.end('ok');

    const firstPage = await octokit.rest.repos.listWebhookDeliveries({
      owner: OWNER,
      repo: REPO,
      hook_id: hookId,
      per_page: 2,
    });
    expect(firstPage.data.map((d) => d.guid)).toEqual([guids[4], guids[3]]);
    expect(firstPage.headers.link).toMatch(/rel="next"/);

    const all = await octokit.paginate(octokit.rest.repos.listWebhookDeliveries, {
      owner: OWNER,
      repo: REPO,
      hook_id: hookId,
      per_page: 2,
    });
    expect(all.map((d) => d.guid)).toEqual([...guids].reverse());
    const failed = all.filter((d) => d.status !== 'OK');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.status_code).toBe(500);

    const detail = await octokit.rest.repos.getWebhookDelivery({
      owner: OWNER,
      repo: REPO,
      hook_id: hookId,
      delivery_id: failed[0]!.id,
    });
    expect(detail.data.request.payload).toEqual({ i: 2 });

    const redelivered = await octokit.rest.repos.redeliverWebhookDelivery({
      owner: OWNER,
      repo: REPO,
      hook_id: hookId,
      delivery_id: failed[0]!.id,
    });
    expect(redelivered.status).toBe(202);
    expect(received.at(-1)!.headers['x-github-delivery']).toBe(guids[2]);
    const latest = await octokit.rest.repos.listWebhookDeliveries({
      owner: OWNER,
      repo: REPO,
      hook_id: hookId,
    });
    expect(latest.data[0]).toMatchObject({ guid: guids[2], redelivery: true, status: 'OK' });

    await expect(
      octokit.rest.repos.redeliverWebhookDelivery({
        owner: OWNER,
        repo: REPO,
        hook_id: hookId,
        delivery_id: 1,
      }),
    ).rejects.toMatchObject({ status: 404 });
  });

  it('updateWebhookConfigForRepo, getWebhookConfigForRepo, pingWebhook, getWebhook', async () => {
    const hookId = await createHook();
    const updated = await octokit.rest.repos.updateWebhookConfigForRepo({
      owner: OWNER,
      repo: REPO,
      hook_id: hookId,
      secret: SECRET_B,
    });
    expect(updated.data).toEqual({
      content_type: 'json',
      insecure_ssl: '0',
      secret: '********',
      url: receiverUrl,
    });
    const config = await octokit.rest.repos.getWebhookConfigForRepo({
      owner: OWNER,
      repo: REPO,
      hook_id: hookId,
    });
    expect(config.data.secret).toBe('********');

    const pinged = await octokit.rest.repos.pingWebhook({ owner: OWNER, repo: REPO, hook_id: hookId });
    expect(pinged.status).toBe(204);
    const ping = received.at(-1)!;
    expect(ping.headers['x-github-event']).toBe('ping');
    expect(
      await octokitVerify(
        SECRET_B,
        ping.rawBody.toString('utf8'),
        ping.headers['x-hub-signature-256'] as string,
      ),
    ).toBe(true);

    const hook = await octokit.rest.repos.getWebhook({ owner: OWNER, repo: REPO, hook_id: hookId });
    expect(hook.data).toMatchObject({
      id: hookId,
      config: { secret: '********' },
      last_response: { code: 200 },
    });
  });
});
