// The health prober: one probe of one validated check (http, tcp or tls), judged by the check's conditions
// (health/domain/conditions.ts), behind an SSRF guard.
//
// SSRF guard. Checks are written by admins, but the prober runs inside the project's network, next to the
// metadata server and private services. Before connecting, the target host is resolved (dns.lookup, all
// addresses) and refused if ANY address is loopback, private, link-local, CGNAT, unspecified, multicast, reserved
// or the metadata server (platform/domain/ip-ranges.ts; IPv4-mapped IPv6 counts as its IPv4 address), or if the host is a
// metadata host name, unless the host name or the address is listed in `settings/health.allowTargets` (the metadata
// server never: 169.254.169.254, fd20:ce::254, fd00:ec2::254 and its names are refused whatever the list says). The
// probe then connects to the vetted address itself (the Host header and TLS SNI carry the name), so a DNS answer
// that changes between the check and the connection (rebinding) cannot swap the address. Redirects are never
// followed: a 3xx is the observed status, since its Location could point anywhere.
//
// Decisions:
// - Certificates are verified (rejectUnauthorized): an untrusted or expired chain, or a name mismatch, is a failed
//   handshake (`connected` false, the TLS error as the reason), not an observation with a warning.
// - One deadline (`timeoutMs`) covers the secret reads, DNS, connect, TLS, response and body; no retries.
// - A response cut short (reset, closed before its end, timeout while reading the body) fails the probe whatever
//   the conditions say: a half-delivered response is not a healthy one.
// - `failed` is the transport error when there was one (`timeout after 500 ms`, `connect ECONNREFUSED ...`), else
//   the failed condition's detail; at most 120 characters. Secret header values read for the probe are replaced
//   in the body and error before conditions see them, so no detail or observation can quote one.
// - A secret that cannot be read rejects `probe` with a ProberError (the prober's trouble, not the target's);
//   `probeAll` turns it into a failed result marked `proberError`, which the cycle does not count (see engine.ts).
import * as http from 'node:http';
import * as https from 'node:https';
import { lookup } from 'node:dns/promises';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { HealthCheck } from './schema';
import { evaluateAll, parseCondition, type ProbeObservation } from './domain/conditions';
import {
  cidrContains,
  classifyIp,
  describeKind,
  parseCidr,
  parseIp,
  type Cidr,
} from '../platform/domain/ip-ranges';
import { REDACTED, redactor } from '../platform/domain/redact';

/** Body bytes kept for conditions; the rest of a larger body is not read. */
export const MAX_BODY_BYTES = 64 * 1024;
export const MAX_FAILED_CHARS = 120;
export const DEFAULT_CONCURRENCY = 16;
const DAY_MS = 86_400_000;
const USER_AGENT = 'fireops-health/1';
/** Names that reach the metadata server whatever they resolve to from where the test runs. */
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata', 'metadata.goog']);

export interface ResolvedAddress {
  address: string;
  family: number;
}
export type Resolver = (host: string) => Promise<readonly ResolvedAddress[]>;

export interface ProbeOptions {
  /** `settings/health.allowTargets`: host names (exact, case-insensitive), IP addresses and CIDR blocks. */
  allowTargets?: readonly string[];
  /** Reads a Secret Manager secret for headerSecrets (production: accessSecretValue). Never logged or returned. */
  secretValue?: (secretId: string) => Promise<string>;
  /** All addresses of a host name; default dns.lookup(host, { all: true }). */
  resolve?: Resolver;
  /** Extra trusted CA certificates (PEM), replacing the default roots; tests use it for a self-signed server. */
  tlsCa?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Wall clock for certificate expiry. */
  now?: () => number;
}

export interface ProbeResult {
  ok: boolean;
  /** From the start of the probe's network work (DNS) to its end. */
  ms: number;
  status?: number;
  /** Why it failed: the transport error or the failed condition's detail, ≤ 120 characters, never a secret. */
  failed?: string;
  /** Set when the prober itself failed (ProberError): the result says nothing about the target. */
  proberError?: string;
  observation: ProbeObservation;
}

const defaultResolve: Resolver = (host) => lookup(host, { all: true, verbatim: true });

class ProbeTimeout extends Error {
  constructor(ms: number) {
    super(`timeout after ${ms} ms`);
  }
}

// ------------------------------------------------------------------------------------------------ the guard

interface AllowList {
  hosts: Set<string>;
  blocks: Cidr[];
}

const normalizeHost = (host: string) => host.toLowerCase().replace(/\.$/, '');

function allowList(entries: readonly string[] = []): AllowList {
  const list: AllowList = { hosts: new Set(), blocks: [] };
  for (const entry of entries) {
    const block = parseCidr(entry);
    if (block) list.blocks.push(block);
    else list.hosts.add(normalizeHost(entry));
  }
  return list;
}

