// notifyAlerts: valid alerts are logged at their severity; invalid ones are refused with the field named and
// acknowledged (not retried). Where settings/alerts names a webhook secret, the alert is posted to a local
// Slack-compatible endpoint whose URL lives in the Secret Manager emulator: once per alertId, retried (thrown) on
// failure, skipped when not configured, and the URL (a credential) is in no log line and no error message.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChatWebhook, chatOriginRefusal } from '../../functions/src/platform/chat-webhook';
import { db } from '../../functions/src/platform/firestore';
import { idempotencyDocId } from '../../functions/src/platform/idempotency';
import { PROCESSED_EVENTS } from '../../functions/src/platform/collections';
import { logger, setLogSink } from '../../functions/src/platform/logger';
import { TransientError } from '../../functions/src/platform/domain/errors';
import {
  CLAIM_TIMEOUT_MS,
  MAX_NOTIFY_ATTEMPTS,
  createAlertDeps,
  handleAlert,
  notifyBackoffMs,
  notifyKey,
  sweepAlerts,
} from '../../functions/src/platform/notifier';
import { notifyAlerts } from '../../functions/src/platform/functions';
import { runEventHandler } from '../../functions/src/platform/error-mapping';
import { pubsubClient, rest, waitFor } from '../support/emulators';
import { scaled } from '../support/time-factor';
import { OPS_ALERTS_TOPIC } from '../../functions/src/platform/topics';
import { fnRequire } from '../support/functions-require';
import { createTestSecret, uniqueSecretId } from '../support/rotation';

const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
const ft = (fnRequire('firebase-functions-test') as typeof import('firebase-functions-test'))({
  projectId: 'demo-fireops',
});

const alert = {
  alertId: 'a-1',
  severity: 'critical',
  kind: 'test.alert',
  title: 'Something broke',
  text: 'details',
  target: 'flags/x',
  correlationId: 'c-1',
  atMs: 1,
};

// ------------------------------------------------------------------------------------- a chat endpoint

interface Received {
  path: string;
  contentType: string | undefined;
  body: unknown;
  answered: number;
}

/** Answers each post with `status` (and `body`); `hang` never answers. Records what it received. */
const chat = {
  server: undefined as Server | undefined,
  received: [] as Received[],
  status: 200,
  body: 'ok',
  hang: false,
  /** Answers after this many ms (deliveries racing each other are all in flight at once). */
  delayMs: 0,
  /** Statuses to answer the next posts with, in order, before `status` (a sink that fails first). */
  script: [] as number[],
};

let webhookUrl = '';
/** The part of a Slack webhook URL that is the credential. */
const TOKEN = `tok${randomUUID().replace(/-/g, '')}`;
const SECRET_ID = uniqueSecretId('chat-hook');
const REFUSED_SECRET_ID = uniqueSecretId('chat-refused');
const NOT_A_URL_SECRET_ID = uniqueSecretId('chat-not-url');
let refusedUrl = '';

beforeAll(async () => {
  setLogSink((level, message, fields) => lines.push({ level, message, fields }));
  chat.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (chat.hang) return;
      const answered = chat.script.shift() ?? chat.status;
      chat.received.push({
        path: req.url ?? '',
        contentType: req.headers['content-type'],
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
        answered,
      });
      setTimeout(
        () => res.writeHead(answered, { 'content-type': 'text/plain' }).end(chat.body),
        chat.delayMs,
      );
    });
  });
  await new Promise<void>((resolve) => chat.server!.listen(0, '127.0.0.1', resolve));
  const { port } = chat.server.address() as AddressInfo;
  webhookUrl = `http://127.0.0.1:${port}/services/T0001/B0001/${TOKEN}`;
  // A port nothing listens on: bound, then released.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  refusedUrl = `http://127.0.0.1:${closedPort}/services/T0001/B0002/${TOKEN}`;

  await createTestSecret(SECRET_ID, [`${webhookUrl}\n`], { alias: false });
  await createTestSecret(REFUSED_SECRET_ID, [refusedUrl], { alias: false });
  await createTestSecret(NOT_A_URL_SECRET_ID, [`hooks.example/${TOKEN}`], { alias: false });
});

