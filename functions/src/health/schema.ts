// Health checks, edited by admins: `healthChecks/{id}` (one probe definition each), `settings/health` (runner
// settings) and `settings/alerts` (where incidents are posted). Validated on every read; an invalid definition is
// refused with the field named and audited, and the previous valid one keeps running.
import { MAX_SHARDS } from './domain/shards';
import { inlineHeaderRefusal, redactCredentials } from '../platform/domain/credentials';
import { isIP } from 'node:net';
import { z } from 'zod';
import {
  ConditionSyntaxError,
  conditionSubjectsFor,
  parseCondition,
  MAX_CONDITION_LENGTH,
  type ProbeType,
} from './domain/conditions';
import { FIREOPS_SECRET_PREFIX } from '../platform/iam';
import { SECRET_ID_PATTERN } from '../platform/schema';

const secretId = z
  .string()
  .regex(SECRET_ID_PATTERN, 'must be a Secret Manager secret id (1-255 letters, digits, "_", "-")')
  // The prober may read only fireops' own secrets (the IAM condition grants nothing else); checked here too, so a
  // check naming another secret is refused on the edit, not found out at the first probe.
  .refine(
    (id) => id.startsWith(FIREOPS_SECRET_PREFIX),
    `must be a secret fireops may read: its id starts with '${FIREOPS_SECRET_PREFIX}'`,
  );

// ------------------------------------------------------------------------------------------------ addresses

/** RFC 1123 host name: dot-separated labels of letters, digits and inner '-', at most 253 characters. */
function isHostname(s: string): boolean {
  return (
    s.length <= 253 &&
    s.split('.').every((label) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label))
  );
}

/** `host:port` or `[ipv6]:port`, port 1..65535. */
function isHostPort(s: string): boolean {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(s);
  if (!m) return false;
  const [, v6, host, port] = m;
  if (Number(port) < 1 || Number(port) > 65_535) return false;
  return v6 !== undefined ? isIP(v6) === 6 : host !== undefined && (isIP(host) === 4 || isHostname(host));
}

/** A host name, an IP address, or a CIDR block (`127.0.0.0/8`, `fd00::/8`). */
function isAllowTarget(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return isIP(s) !== 0 || isHostname(s);
  const version = isIP(s.slice(0, slash));
  const bits = s.slice(slash + 1);
  if (version === 0 || !/^(?:0|[1-9][0-9]{0,2})$/.test(bits)) return false;
  return Number(bits) <= (version === 4 ? 32 : 128);
}

const httpTarget = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
  .max(2048)
  // Credentials in the URL would sit in plain text in Firestore and in every audit entry quoting the definition.
  // (zod runs refinements after a failed format check too, hence canParse.)
  .refine((u) => {
    const url = URL.canParse(u) ? new URL(u) : undefined;
    return url === undefined || (url.username === '' && url.password === '');
  }, 'must not hold credentials (user:password@); use headerSecrets');

const hostPortTarget = z
  .string()
  .max(260)
  .refine(
    isHostPort,
    'must be host:port (a host name, an IPv4 address or [IPv6]) with a port from 1 to 65535',
  );

// -------------------------------------------------------------------------------------------------- headers

/** RFC 7230 §3.2.6 token. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;
/** Never inline: the value is a credential and belongs in Secret Manager. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);
/** Framing and routing the HTTP client owns; `host` would also let a check dress one target up as another. */
const CLIENT_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection']);
/**
 * What the GCP (and other clouds') metadata servers require to answer: never sent, so a probe cannot talk to one
 * even if an address slipped past the SSRF guard.
 */
const METADATA_HEADERS = new Set(['metadata-flavor', 'x-google-metadata-request', 'metadata']);
const MAX_HEADERS = 30;

const headerName = z.string().regex(HEADER_NAME);
const headerNameError = {
  error: (issue: { code: string }) =>
    issue.code === 'invalid_key' ? 'is not a valid header name (an RFC 7230 token)' : undefined,
};

