import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSecretBox, keyIdOf, newSecretKey, parseSecretKey, secretBoxOf } from './secret-box';

describe('secret box', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);

  test('seals to the stored form and opens back, never showing the secret', () => {
    const box = createSecretBox([newKey]);
    const sealed = box.seal('whsec_top-secret', 'reflex:1');
    expect(sealed).toMatch(new RegExp(`^enc:v1:${keyIdOf(newKey)}:[A-Za-z0-9_-]+$`));
    expect(sealed).not.toContain('top-secret');
    expect(box.open(sealed, 'reflex:1')).toBe('whsec_top-secret');
    // A fresh IV each time: the same secret never seals to the same text.
    expect(box.seal('whsec_top-secret', 'reflex:1')).not.toBe(sealed);
  });

  test('a value sealed for one row does not open for another, nor after tampering', () => {
    const box = createSecretBox([newKey]);
    const sealed = box.seal('JBSWY3DPEHPK3PXP', 'mfa:a');
    expect(() => box.open(sealed, 'mfa:b')).toThrow();
    // One character of the IV and ciphertext changed (every bit of it counts there).
    const at = 'enc:v1:00000000:'.length + 10;
    const flipped = sealed.slice(0, at) + (sealed[at] === 'A' ? 'B' : 'A') + sealed.slice(at + 1);
    expect(() => box.open(flipped, 'mfa:a')).toThrow();
  });

  test('rotation: the first key seals, every key opens, and only the first counts as current', () => {
    const before = createSecretBox([oldKey]);
    const sealedOld = before.seal('s3cret', 'x');
    const rotated = createSecretBox([newKey, oldKey]);
    expect(rotated.open(sealedOld, 'x')).toBe('s3cret');
    expect(rotated.isCurrent(sealedOld)).toBe(false);
    expect(rotated.isCurrent(rotated.seal('s3cret', 'x'))).toBe(true);
    // Without the old key the old value cannot be read, and says which key it needs.
    expect(() => createSecretBox([newKey]).open(sealedOld, 'x')).toThrow(keyIdOf(oldKey));
  });

  test('values stored before sealing existed open as they are, and are not current', () => {
    const box = createSecretBox([newKey]);
    expect(box.open('whsec_plain', 'x')).toBe('whsec_plain');
    expect(box.isCurrent('whsec_plain')).toBe(false);
  });

  test('keys are 32 bytes of base64 (either alphabet); anything else is refused', () => {
    const text = newSecretKey();
    expect(parseSecretKey(text)).toHaveLength(32);
    expect(parseSecretKey(Buffer.from(text, 'base64').toString('base64url'))).toEqual(parseSecretKey(text));
    expect(() => parseSecretKey('c2hvcnQ=')).toThrow(/32 bytes/);
    expect(() => parseSecretKey('not base64 at all!')).toThrow(/32 bytes/);
    expect(() => createSecretBox([])).toThrow();
    expect(() => createSecretBox([newKey, newKey])).toThrow(/share the id/);
  });
});

describe('the box a server uses', () => {
  test('configured keys win; embedded mode keeps one generated key in DATA_DIR; an external database needs configured keys', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'secret-box-'));
    try {
      const configured = newSecretKey();
      expect(secretBoxOf({ secretsEncryptionKeys: [configured], databaseUrl: 'postgres://db/app', dataDir }).currentKeyId).toBe(keyIdOf(parseSecretKey(configured)));
      const first = secretBoxOf({ secretsEncryptionKeys: undefined, databaseUrl: undefined, dataDir });
      const file = path.join(dataDir, 'secrets-encryption-key');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(keyIdOf(parseSecretKey(readFileSync(file, 'utf8')))).toBe(first.currentKeyId);
      // The same key after a restart: what it sealed still opens.
      const sealed = first.seal('s', 'c');
      expect(secretBoxOf({ secretsEncryptionKeys: undefined, databaseUrl: undefined, dataDir }).open(sealed, 'c')).toBe('s');
      expect(() => secretBoxOf({ secretsEncryptionKeys: undefined, databaseUrl: 'postgres://db/app', dataDir })).toThrow(/SECRETS_ENCRYPTION_KEYS/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