beforeEach(async () => {
  await rest.clear();
  lines.length = 0;
  chat.received.length = 0;
  chat.status = 200;
  chat.body = 'ok';
  chat.hang = false;
  chat.delayMs = 0;
  chat.script = [];
});

afterAll(async () => {
  setLogSink(undefined);
  ft.cleanup();
  chat.server?.closeAllConnections();
  await new Promise<void>((resolve) => chat.server?.close(() => resolve()));
  await db().terminate();
});

const alertWith = (extra: Record<string, unknown> = {}) => ({ ...alert, alertId: randomUUID(), ...extra });

async function configure(settings: Record<string, unknown>): Promise<void> {
  await db().doc('settings/alerts').set(settings);
}

/** The alert's claim record (processedEvents/cloudevent:notify:<id>), if any. */
async function claimOf(alertId: string): Promise<Record<string, unknown> | undefined> {
  const ref = db()
    .collection(PROCESSED_EVENTS)
    .doc(idempotencyDocId('cloudevent', notifyKey(alertId)));
  return (await ref.get()).data();
}

async function recorded(alertId: string): Promise<boolean> {
  return (await claimOf(alertId))?.state === 'posted';
}

/** handleAlert as the trigger runs it (errors mapped by runEventHandler), with fresh per-instance caches. */
async function deliver(message: unknown, deps = createAlertDeps()): Promise<void> {
  await runEventHandler(logger({ correlationId: 'test-event' }), async () => {
    await handleAlert(message, deps);
  });
}

