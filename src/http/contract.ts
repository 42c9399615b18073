import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { OpenAPIV3 } from 'express-openapi-validator/dist/framework/types';

export const CONTRACT_PATH = path.resolve(__dirname, '..', '..', 'openapi', 'openapi.yaml');

let cached: OpenAPIV3.DocumentV3_1 | undefined;

/** The OpenAPI document, parsed once; the validator and /openapi.json share it. */
export function loadContract(): OpenAPIV3.DocumentV3_1 {
  cached ??= parse(readFileSync(CONTRACT_PATH, 'utf8')) as OpenAPIV3.DocumentV3_1;
  return cached;
}

/** An operation of a contract, with where it stands. */
export interface ContractOperation {
  path: string;
  method: 'get' | 'put' | 'post' | 'patch' | 'delete';
  item: OpenAPIV3.PathItemObject;
  operation: OpenAPIV3.OperationObject & { operationId: string };
}

/** Every operation of `contract` that has an operationId, in the document's order. */
export function operationsOf(contract: OpenAPIV3.DocumentV3_1): ContractOperation[] {
  const found: ContractOperation[] = [];
  for (const [path, item] of Object.entries(contract.paths ?? {})) {
    if (!item) continue;
    for (const method of ['get', 'put', 'post', 'patch', 'delete'] as const) {
      const operation = item[method];
      if (operation?.operationId) found.push({ path, method, item, operation: operation as ContractOperation['operation'] });
    }
  }
  return found;
}
