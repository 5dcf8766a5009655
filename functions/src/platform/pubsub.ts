// Pub/Sub publishing, client constructed on first use. Honours PUBSUB_EMULATOR_HOST (the client does).
import type { PubSub } from '@google-cloud/pubsub';
import { TransientError } from './domain/errors';
import { projectId } from './firestore';

let client: PubSub | undefined;

function pubsub(): PubSub {
  if (!client) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose (cold start)
    const { PubSub: Client } = require('@google-cloud/pubsub') as typeof import('@google-cloud/pubsub');
    client = new Client({ projectId: projectId() });
  }
  return client;
}

export interface Publish {
  topic: string;
  data: unknown;
  attributes?: Record<string, string>;
}

const NOT_FOUND = 5;

/** Publishes JSON; returns the message id. Failures are transient (the caller's trigger retries). */
export async function publishJson({ topic, data, attributes = {} }: Publish): Promise<string> {
  const t = pubsub().topic(topic);
  try {
    return await t.publishMessage({ json: data, attributes });
  } catch (err) {
    // Deployed topics are created by the deploy (a function subscribes to each); the emulator only creates
    // topics that a loaded function listens on, so a local run creates the rest on first use.
    if ((err as { code?: number }).code === NOT_FOUND && process.env.PUBSUB_EMULATOR_HOST) {
      await t.create().catch((e: { code?: number }) => {
        if (e.code !== 6) throw e; // ALREADY_EXISTS: another publisher won the race
      });
      return t.publishMessage({ json: data, attributes });
    }
    throw new TransientError(`publish to ${topic} failed: ${(err as Error).message}`, { cause: err });
  }
}

/** A Pub/Sub message's JSON body, or undefined when it is not JSON (the caller's schema then refuses it clearly). */
export function messageJson(message: { json: unknown }): unknown {
  try {
    return message.json; // a getter that throws on a body that is not JSON
  } catch {
    return undefined;
  }
}
