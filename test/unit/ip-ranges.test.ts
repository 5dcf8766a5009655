// The SSRF guard's address arithmetic: what parses as an IP address or a CIDR block, which block holds which
// address (IPv4-mapped IPv6 included), and how each address is classified.
import { describe, expect, it } from 'vitest';
import {
  allowEntriesOutside,
  cidrContains,
  cidrWithin,
  classifyIp,
  formatIp,
  parseCidr,
  parseIp,
  type AddressKind,
} from '../../functions/src/platform/domain/ip-ranges';

const ip = (text: string) => {
  const parsed = parseIp(text);
  if (!parsed) throw new Error(`'${text}' did not parse`);
  return parsed;
};

describe('parseIp', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['::', '0:0:0:0:0:0:0:0'],
    ['::1', '0:0:0:0:0:0:0:1'],
    ['fe80::1%eth0', 'fe80:0:0:0:0:0:0:1'],
    ['2001:DB8::8:800:200C:417A', '2001:db8:0:0:8:800:200c:417a'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1::', '1:0:0:0:0:0:0:0'],
    ['::ffff:127.0.0.1', '0:0:0:0:0:ffff:7f00:1'],
    ['::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:1'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['::1.2.3.4', '0:0:0:0:0:0:102:304'],
    ['1::7:8', '1:0:0:0:0:0:7:8'],
  ])('%s -> %s', (text, formatted) => {
    expect(formatIp(ip(text))).toBe(formatted);
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.0.0.1',
    '01.2.3.4',
    '1.2.3.-4',
    'localhost',
    ':::',
    '1:::2',
    '1::2::3',
    ':1::',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7::8',
    '12345::',
    'g::1',
    '::ffff:1.2.3',
    '::ffff:256.1.1.1',
    '1.2.3.4::',
    '%eth0',
    '[::1]',
  ])('refuses %j', (text) => {
    expect(parseIp(text)).toBeUndefined();
  });
});

describe('parseCidr and cidrContains', () => {
  it.each([
    ['127.0.0.0/8', '127.255.0.1', true],
    ['127.0.0.0/8', '128.0.0.1', false],
    ['10.1.2.3/8', '10.200.0.1', true], // host bits need not be zero
    ['172.16.0.0/12', '172.31.255.255', true],
    ['172.16.0.0/12', '172.32.0.0', false],
    ['100.64.0.0/10', '100.127.0.1', true],
    ['0.0.0.0/0', '8.8.8.8', true],
    ['0.0.0.0/0', '::1', false],
    ['127.0.0.1', '127.0.0.1', true],
    ['127.0.0.1', '127.0.0.2', false],
    ['127.0.0.1', '::ffff:127.0.0.1', true], // a mapped address matches its IPv4 block
    ['::ffff:0:0/96', '::ffff:10.0.0.1', true],
    ['::1', '::1', true],
    ['fd00::/8', 'fd12:3456::1', true],
    ['fd00::/8', 'fe00::1', false],
    ['fe80::/10', 'febf::1', true],
    ['fe80::/10', 'fec0::1', false],
    ['::/0', '2001:db8::1', true],
    ['2001:db8::/127', '2001:db8::1', true],
    ['2001:db8::/128', '2001:db8::1', false],
  ])('%s holds %s: %s', (block, address, expected) => {
    const cidr = parseCidr(block);
    expect(cidr).toBeDefined();
    expect(cidrContains(cidr!, ip(address))).toBe(expected);
  });

  it.each([
    '10.0.0.0/33',
    '::/129',
    '10.0.0.0/',
    '10.0.0.0/08',
    '/8',
    'example.com',
    'fe80::1%eth0/64',
    '10.0.0.0/8/8',
  ])('refuses %j', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });
});

describe('classifyIp', () => {
  it.each<[string, AddressKind]>([
    ['127.0.0.1', 'loopback'],
    ['127.12.34.56', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12::1', 'private'],
    ['::ffff:192.168.0.1', 'private'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['fd20:ce::254', 'metadata'], // GCP over IPv6 (was classed only as private)
    ['fd20:ce::253', 'private'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::127.0.0.1', 'reserved'],
    ['64:ff9b::7f00:1', 'loopback'], // NAT64 of 127.0.0.1
    ['64:ff9b::a9fe:a9fe', 'metadata'], // NAT64 of 169.254.169.254
    ['2002:0a00:0001::1', 'private'], // 6to4 of 10.0.0.1
    ['8.8.8.8', 'public'],
    ['172.32.0.1', 'public'],
    ['100.128.0.1', 'public'],
    ['169.255.0.1', 'public'],
    ['::ffff:8.8.8.8', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['64:ff9b::808:808', 'public'],
  ])('%s is %s', (address, kind) => {
    expect(classifyIp(ip(address)).kind).toBe(kind);
  });

  it('names the deciding block', () => {
    expect(classifyIp(ip('169.254.169.254'))).toEqual({ kind: 'metadata', range: '169.254.169.254/32' });
    expect(classifyIp(ip('::ffff:10.9.8.7'))).toEqual({ kind: 'private', range: '10.0.0.0/8' });
    expect(classifyIp(ip('1.1.1.1'))).toEqual({ kind: 'public' });
  });
});

describe('allow lists inside a deploy-time ceiling', () => {
  const block = (text: string) => parseCidr(text)!;

  it('a block lies within a block at most as specific that holds its network, same family only', () => {
    expect(cidrWithin(block('10.1.0.0/16'), block('10.0.0.0/8'))).toBe(true);
    expect(cidrWithin(block('10.0.0.0/8'), block('10.0.0.0/8'))).toBe(true);
    expect(cidrWithin(block('10.0.0.0/8'), block('10.1.0.0/16'))).toBe(false); // wider than the ceiling
    expect(cidrWithin(block('11.0.0.1'), block('10.0.0.0/8'))).toBe(false);
    expect(cidrWithin(block('127.0.0.1'), block('127.0.0.0/8'))).toBe(true);
    expect(cidrWithin(block('::1'), block('::1'))).toBe(true);
    expect(cidrWithin(block('::1'), block('127.0.0.0/8'))).toBe(false);
  });

  it('names what an admin list adds beyond the ceiling: host names by name, addresses and blocks by containment', () => {
    const ceiling = ['127.0.0.0/8', '::1', 'App.Internal.'];
    expect(allowEntriesOutside(['127.0.0.1', '127.5.0.0/16', '::1', 'app.internal'], ceiling)).toEqual([]);
    expect(allowEntriesOutside(['127.0.0.1', '10.0.0.0/8', '0.0.0.0/0', 'other.internal'], ceiling)).toEqual([
      '10.0.0.0/8',
      '0.0.0.0/0',
      'other.internal',
    ]);
    expect(allowEntriesOutside(['127.0.0.1'], [])).toEqual(['127.0.0.1']); // an empty ceiling allows nothing
    // A host name in the ceiling does not cover its addresses, nor an address a name.
    expect(allowEntriesOutside(['10.0.0.5'], ['app.internal'])).toEqual(['10.0.0.5']);
  });
});
