// IP address parsing, CIDR matching and classification for the health prober's SSRF guard
// (health/probe.ts). Pure and hand-written (no node:net) so it runs, and is tested, anywhere.
//
// An address is 4 or 16 bytes. IPv4-mapped IPv6 (`::ffff:127.0.0.1`, `::ffff:7f00:1`) is classified, and matched
// against CIDR blocks, as the IPv4 address it carries: the kernel connects to that IPv4 address, so a guard that
// saw "an IPv6 address outside fc00::/7" would let loopback through. NAT64 (64:ff9b::/96) and 6to4 (2002::/16)
// addresses are classified by the IPv4 address they embed, for the same reason.

export interface IpAddress {
  version: 4 | 6;
  /** 4 bytes for IPv4, 16 for IPv6. */
  bytes: readonly number[];
}

export interface Cidr extends IpAddress {
  /** Leading bits that must match: 0..32 for IPv4, 0..128 for IPv6. */
  prefix: number;
}

export type AddressKind =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'cgnat'
  | 'unspecified'
  | 'multicast'
  | 'metadata'
  | 'reserved';

export interface Classification {
  kind: AddressKind;
  /** The block that decided it (`127.0.0.0/8`); absent for public addresses. */
  range?: string;
}

const DECIMAL_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

function parseIpv4Bytes(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const part of parts) {
    // Leading zeros are refused: `010` is octal to inet_aton and decimal to others, an ambiguity worth none.
    if (!DECIMAL_OCTET.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    bytes.push(n);
  }
  return bytes;
}

function parseGroups(text: string): number[] | undefined {
  if (text === '') return [];
  const groups: number[] = [];
  for (const group of text.split(':')) {
    if (!HEX_GROUP.test(group)) return undefined;
    groups.push(parseInt(group, 16));
  }
  return groups;
}

function parseIpv6Bytes(input: string): number[] | undefined {
  // A zone (`fe80::1%eth0`) names an interface, not part of the address.
  const zone = input.indexOf('%');
  let text = zone >= 0 ? input.slice(0, zone) : input;
  if (zone === 0 || text.length === 0) return undefined;
  // A trailing dotted quad stands for the last two groups.
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    const v4 = parseIpv4Bytes(text.slice(lastColon + 1));
    if (!v4 || lastColon < 0) return undefined;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    text = text.slice(0, lastColon + 1);
    // `::1.2.3.4` leaves `::`; `1::2:1.2.3.4` leaves `1::2:` whose trailing ':' separated the quad.
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0]!);
  const rest = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !rest) return undefined;
  const explicit = head.length + rest.length + tail.length;
  let groups: number[];
  if (halves.length === 2) {
    if (explicit > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - explicit).fill(0), ...rest, ...tail];
  } else {
    if (explicit !== 8) return undefined;
    groups = [...head, ...tail];
  }
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

/** Parses an IPv4 (dotted decimal) or IPv6 address (RFC 4291 text forms, optional `%zone`); undefined if neither. */
export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(':')) {
    const bytes = parseIpv6Bytes(text);
    return bytes && { version: 6, bytes };
  }
  const bytes = parseIpv4Bytes(text);
  return bytes && { version: 4, bytes };
}

/** `10.0.0.0/8`, `fd00::/8`, or a bare address (a block of one). Host bits need not be zero. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip || (slash >= 0 && ip.version === 6 && text.slice(0, slash).includes('%'))) return undefined;
  const max = ip.version === 4 ? 32 : 128;
  if (slash < 0) return { ...ip, prefix: max };
  const bits = text.slice(slash + 1);
  if (!/^(?:0|[1-9][0-9]{0,2})$/.test(bits) || Number(bits) > max) return undefined;
  return { ...ip, prefix: Number(bits) };
}

function isMapped(ip: IpAddress): boolean {
  return (
    ip.version === 6 &&
    ip.bytes.slice(0, 10).every((b) => b === 0) &&
    ip.bytes[10] === 0xff &&
    ip.bytes[11] === 0xff
  );
}

/** The IPv4 address an IPv4-mapped IPv6 address carries; any other address unchanged. */
export function unmapIp(ip: IpAddress): IpAddress {
  return isMapped(ip) ? { version: 4, bytes: ip.bytes.slice(12) } : ip;
}

