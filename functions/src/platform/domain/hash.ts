// FNV-1a (32 bit) over a string's UTF-8 bytes: a stable, fast, non-cryptographic hash for spreading keys over
// shards (audit stream shards, health check buckets). Not for anything an attacker must not steer.
export function fnv1a(key: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
