import { generateKeyPairSync, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** An ES256 signing key as a Supabase project with asymmetric keys has one. */
export interface Es256Key {
  kid: string;
  privateKey: KeyObject;
  /** The public half as the project's JWKS lists it. */
  publicJwk: JsonWebKey;
}

export function es256Key(kid: string): Es256Key {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicJwk: JsonWebKey = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' };
  return { kid, privateKey, publicJwk };
}

const segment = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs claims as an ES256 JWS: JOSE wants the raw r||s signature, not DER. */
export function signEs256(claims: Record<string, unknown>, key: Es256Key, header: Record<string, unknown> = {}): string {
  const signingInput = `${segment({ alg: 'ES256', typ: 'JWT', kid: key.kid, ...header })}.${segment(claims)}`;
  const signature = sign('sha256', Buffer.from(signingInput), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${signature.toString('base64url')}`;
}

export interface FakeSupabaseAuth {
  /** What SUPABASE_URL would be, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Every request seen, as "METHOD /path". */
  requests: string[];
  close(): Promise<void>;
}

/**
 * The two Supabase Auth endpoints supabase-js may call while verifying a token:
 * the JWKS, and /user (its fallback for tokens it cannot check locally), which
 * here refuses every token the way Supabase refuses one it did not issue.
 */
export async function startFakeSupabaseAuth(keys: JsonWebKey[]): Promise<FakeSupabaseAuth> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    requests.push(`${req.method} ${path}`);
    res.setHeader('Content-Type', 'application/json');
    if (req.method === 'GET' && path === '/auth/v1/.well-known/jwks.json') {
      res.end(JSON.stringify({ keys }));
    } else if (req.method === 'GET' && path === '/auth/v1/user') {
      res.statusCode = 403;
      res.end(JSON.stringify({ code: 403, error_code: 'bad_jwt', msg: 'invalid JWT: unable to parse or verify signature' }));
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ code: 404, msg: 'not found' }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
