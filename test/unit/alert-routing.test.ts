import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CHANNEL,
  kindMatches,
  quietUntil,
  routeAlert,
  webhookSignature,
} from '../../functions/src/platform/domain/alert-routing';
import { alertSettingsSchema } from '../../functions/src/platform/schema';
import { parseOrThrow } from '../../functions/src/platform/validation';
import { emailFor } from '../../functions/src/platform/notifier';

describe('kindMatches', () => {
  it('matches exactly, by prefix ending .*, or everything with *', () => {
    expect(kindMatches('backup.failed', 'backup.failed')).toBe(true);
    expect(kindMatches('backup.failed', 'backup.failed-twice')).toBe(false);
    expect(kindMatches('rollout.*', 'rollout.rolled-back')).toBe(true);
    expect(kindMatches('rollout.*', 'rollouts.x')).toBe(false);
    expect(kindMatches('*', 'anything.at-all')).toBe(true);
  });
});

describe('routeAlert', () => {
  const routes = [
    { kinds: ['backup.*'], minSeverity: 'info' as const, channels: ['mail'] },
    { kinds: ['*'], minSeverity: 'critical' as const, channels: ['pager', 'chat'] },
    { kinds: ['incident.opened'], minSeverity: 'warning' as const, channels: ['chat'] },
  ];
  it('sends to the union of every matching route, each channel once, sorted', () => {
    expect(routeAlert({ routes, hasDefault: true }, { kind: 'backup.failed', severity: 'critical' })).toEqual(
      ['chat', 'mail', 'pager'],
    );
    expect(
      routeAlert({ routes, hasDefault: true }, { kind: 'incident.opened', severity: 'critical' }),
    ).toEqual(['chat', 'pager']);
  });
  it('honours minSeverity, and sends what no route takes to default, or nowhere without one', () => {
    expect(routeAlert({ routes, hasDefault: true }, { kind: 'backup.stale', severity: 'warning' })).toEqual([
      'mail',
    ]);
    expect(routeAlert({ routes, hasDefault: true }, { kind: 'rollout.succeeded', severity: 'info' })).toEqual(
      [DEFAULT_CHANNEL],
    );
    expect(
      routeAlert({ routes, hasDefault: false }, { kind: 'rollout.succeeded', severity: 'info' }),
    ).toEqual([]);
    expect(routeAlert({ hasDefault: true }, { kind: 'x.y', severity: 'info' })).toEqual([DEFAULT_CHANNEL]);
  });
});

describe('quietUntil', () => {
  // 2026-12-05 is winter: Lagos is UTC+1 all year, London is UTC+0 now and UTC+1 from 2027-03-28 01:00 UTC.
  const lagos = { start: '22:00', end: '07:00', timeZone: 'Africa/Lagos', minSeverity: 'critical' as const };
  const at = (iso: string) => Date.parse(iso);
  it('holds what is below minSeverity inside a window across midnight, until its end', () => {
    // 23:30 in Lagos (22:30 UTC): held until 07:00 Lagos = 06:00 UTC the next day.
    expect(quietUntil(lagos, 'warning', at('2026-12-05T22:30:15Z'))).toBe(at('2026-12-06T06:00:00Z'));
    // 06:59 Lagos: one minute left.
    expect(quietUntil(lagos, 'info', at('2026-12-06T05:59:00Z'))).toBe(at('2026-12-06T06:00:00Z'));
  });
  it('lets critical alerts and alerts outside the window go at once', () => {
    expect(quietUntil(lagos, 'critical', at('2026-12-05T22:30:00Z'))).toBeUndefined();
    expect(quietUntil(lagos, 'warning', at('2026-12-06T06:00:00Z'))).toBeUndefined(); // 07:00 Lagos: over
    expect(quietUntil(lagos, 'warning', at('2026-12-05T12:00:00Z'))).toBeUndefined();
    expect(quietUntil(undefined, 'info', at('2026-12-05T12:00:00Z'))).toBeUndefined();
  });
  it('finds the end across a daylight-saving change (London, spring forward)', () => {
    const london = {
      start: '00:00',
      end: '08:00',
      timeZone: 'Europe/London',
      minSeverity: 'warning' as const,
    };
    // 00:30 GMT on the night clocks go to BST: 08:00 BST is 07:00 UTC, not 07:30 + 30 min of wall clock.
    expect(quietUntil(london, 'info', at('2027-03-28T00:30:00Z'))).toBe(at('2027-03-28T07:00:00Z'));
    // A window within one day, with warning passing.
    expect(quietUntil(london, 'warning', at('2027-03-28T00:30:00Z'))).toBeUndefined();
  });
});