async function thrown(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** Neither the URL nor its secret part in any log line or in `texts`. */
function expectNoUrl(...texts: string[]): void {
  const all = [...texts, ...lines.map((l) => JSON.stringify(l))].join('\n');
  expect(all).not.toContain(TOKEN);
  expect(all).not.toContain('/services/T0001');
}

describe('notifyAlerts', () => {
  it('logs a valid alert at its severity', async () => {
    await ft.wrap(notifyAlerts)({ data: { message: ft.pubsub.makeMessage(alert) } } as never);
    expect(lines).toEqual([expect.objectContaining({ level: 'error', message: 'ALERT Something broke' })]);
  });

  it('acknowledges an invalid alert with a warning naming the field (permanent: no retry)', async () => {
    await expect(
      ft.wrap(notifyAlerts)({
        data: { message: ft.pubsub.makeMessage({ ...alert, severity: 'loud' }) },
      } as never),
    ).resolves.toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe('warn');
    expect(String(lines[0]!.fields.error)).toContain("field 'severity' must be one of");
  });
});

describe('chat webhook', () => {
  it('posts a Slack-compatible body to the URL the secret holds, and records the alert id', async () => {
    await configure({ webhookSecret: SECRET_ID });
    const a = alertWith({ severity: 'warning', title: 'Deploy <!channel> & co', text: 'p95 > 2 s' });
    const { chat: outcome } = await handleAlert(a, createAlertDeps());
    expect(outcome).toBe('posted');
    expect(chat.received).toEqual([
      {
        path: `/services/T0001/B0001/${TOKEN}`,
        contentType: 'application/json; charset=utf-8',
        // mrkdwn escaped: an alert quoting user text cannot mention a whole channel.
        body: { text: '🟠 *Deploy &lt;!channel&gt; &amp; co*\np95 &gt; 2 s\n_test.alert · flags/x_' },
        answered: 200,
      },
    ]);
    expect(await recorded(a.alertId)).toBe(true);
    expect(lines.map((l) => [l.level, l.message])).toEqual([
      ['warn', 'ALERT Deploy <!channel> & co'],
      ['info', 'alert posted to chat'],
    ]);
    expectNoUrl();
  });

  it('throws a TransientError on a 500 and records no post; the redelivery posts once; a duplicate does not post', async () => {
    await configure({ webhookSecret: SECRET_ID });
    const a = alertWith();
    const deps = createAlertDeps();
    chat.status = 500;
    // The endpoint echoes the URL back, as some proxies do in their error pages.
    chat.body = `upstream error for ${webhookUrl}`;

    const err = await thrown(deliver(a, deps));
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toMatch(
      /^chat webhook \(secret fireops-chat-hook-[\w-]+\) answered 500: upstream error for \[REDACTED\]$/,
    );
    expect(err.cause).toBeUndefined();
    expect(await recorded(a.alertId)).toBe(false);
    expect(lines.at(-1)).toMatchObject({ level: 'error', message: 'event failed: will be retried' });

    chat.status = 200;
    await deliver(a, deps);
    expect(await recorded(a.alertId)).toBe(true);

    await deliver(a, deps);
    await deliver(a, createAlertDeps()); // another instance, cold caches
    expect(chat.received.map((r) => r.answered)).toEqual([500, 200]);
    expect(lines.filter((l) => l.message === 'alert posted to chat')).toHaveLength(1);
    expect(lines.filter((l) => l.message.startsWith('alert already posted'))).toHaveLength(2);
    expect(lines.filter((l) => l.message === 'ALERT Something broke')).toHaveLength(4); // logged on every delivery
    expectNoUrl(err.message, err.stack ?? '');
  });

  it('does not post, nor record anything, without settings/alerts or without webhookSecret', async () => {
    const a = alertWith();
    expect((await handleAlert(a, createAlertDeps())).chat).toBe('not-configured');
    await configure({});
    expect((await handleAlert(a, createAlertDeps())).chat).toBe('not-configured');
    expect(chat.received).toEqual([]);
    expect(await recorded(a.alertId)).toBe(false);
    expect(lines.map((l) => l.message)).toEqual(['ALERT Something broke', 'ALERT Something broke']);
  });

  it('still logs the alert, warns naming the field and does not post when settings/alerts is invalid', async () => {
    await configure({ webhookSecret: 'not a secret id!' });
    const a = alertWith({ severity: 'info' });
    await expect(deliver(a)).resolves.toBeUndefined();
    await configure({ webhookSecret: SECRET_ID, channel: '#ops' });
    await expect(deliver(a)).resolves.toBeUndefined();

    expect(chat.received).toEqual([]);
    expect(await recorded(a.alertId)).toBe(false);
    expect(lines.map((l) => [l.level, l.message, l.fields.field])).toEqual([
      ['info', 'ALERT Something broke', undefined],
      ['warn', 'alert not posted to chat: fix settings/alerts or its webhook secret', 'webhookSecret'],
      ['info', 'ALERT Something broke', undefined],
      ['warn', 'alert not posted to chat: fix settings/alerts or its webhook secret', 'channel'],
    ]);
    expect(String(lines[1]!.fields.error)).toContain("'webhookSecret'");
    expect(String(lines[3]!.fields.error)).toContain('channel');
  });

  it('warns without retrying, and without quoting the value, when the secret is missing or holds no URL', async () => {
    const a = alertWith();
    await configure({ webhookSecret: NOT_A_URL_SECRET_ID });
    await expect(deliver(a)).resolves.toBeUndefined();
    await configure({ webhookSecret: uniqueSecretId('chat-missing') });
    await expect(deliver(a)).resolves.toBeUndefined();

    const warnings = lines.filter((l) => l.level === 'warn');
    expect(warnings.map((l) => String(l.fields.error))).toEqual([
      expect.stringMatching(/^secret fireops-chat-not-url-[\w-]+ must hold an http\(s\) webhook URL/),
      expect.stringMatching(/^secret fireops-chat-missing-[\w-]+ version latest: .*not found/i),
    ]);
    expect(chat.received).toEqual([]);
    expectNoUrl();
  });

  it('posts only to origins CHAT_WEBHOOK_ORIGINS allows: a foreign URL in the secret is refused, unquoted, unposted', async () => {
    const a = alertWith();
    const foreign = uniqueSecretId('chat-foreign');
    await createTestSecret(foreign, [`https://collector.attacker.example/hook/${TOKEN}`], { alias: false });
    await configure({ webhookSecret: foreign });
    // What a production project sees (loopback sinks are a demo- project's only).
    const prod = createAlertDeps({ chat: new ChatWebhook({ projectId: 'bvester-prod' }) });
    await expect(deliver(a, prod)).resolves.toBeUndefined(); // permanent: warned, not retried
    const warning = lines.find((l) => l.level === 'warn' && String(l.fields.error).includes(foreign));
    expect(String(warning?.fields.error)).toContain('origin is not one CHAT_WEBHOOK_ORIGINS allows');
    expect(chat.received).toEqual([]);
    expectNoUrl();
    expect(
      chatOriginRefusal('https://hooks.slack.com/services/x', ['https://hooks.slack.com'], 'p'),
    ).toBeNull();
    expect(
      chatOriginRefusal('http://hooks.slack.com/services/x', ['https://hooks.slack.com'], 'p'),
    ).toContain('https only');
    expect(chatOriginRefusal('http://127.0.0.1:9/x', [], 'bvester-prod')).toContain('https only');
    expect(chatOriginRefusal('http://127.0.0.1:9/x', [], 'demo-fireops')).toBeNull();
  });

  it('keeps the URL out of network errors, timeouts and fetch messages that quote it', async () => {
    const a = alertWith();
    await configure({ webhookSecret: REFUSED_SECRET_ID });
    const refused = await thrown(deliver(a));
    expect(refused).toBeInstanceOf(TransientError);
    expect(refused.message).toMatch(
      /^chat webhook \(secret fireops-chat-refused-[\w-]+\) failed: fetch failed: connect ECONNREFUSED 127\.0\.0\.1:\d+$/,
    );

    await configure({ webhookSecret: SECRET_ID });
    chat.hang = true;
    const timedOut = await thrown(deliver(a, createAlertDeps({ chat: new ChatWebhook({ timeoutMs: 200 }) })));
    expect(timedOut).toBeInstanceOf(TransientError);
    expect(timedOut.message).toMatch(/^chat webhook \(secret fireops-chat-hook-[\w-]+\) failed: timed out$/);

    // undici quotes the URL when it cannot build the request ("...includes credentials: <url>"); a message quoting
    // only the path (the secret part) is scrubbed too, though the redactor knows only the whole value.
    const quoting = new ChatWebhook({
      fetchImpl: (url) => {
        const raw = url as string;
        return Promise.reject(new TypeError(`Failed to parse URL from ${raw} (${new URL(raw).pathname}/x)`));
      },
    });
    const quoted = await thrown(deliver(a, createAlertDeps({ chat: quoting })));
    expect(quoted).toBeInstanceOf(TransientError);
    expect(quoted.message).toContain('Failed to parse URL from [REDACTED] ([REDACTED]/x)');

    expect(chat.received).toEqual([]);
    expect(await recorded(a.alertId)).toBe(false);
    expectNoUrl(refused.message, timedOut.message, quoted.message, quoted.stack ?? '');
  });
});

describe('chat webhook: claims and retries', () => {
  it('posts once when deliveries of one alert race (the alert id is claimed before posting)', async () => {
    await configure({ webhookSecret: SECRET_ID });
    const a = alertWith();
    chat.delayMs = 500; // every delivery is in flight while the others check
    const outcomes = await Promise.all(
      Array.from({ length: 4 }, async () => (await handleAlert(a, createAlertDeps())).chat),
    );
    expect(outcomes.sort()).toEqual(['duplicate', 'duplicate', 'duplicate', 'posted']);
    expect(chat.received).toHaveLength(1);
    expect(await claimOf(a.alertId)).toMatchObject({ state: 'posted', attempts: 1, pending: false });
  });

  it('re-sends a failed post from the sweep once its backoff has passed, and a claim abandoned by a dead delivery', async () => {
    await configure({ webhookSecret: SECRET_ID });
    const clock = { t: Date.now(), nowMs: () => clock.t };
    const deps = () => createAlertDeps({ clock });
    const failed = alertWith({ title: 'failed first' });
    chat.script = [503];
    expect(await thrown(deliver(failed, deps()))).toBeInstanceOf(TransientError);
    expect(await claimOf(failed.alertId)).toMatchObject({
      state: 'failed',
      attempts: 1,
      pending: true,
      nextAttemptAtMs: clock.t + notifyBackoffMs(1),
      lastError: expect.stringMatching(/answered 503/),
    });
    // A delivery that claimed and died (no post, no mark): what a crash mid-post leaves.
    const abandoned = alertWith({ title: 'abandoned' });
    await db()
      .collection(PROCESSED_EVENTS)
      .doc(idempotencyDocId('cloudevent', notifyKey(abandoned.alertId)))
      .set({
        alertId: abandoned.alertId,
        alert: abandoned,
        state: 'claimed',
        pending: true,
        attempts: 1,
        claimedAtMs: clock.t,
      });

    // The Functions emulator's own notifyAlerts may leave claims of other alerts (the reserved flags that every
    // clear deletes and onFlagWritten restores, alerting): the sweep takes those too, so this judges its own two.
    const own = (r: Received) => /\*(failed first|abandoned)\*/.test((r.body as { text: string }).text);
    // Too early for both: nothing is sent.
    await sweepAlerts(deps());
    expect(await claimOf(failed.alertId)).toMatchObject({ state: 'failed', attempts: 1 });
    expect(await claimOf(abandoned.alertId)).toMatchObject({ state: 'claimed', attempts: 1 });
    expect(chat.received.filter(own)).toHaveLength(1);
    clock.t += Math.max(notifyBackoffMs(1), CLAIM_TIMEOUT_MS);
    const swept = await sweepAlerts(deps());
    expect(swept.retried).toBeGreaterThanOrEqual(2);
    expect(swept.posted).toBeGreaterThanOrEqual(2);
    const posts = chat.received
      .filter(own)
      .map((r) => [(r.body as { text: string }).text.split('\n')[0], r.answered]);
    expect(posts[0]).toEqual(['🔴 *failed first*', 503]);
    // The sweep takes them in document order (by alert id), so either may come first.
    expect(posts.slice(1).sort()).toEqual([
      ['🔴 *abandoned*', 200],
      ['🔴 *failed first*', 200],
    ]);
    expect(await claimOf(failed.alertId)).toMatchObject({ state: 'posted', attempts: 2, pending: false });
    expect(await claimOf(abandoned.alertId)).toMatchObject({ state: 'posted', attempts: 2 });
    // Nothing left to do; a late Pub/Sub redelivery does not post again.
    clock.t += 24 * 3_600_000;
    await sweepAlerts(deps());
    expect((await handleAlert(failed, deps())).chat).toBe('duplicate');
    expect(chat.received.filter(own)).toHaveLength(3);
  });

  it('gives up after the last attempt, logged and audited, and sends it no more', async () => {
    await configure({ webhookSecret: SECRET_ID });
    const clock = { t: Date.now(), nowMs: () => clock.t };
    const deps = () => createAlertDeps({ clock });
    const title = `gives up ${randomUUID()}`;
    const a = alertWith({ target: `flags/${randomUUID()}`, title });
    // Judged by its own claim and posts: the sweep may also take other alerts' claims (see above).
    const own = (r: Received) => (r.body as { text: string }).text.includes(title);
    chat.status = 500;
    await thrown(deliver(a, deps()));
    for (let k = 1; k < MAX_NOTIFY_ATTEMPTS; k += 1) {
      clock.t += notifyBackoffMs(k);
      expect((await sweepAlerts(deps())).failed).toBeGreaterThanOrEqual(1);
      expect(await claimOf(a.alertId)).toMatchObject({ attempts: k + 1 });
    }
    expect(chat.received.filter(own)).toHaveLength(MAX_NOTIFY_ATTEMPTS);
    expect(await claimOf(a.alertId)).toMatchObject({
      state: 'gave-up',
      pending: false,
      attempts: MAX_NOTIFY_ATTEMPTS,
    });
    expect(
      lines.filter(
        (l) =>
          l.level === 'error' && l.message.startsWith('alert given up') && l.fields.alertId === a.alertId,
      ),
    ).toHaveLength(1);
    const audit = await db()
      .collection('auditLog')
      .where('stream', '==', 'alerts')
      .where('target', '==', a.target)
      .get();
    expect(audit.docs.map((d) => d.get('action') as string)).toEqual(['alert.chat-gave-up']);
    clock.t += 24 * 3_600_000;
    chat.status = 200;
    await sweepAlerts(deps());
    expect((await handleAlert(a, deps())).chat).toBe('duplicate');
    expect(chat.received.filter(own)).toHaveLength(MAX_NOTIFY_ATTEMPTS);
  });
});

describe('a redelivery storm on the deployed trigger', () => {
  // Pub/Sub delivers at least once and outboxes re-publish what they cannot confirm, so one alert may arrive many
  // times at once, under new message ids. The deployed platform-notifyAlerts (Functions emulator, real Pub/Sub
  // emulator) must post it once. Last in the file: copies still queued when it ends cannot meet another test's
  // cleared claims.
  it(
    '12 copies of one alert published at once: one chat post, one claim',
    async () => {
      await configure({ webhookSecret: SECRET_ID });
      const a = alertWith({ title: 'storm' });
      chat.delayMs = 300; // the first post is in flight while the other copies arrive
      const topic = pubsubClient().topic(OPS_ALERTS_TOPIC);
      // The deployed function caches settings/alerts for a minute per instance (ALERT_SETTINGS_CACHE_MS), and
      // other files' alerts have warmed it with another configuration: first wait until it posts with this one.
      let published = 0;
      await waitFor(
        async () => {
          if (chat.received.some((r) => JSON.stringify(r.body).includes('settings probe'))) return true;
          if (published++ % 10 === 0)
            await topic.publishMessage({ json: alertWith({ title: 'settings probe' }) });
          return false;
        },
        {
          timeoutMs: 150_000,
          intervalMs: 1_000,
          what: 'the deployed function to post with this configuration',
        },
      );
      const ids = await Promise.all(Array.from({ length: 12 }, () => topic.publishMessage({ json: a })));
      expect(new Set(ids).size).toBe(12); // 12 distinct messages, one alert
      // The Functions emulator runs the copies on a loaded 2-core machine: generous, scaled deadlines.
      await waitFor(async () => (await claimOf(a.alertId))?.state === 'posted', {
        timeoutMs: 150_000,
        what: 'the deployed platform-notifyAlerts to post the alert',
      });
      // The copies still arriving find the claim. A sentinel published after them is posted once they were all
      // taken (one subscription, delivered in order in the emulator); a later copy would find the claim too.
      await topic.publishMessage({ json: alertWith({ title: 'sentinel' }) });
      await waitFor(() => chat.received.some((r) => JSON.stringify(r.body).includes('sentinel')), {
        timeoutMs: 150_000,
        what: 'the sentinel after the storm',
      });
      await new Promise((r) => setTimeout(r, scaled(5_000)));
      const posts = chat.received.filter((r) => JSON.stringify(r.body).includes('storm'));
      expect(posts).toHaveLength(1);
      expect(await claimOf(a.alertId)).toMatchObject({ state: 'posted', attempts: 1 });
    },
    scaled(320_000),
  );
});
