// What every outbound call to an admin-chosen or deploy-listed URL shares (issue 13): the origin allowlist match
// and a response read that stops at a size cap. Pure but for reading the response stream; no module state.

/**
 * Whether `url`'s origin is in `origins` (`scheme://host[:port]`, or `scheme://host:*` for any port of that scheme
 * and host). Exact match otherwise: no wildcard hosts, no path prefixes.
 */
export function originListed(url: URL, origins: readonly string[]): boolean {
  return origins.some((o) =>
    o.endsWith(':*') ? `${url.protocol}//${url.hostname}` === o.slice(0, -2) : o === url.origin,
  );
}

/**
 * Reads at most `max` bytes of a response body, then cancels the stream: `truncated` says the body was longer
 * (its text is then empty: a caller refusing an oversized answer never holds part of it).
 */
export async function readCapped(res: Response, max: number): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: '', truncated: false };
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return { text: '', truncated: true };
    }
    chunks.push(value);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
}
