import type { Request, RequestHandler, Response } from 'express';
import type pg from 'pg';
import { withServiceTransaction } from '../db/transaction';
import { loadContract } from '../http/contract';
import type { RunInTransaction, RunOptions } from '../http/context';
import { Problem, problems } from '../problems';
import { keyedOperations, type KeyedOperation } from './contract';
import { isKeptStatus, keyHash, openBody, parseIdempotencyKey, REPLAYED_HEADER, requestFingerprint, sealBody, STORED_HEADERS } from './rules';
import { claimKey, recordResponse, releaseKey, type ClaimRow } from './sql';

export interface IdempotencyDeps {
  inTransaction: RunInTransaction;
  pool: pg.Pool;
  statementTimeoutMs: number;
  /**
   * How long a reservation holds without an answer. A request runs for
   * seconds (a `?wait=true` execution at most EXECUTE_WAIT_MAX_MS); only a
   * server that died mid-request leaves one this old, and its key is then
   * free for the retry. Default 300.
   */
  leaseSeconds?: number;
}

/** What express-openapi-validator found for the request: the contract's operation. */
interface MatchedOperation {
  openapi?: { schema?: { operationId?: string }; pathParams?: Record<string, string> };
}

interface SentResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Written in parts (a stream): not something to replay. */
  streamed: boolean;
}

/**
 * Idempotency-Key for every operation of the contract that takes one (see
 * ./contract.ts), as one piece of plumbing between contract validation and
 * the routes. The key is reserved in a short transaction of its own before
 * the handler runs, so a concurrent duplicate sees it (409) instead of doing
 * the work again; the handler's response is recorded before it is sent, so a
 * retry after a lost answer replays it (`Idempotent-Replayed: true`). A
 * response that may be retried (429, 5xx) frees the key instead.
 */
export function idempotencyKeys(deps: IdempotencyDeps): RequestHandler {
  const operations = keyedOperations(loadContract());
  const leaseSeconds = deps.leaseSeconds ?? 300;

  return async (req, res, next) => {
    const header = req.headers['idempotency-key'];
    const { openapi } = req as Request & MatchedOperation;
    const operation = openapi?.schema?.operationId ? operations.get(openapi.schema.operationId) : undefined;
    if (header === undefined || !operation || !req.identity) {
      next();
      return;
    }
    const key = parseIdempotencyKey(header);
    const fingerprint = requestFingerprint({ method: req.method, path: req.originalUrl.split('?')[0]!, query: req.query, body: req.body });
    const claim = await deps.inTransaction(req, (tx) => claimKey(tx, keyHash(key), fingerprint, leaseSeconds), runOptions(operation, openapi?.pathParams));
    switch (claim.outcome) {
      case 'replay':
        replay(res, claim, openBody(claim.response_body!, key, fingerprint));
        return;
      case 'mismatch':
        throw problems
          .unprocessable('This Idempotency-Key was used for a different request (another method, path or body) in the last 24 hours; send a new key.', [
            { path: '/headers/idempotency-key', message: 'was used for a different request', code: 'idempotency_key_reused' },
          ])
          .because('idempotency_key_reused');
      case 'in_use':
        throw new Problem(409, 'conflict', 'A request with this Idempotency-Key is still running; retry shortly to get its answer.', undefined, {
          'Retry-After': '1',
        }).because('idempotency_key_in_use');
      case 'reserved':
        recordBeforeSending(res, (sent) => settle(deps, claim.reservation!, sent, key, fingerprint));
        next();
        return;
    }
  };
}

/** The organization the keys belong to is the one the operation acts in, picked the way its handler picks it. */
function runOptions(operation: KeyedOperation, pathParams: Record<string, string> | undefined): RunOptions {
  return {
    // A back-office caller's keys are kept too; whether it may call the operation is the handler's answer.
    allowServiceRole: true,
    ignoreOrganizationHeader: !operation.readsOrganizationHeader,
    organizationId: operation.organizationInPath ? pathParams?.organizationId : undefined,
  };
}

function replay(res: Response, claim: ClaimRow, body: Buffer): void {
  res.status(claim.response_status!);
  for (const [name, value] of Object.entries(claim.response_headers ?? {})) res.setHeader(name, value);
  res.setHeader(REPLAYED_HEADER, 'true');
  res.end(body);
}

/** Keeps the response (or frees the key); a failure here must not cost the client its answer. */
async function settle(deps: IdempotencyDeps, reservation: string, sent: SentResponse, key: string, fingerprint: Buffer): Promise<void> {
  try {
    await withServiceTransaction(deps.pool, deps.statementTimeoutMs, async (tx) => {
      if (!sent.streamed && isKeptStatus(sent.status)) {
        await recordResponse(tx, reservation, { status: sent.status, headers: sent.headers, sealedBody: sealBody(sent.body, key, fingerprint) });
      } else {
        await releaseKey(tx, reservation);
      }
    });
  } catch (error) {
    // The reservation stays until its lease ends; then a retry runs again.
    console.error(`idempotency: could not settle a key: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Holds back the end of the response until `record` has seen it: the route
 * sends as it always does (res.json, sendProblem), and a retry arriving after
 * the client got its answer finds the answer kept.
 */
function recordBeforeSending(res: Response, record: (sent: SentResponse) => Promise<void>): void {
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  let streamed = false;
  let ended = false;
  res.write = ((...args: unknown[]) => {
    streamed = true;
    return write(...args);
  }) as Response['write'];
  res.end = ((...args: unknown[]) => {
    if (ended) return end(...args);
    ended = true;
    const [chunk, encoding] = args;
    const body =
      typeof chunk === 'string'
        ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
        : chunk instanceof Uint8Array
          ? Buffer.from(chunk)
          : Buffer.alloc(0);
    void record({ status: res.statusCode, headers: keptHeaders(res), body, streamed }).finally(() => end(...args));
    return res;
  }) as Response['end'];
}

function keptHeaders(res: Response): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const value = res.getHeader(name);
    if (value !== undefined) kept[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return kept;
}
