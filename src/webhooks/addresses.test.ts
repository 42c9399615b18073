import { classifyAddress, inCidr, ipv6Bytes, parseCidr } from './addresses';

describe('classifyAddress', () => {
  test.each([
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['93.184.216.34', 'public'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['100.128.0.1', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['198.18.0.1', 'reserved'],
  ])('IPv4 %s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  test.each([
    ['2606:4700:4700::1111', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fec0::1', 'private'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fd00:ec2::254', 'metadata'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['100::1', 'reserved'],
    ['4000::1', 'reserved'],
  ])('IPv6 %s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  test.each([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['::ffff:8.8.8.8', 'public'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::808:808', 'public'],
    ['2002:7f00:1::1', 'loopback'],
    ['2002:c0a8:101::1', 'private'],
  ])('IPv4 inside IPv6 %s is judged by its IPv4 address: %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  test('anything that is not an address has no kind', () => {
    for (const text of ['', 'localhost', '127.0.0.1.', '1.2.3', '::g', '[::1]', '01.2.3.4']) expect(classifyAddress(text)).toBeUndefined();
  });
});

describe('ipv6Bytes', () => {
  test('expands :: and a dotted tail', () => {
    expect(ipv6Bytes('::1')).toEqual([...new Array(15).fill(0), 1]);
    expect(ipv6Bytes('::ffff:1.2.3.4')).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
    expect(ipv6Bytes('2001:db8:0:0:0:0:0:1')).toEqual(ipv6Bytes('2001:db8::1'));
  });
});

describe('CIDR blocks an operator allows', () => {
  test('IPv4 blocks, single addresses and IPv6 blocks', () => {
    expect(inCidr('10.1.2.3', parseCidr('10.1.0.0/16')!)).toBe(true);
    expect(inCidr('10.2.0.1', parseCidr('10.1.0.0/16')!)).toBe(false);
    expect(inCidr('127.0.0.1', parseCidr('127.0.0.1')!)).toBe(true);
    expect(inCidr('127.0.0.2', parseCidr('127.0.0.1')!)).toBe(false);
    expect(inCidr('fd00::5', parseCidr('fd00::/8')!)).toBe(true);
    expect(inCidr('fe80::5', parseCidr('fd00::/8')!)).toBe(false);
    expect(inCidr('172.20.0.1', parseCidr('172.16.0.0/12')!)).toBe(true);
  });

  test('an IPv4-mapped address is in the IPv4 block, and the other way round', () => {
    expect(inCidr('::ffff:10.1.2.3', parseCidr('10.0.0.0/8')!)).toBe(true);
    expect(inCidr('10.1.2.3', parseCidr('::ffff:10.0.0.0/104')!)).toBe(true);
    expect(inCidr('fd00::1', parseCidr('10.0.0.0/8')!)).toBe(false);
  });

  test('malformed blocks are refused', () => {
    for (const text of ['10.0.0.0/33', 'fd00::/129', '10.0.0.0/x', 'example.com', '10.0.0.0/-1', '']) expect(parseCidr(text)).toBeUndefined();
  });
});
