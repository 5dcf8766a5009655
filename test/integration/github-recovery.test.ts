// redeliverFailedWebhooks and the GitHub adapter against the GitHub stand-in (emulators/github/), which redelivers
// to the real githubWebhook in the Functions emulator, signed with the hook's secret.
import { randomUUID } from 'node:crypto';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { db } from '../../functions/src/platform/firestore';
import { OctokitGithubApi, clampDescription } from '../../functions/src/platform/github-api';
import { handleRedeliverFailedWebhooks } from '../../functions/src/webhooks/redeliver';
import { FUNCTIONS_URL, collectAlertsForFile, rest, waitFor } from '../support/emulators';
import {
  GITHUB_TOKEN_SECRET,
  WEBHOOK_SECRET_V1,
  createGithubToken,
  example,
  resetWebhookSecret,
  writeGithubSettings,
} from '../support/github';

const github = process.env.GITHUB_API_URL!;
const alerts = collectAlertsForFile();

async function control(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${github}/_stand-in${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  const parsed: any = text ? JSON.parse(text) : {};
  return parsed;
}

let hookId: number;
const api = new OctokitGithubApi(GITHUB_TOKEN_SECRET);
const [owner, repo] = ['Codertocat', 'Hello-World'];

beforeAll(async () => {
  expect(github).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  await resetWebhookSecret();
  await createGithubToken();
});

beforeEach(async () => {
  await rest.clear();
  await control('POST', '/reset');
  hookId = (
    await control('POST', '/hooks', {
      owner,
      repo,
      url: `${FUNCTIONS_URL}/webhooks-githubWebhook`,
      secret: WEBHOOK_SECRET_V1,
    })
  ).id;
  await writeGithubSettings({ hooks: [{ owner, repo, hookId }] });
});

async function failedDelivery(guid = randomUUID()) {
  const payload = example('push', (p) => p.ref === 'refs/heads/master');
  await control('POST', `/hooks/${hookId}/deliveries`, {
    event: 'push',
    guid,
    status_code: 502,
    status: 'Invalid HTTP Response: 502',
    payload,
  });
  return guid;
}

const run = (scheduleTime: string, maxPerRun = 50) =>
  handleRedeliverFailedWebhooks(
    { jobName: 'projects/demo/locations/x/jobs/redeliver', scheduleTime },
    { api, clock: { nowMs: () => Date.now() }, maxPerRun },
  );

describe('redeliverFailedWebhooks', () => {
  it('redelivers each failed, unprocessed delivery once; a second run does nothing', async () => {
    const failed = [await failedDelivery(), await failedDelivery(), await failedDelivery()];
    // A delivery that failed at GitHub's end but that fireops did record needs nothing.
    const recorded = (
      await control('POST', `/hooks/${hookId}/deliver`, { event: 'push', payload: example('push') })
    ).guid as string;
    await control('POST', `/hooks/${hookId}/deliveries`, {
      event: 'push',
      guid: recorded,
      status_code: 504,
      status: 'timed out',
      payload: example('push'),
    });

    const first = await run('2026-11-28T10:00:00Z');
    expect(first.ran).toBe(true);
    expect([...first.requested].sort()).toEqual([...failed].sort());
    for (const guid of failed) {
      await waitFor(async () => (await db().collection('deliveries').doc(guid).get()).exists, {
        what: `delivery ${guid}`,
      });
    }
    const second = await run('2026-11-28T11:00:00Z');
    expect(second).toMatchObject({ ran: true, requested: [] });
    expect(second.skipped).toMatchObject({ delivered: 4 });

    const audit = await db()
      .collection('auditLog')
      .where('action', '==', 'delivery.redelivery-requested')
      .get();
    expect(audit.size).toBe(3);
    const requests = (await control('GET', '/requests')) as { method: string; path: string }[];
    expect(requests.filter((r) => r.method === 'POST' && r.path.endsWith('/attempts'))).toHaveLength(3);
    expect(JSON.stringify(requests)).not.toContain('ghp_test_token_value_0001');
  });

  it('is bounded per run, oldest first, and a repeated schedule time runs once', async () => {
    const failed = [await failedDelivery(), await failedDelivery(), await failedDelivery()];
    const first = await run('2026-11-28T12:00:00Z', 2);
    expect(first.requested).toHaveLength(2);
    expect(first.skipped).toMatchObject({ overLimit: 1 });
    expect(await run('2026-11-28T12:00:00Z', 2)).toMatchObject({
      ran: false,
      reason: 'duplicate schedule time',
    });
    for (const guid of first.requested) {
      await waitFor(async () => (await db().collection('deliveries').doc(guid).get()).exists, {
        what: 'redelivered',
      });
    }
    const next = await run('2026-11-28T13:00:00Z', 2);
    expect(next.requested).toEqual(failed.filter((g) => !first.requested.includes(g)));
  });

  it('two overlapping runs: one works, the other yields', async () => {
    await failedDelivery();
    const [a, b] = await Promise.all([run('2026-11-28T14:00:00Z'), run('2026-11-28T14:00:00Z')]);
    expect([a.ran, b.ran].sort()).toEqual([false, true]);
    expect([...a.requested, ...b.requested]).toHaveLength(1);
  });

  it('gives up on a delivery after 3 redeliveries that keep failing', async () => {
    const guid = await failedDelivery();
    // Point the hook at an address where nothing answers: each redelivery fails again.
    await db()
      .doc('settings/github')
      .update({ hooks: [{ owner, repo, hookId }] });
    await fetch(`${github}/repos/${owner}/${repo}/hooks/${hookId}/config`, {
      method: 'PATCH',
      headers: { authorization: 'token t', 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'http://127.0.0.1:9/unreachable' }),
    });
    for (let i = 0; i < 3; i++) expect((await run(`2026-11-28T2${i}:00:00Z`)).requested).toEqual([guid]);
    expect(await run('2026-11-28T23:00:00Z')).toMatchObject({
      requested: [],
      skipped: { gaveUp: 1 },
      gaveUp: [guid],
    });
    // Giving up is never silent: one warning alert (through the key's outbox) and one audit entry, once.
    expect(await run('2026-11-28T23:30:00Z')).toMatchObject({ skipped: { gaveUp: 1 }, gaveUp: [] });
    const audit = await db()
      .collection('auditLog')
      .where('action', '==', 'delivery.redelivery-gave-up')
      .where('target', '==', `deliveries/${guid}`)
      .get();
    expect(audit.size).toBe(1);
    const mine = () => alerts.messages.filter((m) => m.data?.alertId === `delivery-gave-up:${guid}`);
    await waitFor(() => mine().length > 0, { what: 'the delivery.gave-up alert' });
    await new Promise((r) => setTimeout(r, 1000)); // a second one, if any, would have arrived by now
    expect(mine()).toHaveLength(1);
    expect(mine()[0]!.data).toMatchObject({ kind: 'delivery.gave-up', severity: 'warning' });
  });
});