function prefixMatches(block: Cidr, ip: IpAddress): boolean {
  if (block.version !== ip.version) return false;
  let bits = block.prefix;
  for (let i = 0; bits > 0; i += 1, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((block.bytes[i] ?? 0) & mask) !== ((ip.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** Whether the block holds the address; an IPv4-mapped address also matches IPv4 blocks holding its IPv4 form. */
export function cidrContains(block: Cidr, ip: IpAddress): boolean {
  return prefixMatches(block, ip) || prefixMatches(block, unmapIp(ip));
}

/** Whether every address of `inner` lies in `outer` (same family; a block of one is an address). */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return outer.prefix <= inner.prefix && prefixMatches(outer, inner);
}

/**
 * The entries of an allow list (host names, addresses, CIDR blocks) that `ceiling` does not cover: a host name
 * must be listed by name (case-insensitive, trailing dot ignored), an address or block must lie inside a block or
 * address of the ceiling. An admin-edited list may only narrow what the deploy-time ceiling allows.
 */
export function allowEntriesOutside(entries: readonly string[], ceiling: readonly string[]): string[] {
  const host = (h: string) => h.trim().toLowerCase().replace(/\.$/, '');
  const blocks = ceiling.map((c) => parseCidr(c.trim())).filter((b): b is Cidr => b !== undefined);
  const hosts = new Set(ceiling.filter((c) => !parseCidr(c.trim())).map(host));
  return entries.filter((entry) => {
    const block = parseCidr(entry);
    return block ? !blocks.some((outer) => cidrWithin(block, outer)) : !hosts.has(host(entry));
  });
}

/** Text for messages: dotted IPv4, uncompressed lower-case IPv6. */
export function formatIp(ip: IpAddress): string {
  if (ip.version === 4) return ip.bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2)
    groups.push((((ip.bytes[i] ?? 0) << 8) | (ip.bytes[i + 1] ?? 0)).toString(16));
  return groups.join(':');
}

// Order matters: the first block that holds an address decides (169.254.169.254 before 169.254.0.0/16).
const V4_BLOCKS: ReadonlyArray<readonly [string, AddressKind]> = [
  ['0.0.0.0/8', 'unspecified'], // "this network"; 0.0.0.0 reaches the local host on Linux
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'cgnat'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.169.254/32', 'metadata'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'], // IETF protocol assignments
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'reserved'], // benchmarking, used as internal space in some networks
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'], // includes 255.255.255.255
];

const V6_BLOCKS: ReadonlyArray<readonly [string, AddressKind]> = [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['::/96', 'reserved'], // deprecated IPv4-compatible addresses
  ['100::/64', 'reserved'], // discard-only
  ['64:ff9b:1::/48', 'private'], // local-use NAT64
  ['fd00:ec2::254/128', 'metadata'], // AWS instance metadata over IPv6
  ['fd20:ce::254/128', 'metadata'], // GCP metadata server over IPv6 (before fc00::/7 classes it merely private)
  ['fc00::/7', 'private'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'private'], // deprecated site-local
  ['ff00::/8', 'multicast'],
];

const parseBlocks = (blocks: ReadonlyArray<readonly [string, AddressKind]>) =>
  blocks.map(([text, kind]) => ({ text, kind, cidr: parseCidr(text)! }));
const V4 = parseBlocks(V4_BLOCKS);
const V6 = parseBlocks(V6_BLOCKS);
const NAT64 = parseCidr('64:ff9b::/96')!;
const SIX_TO_FOUR = parseCidr('2002::/16')!;

/** What kind of address this is, for the SSRF guard: anything not `public` is refused unless allowed. */
export function classifyIp(address: IpAddress): Classification {
  const ip = unmapIp(address);
  if (ip.version === 4) {
    const hit = V4.find((b) => prefixMatches(b.cidr, ip));
    return hit ? { kind: hit.kind, range: hit.text } : { kind: 'public' };
  }
  const hit = V6.find((b) => prefixMatches(b.cidr, ip));
  if (hit) return { kind: hit.kind, range: hit.text };
  // Translated addresses reach the IPv4 address they embed.
  const embedded = prefixMatches(NAT64, ip)
    ? ip.bytes.slice(12, 16)
    : prefixMatches(SIX_TO_FOUR, ip)
      ? ip.bytes.slice(2, 6)
      : undefined;
  if (embedded) {
    const inner = classifyIp({ version: 4, bytes: embedded });
    if (inner.kind !== 'public') return inner;
  }
  return { kind: 'public' };
}

const KIND_TEXT: Record<AddressKind, string> = {
  public: 'a public address',
  loopback: 'a loopback address',
  private: 'a private address',
  'link-local': 'a link-local address',
  cgnat: 'a carrier-grade NAT address',
  unspecified: 'an unspecified address',
  multicast: 'a multicast address',
  metadata: 'the metadata server',
  reserved: 'a reserved address',
};

/** `a loopback address`, for `refused: 127.0.0.1 is a loopback address`. */
export function describeKind(kind: AddressKind): string {
  return KIND_TEXT[kind];
}
