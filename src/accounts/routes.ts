import { isIP } from 'node:net';
import express, { type Request, type Router } from 'express';
import type pg from 'pg';
import type { Identity } from '../auth/caller';
import type { RunInTransaction } from '../http/context';
import { route } from '../http/route';
import { problems } from '../problems';
import type { SessionLiveness } from './liveness';
import {
  describeUser,
  endOtherSessions,
  endSession,
  listSessions,
  refreshSession,
  signIn,
  signOut,
  signUp,
  type AccountsDeps,
  type Client,
} from './operations';
import { prepareDummyHash } from './passwords';
import { notImplemented } from './problems';
import { storableUserAgent } from './rules';
import type { AccountsSettings } from './settings';
import { confirmTwoFactor, disableTwoFactor, enrollTwoFactor, twoFactorStatus, verifyChallenge } from './two-factor';

export interface AccountsRouterDeps {
  pool: pg.Pool;
  statementTimeoutMs: number;
  /** Absent: this app signs nobody in (the endpoints answer 501). */
  settings: AccountsSettings | undefined;
  /** The liveness of local sessions, shared with the verifier (see liveness.ts). */
  liveness: SessionLiveness | undefined;
}

/** The client's address (Express's req.ip, which TRUST_PROXY governs) when it is one, and its User-Agent. */
function clientOf(req: Request): Client {
  const ip = req.ip && isIP(req.ip) !== 0 ? req.ip : undefined;
  return { ip, userAgent: storableUserAgent(req.header('user-agent')) };
}

function identityOf(req: Request): Identity {
  if (!req.identity) throw problems.unauthorized('Authentication is required.');
  return req.identity;
}

/** /auth: signing in to local accounts (embedded mode), sessions and two-factor authentication. */
export function accountsRouter(inTransaction: RunInTransaction, deps: AccountsRouterDeps): Router {
  const router = express.Router();
  const { settings, liveness } = deps;
  // The first sign-in of an unknown email must not be the one that pays for making the dummy hash.
  if (settings?.mode === 'local') prepareDummyHash().catch(() => undefined);

  const local = (): AccountsDeps => {
    if (settings?.mode === 'local' && liveness) return { pool: deps.pool, statementTimeoutMs: deps.statementTimeoutMs, settings, liveness };
    if (settings?.mode === 'supabase') {
      throw notImplemented('With a Supabase project configured, accounts live in Supabase Auth: sign in with supabase-js against the project (signing in through this API in that mode is not built yet).');
    }
    throw notImplemented('This server signs nobody in: it has no local account store configured.');
  };

  route(router, 'signUp', async ({ body, req, res }) => {
    res.status(201).json(await signUp(local(), body, clientOf(req)));
  });

  route(router, 'signIn', async ({ body, req, res }) => {
    res.json(await signIn(local(), body, clientOf(req)));
  });

  route(router, 'verifyMfaChallenge', async ({ body, req, res }) => {
    res.json(await verifyChallenge(local(), body, clientOf(req)));
  });

  route(router, 'refreshSession', async ({ body, req, res }) => {
    res.json(await refreshSession(local(), body, clientOf(req)));
  });

  route(router, 'signOut', async ({ req, res }) => {
    await signOut(local(), identityOf(req), clientOf(req));
    res.status(204).end();
  });

  // The caller as the frontend's auth client reads them: any valid token (a local session's, a minted one).
  route(router, 'getAuthUser', async ({ req, res }) => {
    res.json(await inTransaction(req, describeUser, { ignoreOrganizationHeader: true }));
  });

  route(router, 'listSessions', async ({ query, req, res }) => {
    res.json(await listSessions(local(), identityOf(req), query));
  });

  route(router, 'endOtherSessions', async ({ req, res }) => {
    res.json(await endOtherSessions(local(), identityOf(req), clientOf(req)));
  });

  route(router, 'endSession', async ({ params, req, res }) => {
    await endSession(local(), identityOf(req), params.sessionId, clientOf(req));
    res.status(204).end();
  });

  route(router, 'getTwoFactorStatus', async ({ req, res }) => {
    res.json(await twoFactorStatus(local(), identityOf(req)));
  });

  route(router, 'enrollTwoFactor', async ({ req, res }) => {
    res.json(await enrollTwoFactor(local(), identityOf(req)));
  });

  route(router, 'confirmTwoFactor', async ({ body, req, res }) => {
    res.json(await confirmTwoFactor(local(), identityOf(req), body));
  });

  route(router, 'disableTwoFactor', async ({ body, req, res }) => {
    res.json(await disableTwoFactor(local(), identityOf(req), body));
  });

  route(router, 'startOAuth', async ({ params }) => {
    throw notImplemented(`Signing in with ${params.provider === 'github' ? 'GitHub' : 'Google'} needs a Supabase project (SUPABASE_URL) and is not built yet.`);
  });

  return router;
}