describe('webhookSignature', () => {
  it('is sha256= HMAC-SHA256 of "{timestamp}.{body}" keyed with the signing secret', () => {
    const body = '{"alertId":"a-1"}';
    expect(webhookSignature('key', 1_796_000_000, body)).toBe(
      `sha256=${createHmac('sha256', 'key').update(`1796000000.${body}`).digest('hex')}`,
    );
    // A fixed vector (computed once with openssl-equivalent HMAC), so the format cannot drift unnoticed.
    expect(webhookSignature('secret', 1, '{}')).toBe(
      'sha256=1122767b193110cfec322b6f199b599edbf608ed087f2d27afb0b97d99523908',
    );
  });
});

describe('settings/alerts', () => {
  const parse = (doc: unknown) => parseOrThrow(alertSettingsSchema, doc, 'settings/alerts');
  it('keeps a document with only webhookSecret valid (the default channel)', () => {
    expect(parse({ webhookSecret: 'fireops-chat' })).toEqual({
      webhookSecret: 'fireops-chat',
      channels: {},
      routes: [],
      dedupMinutes: 0,
    });
  });
  it('accepts channels of every type, routes and quiet hours', () => {
    const s = parse({
      channels: {
        'ops-chat': { type: 'slack', urlSecret: 'fireops-chat' },
        pager: { type: 'webhook', urlSecret: 'fireops-pager-url', signingSecret: 'fireops-pager-key' },
        mail: { type: 'email', relaySecret: 'fireops-relay', to: ['oncall@bvester.example'] },
      },
      routes: [
        { kinds: ['backup.*'], channels: ['mail'] },
        { minSeverity: 'critical', channels: ['pager'] },
      ],
      quietHours: { start: '22:00', end: '07:00', timeZone: 'Africa/Lagos' },
      dedupMinutes: 15,
    });
    expect(s.routes[1]).toEqual({ kinds: ['*'], minSeverity: 'critical', channels: ['pager'] });
    expect(s.quietHours?.minSeverity).toBe('critical');
  });
  it.each([
    [{ routes: [{ channels: ['nope'] }] }, "field 'routes[0].channels[0]' names no channel (none defined)"],
    [
      { webhookSecret: 'fireops-a', channels: { default: { type: 'slack', urlSecret: 'fireops-b' } } },
      "field 'channels.default' is already defined by webhookSecret",
    ],
    [
      { quietHours: { start: '22:00', end: '7:00', timeZone: 'Africa/Lagos' } },
      "field 'quietHours.end' must be a time HH:MM (24 h)",
    ],
    [
      { quietHours: { start: '22:00', end: '07:00', timeZone: 'Africa/Atlantis' } },
      "field 'quietHours.timeZone' must be an IANA time zone",
    ],
    [
      { channels: { mail: { type: 'email', relaySecret: 'fireops-r', to: ['not-an-address'] } } },
      "field 'channels.mail.to[0]' must be an email address",
    ],
    [
      { channels: { pager: { type: 'webhook', urlSecret: 'fireops-u' } } },
      "field 'channels.pager.signingSecret'",
    ],
    [
      { routes: [{ kinds: ['Rollout!'], channels: ['x'] }] },
      "field 'routes[0].kinds[0]' must be an alert kind",
    ],
  ])('refuses %j naming the field', (doc, message) => {
    expect(() => parse(doc)).toThrow(message);
  });
});

describe('emailFor', () => {
  it('is one-line subject, plain text with the runbook link, to the channel addresses', () => {
    const mail = emailFor(
      {
        alertId: 'a',
        severity: 'critical',
        kind: 'backup.failed',
        title: 'Backup failed\r\nBcc: everyone@example.com',
        text: 'export 20261205 failed',
        target: 'backups/20261205',
        correlationId: 'c',
        atMs: Date.parse('2026-12-05T02:00:00Z'),
        runbookUrl: 'https://runbooks.example/backup.failed.md',
      },
      { to: ['oncall@bvester.example'], from: 'fireops@bvester.example' },
    );
    expect(mail.subject).toBe('[fireops critical] Backup failed Bcc: everyone@example.com');
    expect(mail.to).toEqual(['oncall@bvester.example']);
    expect(mail.text).toContain('Runbook: https://runbooks.example/backup.failed.md');
    expect(mail.text).toContain('At: 2026-12-05T02:00:00.000Z');
  });
});
