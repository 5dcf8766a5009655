// The health prober against real local servers (no emulator needed, but it runs in the integration project):
// HTTP outcomes, TCP and TLS probes, secret headers that never come back, the SSRF guard, and probeAll's pool.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tls from 'node:tls';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { probe, probeAll, type ProbeOptions, type Resolver } from '../../functions/src/health/probe';
import { healthCheckSchema, type HealthCheck } from '../../functions/src/health/schema';
import { scaled } from '../support/time-factor';

const SECRET = 'sk-live-0123456789abcdef';
const LOCAL: ProbeOptions = { allowTargets: ['127.0.0.1'] };

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
}
const requests: Seen[] = [];
let flap = 0;
let inFlight = 0;
let maxInFlight = 0;

function handler(req: http.IncomingMessage, res: http.ServerResponse) {
  requests.push({ url: req.url ?? '', headers: req.headers });
  switch (req.url) {
    case '/healthy':
      return res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"UP","note":"ok"}');
    case '/slow':
      return; // never answers; the server closes it in afterAll
    case '/error':
      return res.writeHead(500).end('internal error');
    case '/flap':
      flap += 1;
      return res.writeHead(flap % 2 === 1 ? 200 : 503).end('ok');
    case '/bad-json':
      return res.writeHead(200).end('{"status": UP');
    case '/cut':
      res.writeHead(200, { 'content-length': '1000' });
      res.write('{"status":"UP", "pad": "');
      setTimeout(() => req.socket.destroy(), 20);
      return;
    case '/redirect':
      return res.writeHead(302, { location: `http://127.0.0.2:${httpPort}/healthy` }).end();
    case '/secret':
      // Echoes the credential back, as a misbehaving service might: the prober must not return it.
      return res
        .writeHead(req.headers['x-api-key'] === SECRET ? 200 : 401)
        .end(`hello ${String(req.headers['x-api-key'])}`);
    case '/big':
      return res.writeHead(200).end('x'.repeat(200_000) + 'END');
    case '/in-flight':
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => {
        inFlight -= 1;
        res.writeHead(200).end('ok');
      }, 60);
      return;
    default:
      return res.writeHead(404).end();
  }
}

let httpServer: http.Server;
let httpsServer: https.Server;
let tlsServer: tls.Server;
let httpPort = 0;
let httpsPort = 0;
let tlsPort = 0;
let closedPort = 0;
let certDir = '';
let ca = '';

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

beforeAll(async () => {
  certDir = mkdtempSync(path.join(tmpdir(), 'fireops-probe-'));
  const key = path.join(certDir, 'key.pem');
  const cert = path.join(certDir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3', '-subj', '/CN=localhost'],
      ...['-keyout', key, '-out', cert],
    ],
    { stdio: 'ignore' },
  );
  ca = readFileSync(cert, 'utf8');
  const pair = { key: readFileSync(key), cert: ca };
  httpServer = http.createServer(handler);
  httpsServer = https.createServer(pair, handler);
  tlsServer = tls.createServer(pair, (socket) => socket.end());
  tlsServer.on('tlsClientError', () => {}); // clients that refuse the certificate hang up mid-handshake
  httpPort = await listen(httpServer);
  httpsPort = await listen(httpsServer);
  tlsPort = await listen(tlsServer);
  const spare = net.createServer();
  closedPort = await listen(spare);
  await new Promise((resolve) => spare.close(resolve));
});

afterAll(async () => {
  for (const server of [httpServer, httpsServer]) server?.closeAllConnections();
  await Promise.all(
    [httpServer, httpsServer, tlsServer].map(
      (s) => new Promise((resolve) => (s ? s.close(resolve) : resolve(0))),
    ),
  );
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

beforeEach(() => {
  requests.length = 0;
});

function check(definition: Record<string, unknown>): HealthCheck {
  return healthCheckSchema.parse({ name: 'probe test', timeoutMs: 5_000, ...definition });
}
const httpCheck = (pathname: string, conditions: string[], extra: Record<string, unknown> = {}) =>
  check({ type: 'http', target: `http://127.0.0.1:${httpPort}${pathname}`, conditions, ...extra });
const resolveTo =
  (...addresses: string[]): Resolver =>
  () =>
    Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));

