import type { Request } from 'express';
import type pg from 'pg';
import type { SecretBox } from '../db/secret-box';
import type { Identity } from '../auth/caller';
import { bearerTokenOf } from '../auth/identity';
import { clientAddress, type RunInTransaction } from '../http/context';
import { Operations, route } from '../http/route';
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
import { finishOAuth as finishSupabaseOAuth, startOAuth as startSupabaseOAuth } from './supabase/oauth';
import * as supabase from './supabase/operations';
import * as supabaseSessions from './supabase/sessions';
import * as supabaseTwoFactor from './supabase/two-factor';
import { confirmTwoFactor, disableTwoFactor, enrollTwoFactor, twoFactorStatus, verifyChallenge } from './two-factor';

export interface AccountsRouterDeps {
  pool: pg.Pool;
  statementTimeoutMs: number;
  /** Absent: this app signs nobody in (the endpoints answer 501). */
  settings: AccountsSettings | undefined;
  /** The liveness of local sessions, shared with the verifier (see liveness.ts). */
  liveness: SessionLiveness | undefined;
  /** Seals TOTP secrets at rest. */
  secrets: SecretBox;
}

/** The client's address (as the audit log and every limit see it) and its User-Agent. */
function clientOf(req: Request): Client {
  return { ip: clientAddress(req), userAgent: storableUserAgent(req.header('user-agent')) };
}

function identityOf(req: Request): Identity {
  if (!req.identity) throw problems.unauthorized('Authentication is required.');
  return req.identity;
}

/** The access token the request was authenticated with (Supabase mode acts with it at Supabase Auth). */
function accessTokenOf(req: Request): string {
  const token = bearerTokenOf(req);
  if (!token) throw problems.forbidden('This operation needs a signed-in user\'s access token.');
  return token;
}

/**
 * /auth: signing in, sessions and two-factor authentication, with local
 * accounts (embedded mode) or through Supabase Auth (SUPABASE_URL): each
 * endpoint picks the implementation of the configured mode.
 */
export function accountsRoutes(inTransaction: RunInTransaction, deps: AccountsRouterDeps): Operations {
  const routes = new Operations();
  const { settings, liveness } = deps;
  // The first sign-in of an unknown email must not be the one that pays for making the dummy hash.
  if (settings?.mode === 'local') prepareDummyHash().catch(() => undefined);

  type Mode = { local: AccountsDeps; supabase?: undefined } | { supabase: supabase.SupabaseDeps; local?: undefined };
  const mode = (): Mode => {
    if (settings?.mode === 'local' && liveness) return { local: { pool: deps.pool, statementTimeoutMs: deps.statementTimeoutMs, settings, liveness, secrets: deps.secrets } };
    if (settings?.mode === 'supabase') return { supabase: { pool: deps.pool, statementTimeoutMs: deps.statementTimeoutMs, settings } };
    throw notImplemented('This server signs nobody in: it has no local account store configured.');
  };

  route(routes, 'signUp', async ({ body, req, res }) => {
    const { local, supabase: project } = mode();
    if (local) {
      res.status(201).json(await signUp(local, body, clientOf(req)));
      return;
    }
    const outcome = await supabase.signUp(project, body, clientOf(req));
    if (outcome.kind === 'session') res.status(201).json(outcome.session);
    else res.status(202).json(outcome.pending);
  });

  route(routes, 'signIn', async ({ body, req, res }) => {
    const { local, supabase: project } = mode();
    res.json(local ? await signIn(local, body, clientOf(req)) : await supabase.signIn(project, body, clientOf(req)));
  });

  route(routes, 'verifyMfaChallenge', async ({ body, req, res }) => {
    const { local, supabase: project } = mode();
    res.json(local ? await verifyChallenge(local, body, clientOf(req)) : await supabase.verifyChallenge(project, body, clientOf(req)));
  });

  route(routes, 'refreshSession', async ({ body, req, res }) => {
    const { local, supabase: project } = mode();
    res.json(local ? await refreshSession(local, body, clientOf(req)) : await supabase.refreshSession(project, body));
  });

  route(routes, 'signOut', async ({ req, res }) => {
    const { local, supabase: project } = mode();
    if (local) await signOut(local, identityOf(req), clientOf(req));
    else await supabaseSessions.signOut(project, identityOf(req), accessTokenOf(req), clientOf(req));
    res.status(204).end();
  });

  // The caller as the frontend's auth client reads them: any valid token (a local session's, a minted one).
  route(routes, 'getAuthUser', async ({ req, res }) => {
    res.json(await inTransaction(req, describeUser, { ignoreOrganizationHeader: true }));
  });

  route(routes, 'listSessions', async ({ query, req, res }) => {
    const { local } = mode();
    if (local) res.json(await listSessions(local, identityOf(req), query));
    else res.json(await inTransaction(req, (tx) => supabaseSessions.listSessions(tx, query), { ignoreOrganizationHeader: true }));
  });

  route(routes, 'endOtherSessions', async ({ req, res }) => {
    const { local, supabase: project } = mode();
    res.json(local ? await endOtherSessions(local, identityOf(req), clientOf(req)) : await supabaseSessions.endOtherSessions(project, identityOf(req), accessTokenOf(req), clientOf(req)));
  });

  route(routes, 'endSession', async ({ params, req, res }) => {
    const { local } = mode();
    if (local) await endSession(local, identityOf(req), params.sessionId, clientOf(req));
    else await inTransaction(req, (tx) => supabaseSessions.endSession(tx, params.sessionId), { ignoreOrganizationHeader: true });
    res.status(204).end();
  });

  route(routes, 'getTwoFactorStatus', async ({ req, res }) => {
    const { local, supabase: project } = mode();
    res.json(local ? await twoFactorStatus(local, identityOf(req)) : await supabaseTwoFactor.twoFactorStatus(project, identityOf(req), accessTokenOf(req)));
  });

  route(routes, 'enrollTwoFactor', async ({ req, res }) => {
    const { local, supabase: project } = mode();
    res.json(local ? await enrollTwoFactor(local, identityOf(req)) : await supabaseTwoFactor.enrollTwoFactor(project, identityOf(req), accessTokenOf(req)));
  });

  route(routes, 'confirmTwoFactor', async ({ body, req, res }) => {
    const { local, supabase: project } = mode();
    res.json(
      local ? await confirmTwoFactor(local, identityOf(req), body) : await supabaseTwoFactor.confirmTwoFactor(project, identityOf(req), accessTokenOf(req), body),
    );
  });

  route(routes, 'disableTwoFactor', async ({ body, req, res }) => {
    const { local, supabase: project } = mode();
    res.json(local ? await disableTwoFactor(local, identityOf(req), body) : await supabaseTwoFactor.disableTwoFactor(project, identityOf(req), body));
  });

  const oauthNeedsSupabase = (provider: string) =>
    notImplemented(`Signing in with ${provider === 'github' ? 'GitHub' : provider === 'google' ? 'Google' : 'a provider'} needs a Supabase project (SUPABASE_URL) with the provider enabled; this server runs local accounts only.`);

  route(routes, 'startOAuth', async ({ params, query, res }) => {
    if (settings?.mode !== 'supabase') throw oauthNeedsSupabase(params.provider);
    res.json(await startSupabaseOAuth(mode().supabase!, params.provider, query.redirectTo));
  });

  route(routes, 'finishOAuth', async ({ body, req, res }) => {
    if (settings?.mode !== 'supabase') throw oauthNeedsSupabase('');
    res.json(await finishSupabaseOAuth(mode().supabase!, body, clientOf(req)));
  });

  return routes;
}
