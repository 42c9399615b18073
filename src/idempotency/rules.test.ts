import { canonicalJson, isKeptStatus, keyHash, openBody, parseIdempotencyKey, requestFingerprint, sealBody } from './rules';

describe('parseIdempotencyKey', () => {
  test('takes 1 to 255 printable ASCII characters as they are', () => {
    expect(parseIdempotencyKey('a')).toBe('a');
    expect(parseIdempotencyKey('5f2b7a3c-8d1e-4c6b-9a0f-2e4d6c8b1a37')).toBe('5f2b7a3c-8d1e-4c6b-9a0f-2e4d6c8b1a37');
    expect(parseIdempotencyKey('"quoted key" ~!')).toBe('"quoted key" ~!');
    expect(parseIdempotencyKey('k'.repeat(255))).toHaveLength(255);
  });

  test.each([[''], ['k'.repeat(256)], ['caf\u00e9'], ['tab\there'], ['line\nbreak'], ['\u0000']])('refuses %j with a 400', (value) => {
    expect(() => parseIdempotencyKey(value)).toThrow(expect.objectContaining({ status: 400, code: 'validation_failed' }));
  });

  test('two keys sent at once are one string that is checked like any other', () => {
    expect(parseIdempotencyKey(['a', 'b'])).toBe('a, b');
  });
});

describe('canonicalJson', () => {
  test('sorts members at every level and drops undefined ones', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' }, u: undefined })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  test('keeps what distinguishes values', () => {
    expect(canonicalJson([1, '1', true, null])).toBe('[1,"1",true,null]');
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson({ 'a"b': 'é' })).toBe('{"a\\"b":"é"}');
  });
});

describe('requestFingerprint', () => {
  const base = { method: 'POST', path: '/api/v1/projects', query: {}, body: { name: 'A', type: 'manual' } };
  test('is the same for the same request sent with its fields in another order', () => {
    expect(requestFingerprint(base).equals(requestFingerprint({ ...base, method: 'post', body: { type: 'manual', name: 'A' } }))).toBe(true);
  });

  test.each([
    ['body', { ...base, body: { name: 'B', type: 'manual' } }],
    ['path', { ...base, path: '/api/v1/skills' }],
    ['query', { ...base, query: { wait: true } }],
    ['method', { ...base, method: 'PUT' }],
  ])('differs when the %s differs', (_part, other) => {
    expect(requestFingerprint(base).equals(requestFingerprint(other))).toBe(false);
  });

  test('an absent body is not an empty object', () => {
    expect(requestFingerprint({ ...base, body: undefined }).equals(requestFingerprint({ ...base, body: {} }))).toBe(false);
  });
});

describe('isKeptStatus', () => {
  test('keeps the answers the operation gave, frees the key for the ones to retry', () => {
    for (const status of [200, 201, 202, 204, 400, 403, 404, 409, 410, 422]) expect({ status, kept: isKeptStatus(status) }).toEqual({ status, kept: true });
    for (const status of [401, 408, 429, 500, 502, 503, 504]) expect({ status, kept: isKeptStatus(status) }).toEqual({ status, kept: false });
  });
});

describe('sealBody', () => {
  const fingerprint = requestFingerprint({ method: 'POST', path: '/x', query: {}, body: { a: 1 } });
  const body = Buffer.from('{"token":"shown once"}');

  test('opens with the same key and request, and hides the body', () => {
    const sealed = sealBody(body, 'key-1', fingerprint);
    expect(sealed.includes(Buffer.from('shown once'))).toBe(false);
    expect(openBody(sealed, 'key-1', fingerprint).toString()).toBe(body.toString());
    expect(openBody(sealBody(Buffer.alloc(0), 'key-1', fingerprint), 'key-1', fingerprint)).toHaveLength(0);
  });

  test('does not open with another key or for another request', () => {
    const sealed = sealBody(body, 'key-1', fingerprint);
    expect(() => openBody(sealed, 'key-2', fingerprint)).toThrow();
    expect(() => openBody(sealed, 'key-1', keyHash('another request'))).toThrow();
  });
});