type Vetted = { ok: true; address: string; family: 4 | 6 } | { ok: false; refused: string };

const refuse = (what: string): Vetted => ({
  ok: false,
  refused: `refused: ${what} (settings/health.allowTargets)`,
});

/** A refusal no allowTargets entry can lift. */
const neverAllowed = (what: string): Vetted => ({ ok: false, refused: `refused: ${what}, never a target` });

/** Resolves `host` and decides whether the probe may connect, and to which address. */
export async function vetTarget(
  host: string,
  allowTargets: readonly string[] | undefined,
  resolve: Resolver = defaultResolve,
): Promise<Vetted> {
  const allow = allowList(allowTargets);
  const name = normalizeHost(host);
  const allowedByName = allow.hosts.has(name);
  // The metadata server is never a target, whatever allowTargets says: it hands out the runtime's credentials.
  if (METADATA_HOSTS.has(name)) return neverAllowed(`${host} is the metadata server`);
  const literal = parseIp(host);
  const addresses = literal
    ? [{ address: host, family: literal.version }]
    : (await resolve(host)).map((a) => ({ address: a.address, family: a.family }));
  let pinned: Vetted | undefined;
  for (const { address } of addresses) {
    const ip = parseIp(address);
    if (!ip) return refuse(`${host} resolved to '${address}', which is not an IP address`);
    const { kind } = classifyIp(ip);
    if (kind === 'metadata')
      return neverAllowed(`${address}${literal ? '' : ` (${host})`} is the metadata server`);
    if (kind !== 'public' && !allowedByName && !allow.blocks.some((b) => cidrContains(b, ip))) {
      return refuse(`${address}${literal ? '' : ` (${host})`} is ${describeKind(kind)}`);
    }
    pinned ??= { ok: true, address: address.replace(/%.*$/, ''), family: ip.version };
  }
  return pinned ?? refuse(`${host} has no address`);
}

// ------------------------------------------------------------------------------------------------- targets

interface Target {
  host: string;
  port: number;
}

/** `host:port` or `[v6]:port` (validated by the schema). */
function hostPort(target: string): Target {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(target);
  if (!m) throw new Error(`target '${target}' is not host:port`);
  return { host: (m[1] ?? m[2])!, port: Number(m[3]) };
}

