import type { Request, RequestHandler, Response } from 'express';
import { inSequence, under } from './sequence';

function run(handler: RequestHandler, req: Partial<Request> = {}): Promise<unknown[]> {
  return new Promise((resolve) => {
    handler(req as Request, {} as Response, (...args: unknown[]) => resolve(args));
  });
}

describe('middlewares in sequence, as one layer', () => {
  test('each runs in order, then the layer passes the request on', async () => {
    const seen: string[] = [];
    const step = (name: string): RequestHandler => (_req, _res, next) => {
      seen.push(name);
      next();
    };
    expect(await run(inSequence([step('a'), step('b'), step('c')]))).toEqual([]);
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  test('an error passed on, thrown, or rejected skips the rest and reaches the router', async () => {
    const never: RequestHandler = () => {
      throw new Error('must not run');
    };
    const passed = new Error('passed');
    expect(await run(inSequence([(_req, _res, next) => next(passed), never]))).toEqual([passed]);
    const thrown = new Error('thrown');
    expect(
      await run(
        inSequence([
          () => {
            throw thrown;
          },
          never,
        ]),
      ),
    ).toEqual([thrown]);
    const rejected = new Error('rejected');
    expect(await run(inSequence([async () => Promise.reject(rejected), never]))).toEqual([rejected]);
  });

  test('a middleware that answers ends the sequence', async () => {
    let ran = false;
    const answered = inSequence([
      () => {
        ran = true;
      },
      () => {
        throw new Error('must not run');
      },
    ]);
    answered({} as Request, {} as Response, () => {
      throw new Error('must not be passed on');
    });
    expect(ran).toBe(true);
  });
});

describe('a middleware under a path', () => {
  const marking: RequestHandler = (req, _res, next) => {
    (req as Request & { marked?: boolean }).marked = true;
    next();
  };

  test('sees the path itself and everything below it, not a path that only starts alike', async () => {
    for (const [path, expected] of [
      ['/api/v1', true],
      ['/api/v1/projects', true],
      ['/api/v10/projects', false],
      ['/docs', false],
    ] as const) {
      const req = { path } as Request & { marked?: boolean };
      expect(await run(under('/api/v1', marking), req)).toEqual([]);
      expect(req.marked === true).toBe(expected);
    }
  });
});
