import express, { type Router } from 'express';
import type { components } from '../generated/openapi';
import { requireUser } from '../db/transaction';
import type { RunInTransaction } from '../http/context';
import { ORGANIZATION_COLUMNS, toOrganization, type OrganizationRow } from '../organizations/sql';

type Me = components['schemas']['Me'];

interface ProfileRow {
  id: string;
  email: string;
  full_name: string | null;
  avatar_url: string | null;
  default_organization_id: string | null;
  created_at: string;
}

export function meRouter(runInTransaction: RunInTransaction): Router {
  const router = express.Router();
  // /me is about the caller, not an organization: X-Organization-Id plays no part.
  const inTransaction: RunInTransaction = (req, work) => runInTransaction(req, work, { ignoreOrganizationHeader: true });

  router.get('/me', async (req, res) => {
    const me = await inTransaction(req, async (tx): Promise<Me> => {
      const userId = requireUser(tx);
      const profile = await tx.query<ProfileRow>(
        'select id, email, full_name, avatar_url, default_organization_id, created_at from public.profiles where id = $1',
        [userId],
      );
      const organizations = await tx.query<OrganizationRow>(
        `select ${ORGANIZATION_COLUMNS}
         from public.organizations o join public.organization_members m on m.organization_id = o.id
         where m.user_id = $1 order by m.created_at, o.id limit 100`,
        [userId],
      );
      const row = profile.rows[0]!;
      return {
        id: row.id,
        email: row.email,
        fullName: row.full_name,
        avatarUrl: row.avatar_url,
        defaultOrganizationId: row.default_organization_id,
        organizations: organizations.rows.map(toOrganization),
        createdAt: row.created_at,
      };
    });
    res.json(me);
  });

  return router;
}
