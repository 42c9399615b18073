import type { Request, RequestHandler } from 'express';

/**
 * Several middlewares run as one layer of Express's router, in order, each
 * as the router would run it: a handler that throws, or whose promise
 * rejects, passes its error on, and an error skips the rest. Every layer a
 * request passes costs the router a match, a params object and a closure or
 * two; the stack below the contract's validator is about fifteen of them.
 */
export function inSequence(handlers: readonly RequestHandler[]): RequestHandler {
  if (handlers.length === 1) return handlers[0]!;
  return (req, res, done) => {
    let index = 0;
    const next = (error?: unknown): void => {
      if (error !== undefined && error !== null) {
        done(error);
        return;
      }
      const handler = handlers[index++];
      if (!handler) {
        done();
        return;
      }
      try {
        const result: unknown = handler(req, res, next);
        if (isThenable(result)) result.then(undefined, (rejected: unknown) => next(rejected ?? new Error('Rejected promise')));
      } catch (thrown) {
        next(thrown);
      }
    };
    next();
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/** A middleware that sees only requests under `base` (the full URL stays as it is: handlers read req.originalUrl). */
export function under(base: string, handler: RequestHandler): RequestHandler {
  return (req: Request, res, next) => {
    const path = req.path;
    if (path === base || path.startsWith(`${base}/`)) return handler(req, res, next);
    next();
  };
}