function checkHeaderNames(
  names: string[],
  ctx: z.RefinementCtx,
  field: 'headers' | 'headerSecrets',
  refuseSecrets: boolean,
) {
  const seen = new Set<string>();
  for (const name of names) {
    const lower = name.toLowerCase();
    const message = seen.has(lower)
      ? 'repeats a header (names are case-insensitive)'
      : refuseSecrets && SECRET_HEADERS.has(lower)
        ? `must not be inline: name a Secret Manager secret in headerSecrets.${name}`
        : CLIENT_HEADERS.has(lower)
          ? 'is set by the prober and cannot be overridden'
          : METADATA_HEADERS.has(lower)
            ? "is the metadata server's request header: a probe never sends it"
            : undefined;
    if (message) ctx.addIssue({ code: 'custom', path: [field, name], message });
    seen.add(lower);
  }
  if (names.length > MAX_HEADERS) {
    ctx.addIssue({ code: 'custom', path: [field], message: `must have at most ${MAX_HEADERS} headers` });
  }
}

/** Any C0 control character but HTAB, or DEL (RFC 7230 §3.2 field-value). */
function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i += 1) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

const headers = z.record(
  headerName,
  z
    .string()
    .max(8192)
    // CR/LF would split the header and smuggle others in; other control characters are refused by HTTP clients.
    .refine((v) => !hasControlCharacter(v), 'must not contain CR, LF or other control characters'),
  headerNameError,
);
const headerSecrets = z.record(headerName, secretId, headerNameError);

// ----------------------------------------------------------------------------------------------- conditions

function conditionsFor(type: ProbeType) {
  const subjects = conditionSubjectsFor(type);
  return z
    .array(z.string().min(1).max(MAX_CONDITION_LENGTH))
    .min(1)
    .max(20)
    .superRefine((texts, ctx) => {
      texts.forEach((text, index) => {
        try {
          const { subject } = parseCondition(text);
          if (!subjects.includes(subject)) {
            ctx.addIssue({
              code: 'custom',
              path: [index],
              message: `uses '${subject}', which a ${type} check does not observe (it can use ${subjects.join(', ')})`,
            });
          }
        } catch (err) {
          if (!(err instanceof ConditionSyntaxError)) throw err;
          ctx.addIssue({
            code: 'custom',
            path: [index],
            message: `is not a valid condition: ${err.message}`,
          });
        }
      });
    });
}

function subjectOf(text: string): string | undefined {
  try {
    return parseCondition(text).subject;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------- maintenance

/** ISO 8601 local date-time without offset, minutes or seconds precision: `2026-12-01T02:00`. */
function isLocalDateTime(s: string): boolean {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?$/.exec(s);
  if (!m) return false;
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0] = m.slice(1).map((part) => Number(part ?? 0));
  const date = new Date(Date.UTC(y, mo - 1, d));
  // Date.UTC rolls 2026-02-30 over to March: a round trip tells a real calendar date from one that is not.
  return (
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo - 1 &&
    date.getUTCDate() === d &&
    h <= 23 &&
    mi <= 59 &&
    sec <= 59
  );
}

/** An IANA zone name the runtime knows (`Europe/Paris`, `UTC`); offsets like `+02:00` are not zones. */
function isTimeZone(s: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/.test(s)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: s });
    return true;
  } catch {
    return false;
  }
}

const maintenanceWindow = z.strictObject({
  /** Local wall-clock time in `timeZone`, so a 02:00 window stays at 02:00 across DST changes. */
  start: z
    .string()
    .refine(isLocalDateTime, 'must be a local date-time without offset, like 2026-12-01T02:00'),
  durationMinutes: z.number().int().min(1).max(1440),
  /** Absent: once. */
  every: z.enum(['daily', 'weekly']).optional(),
  timeZone: z
    .string()
    .max(100)
    .refine(isTimeZone, 'must be an IANA time zone name, like Europe/Paris or UTC'),
});

// ------------------------------------------------------------------------------------------------ the check

const unique = <T>(items: T[]) => new Set(items).size === items.length;

