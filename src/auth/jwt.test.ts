import { checkStandardClaims, isLegacyServiceKey, signHs256, TokenError, verifyHs256 } from './jwt';

const SECRET = 'a-secret-of-at-least-32-characters-long';
const now = Math.floor(Date.now() / 1000);
const serviceKey = { iss: 'supabase', ref: 'abcdefghijklmnopqrst', role: 'service_role', iat: now, exp: now + 3600 };

describe("Supabase's legacy service_role key", () => {
  test('is accepted: no sub, no aud, iss supabase', () => {
    expect(verifyHs256(signHs256(serviceKey, SECRET), SECRET)).toMatchObject({ role: 'service_role' });
  });

  test('its ref must be the configured project when one is', () => {
    expect(isLegacyServiceKey(serviceKey, 'https://abcdefghijklmnopqrst.supabase.co/auth/v1')).toBe(true);
    expect(isLegacyServiceKey(serviceKey, 'https://another0project00.supabase.co/auth/v1')).toBe(false);
    expect(() => checkStandardClaims(serviceKey, { issuer: 'https://another0project00.supabase.co/auth/v1' })).toThrow(TokenError);
  });

  test('nothing weaker passes: anon, a user-shaped token without aud, another secret, an expired key', () => {
    expect(() => verifyHs256(signHs256({ ...serviceKey, role: 'anon' }, SECRET), SECRET)).toThrow(/aud/);
    expect(() => verifyHs256(signHs256({ ...serviceKey, sub: '0f8e2d4c-6b1a-4c3e-8d7f-9a0b1c2d3e4f' }, SECRET), SECRET)).toThrow(/aud/);
    expect(() => verifyHs256(signHs256({ ...serviceKey, iss: 'someone' }, SECRET), SECRET)).toThrow(/aud/);
    expect(() => verifyHs256(signHs256({ ...serviceKey, ref: undefined }, SECRET), SECRET)).toThrow(/aud/);
    expect(() => verifyHs256(signHs256(serviceKey, `${SECRET}!`), SECRET)).toThrow(/signature/);
    expect(() => verifyHs256(signHs256({ ...serviceKey, exp: now - 3600 }, SECRET), SECRET)).toThrow(/expired/);
  });
});
