import { acceptRequestId } from './request-log';

describe('an incoming X-Request-Id', () => {
  test.each(['3f1c0b9e-5a1d-4c43-9a57-0f3c2b7d8e21', 'edge-01HQ8Z', 'Root=1-65f2c3a1-ab', 'a', 'k8s/ingress:1.2@x+y=z_', 'x'.repeat(128)])(
    'a plain token is kept: %s',
    (id) => {
      expect(acceptRequestId(id)).toBe(id);
    },
  );

  test.each([
    ['empty', ''],
    ['too long', 'x'.repeat(129)],
    ['a space', 'a b'],
    ['a quote', 'a"b'],
    ['a line break', 'a\nb'],
    ['a control character', 'a\u0000b'],
    ['a non-ASCII letter', 'idé'],
    ['markup', '<script>'],
    ['JSON', '{"level":"fatal"}'],
  ])('%s is refused (our own id is used instead)', (_case, id) => {
    expect(acceptRequestId(id)).toBeUndefined();
  });

  test('a header sent twice (an array) is refused', () => {
    expect(acceptRequestId(['a', 'b'])).toBeUndefined();
    expect(acceptRequestId(undefined)).toBeUndefined();
  });
});
