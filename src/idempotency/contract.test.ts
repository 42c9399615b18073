import type { OpenAPIV3 } from 'express-openapi-validator/dist/framework/types';
import { keyedOperations, takesIdempotencyKey } from './contract';

const op = (more: Record<string, unknown> = {}) => ({ operationId: 'x', responses: {}, ...more }) as OpenAPIV3.OperationObject;

describe('takesIdempotencyKey', () => {
  test('every POST by default', () => {
    expect(takesIdempotencyKey('post', op())).toBe(true);
    expect(takesIdempotencyKey('post', op({ 'x-idempotent': true }))).toBe(true);
  });

  test('not a POST marked x-idempotent: false, nor one anyone may call, nor other methods', () => {
    expect(takesIdempotencyKey('post', op({ 'x-idempotent': false }))).toBe(false);
    expect(takesIdempotencyKey('post', op({ security: [] }))).toBe(false);
    for (const method of ['get', 'put', 'patch', 'delete']) expect(takesIdempotencyKey(method, op())).toBe(false);
  });
});

test('keyedOperations finds where each keyed operation takes its organization from', () => {
  const contract = {
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    paths: {
      '/api/v1/things': {
        parameters: [{ $ref: '#/components/parameters/OrganizationHeader' }],
        post: op({ operationId: 'createThing' }),
        get: op({ operationId: 'listThings' }),
      },
      '/api/v1/organizations': { post: op({ operationId: 'createOrganization' }) },
      '/api/v1/organizations/{organizationId}/members': { post: op({ operationId: 'addMember' }) },
      '/api/v1/things/check': { post: op({ operationId: 'checkThing', 'x-idempotent': false }) },
    },
  } as unknown as OpenAPIV3.DocumentV3_1;
  expect(Object.fromEntries(keyedOperations(contract))).toEqual({
    createThing: { readsOrganizationHeader: true, organizationInPath: false },
    createOrganization: { readsOrganizationHeader: false, organizationInPath: false },
    addMember: { readsOrganizationHeader: false, organizationInPath: true },
  });
});
