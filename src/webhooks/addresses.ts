import { isIP } from 'node:net';

// What kind of address a webhook would connect to. Outbound webhooks go to
// URLs a tenant chooses, so without this a tenant could make the server call
// its own network (databases, admin consoles, the cloud's metadata service).
// Pure: no lookups here, only the address itself.

export type AddressKind =
  | 'public'
  | 'private'
  | 'loopback'
  | 'link-local'
  | 'unique-local'
  | 'cgnat'
  | 'multicast'
  | 'unspecified'
  | 'metadata'
  | 'reserved';

/** Cloud metadata services answer on these (AWS, GCP, Azure, Oracle, ECS task metadata, AWS over IPv6). */
const METADATA_ADDRESSES = new Set(['169.254.169.254', '169.254.170.2', '169.254.169.123', '192.0.0.192', '100.100.100.200', 'fd00:ec2::254']);

interface Range {
  /** The network's first bytes, as many as the prefix covers (whole bytes; the rest by `bits`). */
  bytes: number[];
  bits: number;
  kind: Exclude<AddressKind, 'public'>;
}

const v4 = (cidr: string, kind: Range['kind']): Range => {
  const [address, bits] = cidr.split('/') as [string, string];
  return { bytes: address.split('.').map(Number), bits: Number(bits), kind };
};

// Special-purpose IPv4 blocks (RFC 6890 and its IANA registry) that are not
// the public internet.
const IPV4_RANGES: Range[] = [
  v4('0.0.0.0/8', 'unspecified'),
  v4('10.0.0.0/8', 'private'),
  v4('100.64.0.0/10', 'cgnat'),
  v4('127.0.0.0/8', 'loopback'),
  v4('169.254.0.0/16', 'link-local'),
  v4('172.16.0.0/12', 'private'),
  v4('192.0.0.0/24', 'reserved'),
  v4('192.0.2.0/24', 'reserved'),
  v4('192.88.99.0/24', 'reserved'),
  v4('192.168.0.0/16', 'private'),
  v4('198.18.0.0/15', 'reserved'),
  v4('198.51.100.0/24', 'reserved'),
  v4('203.0.113.0/24', 'reserved'),
  v4('224.0.0.0/4', 'multicast'),
  v4('240.0.0.0/4', 'reserved'),
];

/** 16 bytes of an IPv6 address (with an embedded dotted IPv4 tail), or undefined when it is not one. */
export function ipv6Bytes(text: string): number[] | undefined {
  let address = text.toLowerCase();
  const zone = address.indexOf('%');
  if (zone !== -1) address = address.slice(0, zone);
  if (isIP(address) !== 6) return undefined;
  let tail: number[] = [];
  const lastColon = address.lastIndexOf(':');
  if (address.slice(lastColon + 1).includes('.')) {
    tail = address.slice(lastColon + 1).split('.').map(Number);
    address = `${address.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = address.includes('::') ? (address.split('::') as [string, string]) : [address, undefined];
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const words = rest === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = words.flatMap((word) => [word >> 8, word & 0xff]);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

function matches(bytes: number[], range: Range): boolean {
  let bits = range.bits;
  for (let i = 0; bits > 0; i += 1, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i]! & mask) !== ((range.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

function classifyIpv4(address: string): AddressKind {
  if (METADATA_ADDRESSES.has(address)) return 'metadata';
  if (address === '255.255.255.255') return 'reserved';
  const bytes = address.split('.').map(Number);
  return IPV4_RANGES.find((range) => matches(bytes, range))?.kind ?? 'public';
}

const startsWith = (bytes: number[], prefix: number[]) => prefix.every((b, i) => bytes[i] === b);
const dotted = (bytes: number[]) => bytes.join('.');

function classifyIpv6(bytes: number[], text: string): AddressKind {
  if (METADATA_ADDRESSES.has(text.toLowerCase())) return 'metadata';
  const zeros = (n: number) => bytes.slice(0, n).every((b) => b === 0);
  if (zeros(16)) return 'unspecified';
  if (zeros(15) && bytes[15] === 1) return 'loopback';
  // IPv4 inside IPv6: mapped (::ffff:a.b.c.d), the deprecated compatible form
  // (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002:aabb:ccdd::/48) reach an
  // IPv4 address, which decides.
  if (zeros(10) && bytes[10] === 0xff && bytes[11] === 0xff) return classifyIpv4(dotted(bytes.slice(12)));
  if (zeros(12)) return classifyIpv4(dotted(bytes.slice(12)));
  if (startsWith(bytes, [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0])) return classifyIpv4(dotted(bytes.slice(12)));
  if (startsWith(bytes, [0x20, 0x02])) {
    const inner = classifyIpv4(dotted(bytes.slice(2, 6)));
    if (inner !== 'public') return inner;
  }
  if (bytes[0] === 0xff) return 'multicast';
  if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0x80) return 'link-local';
  // fec0::/10, site-local: deprecated, but still not the internet.
  if (bytes[0] === 0xfe && (bytes[1]! & 0xc0) === 0xc0) return 'private';
  if ((bytes[0]! & 0xfe) === 0xfc) return 'unique-local';
  // Documentation (2001:db8::/32), discard-only (100::/64), and the rest of the IETF's 2001::/23 blocks.
  if (startsWith(bytes, [0x20, 0x01, 0x0d, 0xb8])) return 'reserved';
  if (startsWith(bytes, [0x01, 0x00, 0, 0, 0, 0, 0, 0])) return 'reserved';
  if (bytes[0] === 0x20 && bytes[1] === 0x01 && bytes[2]! < 0x02) return 'reserved';
  // Only 2000::/3 is handed out as global unicast.
  if ((bytes[0]! & 0xe0) !== 0x20) return 'reserved';
  return 'public';
}

/** The kind of an IP address (v4 or v6, IPv4-mapped forms by their IPv4 address); undefined when it is no address. */
export function classifyAddress(address: string): AddressKind | undefined {
  if (isIP(address) === 4) return classifyIpv4(address);
  const bytes = ipv6Bytes(address);
  return bytes ? classifyIpv6(bytes, address) : undefined;
}

/** A CIDR block an operator allows (WEBHOOK_ALLOWED_TARGETS). */
export interface Cidr {
  family: 4 | 6;
  bytes: number[];
  bits: number;
}

/** `10.1.0.0/16`, `fd00::/8`, or a single address; undefined when it is neither. */
export function parseCidr(text: string): Cidr | undefined {
  const [address, bitsText] = text.trim().split('/') as [string, string | undefined];
  const family = isIP(address);
  if (family === 0) return undefined;
  const max = family === 4 ? 32 : 128;
  const bits = bitsText === undefined ? max : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > max || (bitsText !== undefined && !/^\d{1,3}$/.test(bitsText))) return undefined;
  const bytes = family === 4 ? address.split('.').map(Number) : ipv6Bytes(address)!;
  return { family: family as 4 | 6, bytes, bits };
}

/** Whether the address lies in the block (an IPv4-mapped IPv6 address counts as its IPv4 address). */
export function inCidr(address: string, cidr: Cidr): boolean {
  let bytes: number[] | undefined;
  if (isIP(address) === 4) {
    bytes = address.split('.').map(Number);
    if (cidr.family === 6) bytes = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...bytes];
  } else {
    bytes = ipv6Bytes(address);
    if (!bytes) return false;
    if (cidr.family === 4) {
      const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
      if (!mapped) return false;
      bytes = bytes.slice(12);
    }
  }
  return matches(bytes, { bytes: cidr.bytes, bits: cidr.bits, kind: 'reserved' });
}
