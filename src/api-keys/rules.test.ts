import { isWellFormedApiKey } from '../auth/api-key';
import { effectiveScope, expiresAtFor, hashSecret, newSecret } from './rules';

const now = new Date('2026-01-10T12:00:00Z');

describe('API key rules', () => {
  test('expiry from the frontend choices', () => {
    expect(expiresAtFor({ name: 'k', scopes: ['read'], expiration: 'never' }, now)).toBeNull();
    expect(expiresAtFor({ name: 'k', scopes: ['read'], expiration: '30' }, now)?.toISOString()).toBe('2026-02-09T12:00:00.000Z');
    expect(expiresAtFor({ name: 'k', scopes: ['read'], expiration: 'custom', customExpirationDays: 1 }, now)?.toISOString()).toBe(
      '2026-01-11T12:00:00.000Z',
    );
    expect(expiresAtFor({ name: 'k', scopes: ['read'], expiration: 'custom', expiresAt: '2026-03-01T00:00:00Z' }, now)?.toISOString()).toBe(
      '2026-03-01T00:00:00.000Z',
    );
  });

  test('refuses fields that do not go with the choice, and past dates', () => {
    expect(() => expiresAtFor({ name: 'k', scopes: ['read'], expiration: '30', customExpirationDays: 3 }, now)).toThrow(/custom/);
    expect(() => expiresAtFor({ name: 'k', scopes: ['read'], expiration: 'custom' }, now)).toThrow(/one of them/);
    expect(() => expiresAtFor({ name: 'k', scopes: ['read'], expiration: 'custom', expiresAt: '2025-01-01T00:00:00Z' }, now)).toThrow(/future/);
  });

  test('the strongest scope wins', () => {
    expect(effectiveScope(['read'])).toBe('read');
    expect(effectiveScope(['read', 'write'])).toBe('write');
    expect(effectiveScope(['admin', 'read'])).toBe('admin');
  });

  test('a new secret has the public prefix and only its hash is kept', () => {
    const made = newSecret();
    expect(isWellFormedApiKey(made.secret)).toBe(true);
    expect(made.secret.startsWith(`${made.keyPrefix}_`)).toBe(true);
    expect(made.hash.equals(hashSecret(made.secret))).toBe(true);
    expect(newSecret().secret).not.toBe(made.secret);
  });
});
