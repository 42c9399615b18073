import type { Request, Response, Router } from 'express';
import type { operations } from '../generated/openapi';
import { loadContract } from './contract';
import { API_BASE } from './context';

/** Every operation of the contract, by its operationId. */
export type OperationId = keyof operations;

type Operation<Op extends OperationId> = operations[Op];
type JsonContent<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;
/** `never` (the contract declares no such part) becomes an empty object. */
type OrEmpty<T> = [T] extends [never] ? Record<string, never> : T;

/** The JSON body the contract declares; undefined where it is optional and none was sent. */
export type RequestBody<Op extends OperationId> =
  Operation<Op> extends { requestBody: infer Declared }
    ? JsonContent<Declared>
    : Operation<Op> extends { requestBody?: infer Optional }
      ? [Optional] extends [never]
        ? undefined
        : JsonContent<NonNullable<Optional>> | undefined
      : undefined;

/** Query parameters, parsed to their declared types (and defaults) by the validator. */
export type RequestQuery<Op extends OperationId> = OrEmpty<Exclude<Operation<Op>['parameters']['query'], undefined>>;

/** Path parameters, by their names in the contract. */
export type RequestParams<Op extends OperationId> = OrEmpty<Exclude<Operation<Op>['parameters']['path'], undefined>>;

/** The JSON body of one of the operation's declared responses. */
export type ResponseBody<Op extends OperationId, Status extends keyof Operation<Op>['responses']> = JsonContent<
  Operation<Op>['responses'][Status]
>;

/** What a handler is given: the request's parts typed from the contract, and the request and response themselves. */
export interface RouteInput<Op extends OperationId> {
  body: RequestBody<Op>;
  query: RequestQuery<Op>;
  params: RequestParams<Op>;
  req: Request;
  res: Response;
}

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

interface RouteOfOperation {
  method: Method;
  /** In Express's syntax, under the base the API routers are mounted at: /projects/:projectId */
  path: string;
}

let routesByOperation: Map<string, RouteOfOperation> | undefined;

/** Method and path of every operationId, read from the contract once. */
function routeOf(operationId: string): RouteOfOperation {
  if (!routesByOperation) {
    routesByOperation = new Map();
    for (const [contractPath, item] of Object.entries(loadContract().paths ?? {})) {
      for (const method of ['get', 'put', 'post', 'patch', 'delete'] as const) {
        const id = (item as Record<string, { operationId?: string } | undefined>)[method]?.operationId;
        if (!id) continue;
        const relative = contractPath.startsWith(`${API_BASE}/`) ? contractPath.slice(API_BASE.length) : contractPath;
        routesByOperation.set(id, { method, path: relative.replace(/\{([^}]+)\}/g, ':$1') });
      }
    }
  }
  const found = routesByOperation.get(operationId);
  if (!found) throw new Error(`the contract has no operation ${operationId}`);
  return found;
}

/**
 * The one way to write a route: the operationId names it, the contract gives
 * its method and path (under API_BASE, where the composition root mounts the
 * API's routers; /health and /ready as they are), and the handler gets body, query and path parameters
 * typed from the generated `operations` (which express-openapi-validator has
 * already checked against the same contract, so no cast is needed).
 */
export function route<Op extends OperationId>(router: Router, operationId: Op, handler: (input: RouteInput<Op>) => Promise<void>): void {
  const { method, path } = routeOf(operationId);
  router[method](path, async (req, res) => {
    // The one place the request's parts take their contract types: the
    // validator has checked them against the same document before this runs.
    const { body, query, params } = req;
    await handler({
      body: body as RequestBody<Op>,
      query: query as unknown as RequestQuery<Op>,
      params: params as unknown as RequestParams<Op>,
      req,
      res,
    });
  });
}
