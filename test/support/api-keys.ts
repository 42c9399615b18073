import type { Express } from 'express';
import request from 'supertest';
import type { TestUser } from './harness';

export type Scope = 'read' | 'write' | 'admin';

export interface TestKey {
  id: string;
  key: string;
  keyPrefix: string;
}

/** An API key of `organizationId`, created through the API by `user` (an owner or admin there). */
export async function newApiKey(app: Express, user: TestUser, organizationId: string, scopes: Scope[] = ['write'], more: Record<string, unknown> = {}): Promise<TestKey> {
  const res = await request(app)
    .post('/api/v1/api-keys')
    .set('Authorization', `Bearer ${user.token}`)
    .set('X-Organization-Id', organizationId)
    .send({ name: `key ${scopes.join('+')}`, scopes, expiration: 'never', ...more })
    .expect(201);
  return { id: res.body.id, key: res.body.key, keyPrefix: res.body.keyPrefix };
}

/** A supertest request made with an API key and, optionally, an organization header. */
export function withKey(app: Express, key: string, organizationId?: string) {
  const wrap = (test: request.Test) => {
    test.set('Authorization', `Bearer ${key}`);
    if (organizationId) test.set('X-Organization-Id', organizationId);
    return test;
  };
  return {
    get: (url: string) => wrap(request(app).get(url)),
    post: (url: string) => wrap(request(app).post(url)),
    patch: (url: string) => wrap(request(app).patch(url)),
    put: (url: string) => wrap(request(app).put(url)),
    delete: (url: string) => wrap(request(app).delete(url)),
  };
}