describe('GitHub adapter: deployment statuses', () => {
  it('writes statuses through Octokit, clamping descriptions to 140 characters', async () => {
    const { id } = await control('POST', '/deployments', {
      owner,
      repo,
      environment: 'production',
      sha: 'a'.repeat(40),
      ref: 'main',
    });
    await api.createDeploymentStatus({
      owner,
      repo,
      deploymentId: id,
      state: 'in_progress',
      description: 'canary at 25%',
    });
    await api.createDeploymentStatus({
      owner,
      repo,
      deploymentId: id,
      state: 'failure',
      description: `rolled back: ${'error rate 12% above threshold; '.repeat(10)}`,
      logUrl: 'https://console.example/rollouts/1',
    });
    const res = await fetch(`${github}/repos/${owner}/${repo}/deployments/${id}/statuses`, {
      headers: { authorization: 'token t' },
    });
    const statuses = (await res.json()) as { state: string; description: string; log_url: string }[];
    expect(statuses.map((s) => s.state)).toEqual(['failure', 'in_progress']);
    expect(statuses[0]!.description).toHaveLength(140);
    expect(statuses[0]!.description.endsWith('…')).toBe(true);
    expect(statuses[0]!.log_url).toBe('https://console.example/rollouts/1');
    expect(clampDescription('short')).toBe('short');
  });

  it('maps an unknown deployment (404) to a permanent error', async () => {
    await expect(
      api.createDeploymentStatus({ owner, repo, deploymentId: 424242, state: 'success', description: 'x' }),
    ).rejects.toMatchObject({ name: 'ValidationError' });
  });

  const secondaryLimit = (times: number) =>
    control('POST', '/faults', {
      method: 'POST',
      path: `/repos/${owner}/${repo}/deployments/`,
      status: 403,
      headers: { 'retry-after': '2' },
      body: {
        message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
      },
      times,
    });

  it('waits out a secondary rate limit (403 with retry-after) once, then writes the status', async () => {
    const fast = new OctokitGithubApi(GITHUB_TOKEN_SECRET, { retryAfterBaseMs: 50 }); // 2 s of retry-after: 100 ms
    const { id } = await control('POST', '/deployments', {
      owner,
      repo,
      environment: 'production',
      sha: 'b'.repeat(40),
      ref: 'main',
    });
    await secondaryLimit(1);
    await fast.createDeploymentStatus({
      owner,
      repo,
      deploymentId: id,
      state: 'in_progress',
      description: 'x',
    });
    const requests = (await control('GET', '/requests')) as {
      method: string;
      path: string;
      status?: number;
    }[];
    const posts = requests.filter(
      (r) => r.method === 'POST' && r.path.endsWith(`/deployments/${id}/statuses`),
    );
    expect(posts).toHaveLength(2); // refused once, then written
  });

  const deployment = async (sha: string) =>
    (
      (await control('POST', '/deployments', {
        owner,
        repo,
        environment: 'production',
        sha: sha.repeat(40),
        ref: 'main',
      })) as { id: number }
    ).id;

  const writeStatus = (client: OctokitGithubApi, id: number) =>
    client.createDeploymentStatus({ owner, repo, deploymentId: id, state: 'success', description: 'x' });

  it('gives up on a hung GitHub within its per-request deadline (3 attempts), as a transient error', async () => {
    const id = await deployment('d');
    // Each attempt would wait 60 s: without a deadline the call outlives this test's timeout.
    await control('POST', '/faults', {
      method: 'POST',
      path: `/repos/${owner}/${repo}/deployments/`,
      status: 201,
      delayMs: 60_000,
      times: 3,
    });
    const hurried = new OctokitGithubApi(GITHUB_TOKEN_SECRET, { timeoutMs: 300 });
    await expect(writeStatus(hurried, id)).rejects.toMatchObject({
      name: 'TransientError',
      message: expect.stringContaining('no complete answer within 300 ms (timed out)'),
    });
    await control('DELETE', '/faults');
  }, 30_000);

  it('refuses an answer over its size cap without buffering it, as a transient error', async () => {
    const id = await deployment('e');
    await control('POST', '/faults', {
      method: 'POST',
      path: `/repos/${owner}/${repo}/deployments/`,
      status: 201,
      body: { id: 1, padding: 'x'.repeat(8192) },
      times: 3,
    });
    const capped = new OctokitGithubApi(GITHUB_TOKEN_SECRET, { maxResponseBytes: 4096 });
    await expect(writeStatus(capped, id)).rejects.toMatchObject({
      name: 'TransientError',
      message: expect.stringContaining('answer larger than 4096 bytes, not read'),
    });
    // Within the cap, the same client writes the status.
    await expect(writeStatus(capped, id)).resolves.toMatchObject({ id: expect.any(Number) });
  }, 30_000);

  it('a secondary rate limit that lasts is transient (retried later), never a permanent refusal', async () => {
    const fast = new OctokitGithubApi(GITHUB_TOKEN_SECRET, { retryAfterBaseMs: 50 });
    const { id } = await control('POST', '/deployments', {
      owner,
      repo,
      environment: 'production',
      sha: 'c'.repeat(40),
      ref: 'main',
    });
    await secondaryLimit(5);
    await expect(
      fast.createDeploymentStatus({ owner, repo, deploymentId: id, state: 'success', description: 'x' }),
    ).rejects.toMatchObject({
      name: 'TransientError',
      message: expect.stringContaining('rate limited (403)'),
    });
  });
});
