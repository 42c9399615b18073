import { withCaFile } from './tls';

describe('withCaFile', () => {
  test('adds the CA file as sslrootcert, keeping the other parameters', () => {
    const url = new URL(withCaFile('postgres://app:pw@db.example.com:5432/app?sslmode=verify-full', '/etc/ssl/provider-ca.pem'));
    expect(url.searchParams.get('sslrootcert')).toBe('/etc/ssl/provider-ca.pem');
    expect(url.searchParams.get('sslmode')).toBe('verify-full');
    expect(url.password).toBe('pw');
  });

  test('leaves a URL alone without a CA file, or when it names its own', () => {
    expect(withCaFile('postgres://db.example.com/app', undefined)).toBe('postgres://db.example.com/app');
    const own = 'postgres://db.example.com/app?sslrootcert=%2Fmine.pem';
    expect(withCaFile(own, '/etc/ssl/provider-ca.pem')).toBe(own);
  });
});
