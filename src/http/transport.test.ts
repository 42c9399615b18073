import type { Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import { headersSetBy, securityHeaders } from './transport';

/** What a middleware leaves on a response that starts with X-Powered-By set, as Express's own would. */
function applied(middleware: RequestHandler): Record<string, string> {
  const headers: Record<string, string> = { 'x-powered-by': 'Express' };
  const res = {
    setHeader: (name: string, value: unknown) => (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => delete headers[name.toLowerCase()],
    getHeader: (name: string) => headers[name.toLowerCase()],
  };
  void middleware({ headers: {} } as Request, res as unknown as Response, () => undefined);
  return headers;
}

test('the headers read ahead are the ones helmet sets itself, and X-Powered-By still goes', () => {
  const options = { contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"] } } };
  expect(applied(securityHeaders())).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY' });
  const replayed = applied((_req, res, next) => {
    res.removeHeader('X-Powered-By');
    for (const [name, value] of headersSetBy(helmet(options))) res.setHeader(name, value);
    next();
  });
  expect(replayed).toEqual(applied(helmet(options)));
});

test('a middleware that answers later cannot be read ahead', () => {
  expect(() => headersSetBy((_req, _res, next) => setTimeout(next, 0))).toThrow(/does not finish at once/);
});
