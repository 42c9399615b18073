import { isUtf8 } from 'node:buffer';
import express, { type Request, type RequestHandler } from 'express';
import { DEFAULT_JSON_LIMITS, jsonLimitBreach, type JsonLimits } from '../json-limits';
import { Problem, problems } from '../problems';

/** The largest JSON body any operation takes (413 above); signed webhooks set lower limits of their own. */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

/**
 * Parses JSON bodies (application/json and any +json type) for every route,
 * the API's and the signed webhooks' alike. Before JSON.parse runs, the bytes
 * as received must be UTF-8 (RFC 8259 allows nothing else) and within the
 * depth and value limits; the exact bytes are kept in `req.rawBody` for
 * signature checks.
 */
export function jsonBody(limits: Partial<JsonLimits> = {}): RequestHandler {
  const effective: JsonLimits = { ...DEFAULT_JSON_LIMITS, ...limits };
  return express.json({
    limit: MAX_JSON_BODY_BYTES,
    type: ['application/json', 'application/*+json'],
    // Runs on the (decompressed) bytes before they are decoded and parsed; a
    // Problem thrown here keeps its status and reaches the error handler as is.
    verify: (req, _res, buffer, encoding) => {
      checkJsonBytes(buffer, encoding, effective);
      (req as Request).rawBody = buffer;
    },
  });
}

function checkJsonBytes(buffer: Buffer, encoding: string, limits: JsonLimits): void {
  // body-parser would also decode UTF-16 and UTF-32; the byte scan below reads UTF-8 only.
  if (encoding.toLowerCase() !== 'utf-8') {
    throw new Problem(415, 'unsupported-media-type', 'Send JSON encoded as UTF-8 (charset=utf-8, or no charset).');
  }
  if (!isUtf8(buffer)) {
    throw problems.validation('The request body is not valid UTF-8.', [{ path: '/body', message: 'is not valid UTF-8' }]);
  }
  const breach = jsonLimitBreach(buffer, limits);
  if (breach === 'depth') {
    const message = `is nested more than ${limits.maxDepth} levels deep`;
    throw problems.validation(`The JSON body is nested more than ${limits.maxDepth} levels deep.`, [{ path: '/body', message }]);
  }
  if (breach === 'values') {
    const most = limits.maxValues.toLocaleString('en-US');
    throw new Problem(413, 'too-large', `The JSON body holds more than ${most} values (array items and object members counted together).`);
  }
}