function certExpiresInDays(cert: tls.PeerCertificate | undefined, now: number): number | undefined {
  if (!cert?.valid_to) return undefined;
  const expires = Date.parse(cert.valid_to);
  // Hundredths of a day (~15 minutes), rounded down: a certificate is never reported as lasting longer than it does.
  return Number.isNaN(expires) ? undefined : Math.floor(((expires - now) / DAY_MS) * 100) / 100;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** An observation before its response time is stamped on. */
type Seen = Omit<ProbeObservation, 'responseTimeMs'>;

interface Attempt {
  address: string;
  family: 4 | 6;
  signal: AbortSignal;
  timeoutMs: number;
  ca: ProbeOptions['tlsCa'];
  now: () => number;
}

interface Started {
  /** Ends the socket work (called once the probe is settled, whichever way). */
  stop: () => void;
  /** What was seen so far, for a timeout. */
  seen: () => Seen;
}

/** Runs socket work that reports through `done`, and ends it at the deadline with what it had seen by then. */
function settle(signal: AbortSignal, timeoutMs: number, start: (done: (o: Seen) => void) => Started) {
  return new Promise<Seen>((resolve) => {
    let finished = false;
    // A holder, not a const: `done` may run before `start` returns.
    const work: { started?: Started } = {};
    const done = (o: Seen) => {
      if (finished) return;
      finished = true;
      signal.removeEventListener('abort', onAbort);
      work.started?.stop();
      resolve(o);
    };
    const onAbort = () =>
      done({ ...(work.started?.seen() ?? { connected: false }), error: new ProbeTimeout(timeoutMs).message });
    const started = (work.started = start(done));
    if (finished) started.stop();
    else if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

function probeTcp(target: Target, a: Attempt): Promise<Seen> {
  return settle(a.signal, a.timeoutMs, (done) => {
    const socket = net.connect({ host: a.address, port: target.port, family: a.family });
    socket.once('connect', () => done({ connected: true }));
    socket.on('error', (err) => done({ connected: false, error: err.message }));
    return { stop: () => socket.destroy(), seen: () => ({ connected: false }) };
  });
}

function tlsOptions(host: string, a: Attempt): tls.ConnectionOptions {
  return {
    // SNI must not be an IP address (RFC 6066 §3); for an IP target the name checked is the address itself.
    ...(net.isIP(host) ? {} : { servername: host }),
    rejectUnauthorized: true,
    ...(a.ca === undefined ? {} : { ca: a.ca as string | Buffer | Array<string | Buffer> }),
  };
}

function probeTls(target: Target, a: Attempt): Promise<Seen> {
  return settle(a.signal, a.timeoutMs, (done) => {
    const socket = tls.connect({
      host: a.address,
      port: target.port,
      ...tlsOptions(target.host, a),
      // checkServerIdentity checks the name we meant, not the pinned address we dialled.
      checkServerIdentity: (_h, cert) => tls.checkServerIdentity(target.host, cert),
    });
    socket.once('secureConnect', () =>
      done({ connected: true, certExpiresInDays: certExpiresInDays(socket.getPeerCertificate(), a.now()) }),
    );
    socket.on('error', (err) => done({ connected: false, error: err.message }));
    return { stop: () => socket.destroy(), seen: () => ({ connected: false }) };
  });
}

function probeHttp(
  check: Extract<HealthCheck, { type: 'http' }>,
  url: URL,
  target: Target,
  headers: Record<string, string>,
  a: Attempt,
): Promise<Seen> {
  const secure = url.protocol === 'https:';
  return settle(a.signal, a.timeoutMs, (done) => {
    let connected = false;
    let cert: number | undefined;
    let status: number | undefined;
    const fail = (error: string) => done({ connected, status, certExpiresInDays: cert, error });
    const options: https.RequestOptions = {
      host: a.address,
      family: a.family,
      port: target.port,
      path: `${url.pathname}${url.search}`,
      method: check.method,
      headers: { 'user-agent': USER_AGENT, ...headers, host: url.host },
      agent: false,
      ...(secure
        ? {
            ...tlsOptions(target.host, a),
            checkServerIdentity: (_h: string, c: tls.PeerCertificate) =>
              tls.checkServerIdentity(target.host, c),
          }
        : {}),
    };
    const req = (secure ? https : http).request(options);
    req.once('socket', (socket) => {
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        connected = true;
        if (socket instanceof tls.TLSSocket) cert = certExpiresInDays(socket.getPeerCertificate(), a.now());
      });
    });
    req.on('error', (err) => fail(err.message));
    req.once('response', (res) => {
      connected = true;
      status = res.statusCode;
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = () => {
        const body = Buffer.concat(chunks, Math.min(size, MAX_BODY_BYTES)).toString('utf8');
        done({ connected, status, certExpiresInDays: cert, body });
      };
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        // Enough for conditions; the rest is not read (destroying the request ends the socket).
        if (size >= MAX_BODY_BYTES) finish();
      });
      res.once('end', finish);
      res.on('error', (err) => fail(`response cut short: ${err.message}`));
      res.once('close', () => {
        if (!res.complete) fail('response cut short: connection closed');
      });
    });
    req.end(check.body);
    return {
      stop: () => req.destroy(),
      seen: () => ({ connected, status, certExpiresInDays: cert }),
    };
  });
}

// ------------------------------------------------------------------------------------------------ a probe

function clipFailed(text: string): string {
  return text.length <= MAX_FAILED_CHARS ? text : `${text.slice(0, MAX_FAILED_CHARS - 1)}…`;
}

function scrubber(secrets: readonly string[]) {
  const values = secrets.filter((v) => v.length > 0).sort((x, y) => y.length - x.length);
  return (text: string) => redactor.redactString(values.reduce((t, v) => t.split(v).join(REDACTED), text));
}

