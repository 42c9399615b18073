import type { Request, RequestHandler, Response } from 'express';
import type { operations } from '../generated/openapi';
import { loadContract, operationsOf } from './contract';

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

type OperationHandler = (req: Request, res: Response) => Promise<void>;

let contractOperations: Set<string> | undefined;

/** Every operationId of the contract, read once. */
function inContract(operationId: string): boolean {
  contractOperations ??= new Set(operationsOf(loadContract()).map(({ operation }) => operation.operationId));
  return contractOperations.has(operationId);
}

/**
 * A domain's handlers by operationId. The contract, not a path table of ours,
 * says which operation a request is: express-openapi-validator has already
 * matched it (static paths before parameters, 404 and 405 included), so a
 * request goes straight to its handler, not through a router per domain.
 */
export class Operations {
  private readonly handlers = new Map<string, OperationHandler>();

  add(operationId: OperationId, handler: OperationHandler): void {
    if (!inContract(operationId)) throw new Error(`the contract has no operation ${operationId}`);
    if (this.handlers.has(operationId)) throw new Error(`operation ${operationId} has two handlers`);
    this.handlers.set(operationId, handler);
  }

  /** Takes in another domain's operations (the composition root, or a domain made of parts). */
  include(other: Operations): this {
    for (const [operationId, handler] of other.handlers) this.add(operationId as OperationId, handler);
    return this;
  }

  handlerOf(operationId: string): OperationHandler | undefined {
    return this.handlers.get(operationId);
  }
}

/** What express-openapi-validator attaches to a request it matched. */
interface MatchedRequest {
  openapi?: { schema?: { operationId?: string }; pathParams?: Record<string, string> };
}

/**
 * Runs the handler of the operation the validator matched; a request whose
 * operation has no handler here goes on (to the 404 after it).
 */
export function dispatchOperations(operations: Operations): RequestHandler {
  return (req, res, next) => {
    const { openapi } = req as Request & MatchedRequest;
    const operationId = openapi?.schema?.operationId;
    const handler = operationId === undefined ? undefined : operations.handlerOf(operationId);
    if (!handler) {
      next();
      return;
    }
    // Express gives req.params the (empty) parameters of each mounted layer it
    // passes; the operation's own are the ones the validator parsed from the path.
    req.params = openapi?.pathParams ?? {};
    handler(req, res).catch(next);
  };
}

/**
 * The one way to write a route: the operationId names it (the contract gives
 * its method and path), and the handler gets body, query and path parameters
 * typed from the generated `operations`, which express-openapi-validator has
 * already checked against the same contract, so no cast is needed.
 */
export function route<Op extends OperationId>(operations: Operations, operationId: Op, handler: (input: RouteInput<Op>) => Promise<void>): void {
  operations.add(operationId, async (req, res) => {
    // The one place the request's parts take their contract types: the
    // validator has checked them (and set the path parameters) before this runs.
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