describe('http', () => {
  it('passes a healthy endpoint: status, body and JSON', async () => {
    const result = await probe(
      httpCheck('/healthy', [
        'status in [200]',
        'body contains "ok"',
        'json $.status == "UP"',
        'responseTimeMs < 5000',
      ]),
      LOCAL,
    );
    expect(result).toMatchObject({ ok: true, status: 200, observation: { connected: true } });
    expect(result.failed).toBeUndefined();
    expect(result.observation.body).toBe('{"status":"UP","note":"ok"}');
    expect(requests[0]!.headers['user-agent']).toBe('fireops-health/1');
  });

  it('times out a slow endpoint after timeoutMs, connected but without a status', async () => {
    const result = await probe(httpCheck('/slow', ['status in [200]'], { timeoutMs: 300 }), LOCAL);
    expect(result).toMatchObject({
      ok: false,
      failed: 'timeout after 300 ms',
      observation: { connected: true },
    });
    expect(result.status).toBeUndefined();
    expect(result.ms).toBeGreaterThanOrEqual(290);
    expect(result.ms).toBeLessThan(2_000);
  });

  it('fails a 500 with the condition detail', async () => {
    const result = await probe(httpCheck('/error', ['status in [200, 204]']), LOCAL);
    expect(result).toMatchObject({ ok: false, status: 500, failed: 'status 500 not in [200, 204]' });
  });

  it('follows a flapping endpoint probe by probe', async () => {
    flap = 0;
    const c = httpCheck('/flap', ['status == 200']);
    const outcomes = [];
    for (let i = 0; i < 4; i += 1) outcomes.push((await probe(c, LOCAL)).ok);
    expect(outcomes).toEqual([true, false, true, false]);
  });

  it('fails a JSON condition on a body that is not JSON', async () => {
    const result = await probe(httpCheck('/bad-json', ['status == 200', 'json $.status == "UP"']), LOCAL);
    expect(result).toMatchObject({ ok: false, status: 200, failed: 'body is not JSON' });
  });

  it('fails a response cut short, even when the status conditions pass', async () => {
    const result = await probe(httpCheck('/cut', ['status == 200']), LOCAL);
    expect(result.ok).toBe(false);
    expect(result.status).toBe(200);
    expect(result.failed).toMatch(/^response cut short: /);
    expect(result.observation.body).toBeUndefined();
  });

  it('reads at most 64 KiB of a large body', async () => {
    const result = await probe(httpCheck('/big', ['status == 200', 'body !contains "END"']), LOCAL);
    expect(result.ok).toBe(true);
    expect(result.observation.body).toHaveLength(64 * 1024);
  });

  it('does not follow a redirect (which could lead to an internal address): the 302 is evaluated', async () => {
    const ok = await probe(httpCheck('/redirect', ['status == 302']), LOCAL);
    expect(ok).toMatchObject({ ok: true, status: 302 });
    const failed = await probe(httpCheck('/redirect', ['status == 200']), LOCAL);
    expect(failed).toMatchObject({ ok: false, status: 302, failed: 'status 302 != 200' });
    expect(requests.map((r) => r.url)).toEqual(['/redirect', '/redirect']);
  });

  it('sends method, headers and body', async () => {
    await probe(
      httpCheck('/healthy', ['status == 200'], {
        method: 'POST',
        headers: { 'X-Probe': 'yes' },
        body: '{"a":1}',
      }),
      LOCAL,
    );
    expect(requests[0]!.headers).toMatchObject({ 'x-probe': 'yes', 'content-length': '7' });
  });

  it('injects headerSecrets, and never returns their values', async () => {
    const secretValue = vi.fn((id: string) =>
      Promise.resolve(id === 'fireops-probe-api-key' ? SECRET : 'wrong'),
    );
    const c = httpCheck('/secret', ['status == 200', 'body contains "goodbye"'], {
      headerSecrets: { 'X-Api-Key': 'fireops-probe-api-key' },
    });
    const result = await probe(c, { ...LOCAL, secretValue });
    expect(secretValue).toHaveBeenCalledWith('fireops-probe-api-key');
    expect(requests[0]!.headers['x-api-key']).toBe(SECRET);
    expect(result).toMatchObject({ ok: false, status: 200 });
    expect(result.failed).toContain('[REDACTED]');
    expect(JSON.stringify(result)).not.toContain(SECRET);
    expect(JSON.stringify(result)).not.toContain(SECRET.slice(0, 12));
  });

  it('observes the certificate of an https target', async () => {
    const c = check({
      type: 'http',
      target: `https://localhost:${httpsPort}/healthy`,
      conditions: ['status == 200', 'certExpiresInDays > 2'],
    });
    const result = await probe(c, { ...LOCAL, resolve: resolveTo('127.0.0.1'), tlsCa: ca });
    expect(result.ok).toBe(true);
    expect(result.observation.certExpiresInDays).toBeGreaterThan(2.9);
    expect(requests[0]!.headers.host).toBe(`localhost:${httpsPort}`);
  });
});

