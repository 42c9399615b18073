import { accountHolder } from '../accounts/operations';
import type { SessionLiveness } from '../accounts/liveness';
import type { AccountsSettings } from '../accounts/settings';
import { deleteSupabaseUser } from '../accounts/supabase/admin';
import type { RunInTransaction } from '../http/context';
import { Operations, route } from '../http/route';
import { problems } from '../problems';
import { streamMyExport } from './export';
import { eraseMyAccount, getMe } from './operations';

export interface MeRouterDeps {
  /** How people sign in: with Supabase Auth, an erased user is deleted there too (when its admin key is given). */
  accounts: AccountsSettings | undefined;
  /** Local sessions' liveness: an erased account's access tokens stop at once on this instance. */
  liveness: SessionLiveness | undefined;
  log: (line: string) => void;
}

export function meRoutes(runInTransaction: RunInTransaction, deps: MeRouterDeps): Operations {
  const routes = new Operations();
  // /me is about the caller, not an organization: X-Organization-Id plays no part.
  const inTransaction: RunInTransaction = (req, work) => runInTransaction(req, work, { ignoreOrganizationHeader: true });

  route(routes, 'getMe', async ({ req, res }) => {
    res.json(await inTransaction(req, getMe));
  });

  route(routes, 'exportMyData', async ({ req, res }) => {
    if (!req.identity) throw problems.unauthorized('Authentication is required.');
    const userId = accountHolder(req.identity);
    try {
      await inTransaction(req, (tx) => streamMyExport(tx, res, userId, new Date()));
    } catch (error) {
      // Once the document has started, a failure (or a client that left) can only cut it short.
      if (res.headersSent) {
        res.destroy();
        return;
      }
      throw error;
    }
  });

  route(routes, 'eraseMyAccount', async ({ body, req, res }) => {
    const ended = await inTransaction(req, (tx) => eraseMyAccount(tx, body));
    for (const sessionId of ended) deps.liveness?.ended(sessionId);
    if (deps.accounts?.mode === 'supabase') {
      try {
        const outcome = await deleteSupabaseUser(deps.accounts, req.identity!.userId!);
        if (outcome === 'not_configured') deps.log(`erasure: user ${req.identity!.userId} is left in Supabase Auth (no SUPABASE_SERVICE_ROLE_KEY); delete it there`);
      } catch (error) {
        // The data here is gone and the account cannot come back (app.erased_accounts); the operator finishes at Supabase.
        deps.log(`erasure: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    res.status(204).end();
  });

  return routes;
}
