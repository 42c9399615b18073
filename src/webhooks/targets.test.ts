import { addressAllowed, checkTarget, parseAllowedTargets, parseTarget, STRICT_TARGET_POLICY, TargetRefused, type Resolver, type TargetPolicy } from './targets';

const resolver = (table: Record<string, string[]>): Resolver => async (host) => {
  const addresses = table[host];
  if (!addresses) throw new Error('ENOTFOUND');
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

const names = resolver({
  'hooks.example.com': ['93.184.216.34'],
  'internal.example.com': ['10.0.0.7'],
  'mixed.example.com': ['93.184.216.34', '127.0.0.1'],
  'metadata.example.com': ['169.254.169.254'],
  'v6local.example.com': ['::ffff:127.0.0.1'],
});

async function refusal(url: string, policy: TargetPolicy = STRICT_TARGET_POLICY): Promise<string> {
  try {
    await checkTarget(url, policy, names);
  } catch (error) {
    if (error instanceof TargetRefused) return error.message;
    throw error;
  }
  return 'allowed';
}

describe('registration checks of an endpoint URL', () => {
  test('a public https URL is allowed', async () => {
    expect(await refusal('https://hooks.example.com/in')).toBe('allowed');
  });

  test('plain http only when the operator allows it', async () => {
    expect(await refusal('http://hooks.example.com/in')).toMatch(/https/);
    expect(await refusal('http://hooks.example.com/in', { ...STRICT_TARGET_POLICY, allowHttp: true })).toBe('allowed');
    expect(await refusal('ftp://hooks.example.com/in')).toMatch(/https/);
  });

  test('internal addresses, literal or resolved, in any spelling', async () => {
    for (const url of [
      'https://127.0.0.1/',
      'https://2130706433/',
      'https://0x7f.1/',
      'https://[::1]/',
      'https://[::ffff:127.0.0.1]/',
      'https://169.254.169.254/latest/meta-data/',
      'https://[fd00:ec2::254]/',
      'https://10.1.2.3/',
      'https://100.64.0.1/',
      'https://[fe80::1]/',
      'https://0.0.0.0/',
      'https://internal.example.com/',
      'https://metadata.example.com/',
      'https://v6local.example.com/',
    ]) {
      expect({ url, verdict: await refusal(url) }).toEqual({ url, verdict: expect.stringMatching(/address/) });
    }
  });

  test('a name with one internal address among public ones is refused', async () => {
    expect(await refusal('https://mixed.example.com/')).toMatch(/loopback/);
  });

  test('unresolvable names, credentials and non-URLs are refused', async () => {
    expect(await refusal('https://nowhere.example.com/')).toMatch(/does not resolve/);
    expect(await refusal('https://user:pw@hooks.example.com/')).toMatch(/user name/);
    expect(await refusal('not a url')).toMatch(/valid absolute URL/);
  });

  test('WEBHOOK_ALLOW_PRIVATE_TARGETS lets private and loopback through, never cloud metadata', async () => {
    const policy = { ...STRICT_TARGET_POLICY, allowPrivate: true };
    expect(await refusal('https://127.0.0.1/', policy)).toBe('allowed');
    expect(await refusal('https://internal.example.com/', policy)).toBe('allowed');
    expect(await refusal('https://169.254.169.254/', policy)).toMatch(/metadata/);
  });

  test('WEBHOOK_ALLOWED_TARGETS allows exactly its blocks and hosts', async () => {
    const policy = { ...STRICT_TARGET_POLICY, ...parseAllowedTargets('10.0.0.0/24, internal.example.com') };
    expect(await refusal('https://10.0.0.200/', policy)).toBe('allowed');
    expect(await refusal('https://10.0.1.1/', policy)).toMatch(/private/);
    expect(await refusal('https://internal.example.com/', policy)).toBe('allowed');
    expect(() => parseAllowedTargets('10.0.0.0/99')).toThrow(/WEBHOOK_ALLOWED_TARGETS/);
  });
});

describe('parseTarget and addressAllowed', () => {
  test('the host loses its brackets and trailing dot', () => {
    expect(parseTarget('https://[::1]:8443/x', STRICT_TARGET_POLICY).host).toBe('::1');
    expect(parseTarget('https://Hooks.Example.COM./x', STRICT_TARGET_POLICY).host).toBe('hooks.example.com');
  });

  test('addresses are judged with the policy', () => {
    expect(addressAllowed('8.8.8.8', 'dns.google', STRICT_TARGET_POLICY)).toEqual({ allowed: true, kind: 'public' });
    expect(addressAllowed('192.168.0.1', 'router', STRICT_TARGET_POLICY)).toEqual({ allowed: false, kind: 'private' });
    expect(addressAllowed('not-an-ip', 'x', { ...STRICT_TARGET_POLICY, allowPrivate: true })).toEqual({ allowed: false, kind: undefined });
  });
});
