// `healthChecks/{id}`, `settings/health` and `settings/alerts`: the defaults an admin gets, and every refusal
// naming the field to fix.
import { describe, expect, it } from 'vitest';
import {
  alertSettingsSchema,
  healthCheckSchema,
  healthSettingsSchema,
} from '../../functions/src/health/schema';
import { parseOrThrow } from '../../functions/src/platform/validation';
import { refusal } from '../support/validation';

const http = {
  name: 'API',
  type: 'http',
  target: 'https://api.example.com/health',
  conditions: ['status == 200'],
};
const tcp = { name: 'Redis', type: 'tcp', target: 'redis.internal:6379', conditions: ['connected == true'] };
const tls = {
  name: 'SMTPS',
  type: 'tls',
  target: 'mail.example.com:465',
  conditions: ['certExpiresInDays > 14'],
};
const check = (value: unknown) => parseOrThrow(healthCheckSchema, value, 'healthChecks/api');
const checkRefusal = (value: unknown) => refusal(healthCheckSchema, value, 'healthChecks/api');

const defaults = {
  enabled: true,
  timeoutMs: 10_000,
  intervalSeconds: 60,
  failureThreshold: 3,
  successThreshold: 2,
  tags: [],
  maintenance: [],
  sloTarget: 99.9,
};

