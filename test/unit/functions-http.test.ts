import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { callFunction } from '../support/functions-http';
import { scaled, timeFactor } from '../support/time-factor';

// A real HTTP server playing the Functions emulator on a slow machine: the answers are scripted per request.
let server: Server | undefined;
async function emulator(script: ((res: import('node:http').ServerResponse) => void)[]) {
  let n = 0;
  server = createServer((req, res) => {
    req.resume();
    const step = script[Math.min(n++, script.length - 1)]!;
    step(res);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fn`, count: () => n };
}
afterEach(async () => {
  const s = server;
  server = undefined;
  if (!s) return;
  s.closeAllConnections();
  await new Promise((r) => s.close(r));
});

const drop = (res: import('node:http').ServerResponse) => res.socket?.destroy();
const failedToLoad = (res: import('node:http').ServerResponse) =>
  res.writeHead(500).end('Failed to load function.');
const accepted = (res: import('node:http').ServerResponse) => res.writeHead(202).end('{"ok":true}');

describe('callFunction (issue 16.6)', () => {
  it('sends again when the emulator drops the connection or fails to load the function', async () => {
    const e = await emulator([drop, failedToLoad, accepted]);
    const res = await callFunction(e.url, { method: 'POST', body: '{}' });
    expect(res).toMatchObject({ status: 202, text: '{"ok":true}', attempts: 3 });
    expect(e.count()).toBe(3);
  });

  it('sends again when a request is left unanswered past the attempt deadline', async () => {
    const e = await emulator([() => undefined, accepted]);
    const res = await callFunction(e.url, {}, { attemptMs: 200 / timeFactor(), totalMs: 10_000 });
    expect(res).toMatchObject({ status: 202, attempts: 2 });
  });

  it("returns the function's own error answers as they are", async () => {
    const e = await emulator([(res) => res.writeHead(503).end('{"error":"transient"}')]);
    const res = await callFunction(e.url);
    expect(res).toMatchObject({ status: 503, attempts: 1 });
  });

  it('gives up at the total deadline with the last failure', async () => {
    const e = await emulator([failedToLoad]);
    await expect(callFunction(e.url, {}, { attemptMs: 100, totalMs: 1_000 / timeFactor() })).rejects.toThrow(
      /no answer .* attempts \(last: 500 Failed to load function/,
    );
  });
});

describe('time factor', () => {
  it('is explicit, else generous under CI, else 2', () => {
    expect(timeFactor({ FIREOPS_TEST_TIME_FACTOR: '5', CI: 'true' })).toBe(5);
    expect(timeFactor({ FIREOPS_TEST_TIME_FACTOR: 'nonsense', CI: 'true' })).toBe(4);
    expect(timeFactor({ CI: 'true' })).toBe(4);
    expect(timeFactor({})).toBe(2);
    expect(scaled(15_000, { FIREOPS_TEST_TIME_FACTOR: '3' })).toBe(45_000);
  });
});
