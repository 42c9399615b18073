import type { NextFunction, Request, Response } from 'express';
import { dispatchOperations, Operations, route, type OperationId } from './route';

/** A request as express-openapi-validator leaves it once it matched `operationId`. */
function matched(operationId?: string): Request {
  // req.params as Express leaves it after a mounted layer: empty; the path's values are the validator's.
  return { openapi: operationId ? { schema: { operationId }, pathParams: { projectId: 'p1' } } : undefined, body: undefined, query: {}, params: {} } as unknown as Request;
}

async function dispatch(operations: Operations, req: Request): Promise<unknown[]> {
  const passed: unknown[] = [];
  await new Promise<void>((resolve) => {
    const next: NextFunction = (error?: unknown) => {
      passed.push(error);
      resolve();
    };
    dispatchOperations(operations)(req, {} as Response, next);
    // A handler that answers never calls next: give it a turn, then stop waiting.
    setImmediate(resolve);
  });
  return passed;
}

test('a route names an operation of the contract, once', () => {
  const operations = new Operations();
  route(operations, 'getProject', async () => undefined);
  expect(() => route(operations, 'getProject', async () => undefined)).toThrow('operation getProject has two handlers');
  expect(() => route(new Operations(), 'noSuchOperation' as OperationId, async () => undefined)).toThrow('the contract has no operation noSuchOperation');
  // Taking in another domain's operations is refused the same way when they overlap.
  const other = new Operations();
  route(other, 'getProject', async () => undefined);
  expect(() => operations.include(other)).toThrow('operation getProject has two handlers');
});

test('a request goes to the handler of the operation the validator matched, with its path parameters', async () => {
  const operations = new Operations();
  const seen: string[] = [];
  route(operations, 'getProject', async ({ params }) => {
    seen.push(`getProject ${params.projectId}`);
  });
  route(operations, 'listProjects', async () => {
    seen.push('listProjects');
  });
  expect(await dispatch(operations, matched('getProject'))).toEqual([]);
  expect(seen).toEqual(['getProject p1']);
});

test('no handler, or no operation matched: the request goes on; a failing handler hands its error on', async () => {
  const operations = new Operations();
  const failure = new Error('refused');
  route(operations, 'deleteProject', async () => {
    throw failure;
  });
  expect(await dispatch(operations, matched('getProject'))).toEqual([undefined]);
  expect(await dispatch(operations, matched())).toEqual([undefined]);
  expect(await dispatch(operations, matched('deleteProject'))).toEqual([failure]);
});
