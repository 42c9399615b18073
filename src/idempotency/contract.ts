import type { OpenAPIV3 } from 'express-openapi-validator/dist/framework/types';
import { operationsOf } from '../http/contract';

/** How an operation that takes Idempotency-Key picks the organization its keys belong to. */
export interface KeyedOperation {
  /** The operation reads X-Organization-Id (else the header is ignored, as its handler ignores it). */
  readsOrganizationHeader: boolean;
  /** Its path names the organization (/organizations/{organizationId}/...). */
  organizationInPath: boolean;
}

type Parameter = OpenAPIV3.ReferenceObject | OpenAPIV3.ParameterObject;

const ORGANIZATION_HEADER_REF = '#/components/parameters/OrganizationHeader';

/**
 * Every POST takes an Idempotency-Key unless the contract says
 * `x-idempotent: false` (a check, a dry run, a state switch that is safe to
 * repeat) or anyone may call it (`security: []`: signed webhooks carry their
 * own replay protection, and there is no caller to keep keys for). So a new
 * creating POST is covered the day it is added; test/idempotency.test.ts
 * fails until its contract documents the header.
 */
export function takesIdempotencyKey(method: string, operation: OpenAPIV3.OperationObject & { 'x-idempotent'?: unknown }): boolean {
  if (method.toLowerCase() !== 'post') return false;
  if (operation['x-idempotent'] === false) return false;
  return !(Array.isArray(operation.security) && operation.security.length === 0);
}

/** The operations that take Idempotency-Key, by operationId. */
export function keyedOperations(contract: OpenAPIV3.DocumentV3_1): Map<string, KeyedOperation> {
  const keyed = new Map<string, KeyedOperation>();
  for (const { path, method, item, operation } of operationsOf(contract)) {
    if (!takesIdempotencyKey(method, operation)) continue;
    const parameters: Parameter[] = [...(item.parameters ?? []), ...(operation.parameters ?? [])];
    keyed.set(operation.operationId, {
      readsOrganizationHeader: parameters.some(
        (p) => ('$ref' in p && p.$ref === ORGANIZATION_HEADER_REF) || (!('$ref' in p) && p.in === 'header' && p.name.toLowerCase() === 'x-organization-id'),
      ),
      organizationInPath: path.includes('{organizationId}'),
    });
  }
  return keyed;
}
