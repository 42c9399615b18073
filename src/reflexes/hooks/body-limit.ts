import type { Request } from 'express';
import { Problem } from '../../problems';

/** 413 when the body as received is larger than the limit (the JSON parser's own limit is higher). */
export function requireBodyWithin(req: Request, maxBytes: number): void {
  const size = req.rawBody?.length ?? Number(req.header('content-length') ?? 0);
  if (size > maxBytes) {
    throw new Problem(413, 'too-large', `The body may have at most ${maxBytes} bytes; this one has ${size}.`);
  }
}