/** Rejects with ProbeTimeout when the signal fires first. */
function raced<T>(promise: Promise<T>, signal: AbortSignal, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new ProbeTimeout(timeoutMs));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Probes one validated check once, judged by its conditions. Resolves even when the target is down or refused. */
export async function probe(check: HealthCheck, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const conditions = check.conditions.map(parseCondition);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), check.timeoutMs);
  const signal = controller.signal;
  const now = opts.now ?? Date.now;
  const secrets: string[] = [];
  try {
    const url = check.type === 'http' ? new URL(check.target) : undefined;
    const target: Target = url
      ? {
          host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
        }
      : hostPort(check.target);

    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const result = (partial: Seen): ProbeResult => {
      const scrub = scrubber(secrets);
      const observation: ProbeObservation = { ...partial, responseTimeMs: elapsed() };
      for (const key of ['body', 'error'] as const) {
        const value = observation[key];
        if (value === undefined) delete observation[key];
        else observation[key] = scrub(value);
      }
      if (observation.status === undefined) delete observation.status;
      if (observation.certExpiresInDays === undefined) delete observation.certExpiresInDays;
      const evaluation = evaluateAll(conditions, observation);
      const cutShort = observation.connected && observation.error !== undefined;
      const ok = evaluation.ok && !cutShort;
      return {
        ok,
        ms: observation.responseTimeMs,
        ...(observation.status === undefined ? {} : { status: observation.status }),
        ...(ok ? {} : { failed: clipFailed(scrub(observation.error ?? evaluation.detail)) }),
        observation,
      };
    };

    let vetted: Vetted;
    try {
      vetted = await raced(vetTarget(target.host, opts.allowTargets, opts.resolve), signal, check.timeoutMs);
    } catch (err) {
      return result({ connected: false, error: errorText(err) });
    }
    if (!vetted.ok) return result({ connected: false, error: vetted.refused });

    const headers: Record<string, string> = {};
    if (check.type === 'http') {
      Object.assign(headers, check.headers);
      for (const [name, secretId] of Object.entries(check.headerSecrets ?? {})) {
        if (!opts.secretValue)
          throw new Error(`header ${name} needs a secret, and no secret reader was given`);
        let value: string;
        try {
          value = await raced(opts.secretValue(secretId), signal, check.timeoutMs);
        } catch (err) {
          // The prober's own trouble (Secret Manager down or slow, a grant missing), not the target's.
          throw new ProberError(`secret ${secretId} unavailable: ${errorText(err)}`);
        }
        secrets.push(value);
        headers[name] = value;
      }
    }

    const attempt: Attempt = { ...vetted, signal, timeoutMs: check.timeoutMs, ca: opts.tlsCa, now };
    switch (check.type) {
      case 'http':
        return result(await probeHttp(check, url!, target, headers, attempt));
      case 'tcp':
        return result(await probeTcp(target, attempt));
      case 'tls':
        return result(await probeTls(target, attempt));
    }
  } catch (err) {
    // Error texts could quote a header value (a secret): scrub before the caller can log them.
    const scrub = scrubber(secrets);
    const text = clipFailed(scrub(errorText(err)));
    throw err instanceof ProberError ? new ProberError(text) : new Error(text);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The prober could not probe (a headerSecrets secret unreadable): says nothing about the target. probeAll marks the
 * result `proberError`; the cycle does not count it for or against the check, and alerts once.
 */
export class ProberError extends Error {}

/** A result for a probe that threw (a secret that could not be read, a bug): failed, never connected. */
function thrown(err: unknown): ProbeResult {
  const error = clipFailed(redactor.redactString(errorText(err)));
  return {
    ok: false,
    ms: 0,
    failed: error,
    ...(err instanceof ProberError ? { proberError: error } : {}),
    observation: { connected: false, responseTimeMs: 0, error },
  };
}

/** A probe is not started with less than this left of the cycle's budget: it is recorded unprobed instead. */
export const MIN_PROBE_MS = 250;

function unprobed(budgetMs: number): ProbeResult {
  const error = `timeout: no result within the cycle's ${budgetMs} ms budget`;
  return { ok: false, ms: 0, failed: error, observation: { connected: false, responseTimeMs: 0, error } };
}

/**
 * Probes every check once, at most `concurrency` at a time (a worker pool), each under its own timeout and
 * without retries. Results are keyed by check id, in the order given.
 *
 * With `budgetMs`, the whole call ends within it (wall clock): each probe's timeout is capped by what is left, no
 * probe starts with less than MIN_PROBE_MS left, and at the deadline every check without a result (not started,
 * or still running past its capped timeout) gets a failed `timeout` result. So a broad outage (hundreds of
 * hanging targets) or one check with a long timeout cannot run the cycle past its function's timeout: the cycle
 * always commits, and unanswered checks go down through their thresholds instead of going stale.
 */
export async function probeAll(
  checks: Iterable<readonly [string, HealthCheck]>,
  opts: ProbeOptions & { concurrency?: number; budgetMs?: number } = {},
): Promise<Map<string, ProbeResult>> {
  const queue = [...checks];
  const results = new Map<string, ProbeResult>();
  const budgetMs = opts.budgetMs;
  const deadline = budgetMs === undefined ? Infinity : performance.now() + budgetMs;
  let next = 0;
  let over = false;
  const worker = async () => {
    while (!over && next < queue.length) {
      const left = deadline - performance.now();
      if (left < MIN_PROBE_MS) return;
      const [id, check] = queue[next]!;
      next += 1;
      const capped = left < check.timeoutMs ? { ...check, timeoutMs: Math.floor(left) } : check;
      const result = await probe(capped, opts).catch(thrown);
      if (!over) results.set(id, result);
    }
  };
  const workers = Math.max(1, Math.min(opts.concurrency ?? DEFAULT_CONCURRENCY, queue.length));
  const pool = Promise.all(Array.from({ length: workers }, worker));
  if (deadline === Infinity) await pool;
  else {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      pool,
      // A little after the deadline: every capped probe aborts at it, so this only fires for one that hangs
      // outside its own timeout (a secret read that never answers, say).
      new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, deadline - performance.now()) + 100))),
    ]);
    clearTimeout(timer);
    over = true;
  }
  return new Map(queue.map(([id]) => [id, results.get(id) ?? unprobed(budgetMs ?? 0)]));
}
