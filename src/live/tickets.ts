import { createHash, randomBytes } from 'node:crypto';
import type { Request } from 'express';
import type pg from 'pg';
import { API_KEY_SCOPES, type ApiKeyScope, type Identity } from '../auth/caller';
import { identityFromClaims } from '../auth/identity';
import type { TokenClaims } from '../auth/jwt';
import { requireOrganization, requireUser, withServiceTransaction, type RequestTransaction } from '../db/transaction';
import { Problem, problems } from '../problems';
import { ISSUE_TICKET, REDEEM_TICKET } from './sql';

/** A ticket is `st_` and 32 random bytes (base64url): unguessable, and recognizable in a log that must redact it. */
const TICKET_PREFIX = 'st_';

export function hashTicket(ticket: string): Buffer {
  return createHash('sha256').update(ticket, 'utf8').digest();
}

/** Issues a ticket for the caller in the request's organization; only its hash is stored. */
export async function issueTicket(tx: RequestTransaction, ttlSeconds: number): Promise<{ ticket: string; expiresAt: string }> {
  requireUser(tx);
  requireOrganization(tx);
  const ticket = `${TICKET_PREFIX}${randomBytes(32).toString('base64url')}`;
  const issued = await tx.queryLast<{ expires_at: string }>(ISSUE_TICKET, [hashTicket(ticket), ttlSeconds]);
  return { ticket, expiresAt: issued.rows[0]!.expires_at };
}

/**
 * The identity a ticket's claims stand for: a user's token claims as the
 * bearer handler maps them, or an API key's (the claims the API itself built
 * for the key, with its api_key claim; the database re-checks the key on the
 * stream's own request, so a key revoked since cannot open it).
 */
export function identityOfTicket(claims: TokenClaims): Identity {
  const key = claims.api_key as { id?: unknown; organization_id?: unknown; scope?: unknown } | undefined;
  if (key === undefined) return identityFromClaims(claims);
  const { api_key: _key, ...userClaims } = claims;
  const user = identityFromClaims(userClaims);
  if (typeof key.id !== 'string' || typeof key.organization_id !== 'string' || !API_KEY_SCOPES.includes(key.scope as ApiKeyScope)) {
    throw problems.unauthorized('This stream ticket is not valid.');
  }
  return { ...user, claims, apiKey: { id: key.id, organizationId: key.organization_id, scope: key.scope as ApiKeyScope } };
}

/** The organization each ticket-opened request acts in (its ticket's), by request. */
const ticketOrganizations = new WeakMap<Request, string>();

/** The organization a request opened with a ticket acts in; undefined for one with an Authorization header. */
export function ticketOrganization(req: Request): string | undefined {
  return ticketOrganizations.get(req);
}

/**
 * The streamTicket security handler: redeems `?ticket=` once (any instance
 * redeems what another issued: tickets live in the database) and makes its
 * claims the request's identity. A request that also sends an Authorization
 * header is authenticated by that, and its ticket is left unspent.
 */
export function streamTicketHandler(deps: { pool: pg.Pool; statementTimeoutMs: number }) {
  return async (req: Request): Promise<boolean> => {
    if (req.header('authorization') !== undefined) return false;
    const ticket = typeof req.query.ticket === 'string' ? req.query.ticket : '';
    try {
      if (!ticket.startsWith(TICKET_PREFIX)) throw problems.unauthorized('This is not a stream ticket.');
      let redeemed: { claims: TokenClaims; organization_id: string } | undefined;
      try {
        redeemed = (
          await withServiceTransaction(deps.pool, deps.statementTimeoutMs, (tx) =>
            tx.queryLast<{ claims: TokenClaims; organization_id: string }>(REDEEM_TICKET, [hashTicket(ticket)]),
          )
        ).rows[0];
      } catch {
        throw problems.unavailable('The stream ticket could not be checked right now; retry shortly.');
      }
      if (!redeemed) throw problems.unauthorized('This stream ticket is unknown, already used or expired: ask for a new one.');
      req.identity = identityOfTicket(redeemed.claims);
      ticketOrganizations.set(req, redeemed.organization_id);
      return true;
    } catch (error) {
      // The validator re-wraps a handler's error as 401; the real verdict is kept for the error handler.
      if (error instanceof Problem) req.authFailure = error;
      throw error;
    }
  };
}
