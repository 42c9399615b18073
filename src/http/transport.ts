import compression from 'compression';
import type { Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';

/**
 * Security headers of every response (helmet). The API answers JSON, which
 * never needs to load anything: its content security policy allows nothing
 * and no framing. /docs gets a policy of its own (docsContentSecurityPolicy).
 * No upgrade-insecure-requests: an instance reached over plain HTTP (a
 * developer's machine, a private network behind a TLS proxy) would have the
 * docs' assets asked for over HTTPS and fail.
 */
export function securityHeaders(): RequestHandler {
  const headers = headersSetBy(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
      },
      // The web app on another origin calls us with CORS, which this header does not govern; it keeps other pages' <img>/<script> out.
      crossOriginResourcePolicy: { policy: 'same-origin' },
      // As frame-ancestors 'none' says, for browsers that only know the older header.
      frameguard: { action: 'deny' },
    }),
  );
  // (X-Powered-By, which helmet would remove, is never set: the app disables it.)
  return (_req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
}

/**
 * The headers a middleware sets, read once by running it on a stand-in
 * response. helmet's headers do not depend on the request, and setting them
 * from one list costs one call instead of helmet's chain of a dozen
 * middlewares on every response (measured: several percent of a short
 * request's CPU). Refuses a middleware that does not finish at once.
 */
export function headersSetBy(middleware: RequestHandler): Array<[string, string]> {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: unknown) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name),
    getHeader: () => undefined,
  };
  let finished = false;
  void middleware({ headers: {} } as Request, recorder as unknown as Response, (error?: unknown) => {
    if (error) throw error;
    finished = true;
  });
  if (!finished) throw new Error('a header middleware that does not finish at once cannot be read ahead');
  return [...headers];
}

/**
 * Swagger UI, served from our own server: its scripts, styles, fonts and
 * images are ours (some images as data: URLs), it fetches the contract and
 * "Try it out" calls the API on the same origin. No inline script runs: the
 * page's initializer is a file of its own (./docs.ts). Inline styles are
 * allowed: the UI renders SVG with <style> elements and style attributes
 * (its logo), and a style can restyle the page but run nothing.
 */
export function docsContentSecurityPolicy(): RequestHandler {
  return helmet.contentSecurityPolicy({
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  });
}

/** Bodies smaller than this go as they are: compressing them costs more time than the bytes it saves. */
export const COMPRESSION_THRESHOLD_BYTES = 1024;

/**
 * Which responses are compressed: whole bodies of a known length (JSON, the
 * contract, the docs' assets) that the client accepts compressed. A streamed
 * response (the exports, Server-Sent Events) has no length when its headers
 * go and is left alone: a compressor buffers until it has a block to emit,
 * which would hold events back, and its stream stands between our writer and
 * the socket's backpressure (src/http/stream.ts waits for 'drain' on the
 * response itself).
 */
export function shouldCompress(req: Request, res: Response): boolean {
  const type = String(res.getHeader('Content-Type') ?? '');
  if (type.startsWith('text/event-stream')) return false;
  if (res.getHeader('Content-Length') === undefined) return false;
  return compression.filter(req, res);
}

export function compressLargeResponses(): RequestHandler {
  const compress = compression({ threshold: COMPRESSION_THRESHOLD_BYTES, filter: shouldCompress });
  // A client that accepts no encoding gets nothing compressed: its response is
  // not wrapped at all (the wrapper costs every response). Without
  // Vary: Accept-Encoding on it, a cache may keep the plain body, which every
  // client can read.
  return (req, res, next) => (req.headers['accept-encoding'] ? compress(req, res, next) : next());
}