describe('tcp and tls', () => {
  it('connects to an open port and fails a closed one', async () => {
    const open = await probe(
      check({ type: 'tcp', target: `127.0.0.1:${httpPort}`, conditions: ['connected == true'] }),
      LOCAL,
    );
    expect(open).toMatchObject({ ok: true, observation: { connected: true } });
    const closed = await probe(
      check({ type: 'tcp', target: `127.0.0.1:${closedPort}`, conditions: ['connected == true'] }),
      LOCAL,
    );
    expect(closed).toMatchObject({ ok: false, observation: { connected: false } });
    expect(closed.failed).toContain('ECONNREFUSED');
    const expectClosed = await probe(
      check({ type: 'tcp', target: `127.0.0.1:${closedPort}`, conditions: ['connected == false'] }),
      LOCAL,
    );
    expect(expectClosed.ok).toBe(true);
  });

  it('reads the expiry of a certificate it trusts, and fails certExpiresInDays > 14 with the detail', async () => {
    const opts = { ...LOCAL, resolve: resolveTo('127.0.0.1'), tlsCa: ca };
    const target = `localhost:${tlsPort}`;
    const soon = await probe(
      check({ type: 'tls', target, conditions: ['connected == true', 'certExpiresInDays > 2'] }),
      opts,
    );
    expect(soon.ok).toBe(true);
    expect(soon.observation.certExpiresInDays).toBeGreaterThan(2.9);
    expect(soon.observation.certExpiresInDays).toBeLessThanOrEqual(3);
    const later = await probe(check({ type: 'tls', target, conditions: ['certExpiresInDays > 14'] }), opts);
    expect(later.ok).toBe(false);
    expect(later.failed).toMatch(/^certExpiresInDays 2\.9\d <= 14$/);
  });

  it('fails the handshake with a certificate it does not trust, or for another name', async () => {
    const untrusted = await probe(
      check({ type: 'tls', target: `localhost:${tlsPort}`, conditions: ['connected == true'] }),
      { ...LOCAL, resolve: resolveTo('127.0.0.1') },
    );
    expect(untrusted).toMatchObject({ ok: false, observation: { connected: false } });
    expect(untrusted.failed).toMatch(/self[- ]signed certificate/);
    const wrongName = await probe(
      check({ type: 'tls', target: `127.0.0.1:${tlsPort}`, conditions: ['connected == true'] }),
      { ...LOCAL, tlsCa: ca },
    );
    expect(wrongName.ok).toBe(false);
    expect(wrongName.failed).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list|does not match/);
  });
});

