import type { Express, Response } from 'express';

/**
 * res.json for an API answer in one step: the JSON text, its type and length,
 * then the end. Express's own goes through res.send, which looks the type up
 * by extension, parses and rewrites it to add the charset, looks for an ETag
 * and Transfer-Encoding, and asks whether the request is fresh: a few
 * microseconds on every response, for cases an API answer is not. Whatever
 * is one of those cases (HEAD, 204/205/304, a validator on the response, a
 * type with parameters other than the charset, no body) still takes Express's
 * way, so the bytes on the wire are the same either way.
 */
export function answerJsonDirectly(app: Express): void {
  const expressJson = app.response.json;
  app.response.json = function json(this: Response, body?: unknown): Response {
    const type = this.getHeader('Content-Type');
    const ordinary =
      body !== undefined &&
      this.req.method !== 'HEAD' &&
      this.statusCode !== 204 &&
      this.statusCode !== 205 &&
      this.statusCode !== 304 &&
      (type === undefined || (typeof type === 'string' && (type.includes('; charset=utf-8') || !type.includes(';')))) &&
      !this.hasHeader('ETag') &&
      !this.hasHeader('Last-Modified') &&
      !this.hasHeader('Transfer-Encoding');
    const text: string | undefined = ordinary ? JSON.stringify(body) : undefined;
    if (text === undefined) return expressJson.call(this, body);
    // As Express does: the charset goes on the type (problem+json included).
    if (type === undefined) this.setHeader('Content-Type', 'application/json; charset=utf-8');
    else if (typeof type === 'string' && !type.includes(';')) this.setHeader('Content-Type', `${type}; charset=utf-8`);
    this.setHeader('Content-Length', Buffer.byteLength(text));
    this.end(text, 'utf8');
    return this;
  };
}
