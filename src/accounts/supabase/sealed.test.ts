import { open, seal } from './sealed';

describe('sealed pending sign-ins', () => {
  test('open with the token that sealed gives the payload back', () => {
    const box = seal('mfa_token-one', { verifier: 'abc', n: 1 });
    expect(open('mfa_token-one', box)).toEqual({ verifier: 'abc', n: 1 });
  });

  test('another token, an altered box or a short one open to nothing', () => {
    const box = seal('mfa_token-one', { verifier: 'abc' });
    expect(open('mfa_token-two', box)).toBeNull();
    const altered = Buffer.from(box);
    altered.writeUInt8(altered.readUInt8(altered.length - 1) ^ 1, altered.length - 1);
    expect(open('mfa_token-one', altered)).toBeNull();
    expect(open('mfa_token-one', box.subarray(0, 10))).toBeNull();
  });

  test('the box does not hold the payload in clear', () => {
    expect(seal('t', { refresh_token: 'very-secret-refresh' }).toString('latin1')).not.toContain('very-secret-refresh');
  });
});
