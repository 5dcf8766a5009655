// Alert routing (settings/alerts channels and routes) against local sinks that speak each channel's protocol: a
// Slack-compatible webhook, a generic webhook receiver that verifies fireops' HMAC signature as a receiver would
// (timestamp window included), and an HTTP mail relay that requires its bearer token. URLs, signing keys and tokens
// live in the Secret Manager emulator. The notifier runs in this process (handleAlert, sweepAlerts, a clock moved
// by hand), and once through the deployed notifyAlerts.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { db } from '../../functions/src/platform/firestore';
import { setLogSink } from '../../functions/src/platform/logger';
import {
  createAlertDeps,
  handleAlert,
  notifyBackoffMs,
  sweepAlerts,
  type AlertDeps,
} from '../../functions/src/platform/notifier';
import { alertSettingsSchema, type AlertSettings } from '../../functions/src/platform/schema';
import { OPS_ALERTS_TOPIC } from '../../functions/src/platform/topics';
import { pubsubClient, rest, waitFor } from '../support/emulators';
import { createTestSecret, uniqueSecretId } from '../support/rotation';

interface Post {
  headers: IncomingMessage['headers'];
  body: string;
  json: Record<string, unknown>;
}

/** A local endpoint recording what it accepted; `status` answers (200 by default), `check` may refuse (401). */
function sink(check: (p: Post) => boolean = () => true) {
  const s = {
    server: undefined as Server | undefined,
    url: '',
    accepted: [] as Post[],
    refused: 0,
    status: 200,
  };
  s.server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const post = { headers: req.headers, body, json: JSON.parse(body) as Record<string, unknown> };
      if (s.status !== 200) return void res.writeHead(s.status).end('unavailable');
      if (!check(post)) {
        s.refused += 1;
        return void res.writeHead(401).end('bad signature');
      }
      s.accepted.push(post);
      res.writeHead(200).end('ok');
    });
  });
  return s;
}

const SIGNING_KEY = `key-${randomUUID()}`;
const RELAY_TOKEN = `tok-${randomUUID()}`;
/** What a receiver does (docs/admin-guide.md "Verifying the signature"): HMAC of "{ts}.{body}", 5-minute window. */
function verifySignature(p: Post): boolean {
  const ts = Number(p.headers['x-fireops-timestamp']);
  if (!Number.isFinite(ts) || Math.abs(Date.now() / 1000 - ts) > 300) return false;
  const expected = Buffer.from(
    `sha256=${createHmac('sha256', SIGNING_KEY).update(`${ts}.${p.body}`).digest('hex')}`,
  );
  const got = Buffer.from(String(p.headers['x-fireops-signature'] ?? ''));
  return got.length === expected.length && timingSafeEqual(got, expected);
}

const chat = sink();
const fallback = sink();
const pager = sink(verifySignature);
const mail = sink((p) => p.headers.authorization === `Bearer ${RELAY_TOKEN}`);
const secrets = {
  chat: uniqueSecretId('route-chat'),
  fallback: uniqueSecretId('route-default'),
  pagerUrl: uniqueSecretId('route-pager-url'),
  pagerKey: uniqueSecretId('route-pager-key'),
  relay: uniqueSecretId('route-relay'),
  relayToken: uniqueSecretId('route-relay-token'),
};
const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];

beforeAll(async () => {
  setLogSink((level, message, fields) => lines.push({ level, message, fields }));
  for (const s of [chat, fallback, pager, mail]) {
    await new Promise<void>((resolve) => s.server!.listen(0, '127.0.0.1', resolve));
    s.url = `http://127.0.0.1:${(s.server!.address() as AddressInfo).port}/hook/${randomUUID()}`;
  }
  await createTestSecret(secrets.chat, [chat.url]);
  await createTestSecret(secrets.fallback, [fallback.url]);
  await createTestSecret(secrets.pagerUrl, [pager.url]);
  await createTestSecret(secrets.pagerKey, [SIGNING_KEY]);
  await createTestSecret(secrets.relay, [mail.url]);
  await createTestSecret(secrets.relayToken, [RELAY_TOKEN]);
});

afterAll(async () => {
  setLogSink(undefined);
  for (const s of [chat, fallback, pager, mail]) await new Promise((r) => s.server!.close(r));
});

beforeEach(async () => {
  await rest.clear();
  for (const s of [chat, fallback, pager, mail]) {
    s.accepted.length = 0;
    s.refused = 0;
    s.status = 200;
  }
});

const settingsDoc = (extra: Record<string, unknown> = {}) => ({
  webhookSecret: secrets.fallback,
  channels: {
    'ops-chat': { type: 'slack', urlSecret: secrets.chat },
    pager: { type: 'webhook', urlSecret: secrets.pagerUrl, signingSecret: secrets.pagerKey },
    oncall: {
      type: 'email',
      relaySecret: secrets.relay,
      tokenSecret: secrets.relayToken,
      to: ['oncall@bvester.example'],
      from: 'fireops@bvester.example',
    },
  },
  routes: [
    { kinds: ['backup.*'], channels: ['oncall'] },
    { kinds: ['*'], minSeverity: 'critical', channels: ['pager', 'ops-chat'] },
  ],
  ...extra,
});

