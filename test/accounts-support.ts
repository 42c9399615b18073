import { randomInt, randomUUID } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';

// Helpers of the sign-in suites. Each caller comes from an address of its own
// (X-Forwarded-For, believed because these apps trust the proxy), so the
// brute-force limit of one test never meets another's.

export const CHROME_ON_MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
export const SAFARI_ON_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

export const newIp = (): string => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

export interface Account {
  email: string;
  password: string;
  /** The address this account's requests come from unless a test says otherwise. */
  ip: string;
}

export function newAccount(label = 'acct'): Account {
  return { email: `${label}-${randomUUID().slice(0, 8)}@example.test`, password: `pw-${randomUUID()}`, ip: newIp() };
}

export function authPost(app: Express, path: string, body: unknown, from: string, userAgent = CHROME_ON_MAC) {
  return request(app).post(`/api/v1/auth${path}`).set('X-Forwarded-For', from).set('User-Agent', userAgent).send(body as object);
}

export async function signUp(app: Express, account: Account, names: { first_name?: string; last_name?: string } = {}) {
  const res = await authPost(app, '/signup', { email: account.email, password: account.password, ...names }, account.ip);
  if (res.status !== 201) throw new Error(`sign-up answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body as { access_token: string; refresh_token: string; user: { id: string } };
}

export function signIn(app: Express, account: Account, options: { password?: string; from?: string; userAgent?: string } = {}) {
  return authPost(app, '/login', { email: account.email, password: options.password ?? account.password }, options.from ?? account.ip, options.userAgent);
}

export function bearer(app: Express, accessToken: string) {
  const wrap = (test: request.Test) => test.set('Authorization', `Bearer ${accessToken}`);
  return {
    get: (url: string) => wrap(request(app).get(url)),
    post: (url: string) => wrap(request(app).post(url)),
    delete: (url: string) => wrap(request(app).delete(url)),
  };
}

/** The claims of a JWT, unverified (the app verified them; tests only read them). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}