const common = {
  name: z.string().min(1).max(100).regex(/\S/, 'must not be blank'),
  /** Turns the check off without deleting its definition or history. */
  enabled: z.boolean().default(true),
  // At most 30 s: a cycle probes for 40 s in all (health/engine.ts PROBE_BUDGET_MS) inside probeCycle's 55 s.
  timeoutMs: z.number().int().min(100).max(30_000).default(10_000),
  intervalSeconds: z
    .number()
    .int()
    .min(60)
    .max(3600)
    .multipleOf(60, 'must be a multiple of 60 (the runner ticks once a minute)')
    .default(60),
  /** Consecutive failed probes, in a majority of regions, that open an incident. */
  failureThreshold: z.number().int().min(1).max(20).default(3),
  /** Consecutive successful probes that resolve it. */
  successThreshold: z.number().int().min(1).max(20).default(2),
  /** Regions that probe this check; absent: every region in PROBE_REGIONS. */
  regions: z
    .array(z.string().regex(/^[a-z]+-[a-z]+[0-9]{1,2}$/, 'must be a region id, like europe-west1'))
    .min(1)
    .max(40)
    .refine(unique, 'must not repeat a region')
    .optional(),
  tags: z.array(z.string().min(1).max(50)).max(20).refine(unique, 'must not repeat a tag').default([]),
  /** Windows in which failures neither open an incident nor count against the SLO. */
  maintenance: z.array(maintenanceWindow).max(50).default([]),
  /** Percent of successful probes promised over 30 days; the error budget is what remains below 100. */
  sloTarget: z.number().gt(0).lt(100).default(99.9),
  /**
   * Shown on the public status page (health-statusPage) under this name, in this group; absent: not shown. The
   * public name is all a reader sees of the check: never its target, headers or failures.
   */
  public: z
    .strictObject({
      name: z.string().min(1).max(80).regex(/\S/, 'must not be blank'),
      group: z.string().min(1).max(40).regex(/\S/, 'must not be blank').optional(),
    })
    .optional(),
};

const httpCheck = z
  .strictObject({
    ...common,
    type: z.literal('http'),
    target: httpTarget,
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
    headers: headers.optional(),
    /** Header name -> Secret Manager secret id holding its value (Authorization, Cookie, API keys). */
    headerSecrets: headerSecrets.optional(),
    body: z
      .string()
      .refine((s) => Buffer.byteLength(s, 'utf8') <= 65_536, 'must be at most 64 KiB (UTF-8)')
      .optional(),
    conditions: conditionsFor('http'),
  })
  .superRefine((check, ctx) => {
    checkHeaderNames(Object.keys(check.headers ?? {}), ctx, 'headers', true);
    // Credentials never enter Firestore (the catalog, every audit entry of an edit): a header whose name or value
    // looks like one is refused inline (platform/domain/credentials.ts), naming the header, never quoting it.
    for (const [name, value] of Object.entries(check.headers ?? {})) {
      const lower = name.toLowerCase();
      if (SECRET_HEADERS.has(lower) || CLIENT_HEADERS.has(lower) || METADATA_HEADERS.has(lower)) continue;
      const refusal = inlineHeaderRefusal(name, value);
      if (refusal)
        ctx.addIssue({ code: 'custom', path: ['headers', name], message: `must not be inline: ${refusal}` });
    }
    // Nor in the URL's query or the request body (both are stored and audited): there is no headerSecrets for them.
    if (URL.canParse(check.target) && redactCredentials(check.target) !== check.target) {
      ctx.addIssue({
        code: 'custom',
        path: ['target'],
        message:
          'must not hold a credential (a token or key in the URL): send it in a header named in headerSecrets',
      });
    }
    if (check.body !== undefined && redactCredentials(check.body) !== check.body) {
      ctx.addIssue({
        code: 'custom',
        path: ['body'],
        message:
          'must not hold a credential (a token, key or password): probe an endpoint that takes it in a header named in headerSecrets',
      });
    }
    checkHeaderNames(Object.keys(check.headerSecrets ?? {}), ctx, 'headerSecrets', false);
    const inline = new Set(Object.keys(check.headers ?? {}).map((n) => n.toLowerCase()));
    for (const name of Object.keys(check.headerSecrets ?? {})) {
      if (inline.has(name.toLowerCase())) {
        ctx.addIssue({
          code: 'custom',
          path: ['headerSecrets', name],
          message: 'is also set inline in headers',
        });
      }
    }
    // fetch() refuses a body on GET and HEAD (https://fetch.spec.whatwg.org/#dom-request, step 34).
    if (check.body !== undefined && (check.method === 'GET' || check.method === 'HEAD')) {
      ctx.addIssue({
        code: 'custom',
        path: ['body'],
        message: `must not be set with method ${check.method}`,
      });
    }
    // A plain-http probe has no certificate to observe; the condition could only ever fail. (Object refinements
    // also run when a field was refused, so target and conditions may be invalid here.)
    if (URL.canParse(check.target) && new URL(check.target).protocol === 'http:') {
      check.conditions.forEach((text, index) => {
        if (subjectOf(text) === 'certExpiresInDays') {
          ctx.addIssue({
            code: 'custom',
            path: ['conditions', index],
            message: 'uses certExpiresInDays, which needs an https:// target',
          });
        }
      });
    }
  });

