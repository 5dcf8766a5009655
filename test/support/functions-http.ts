// Calling an HTTP function of the Functions emulator from a test, tolerating the emulator's own failures on a
// slow machine (issue 16.6): a worker that did not load in time ("Failed to load function." in the emulator's
// log) leaves the request unanswered or drops the connection, and the emulator can also answer with that text.
// None of these is the function's answer: the function never ran, so the call is sent again until its deadline.
import { scaled } from './time-factor';

const EMULATOR_LOAD_FAILURE = /Failed to (load|start) function/i;

export interface CallOptions {
  /** How long one attempt may take on a quiet machine before it counts as unanswered (scaled). */
  attemptMs?: number;
  /** How long all attempts together may take on a quiet machine (scaled). */
  totalMs?: number;
}

/**
 * `fetch`, retried while the Functions emulator fails to hand the request to a function: connection refused,
 * reset or closed without an answer, no answer within `attemptMs`, or an answer that is the emulator's
 * "Failed to load function". Any answer of the function itself (including 4xx/5xx) is returned as is, with its
 * body already read into `text`.
 */
export async function callFunction(
  url: string,
  init: RequestInit = {},
  { attemptMs = 30_000, totalMs = 90_000 }: CallOptions = {},
): Promise<{ status: number; text: string; headers: Headers; attempts: number }> {
  const deadline = Date.now() + scaled(totalMs);
  let attempts = 0;
  let lastFailure = '';
  while (Date.now() < deadline) {
    attempts++;
    const budget = Math.max(1, Math.min(scaled(attemptMs), deadline - Date.now()));
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(budget) });
      const text = await res.text();
      if (res.status >= 500 && EMULATOR_LOAD_FAILURE.test(text)) {
        lastFailure = `${res.status} ${text.slice(0, 200)}`;
      } else {
        return { status: res.status, text, headers: res.headers, attempts };
      }
    } catch (err) {
      // undici: TypeError('fetch failed') with the socket error as cause; AbortSignal.timeout: TimeoutError.
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      lastFailure = `${(err as Error).name}: ${cause?.code ?? cause?.message ?? (err as Error).message}`;
    }
    await new Promise((r) => setTimeout(r, Math.min(500 * attempts, 3_000)));
  }
  throw new Error(`no answer from the function at ${url} after ${attempts} attempts (last: ${lastFailure})`);
}