describe('SSRF guard', () => {
  it('refuses loopback without allowTargets, without connecting', async () => {
    const result = await probe(httpCheck('/healthy', ['status == 200']), {});
    expect(result).toMatchObject({
      ok: false,
      failed: 'refused: 127.0.0.1 is a loopback address (settings/health.allowTargets)',
      observation: { connected: false },
    });
    expect(requests).toEqual([]);
  });

  it('refuses the metadata server by address and by name, without resolving the name', async () => {
    const resolve = vi.fn(resolveTo('8.8.8.8'));
    const byAddress = await probe(
      check({
        type: 'http',
        target: 'http://169.254.169.254/computeMetadata/v1/',
        conditions: ['status == 200'],
      }),
      { resolve },
    );
    expect(byAddress.failed).toBe('refused: 169.254.169.254 is the metadata server, never a target');
    const byName = await probe(
      check({
        type: 'http',
        target: 'http://Metadata.Google.Internal/computeMetadata/v1/',
        conditions: ['status == 200'],
      }),
      { resolve },
    );
    expect(byName.failed).toBe('refused: metadata.google.internal is the metadata server, never a target');
    const short = await probe(
      check({ type: 'tcp', target: 'metadata:80', conditions: ['connected == true'] }),
      { resolve },
    );
    expect(short.failed).toMatch(/^refused: metadata is the metadata server/);
    expect(resolve).not.toHaveBeenCalled();
  });

  it('refuses the metadata server even when allowTargets lists it or a block around it (IPv4 and IPv6)', async () => {
    const resolve = vi.fn(resolveTo('8.8.8.8'));
    for (const [target, allowTargets] of [
      ['http://169.254.169.254/computeMetadata/v1/', ['169.254.169.254', '169.254.0.0/16']],
      ['http://[fd20:ce::254]/computeMetadata/v1/', ['fc00::/7']],
      ['http://metadata.google.internal/computeMetadata/v1/', ['metadata.google.internal']],
    ] as const) {
      const r = await probe(check({ type: 'http', target, conditions: ['status == 200'] }), {
        resolve,
        allowTargets,
      });
      expect(r.failed).toMatch(/is the metadata server, never a target$/);
      expect(r.observation.connected).toBe(false);
    }
  });

  it('refuses a name that resolves to a public and a private address', async () => {
    const result = await probe(
      check({ type: 'tcp', target: 'mixed.example.com:443', conditions: ['connected == true'] }),
      { resolve: resolveTo('8.8.8.8', '10.1.2.3') },
    );
    expect(result.failed).toBe(
      'refused: 10.1.2.3 (mixed.example.com) is a private address (settings/health.allowTargets)',
    );
  });

  it('refuses IPv4-mapped loopback and IPv6 link-local answers', async () => {
    for (const [address, kind] of [
      ['::ffff:127.0.0.1', 'a loopback address'],
      ['fe80::1', 'a link-local address'],
      ['100.64.0.1', 'a carrier-grade NAT address'],
    ] as const) {
      const result = await probe(
        check({ type: 'tcp', target: 'sneaky.example.com:80', conditions: ['connected == true'] }),
        { resolve: resolveTo(address) },
      );
      expect(result.failed).toBe(
        `refused: ${address} (sneaky.example.com) is ${kind} (settings/health.allowTargets)`,
      );
    }
  });

  it('lets through what allowTargets lists: a CIDR block, or a host name', async () => {
    const byCidr = await probe(httpCheck('/healthy', ['status == 200']), {
      allowTargets: ['10.0.0.0/8', '127.0.0.0/8'],
    });
    expect(byCidr.ok).toBe(true);
    const byName = await probe(
      check({
        type: 'http',
        target: `http://App.Internal:${httpPort}/healthy`,
        conditions: ['status == 200'],
      }),
      { allowTargets: ['app.internal'], resolve: resolveTo('127.0.0.1') },
    );
    expect(byName.ok).toBe(true);
    // The vetted address is the one dialled; the name travels in the Host header.
    expect(requests.map((r) => r.headers.host)).toEqual([
      `127.0.0.1:${httpPort}`,
      `app.internal:${httpPort}`,
    ]);
  });

  it('reports a name that does not resolve as not connected', async () => {
    const result = await probe(
      check({ type: 'tcp', target: 'nowhere.invalid:80', conditions: ['connected == true'] }),
      { resolve: () => Promise.reject(new Error('getaddrinfo ENOTFOUND nowhere.invalid')) },
    );
    expect(result).toMatchObject({ ok: false, failed: 'getaddrinfo ENOTFOUND nowhere.invalid' });
  });
});