describe('healthChecks/{id}', () => {
  it('fills the documented defaults for each type', () => {
    expect(check(http)).toEqual({ ...http, ...defaults, method: 'GET' });
    expect(check(tcp)).toEqual({ ...tcp, ...defaults });
    expect(check(tls)).toEqual({ ...tls, ...defaults });
  });

  it('accepts a full http definition', () => {
    const full = {
      ...http,
      enabled: false,
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Probe': 'fireops\tv1' },
      headerSecrets: { Authorization: 'fireops-api-probe-token', Cookie: 'fireops-session_cookie' },
      body: '{"ping":true}',
      timeoutMs: 2000,
      intervalSeconds: 300,
      conditions: [
        'status in [200, 204]',
        'responseTimeMs < 800',
        'body !contains "error"',
        'json $.status == "UP"',
        'certExpiresInDays > 14',
      ],
      failureThreshold: 1,
      successThreshold: 20,
      regions: ['europe-west1', 'africa-south1', 'northamerica-northeast1'],
      tags: ['api', 'public'],
      maintenance: [
        { start: '2026-12-01T02:00', durationMinutes: 60, every: 'weekly', timeZone: 'Europe/Paris' },
        { start: '2026-02-28T23:30:15', durationMinutes: 1440, timeZone: 'UTC' },
        {
          start: '2026-03-01T00:00',
          durationMinutes: 1,
          every: 'daily',
          timeZone: 'America/Argentina/Buenos_Aires',
        },
      ],
      sloTarget: 99.99,
    };
    expect(check(full)).toEqual(full);
  });

  it.each(['http://127.0.0.1:8080/', 'http://[::1]:8080/x?y=1', 'https://localhost:8443'])(
    'accepts the http target %s',
    (target) => {
      expect(check({ ...http, target }).target).toBe(target);
    },
  );

  it.each(['localhost:1', '10.0.0.1:65535', '[::1]:8443', 'a-b.c.example:443'])(
    'accepts the tcp target %s',
    (target) => {
      expect(check({ ...tcp, target }).target).toBe(target);
    },
  );

  it.each([
    [{ ...http, type: 'udp' }, 'type'],
    [{ ...http, type: undefined }, 'type'],
    [{ ...http, name: '' }, 'name'],
    [{ ...http, name: '   ' }, 'name'],
    [{ ...http, name: 'x'.repeat(101) }, 'name'],
    [{ ...http, extra: 1 }, 'extra'],
    [{ ...http, target: 'ftp://example.com/' }, 'target'],
    [{ ...http, target: 'example.com/health' }, 'target'],
    [{ ...http, target: 'https://user:pass@example.com/' }, 'target'],
    [{ ...tcp, target: 'https://example.com/' }, 'target'],
    [{ ...tcp, target: 'redis.internal' }, 'target'],
    [{ ...tcp, target: 'redis.internal:0' }, 'target'],
    [{ ...tcp, target: 'redis.internal:65536' }, 'target'],
    [{ ...tcp, target: '::1:80' }, 'target'],
    [{ ...tls, target: 'bad_host:443' }, 'target'],
    [{ ...tcp, method: 'GET' }, 'method'],
    [{ ...tls, headers: {} }, 'headers'],
    [{ ...tcp, body: 'x' }, 'body'],
    [{ ...http, method: 'TRACE' }, 'method'],
    [{ ...http, headers: { 'Bad Name': 'x' } }, 'headers.Bad Name'],
    [{ ...http, headers: { 'X-A': 'a\r\nX-Injected: 1' } }, 'headers.X-A'],
    [{ ...http, headers: { 'X-A': 'a\nb' } }, 'headers.X-A'],
    [{ ...http, headers: { Authorization: 'Bearer abc' } }, 'headers.Authorization'],
    [{ ...http, headers: { cookie: 'sid=1' } }, 'headers.cookie'],
    [{ ...http, headers: { 'Proxy-Authorization': 'Basic x' } }, 'headers.Proxy-Authorization'],
    [{ ...http, headers: { Host: 'other.example.com' } }, 'headers.Host'],
    [{ ...http, headers: { 'X-A': '1', 'x-a': '2' } }, 'headers.x-a'],
    [
      { ...http, headers: Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`X-H${i}`, 'v'])) },
      'headers',
    ],
    [{ ...http, headerSecrets: { Authorization: 'projects/p/secrets/x' } }, 'headerSecrets.Authorization'],
    [{ ...http, headerSecrets: { 'Bad:Name': 'token' } }, 'headerSecrets.Bad:Name'],
    // Issue 13: the prober reads fireops' own secrets only, and never speaks the metadata server's dialect.
    [{ ...http, headerSecrets: { 'X-Api-Key': 'db-password-prod' } }, 'headerSecrets.X-Api-Key'],
    [{ ...http, headers: { 'Metadata-Flavor': 'Google' } }, 'headers.Metadata-Flavor'],
    // Credentials are not inline (platform/domain/credentials.ts): by name, or by the look of the value.
    [{ ...http, headers: { 'X-Api-Key': 'k' } }, 'headers.X-Api-Key'],
    [{ ...http, target: 'https://api.example.com/health?api_key=abc' }, 'target'],
    [{ ...http, method: 'POST', body: '{"user":"probe","password":"hunter2"}' }, 'body'],
    [{ ...http, headers: { 'X-Session': 'abc' } }, 'headers.X-Session'],
    [{ ...http, headers: { 'X-Custom': 'Zk3nq8Rv0pX2bL7wTq9YcD4e' } }, 'headers.X-Custom'],
    [{ ...http, headers: { 'X-Custom': 'ghp_0123456789abcdefABCDEF0123456789abcd' } }, 'headers.X-Custom'],
    [{ ...http, headers: { 'X-Google-Metadata-Request': 'True' } }, 'headers.X-Google-Metadata-Request'],
    [{ ...http, headerSecrets: { 'metadata-flavor': 'fireops-x' } }, 'headerSecrets.metadata-flavor'],
    [
      { ...http, headers: { 'X-Key': 'a' }, headerSecrets: { 'x-key': 'fireops-key' } },
      'headerSecrets.x-key',
    ],
    [{ ...http, method: 'POST', body: 'x'.repeat(65_537) }, 'body'],
    [{ ...http, method: 'POST', body: 'é'.repeat(32_769) }, 'body'],
    [{ ...http, body: '{}' }, 'body'],
    [{ ...http, method: 'HEAD', body: '{}' }, 'body'],
    [{ ...http, timeoutMs: 99 }, 'timeoutMs'],
    [{ ...http, timeoutMs: 60_001 }, 'timeoutMs'],
    [{ ...http, intervalSeconds: 30 }, 'intervalSeconds'],
    [{ ...http, intervalSeconds: 90 }, 'intervalSeconds'],
    [{ ...http, intervalSeconds: 3660 }, 'intervalSeconds'],
    [{ ...http, conditions: [] }, 'conditions'],
    [{ ...http, conditions: Array.from({ length: 21 }, () => 'status == 200') }, 'conditions'],
    [{ ...http, conditions: ['status == 200', 'status = 200'] }, 'conditions[1]'],
    [{ ...http, conditions: ['status == 200', 'responseTimeMs < 1', 'connected == true'] }, 'conditions[2]'],
    [
      { ...http, target: 'http://example.com/', conditions: ['status == 200', 'certExpiresInDays > 14'] },
      'conditions[1]',
    ],
    [{ ...tcp, conditions: ['connected == true', 'status == 200'] }, 'conditions[1]'],
    [{ ...tcp, conditions: ['certExpiresInDays > 1'] }, 'conditions[0]'],
    [{ ...tls, conditions: ['body contains "x"'] }, 'conditions[0]'],
    [{ ...http, conditions: [42] }, 'conditions[0]'],
    [{ ...http, failureThreshold: 0 }, 'failureThreshold'],
    [{ ...http, successThreshold: 21 }, 'successThreshold'],
    [{ ...http, regions: [] }, 'regions'],
    [{ ...http, regions: ['Europe West'] }, 'regions[0]'],
    [{ ...http, regions: ['europe-west1', 'europe-west1'] }, 'regions'],
    [{ ...http, tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'tags'],
    [{ ...http, tags: [''] }, 'tags[0]'],
    [{ ...http, sloTarget: 100 }, 'sloTarget'],
    [{ ...http, sloTarget: 0 }, 'sloTarget'],
  ])('refuses %j, naming %s', (value, field) => {
    const err = checkRefusal(value);
    expect(err.field).toBe(field);
    expect(err.message).toContain('healthChecks/api: ');
  });

  const window = { start: '2026-12-01T02:00', durationMinutes: 60, timeZone: 'Europe/Paris' };
  it.each([
    [{ ...window, start: '2026-12-01T02:00+01:00' }, 'maintenance[0].start'],
    [{ ...window, start: '2026-12-01T02:00Z' }, 'maintenance[0].start'],
    [{ ...window, start: '2026-12-01 02:00' }, 'maintenance[0].start'],
    [{ ...window, start: '2026-02-30T02:00' }, 'maintenance[0].start'],
    [{ ...window, start: '2026-12-01T24:00' }, 'maintenance[0].start'],
    [{ ...window, start: '2026-12-01' }, 'maintenance[0].start'],
    [{ ...window, durationMinutes: 0 }, 'maintenance[0].durationMinutes'],
    [{ ...window, durationMinutes: 1441 }, 'maintenance[0].durationMinutes'],
    [{ ...window, every: 'monthly' }, 'maintenance[0].every'],
    [{ ...window, timeZone: 'Europe/Atlantis' }, 'maintenance[0].timeZone'],
    [{ ...window, timeZone: '+02:00' }, 'maintenance[0].timeZone'],
    [{ ...window, timeZone: undefined }, 'maintenance[0].timeZone'],
    [{ ...window, end: '2026-12-01T03:00' }, 'maintenance[0].end'],
  ])('refuses the maintenance window %j, naming %s', (w, field) => {
    expect(checkRefusal({ ...http, maintenance: [w] }).field).toBe(field);
  });

  describe('messages an admin can act on', () => {
    it.each([
      [{ ...http, type: 'udp' }, `field 'type' must be one of "http", "tcp", "tls"`],
      [{ ...tcp, method: 'GET' }, `unknown field 'method'`],
      [
        { ...http, headers: { Authorization: 'Bearer abc' } },
        `field 'headers.Authorization' must not be inline: name a Secret Manager secret in headerSecrets.Authorization`,
      ],
      [
        { ...http, headers: { 'X-Custom': 'Zk3nq8Rv0pX2bL7wTq9YcD4e' } },
        `field 'headers.X-Custom' must not be inline: its value looks like a credential (a token, key or auth ` +
          'scheme): name a Secret Manager secret in headerSecrets.X-Custom',
      ],
      [
        { ...http, headers: { 'Bad Name': 'x' } },
        `field 'headers.Bad Name' is not a valid header name (an RFC 7230 token)`,
      ],
      [
        { ...http, headers: { 'X-A': 'a\r\nX-Injected: 1' } },
        `field 'headers.X-A' must not contain CR, LF or other control characters`,
      ],
      [
        { ...http, conditions: ['status == 200', 'responseTimeMs < fast'] },
        `field 'conditions[1]' is not a valid condition: expected a non-negative number after '<' at 17`,
      ],
      [
        { ...tcp, conditions: ['connected == true', 'status == 200'] },
        `field 'conditions[1]' uses 'status', which a tcp check does not observe (it can use connected, responseTimeMs)`,
      ],
      [
        { ...http, target: 'http://example.com/', conditions: ['certExpiresInDays > 14'] },
        `field 'conditions[0]' uses certExpiresInDays, which needs an https:// target`,
      ],
      [
        { ...http, intervalSeconds: 90 },
        `field 'intervalSeconds' must be a multiple of 60 (the runner ticks once a minute)`,
      ],
      [{ ...http, body: '{}' }, `field 'body' must not be set with method GET`],
      [
        { ...http, maintenance: [{ ...window, timeZone: 'Mars/Olympus' }] },
        `field 'maintenance[0].timeZone' must be an IANA time zone name, like Europe/Paris or UTC`,
      ],
      [
        { ...http, maintenance: [{ ...window, start: '2026-12-01T02:00Z' }] },
        `field 'maintenance[0].start' must be a local date-time without offset, like 2026-12-01T02:00`,
      ],
    ])('%j: %s', (value, message) => {
      expect(checkRefusal(value).message).toBe(`healthChecks/api: ${message}`);
    });

    it('reports every offending field, not only the first', () => {
      const err = checkRefusal({
        ...http,
        timeoutMs: 1,
        conditions: ['nope', 'status == 200', 'connected == 1'],
      });
      expect(err.field).toBe('timeoutMs');
      expect(err.message).toContain(`field 'conditions[0]'`);
      expect(err.message).toContain(`field 'conditions[2]'`);
      expect(err.message).not.toContain(`conditions[1]`);
    });
  });
});

