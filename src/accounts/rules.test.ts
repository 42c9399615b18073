import { hashPassword, verifyPassword } from './passwords';
import {
  asTotpCode,
  deviceFromUserAgent,
  failureKeys,
  fullName,
  manualEntryKey,
  newBackupCode,
  normalizeBackupCode,
  objectClaim,
  retryAfterSeconds,
  splitName,
  storableUserAgent,
  uuidClaim,
} from './rules';
import { mintAccessToken } from './tokens';
import { acceptedStep, codeAt, newTotpSecret } from './totp';
import { verifyHs256 } from '../auth/jwt';
import { identityFromClaims } from '../auth/identity';

describe('devices from the User-Agent', () => {
  test.each([
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0', 'Edge', 'Windows', 'desktop'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36', 'Chrome', 'macOS', 'desktop'],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0', 'Firefox', 'Linux', 'desktop'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', 'Safari', 'iOS', 'mobile'],
    ['Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', 'Safari', 'iPadOS', 'tablet'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36', 'Chrome', 'Android', 'mobile'],
    ['Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36', 'Chrome', 'Android', 'tablet'],
    ['curl/8.5.0', 'curl', 'Unknown', 'desktop'],
  ])('%s', (ua, browser, os, deviceType) => {
    expect(deviceFromUserAgent(ua)).toEqual({ browser, os, deviceType });
  });

  test('none at all', () => {
    expect(deviceFromUserAgent(null)).toEqual({ browser: 'Unknown', os: 'Unknown', deviceType: 'desktop' });
  });

  test('a User-Agent is stored without control characters, at most 512 long', () => {
    expect(storableUserAgent('a\u0000b\u0007c')).toBe('abc');
    expect(storableUserAgent('x'.repeat(2000))).toHaveLength(512);
    expect(storableUserAgent(undefined)).toBeNull();
  });
});

describe('the brute-force window', () => {
  test('waits until the oldest failure leaves the minute, at least a second', () => {
    expect(retryAfterSeconds(1_000_000, 1_000_000 + 18_000)).toBe(42);
    expect(retryAfterSeconds(1_000_000, 1_000_000 + 60_500)).toBe(1);
  });

  test('counts per email and per address', () => {
    expect(failureKeys('a@b.test', '10.0.0.1')).toEqual(['email:a@b.test', 'ip:10.0.0.1']);
    expect(failureKeys('a@b.test', undefined)).toEqual(['email:a@b.test']);
  });
});

describe('codes', () => {
  test('a TOTP code is six digits; backup codes compare without case, spaces or dashes', () => {
    expect(asTotpCode('123 456')).toBe('123456');
    expect(asTotpCode('12345')).toBeNull();
    const code = newBackupCode();
    expect(code).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
    expect(normalizeBackupCode(` ${code.toUpperCase()} `)).toBe(code.replace('-', ''));
  });

  test('a TOTP code is accepted once, within one step of drift', () => {
    const secret = newTotpSecret();
    const now = 1_800_000_000_000;
    const step = acceptedStep(secret, codeAt(secret, now), 0, now);
    expect(step).toBe(Math.floor(now / 30_000));
    expect(acceptedStep(secret, codeAt(secret, now), step!, now)).toBeNull();
    expect(acceptedStep(secret, codeAt(secret, now + 30_000), step!, now)).toBe(step! + 1);
    expect(acceptedStep(secret, codeAt(secret, now + 90_000), 0, now)).toBeNull();
    expect(manualEntryKey('ABCDEFGHIJ')).toBe('ABCD EFGH IJ');
  });
});

describe('names', () => {
  test('from sign-up, else split from the profile', () => {
    expect(fullName(' Ada ', 'Lovelace')).toBe('Ada Lovelace');
    expect(fullName(undefined, '')).toBeNull();
    expect(splitName({ first_name: 'Ada' }, 'Someone Else')).toEqual({ first: 'Ada', last: '' });
    expect(splitName({}, 'Grace Brewster Hopper')).toEqual({ first: 'Grace', last: 'Brewster Hopper' });
    expect(splitName({}, null)).toEqual({ first: '', last: '' });
  });
});

describe('passwords and tokens', () => {
  test('argon2id with the noted parameters; a missing account never matches', async () => {
    const hash = await hashPassword('correct horse');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    await expect(verifyPassword(hash, 'correct horse')).resolves.toBe(true);
    await expect(verifyPassword(hash, 'wrong horse')).resolves.toBe(false);
    await expect(verifyPassword(null, 'correct horse')).resolves.toBe(false);
  });

  test('an access token the verifier and identityFromClaims accept as they are', () => {
    const minted = mintAccessToken(
      { userId: '5d0c7f0e-6a8f-4a4e-9f57-0d1c2b3a4e5f', email: 'ada@example.test', userMetadata: {}, appMetadata: {}, sessionId: '6d0c7f0e-6a8f-4a4e-9f57-0d1c2b3a4e5f', aal: 'aal1', amr: [] },
      { jwtSecret: 'secret', issuer: 'http://localhost/auth/v1', ttlSeconds: 600 },
    );
    const claims = verifyHs256(minted.token, 'secret');
    expect(identityFromClaims(claims)).toMatchObject({ role: 'authenticated', userId: '5d0c7f0e-6a8f-4a4e-9f57-0d1c2b3a4e5f', email: 'ada@example.test' });
    expect(minted.expiresIn).toBe(600);
  });
});

describe('claims read from a token', () => {
  test('a UUID claim is lower-cased; anything shaped otherwise is none', () => {
    expect(uuidClaim('3F2B7A3C-8D1E-4C6B-9A0F-2E4D6C8B1A37')).toBe('3f2b7a3c-8d1e-4c6b-9a0f-2e4d6c8b1a37');
    expect(uuidClaim('-'.repeat(36))).toBeNull();
    expect(uuidClaim(42)).toBeNull();
    expect(uuidClaim(undefined)).toBeNull();
  });

  test('an object claim is the object itself; arrays, null and scalars are an empty one', () => {
    expect(objectClaim({ first_name: 'Ada' })).toEqual({ first_name: 'Ada' });
    expect(objectClaim(['a'])).toEqual({});
    expect(objectClaim(null)).toEqual({});
    expect(objectClaim('x')).toEqual({});
  });
});
