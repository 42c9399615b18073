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
