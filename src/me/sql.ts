import { ORGANIZATION_COLUMNS } from '../organizations/sql';

export interface ProfileRow {
  id: string;
  email: string;
  full_name: string | null;
  avatar_url: string | null;
  default_organization_id: string | null;
  created_at: string;
}

/** $1 user. */
export const PROFILE_BY_ID = 'select id, email, full_name, avatar_url, default_organization_id, created_at from public.profiles where id = $1';

/** $1 user: the organizations they belong to, oldest membership first, at most 100 (the rest are listed by /organizations). */
export const ORGANIZATIONS_OF_USER = `select ${ORGANIZATION_COLUMNS}
  from public.organizations o join public.organization_members m on m.organization_id = o.id
  where m.user_id = $1 order by m.created_at, o.id limit 100`;