describe('probeAll', () => {
  it('keeps at most `concurrency` probes in flight and turns a throwing probe into a failed result', async () => {
    maxInFlight = 0;
    const checks: [string, HealthCheck][] = Array.from({ length: 7 }, (_, i) => [
      `check-${i}`,
      httpCheck('/in-flight', ['status == 200']),
    ]);
    checks.push([
      'needs-secret',
      httpCheck('/secret', ['status == 200'], { headerSecrets: { 'X-Api-Key': 'fireops-gone' } }),
    ]);
    const secretValue = (id: string) => Promise.reject(new Error(`secret ${id} version latest: NOT_FOUND`));
    const results = await probeAll(checks, { ...LOCAL, secretValue, concurrency: 3 });
    expect([...results.keys()]).toEqual(checks.map(([id]) => id));
    expect(maxInFlight).toBe(3);
    expect([...results.values()].filter((r) => r.ok)).toHaveLength(7);
    expect(results.get('needs-secret')).toMatchObject({
      ok: false,
      failed: 'secret fireops-gone unavailable: secret fireops-gone version latest: NOT_FOUND',
      proberError: 'secret fireops-gone unavailable: secret fireops-gone version latest: NOT_FOUND',
      observation: { connected: false },
    });
    // The target's own failures are never prober errors.
    expect([...results.values()].filter((r) => r.proberError)).toHaveLength(1);
  });
  it('ends within its budget in a broad outage: unanswered checks are failed timeouts, the rest is kept', async () => {
    // 40 hanging checks with 30 s timeouts at concurrency 8 would take 150 s without a budget (5 rounds x 30 s),
    // plus one whose secret read never answers (outside its own timeout's reach).
    const checks: [string, HealthCheck][] = [['healthy', httpCheck('/in-flight', ['status == 200'])]];
    checks.push([
      'secret-hangs',
      httpCheck('/secret', ['status == 200'], { headerSecrets: { 'X-Api-Key': 'fireops-slow' } }),
    ]);
    for (let k = 0; k < 40; k++)
      checks.push([`hang-${k}`, httpCheck('/slow', ['status == 200'], { timeoutMs: 30_000 })]);
    const secretValue = () => new Promise<string>(() => undefined);
    const t0 = performance.now();
    const results = await probeAll(checks, { ...LOCAL, secretValue, concurrency: 8, budgetMs: 2_000 });
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeLessThan(scaled(15_000)); // the budget, not 150 s of hanging targets
    expect([...results.keys()]).toEqual(checks.map(([id]) => id));
    expect(results.get('healthy')).toMatchObject({ ok: true });
    for (const [id, r] of results) {
      if (id === 'healthy' || id === 'secret-hangs') continue;
      expect(r.ok).toBe(false);
      expect(r.failed).toMatch(/^timeout/);
      expect(r.proberError).toBeUndefined();
    }
    // A secret read that never answers is the prober's trouble, not the target's.
    expect(results.get('secret-hangs')).toMatchObject({
      ok: false,
      proberError: expect.stringMatching(/^secret fireops-slow unavailable: timeout/),
    });
  }, 60_000);
});