describe('settings/health', () => {
  const settings = (value: unknown) => parseOrThrow(healthSettingsSchema, value, 'settings/health');

  it('fills the documented defaults', () => {
    expect(settings({})).toEqual({ allowTargets: [], reminderMinutes: 60, cycleTtlDays: 35 });
  });

  it('accepts host names, IP addresses and CIDR blocks', () => {
    const allowTargets = [
      'localhost',
      '127.0.0.0/8',
      '::1',
      'fd00::/8',
      '10.1.2.3',
      'metadata.google.internal',
      '0.0.0.0/0',
    ];
    expect(settings({ allowTargets }).allowTargets).toEqual(allowTargets);
  });

  it.each([
    [{ allowTargets: ['127.0.0.0/33'] }, 'allowTargets[0]'],
    [{ allowTargets: ['localhost', '::1/129'] }, 'allowTargets[1]'],
    [{ allowTargets: ['10.0.0.0/08'] }, 'allowTargets[0]'],
    [{ allowTargets: ['host/8'] }, 'allowTargets[0]'],
    [{ allowTargets: ['http://localhost'] }, 'allowTargets[0]'],
    [{ allowTargets: ['localhost:8080'] }, 'allowTargets[0]'],
    [{ reminderMinutes: 0 }, 'reminderMinutes'],
    [{ reminderMinutes: 1.5 }, 'reminderMinutes'],
    [{ cycleTtlDays: 0 }, 'cycleTtlDays'],
    [{ allowAll: true }, 'allowAll'],
  ])('refuses %j, naming %s', (value, field) => {
    expect(refusal(healthSettingsSchema, value, 'settings/health').field).toBe(field);
  });
});

describe('settings/alerts', () => {
  it('accepts no webhook or a secret id', () => {
    // The routing fields default to nothing routed (platform/domain/alert-routing.ts).
    const none = { channels: {}, routes: [], dedupMinutes: 0 };
    expect(parseOrThrow(alertSettingsSchema, {}, 'settings/alerts')).toEqual(none);
    expect(parseOrThrow(alertSettingsSchema, { webhookSecret: 'slack-webhook' }, 'settings/alerts')).toEqual({
      webhookSecret: 'slack-webhook',
      ...none,
    });
  });

  it.each([
    [{ webhookSecret: 'https://hooks.slack.com/services/T0/B0/x' }, 'webhookSecret'],
    [{ webhookSecret: '' }, 'webhookSecret'],
    [{ webhookUrl: 'https://hooks.slack.com/services/T0/B0/x' }, 'webhookUrl'],
  ])('refuses %j, naming %s', (value, field) => {
    const err = refusal(alertSettingsSchema, value, 'settings/alerts');
    expect(err.field).toBe(field);
    // A webhook URL is itself a credential: the refusal must not echo it.
    expect(err.message).not.toContain('hooks.slack.com');
  });
});