function depsFor(doc: Record<string, unknown>, clock = { t: Date.now(), nowMs: () => clock.t }) {
  const settings: AlertSettings = alertSettingsSchema.parse(doc);
  const deps: AlertDeps = createAlertDeps({ settings: () => Promise.resolve(settings), clock });
  return { deps, clock };
}

let n = 0;
const alertOf = (kind: string, severity: string, target = 'backups/20261205T020000Z') => ({
  alertId: `route-${Date.now()}-${++n}`,
  severity,
  kind,
  title: `${kind} on ${target}`,
  text: 'details',
  target,
  correlationId: `c-${n}`,
  atMs: Date.now(),
  runbookUrl: `https://runbooks.example/${kind}.md`,
});

describe('routes by kind and severity, each channel in its own format, once', () => {
  it('sends a critical backup alert to mail, pager and chat; a warning to mail; an unrouted info to default', async () => {
    const { deps } = depsFor(settingsDoc());
    const critical = alertOf('backup.failed', 'critical');
    expect((await handleAlert(critical, deps)).chat).toBe('posted');
    expect(chat.accepted.map((p) => p.json.text)).toEqual([expect.stringContaining('backup.failed')]);
    expect(pager.accepted).toHaveLength(1);
    expect(pager.refused).toBe(0);
    expect(pager.accepted[0]!.json).toMatchObject({ alertId: critical.alertId, kind: 'backup.failed' });
    expect(pager.accepted[0]!.headers['x-fireops-alert-id']).toBe(critical.alertId);
    expect(mail.accepted).toHaveLength(1);
    expect(mail.accepted[0]!.json).toMatchObject({
      from: 'fireops@bvester.example',
      to: ['oncall@bvester.example'],
      subject: '[fireops critical] backup.failed on backups/20261205T020000Z',
    });
    expect(String(mail.accepted[0]!.json.text)).toContain(
      'Runbook: https://runbooks.example/backup.failed.md',
    );
    expect(fallback.accepted).toHaveLength(0);

    expect((await handleAlert(alertOf('backup.stale', 'warning'), deps)).chat).toBe('posted');
    expect([chat, pager, mail, fallback].map((s) => s.accepted.length)).toEqual([1, 1, 2, 0]);
    expect((await handleAlert(alertOf('rollout.succeeded', 'info', 'rollouts/r1'), deps)).chat).toBe(
      'posted',
    );
    expect([chat, pager, mail, fallback].map((s) => s.accepted.length)).toEqual([1, 1, 2, 1]);

    // A redelivery of the critical alert: every channel has it already.
    expect((await handleAlert(critical, deps)).chat).toBe('duplicate');
    expect([chat, pager, mail, fallback].map((s) => s.accepted.length)).toEqual([1, 1, 2, 1]);
  });

  it('a receiver with another key refuses the signature (the test would catch an unsigned post)', async () => {
    const other = uniqueSecretId('route-pager-other-key');
    await createTestSecret(other, ['not-the-receivers-key']);
    const doc = settingsDoc();
    (doc.channels as Record<string, unknown>).pager = {
      type: 'webhook',
      urlSecret: secrets.pagerUrl,
      signingSecret: other,
    };
    const { deps } = depsFor(doc);
    await expect(handleAlert(alertOf('incident.opened', 'critical', 'incidents/x'), deps)).rejects.toThrow(
      /answered 401/,
    );
    expect(pager.refused).toBe(1);
    expect(chat.accepted).toHaveLength(1); // the other channel got it all the same
  });
});

describe('a failing channel', () => {
  it('is retried by the sweep without posting again to the channels that have the alert', async () => {
    const { deps, clock } = depsFor(settingsDoc());
    mail.status = 503;
    const a = alertOf('backup.failed', 'critical');
    await expect(handleAlert(a, deps)).rejects.toThrow(/answered 503/);
    expect([chat.accepted.length, pager.accepted.length, mail.accepted.length]).toEqual([1, 1, 0]);
    const claim = await db()
      .collection('processedEvents')
      .where('alertId', '==', a.alertId)
      .where('channel', '==', 'oncall')
      .get();
    expect(claim.docs[0]!.get('state')).toBe('failed');

    mail.status = 200;
    clock.t += notifyBackoffMs(1); // the backoff of the first attempt has passed
    const swept = await sweepAlerts(deps);
    expect(swept).toMatchObject({ retried: 1, posted: 1, failed: 0 });
    expect([chat.accepted.length, pager.accepted.length, mail.accepted.length]).toEqual([1, 1, 1]);
  });
});

