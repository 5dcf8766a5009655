import { afterAll, beforeAll } from 'vitest';
// Shared helpers for tests that run against the emulator suite (under `npm test`).
import type { PubSub, Subscription } from '@google-cloud/pubsub';
import { fnRequire } from './functions-require';
import { scaled } from './time-factor';
import { firestoreRest } from '../../emulators/firestore-rest.mjs';

export const PROJECT_ID = process.env.GCLOUD_PROJECT ?? 'demo-fireops';
export const REGION = 'europe-west1';
export const FUNCTIONS_URL = `${process.env.FIREOPS_FUNCTIONS_URL ?? 'http://127.0.0.1:5001'}/${PROJECT_ID}/${REGION}`;
/** Firebase Hosting's emulator (the status page, rewritten to health-statusPage; firebase.json `hosting`). */
export const HOSTING_URL = process.env.FIREOPS_HOSTING_URL ?? 'http://127.0.0.1:5002';

/** The console-like REST client (Authorization: Bearer owner). */
export const rest = firestoreRest({ project: PROJECT_ID });

/**
 * Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs` scaled by the
 * time factor (test/support/time-factor.ts: FIREOPS_TEST_TIME_FACTOR, generous under CI). `timeoutMs` is what the
 * condition may take on a quiet machine; a slow, loaded one gets proportionally longer (issue 16.6).
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs: quietMs = 15_000, intervalMs = 100, what = 'condition' } = {},
): Promise<T> {
  const timeoutMs = scaled(quietMs);
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

let pubsub: PubSub | undefined;
export function pubsubClient(): PubSub {
  const { PubSub: Client } = fnRequire('@google-cloud/pubsub') as typeof import('@google-cloud/pubsub');
  return (pubsub ??= new Client({ projectId: PROJECT_ID }));
}

/** A fresh subscription on `topic` (created if absent) collecting JSON messages. */
export async function collectTopic(topic: string) {
  const client = pubsubClient();
  const t = client.topic(topic);
  const [exists] = await t.exists();
  if (!exists) await t.create().catch(() => undefined);
  const name = `test-${topic}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const [sub]: [Subscription, unknown] = await t.createSubscription(name);
  const messages: { data: any; attributes: Record<string, string> }[] = [];
  sub.on('message', (m) => {
    messages.push({ data: JSON.parse(m.data.toString('utf8')), attributes: m.attributes });
    m.ack();
  });
  return {
    messages,
    async close() {
      sub.removeAllListeners('message');
      await sub.close();
      await sub.delete().catch(() => undefined);
    },
  };
}

/**
 * Collects `ops-alerts` for the whole test file (subscribed in beforeAll, closed in afterAll): `alerts.messages`
 * holds every alert published while the file runs.
 */
export function collectAlertsForFile(): { messages: { data: any; attributes: Record<string, string> }[] } {
  const box: { messages: { data: any; attributes: Record<string, string> }[] } = { messages: [] };
  let collector: Awaited<ReturnType<typeof collectTopic>> | undefined;
  beforeAll(async () => {
    collector = await collectTopic('ops-alerts');
    box.messages = collector.messages;
  });
  afterAll(async () => {
    await collector?.close();
  });
  return box;
}