const tcpCheck = z.strictObject({
  ...common,
  type: z.literal('tcp'),
  target: hostPortTarget,
  conditions: conditionsFor('tcp'),
});

const tlsCheck = z.strictObject({
  ...common,
  type: z.literal('tls'),
  target: hostPortTarget,
  conditions: conditionsFor('tls'),
});

/** `healthChecks/{id}`. */
export const healthCheckSchema = z.discriminatedUnion('type', [httpCheck, tcpCheck, tlsCheck], {
  error: (issue) => (issue.code === 'invalid_union' ? 'must be one of "http", "tcp", "tls"' : undefined),
});

export type HealthCheck = z.infer<typeof healthCheckSchema>;
export type MaintenanceWindow = z.infer<typeof maintenanceWindow>;

// ------------------------------------------------------------------------------------------------- settings

/** `settings/health`. */
export const healthSettingsSchema = z.strictObject({
  /**
   * Host names, IP addresses and CIDR blocks the SSRF guard lets through although they are loopback, private,
   * link-local or metadata addresses (local runs and tests list 127.0.0.0/8 and ::1).
   */
  allowTargets: z
    .array(
      z
        .string()
        .max(260)
        .refine(isAllowTarget, 'must be a host name, an IP address or a CIDR block like 127.0.0.0/8'),
    )
    .max(100)
    .default([]),
  /** While an incident stays open, it is announced again this often. */
  reminderMinutes: z.number().int().min(5).max(10_080).default(60),
  /** `expireAt` of healthCycles documents, for the TTL policy; uptime beyond it comes from healthDaily. */
  cycleTtlDays: z.number().int().min(1).max(366).default(35),
});

export type HealthSettings = z.infer<typeof healthSettingsSchema>;

/** A shard of a fanned-out probe cycle (engine.ts ShardMessage), as probeShard receives it. */
export const shardMessageSchema = z
  .strictObject({
    region: z.string().min(1).max(64),
    minuteMs: z.number().int().nonnegative(),
    shard: z.number().int().nonnegative(),
    shards: z
      .number()
      .int()
      .positive()
      .max(MAX_SHARDS)
      .refine((n) => (n & (n - 1)) === 0, 'must be a power of two'),
    sentAtMs: z.number().int().nonnegative(),
    jobName: z.string().max(500).optional(),
  })
  .refine((m) => m.shard < m.shards, { message: 'shard must be below shards', path: ['shard'] });

// What healthRollup reads back: the public fields of the catalog's checks it folds, and the summary.
// The catalog holds definitions onHealthCheckWritten validated; this only checks the public fields folded here.
export const healthCatalogPublicSchema = z.object({
  checks: z
    .record(
      z.string(),
      z.looseObject({
        name: z.string(),
        tags: z.array(z.string()).default([]),
        sloTarget: z.number().gt(0).lte(100).default(99.9),
        public: z.object({ name: z.string(), group: z.string().optional() }).optional(),
      }),
    )
    .default({}),
});

const bucketsSchema = z.record(z.string(), z.tuple([z.number(), z.number(), z.number()]));
export const healthSummaryDocSchema = z.object({
  updatedAtMs: z.number(),
  throughMs: z.number(),
  checks: z.record(
    z.string(),
    z.object({
      name: z.string(),
      tags: z.array(z.string()),
      sloTarget: z.number(),
      tenMinutes: bucketsSchema,
      hours: bucketsSchema,
      days: bucketsSchema,
    }),
  ),
});

export { alertSettingsSchema, type AlertSettings } from '../platform/schema';
export { formatZodError, parseOrThrow } from '../platform/validation';