describe('deduplication and quiet hours', () => {
  it('skips the same kind and target within dedupMinutes, per channel; another target goes', async () => {
    const { deps, clock } = depsFor(settingsDoc({ dedupMinutes: 10 }));
    expect((await handleAlert(alertOf('backup.stale', 'warning', 'backups/a'), deps)).chat).toBe('posted');
    expect((await handleAlert(alertOf('backup.stale', 'warning', 'backups/a'), deps)).chat).toBe(
      'suppressed',
    );
    expect((await handleAlert(alertOf('backup.stale', 'warning', 'backups/b'), deps)).chat).toBe('posted');
    expect(mail.accepted).toHaveLength(2);
    expect(lines.some((l) => l.message.startsWith('alert suppressed') && l.fields.channel === 'oncall')).toBe(
      true,
    );
    clock.t += 10 * 60_000;
    expect((await handleAlert(alertOf('backup.stale', 'warning', 'backups/a'), deps)).chat).toBe('posted');
    expect(mail.accepted).toHaveLength(3);
  });

  it('holds a warning during quiet hours and delivers it when they end; a critical alert goes at once', async () => {
    const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
    const now = Date.now();
    const quietHours = { start: hhmm(now - 3_600_000), end: hhmm(now + 3_600_000), timeZone: 'UTC' };
    const { deps, clock } = depsFor(settingsDoc({ quietHours }));
    const warning = alertOf('backup.stale', 'warning');
    expect((await handleAlert(warning, deps)).chat).toBe('held');
    expect(mail.accepted).toHaveLength(0);
    expect((await handleAlert(warning, deps)).chat).toBe('held'); // a redelivery while quiet: still held
    expect((await handleAlert(alertOf('incident.opened', 'critical', 'incidents/y'), deps)).chat).toBe(
      'posted',
    );
    expect(pager.accepted).toHaveLength(1);

    expect(await sweepAlerts(deps)).toMatchObject({ retried: 0 }); // not due yet
    clock.t = Math.floor(now / 60_000) * 60_000 + 3_600_000; // quiet hours are over
    expect(await sweepAlerts(deps)).toMatchObject({ retried: 1, posted: 1 });
    expect(mail.accepted.map((p) => (p.json.subject as string).includes('backup.stale'))).toEqual([true]);
  });
});

describe('an edit of settings/alerts while a delivery waits', () => {
  it('drops, logged, a held delivery whose channel no longer takes the alert; it does not retry it forever', async () => {
    const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
    const now = Date.now();
    const quietHours = { start: hhmm(now - 3_600_000), end: hhmm(now + 3_600_000), timeZone: 'UTC' };
    const clock = { t: now, nowMs: () => clock.t };
    const warning = alertOf('backup.stale', 'warning');
    expect((await handleAlert(warning, depsFor(settingsDoc({ quietHours }), clock).deps)).chat).toBe('held');
    // The admin removes the backup route; quiet hours end.
    const edited = settingsDoc({ routes: [{ kinds: ['*'], minSeverity: 'critical', channels: ['pager'] }] });
    const { deps } = depsFor(edited, clock);
    clock.t = Math.floor(now / 60_000) * 60_000 + 3_600_000;
    expect(await sweepAlerts(deps)).toMatchObject({ retried: 1, posted: 1 }); // to default, which takes it now
    expect(fallback.accepted).toHaveLength(1);
    expect(mail.accepted).toHaveLength(0);
    const claim = await db()
      .collection('processedEvents')
      .where('alertId', '==', warning.alertId)
      .where('channel', '==', 'oncall')
      .get();
    expect(claim.docs[0]!.data()).toMatchObject({ state: 'dropped', pending: false });
    expect(lines.some((l) => l.message.startsWith('alert delivery dropped'))).toBe(true);
    expect(await sweepAlerts(deps)).toMatchObject({ retried: 0 });
  });
});

describe('through the deployed notifyAlerts', () => {
  it('takes settings/alerts from Firestore and delivers a signed webhook post the receiver verifies', async () => {
    await db()
      .doc('settings/alerts')
      .set({
        channels: {
          pager: { type: 'webhook', urlSecret: secrets.pagerUrl, signingSecret: secrets.pagerKey },
        },
        routes: [{ kinds: ['infrastructure.*'], channels: ['pager'] }],
      });
    const topic = pubsubClient().topic(OPS_ALERTS_TOPIC);
    // The deployed function caches settings/alerts for a minute per instance: a fresh alert every few seconds
    // until one is delivered under these settings.
    const sent = new Set<string>();
    await waitFor(
      async () => {
        const a = alertOf('infrastructure.failure', 'critical', 'functions/x');
        sent.add(a.alertId);
        await topic.publishMessage({ json: a });
        await new Promise((r) => setTimeout(r, 5_000));
        return pager.accepted.some((p) => sent.has(p.json.alertId as string));
      },
      { timeoutMs: 180_000, intervalMs: 0, what: 'a signed post from the deployed notifyAlerts' },
    );
    expect(pager.refused).toBe(0);
  }, 240_000);
});
