import { corsOrigins, DEFAULT_CORS_ORIGINS, loadConfig } from './config';

describe('CORS_ORIGINS', () => {
  test('defaults to the usual local development servers', () => {
    expect(corsOrigins({})).toEqual(DEFAULT_CORS_ORIGINS);
    expect(loadConfig({}).corsOrigins).toContain('http://localhost:5173');
  });

  test('takes origins separated by commas, trimmed, a trailing slash forgiven', () => {
    expect(corsOrigins({ CORS_ORIGINS: ' https://app.example.com/ , http://localhost:8080' })).toEqual(['https://app.example.com', 'http://localhost:8080']);
  });

  test("'*' means any origin", () => {
    expect(corsOrigins({ CORS_ORIGINS: '*' })).toBe('*');
  });

  test.each(['app.example.com', 'https://app.example.com/path', 'ftp://files.example.com', 'https://a.example.com,*'])('refuses %s', (value) => {
    expect(() => corsOrigins({ CORS_ORIGINS: value })).toThrow(/CORS_ORIGINS/);
  });
});

describe('VALIDATE_RESPONSES', () => {
  test('on in development and tests, off in production, and what it is set to either way', () => {
    expect(loadConfig({}).validateResponses).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).validateResponses).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production' }).validateResponses).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', VALIDATE_RESPONSES: 'true' }).validateResponses).toBe(true);
    expect(loadConfig({ VALIDATE_RESPONSES: 'false' }).validateResponses).toBe(false);
  });
});

describe('SECRETS_ENCRYPTION_KEYS', () => {
  const key = (fill: number) => Buffer.alloc(32, fill).toString('base64');

  test('unset by default (embedded mode generates one); the sealing key first, then the ones that still open', () => {
    expect(loadConfig({}).secretsEncryptionKeys).toBeUndefined();
    expect(loadConfig({ SECRETS_ENCRYPTION_KEYS: ` ${key(1)} , ${key(2)} ` }).secretsEncryptionKeys).toEqual([key(1), key(2)]);
  });

  test.each(['short', `${key(1)},not a key`, ','])('refuses %s', (value) => {
    expect(() => loadConfig({ SECRETS_ENCRYPTION_KEYS: value })).toThrow(/SECRETS_ENCRYPTION_KEYS/);
  });

  test('the singular name is refused rather than silently ignored', () => {
    expect(() => loadConfig({ SECRETS_ENCRYPTION_KEY: key(1) })).toThrow(/SECRETS_ENCRYPTION_KEYS/);
  });
});
