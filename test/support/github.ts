// Playing GitHub in tests: real payloads from @octokit/webhooks-examples, signed with HMAC-SHA256 as GitHub does.
import { createHmac, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { secretManager, secretName } from '../../functions/src/platform/secret-manager';
import { db } from '../../functions/src/platform/firestore';
import { FUNCTIONS_URL, PROJECT_ID } from './emulators';
import { callFunction } from './functions-http';

const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples/api.github.com/index.json') as {
  name: string;
  examples: Record<string, any>[];
}[];

/** The first example of `event` (with `action` when given) from GitHub's own examples. */
export function example(
  event: string,
  pick: (p: Record<string, any>) => boolean = () => true,
): Record<string, any> {
  const found = examples.find((e) => e.name === event)?.examples.find(pick);
  if (!found) throw new Error(`no example for ${event}`);
  return structuredClone(found);
}

export const sign = (secret: string, body: string | Buffer) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

export interface Delivery {
  event: string;
  payload?: unknown;
  body?: string;
  guid?: string;
  secret?: string;
  headers?: Record<string, string | undefined>;
  method?: string;
}

export async function deliver(d: Delivery): Promise<{ status: number; body: any; guid: string }> {
  const guid = d.guid ?? randomUUID();
  const body = d.body ?? JSON.stringify(d.payload);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': d.event,
    'x-github-delivery': guid,
    'x-hub-signature-256': sign(d.secret ?? WEBHOOK_SECRET_V1, body),
    'user-agent': 'GitHub-Hookshot/test',
  };
  for (const [k, v] of Object.entries(d.headers ?? {})) {
    if (v === undefined) delete headers[k];
    else headers[k] = v;
  }
  const method = d.method ?? 'POST';
  // Retried while the Functions emulator fails to load githubWebhook (issue 16.6); a delivery is idempotent by guid.
  const res = await callFunction(`${FUNCTIONS_URL}/webhooks-githubWebhook`, {
    method,
    headers,
    ...(method === 'GET' || method === 'HEAD' ? {} : { body }),
  });
  const { text } = res;
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* keep text */
  }
  return { status: res.status, body: parsed, guid };
}

export const WEBHOOK_SECRET_ID = 'github-webhook-secret';
export const WEBHOOK_SECRET_V1 = 'test-webhook-secret-version-one';

/**
 * Puts the webhook secret in the Secret Manager emulator in a known state: one version per value given, alias
 * `current` on the first value's version. Returns the version numbers by value.
 */
export async function resetWebhookSecret(
  values: string[] = [WEBHOOK_SECRET_V1],
): Promise<Map<string, number>> {
  const client = secretManager();
  const name = secretName(WEBHOOK_SECRET_ID);
  await client.deleteSecret({ name }).catch(() => undefined);
  await client.createSecret({
    parent: `projects/${PROJECT_ID}`,
    secretId: WEBHOOK_SECRET_ID,
    secret: { replication: { automatic: {} } },
  });
  const versions = new Map<string, number>();
  for (const v of values) {
    const [version] = await client.addSecretVersion({ parent: name, payload: { data: Buffer.from(v) } });
    versions.set(v, Number(version.name!.split('/').pop()));
  }
  await client.updateSecret({
    secret: { name, versionAliases: { current: versions.get(values[0]!)! } },
    updateMask: { paths: ['version_aliases'] },
  });
  return versions;
}

export const HELLO_WORLD = 'Codertocat/Hello-World';
export const OCTOCODERS = 'Octocoders/Hello-World';
export const OCTO_ORG = 'octo-org/octo-repo';

export async function writeGithubSettings(settings: Record<string, unknown> = {}) {
  await db()
    .doc('settings/github')
    .set({ allowedRepos: [HELLO_WORLD, OCTOCODERS, OCTO_ORG], environments: ['production'], ...settings });
}

export const GITHUB_TOKEN_SECRET = 'github-token';

/** (Re)creates the GitHub token secret the Octokit adapter reads, with one version holding `value`. */
export async function createGithubToken(value = 'ghp_test_token_value_0001'): Promise<void> {
  const client = secretManager();
  await client.deleteSecret({ name: secretName(GITHUB_TOKEN_SECRET) }).catch(() => undefined);
  await client.createSecret({
    parent: `projects/${PROJECT_ID}`,
    secretId: GITHUB_TOKEN_SECRET,
    secret: { replication: { automatic: {} } },
  });
  await client.addSecretVersion({
    parent: secretName(GITHUB_TOKEN_SECRET),
    payload: { data: Buffer.from(value) },
  });
}
