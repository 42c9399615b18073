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

describe('logs and metrics settings', () => {
  test('a line per request at info by default; the format chosen by the terminal unless set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ logRequests: true, logLevel: 'info', logFormat: undefined, metricsToken: undefined, metricsPort: undefined });
    expect(loadConfig({ LOG_LEVEL: 'WARN', LOG_FORMAT: 'json', LOG_REQUESTS: 'false' })).toMatchObject({ logLevel: 'warn', logFormat: 'json', logRequests: false });
  });

  test.each([
    [{ LOG_LEVEL: 'verbose' }, /LOG_LEVEL/],
    [{ LOG_FORMAT: 'xml' }, /LOG_FORMAT/],
    [{ METRICS_TOKEN: 'short' }, /METRICS_TOKEN/],
    [{ METRICS_PORT: '70000' }, /METRICS_PORT/],
  ])('refuses %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  test('METRICS_TOKEN and METRICS_PORT as given', () => {
    expect(loadConfig({ METRICS_TOKEN: 'a-scraper-token-of-24-ch', METRICS_PORT: '9464' })).toMatchObject({ metricsToken: 'a-scraper-token-of-24-ch', metricsPort: 9464 });
  });
});
