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

// ---- GET /me/export: each query yields one jsonb `row` per record ----

/** $1 user: the organizations they are an active member of, where row level security lets them read. */
export const MY_ORGANIZATION_IDS = `select m.organization_id from public.organization_members m
  where m.user_id = $1 and m.status = 'active' order by m.created_at, m.organization_id`;

/** $1 organization: act in it for the statements that follow (row level security reads the setting). */
export const ACT_IN_ORGANIZATION = 'select organization_id from app.begin_request($1)';

/** A section of the export: its name in the document and the query of its rows ($1 user, $2 organization where scoped). */
export interface ExportSection {
  name: string;
  sql: string;
}

/** What the person made or did in an organization, read as them under row level security ($1 user, $2 organization). */
export const ORGANIZATION_SECTIONS: readonly ExportSection[] = [
  { name: 'organization', sql: 'select to_jsonb(o) as row from public.organizations o where o.id = $2 and $1::uuid is not null' },
  { name: 'projects', sql: 'select to_jsonb(p) as row from public.projects p where p.user_id = $1 and p.organization_id = $2 order by p.created_at, p.id' },
  {
    name: 'projectMemberships',
    sql: `select to_jsonb(pm) as row from public.project_members pm where pm.user_id = $1 and pm.organization_id = $2 order by pm.created_at, pm.id`,
  },
  {
    name: 'ingestionsStarted',
    sql: 'select to_jsonb(i) as row from public.ingestion_progress i where i.started_by = $1 and i.organization_id = $2 order by i.started_at, i.id',
  },
  {
    // Sent by them, accepted by them, or addressed to them; never the token (only its hash is kept, and not exported).
    name: 'invitations',
    sql: `select to_jsonb(i) - 'token_hash' as row from public.project_invitations i
      where i.organization_id = $2
        and (i.invited_by = $1 or i.accepted_by = $1 or lower(i.email) = (select lower(p.email) from public.profiles p where p.id = $1))
      order by i.created_at, i.id`,
  },
  { name: 'skills', sql: 'select to_jsonb(s) as row from public.skills s where s.user_id = $1 and s.organization_id = $2 order by s.created_at, s.id' },
  { name: 'habits', sql: 'select to_jsonb(h) as row from public.habits h where h.user_id = $1 and h.organization_id = $2 order by h.created_at, h.id' },
  // A webhook reflex's secret lives in a table of its own, which no signed-in user reads: it is not exported.
  { name: 'reflexes', sql: 'select to_jsonb(r) as row from public.reflexes r where r.user_id = $1 and r.organization_id = $2 order by r.created_at, r.id' },
  {
    name: 'executionsStarted',
    sql: 'select to_jsonb(e) as row from public.skill_executions e where e.user_id = $1 and e.organization_id = $2 order by e.created_at, e.id',
  },
  {
    name: 'savedAuditFilters',
    sql: 'select to_jsonb(f) as row from public.audit_saved_filters f where f.user_id = $1 and f.organization_id = $2 order by f.created_at, f.id',
  },
];

/** About the person wherever they are ($1 user): their own rows, or the SECURITY DEFINER functions of 022 where row level security hides them. */
export const PERSONAL_SECTIONS: readonly ExportSection[] = [
  { name: 'skillStars', sql: 'select to_jsonb(s) as row from public.skill_stars s where s.user_id = $1 order by s.created_at, s.skill_id' },
  { name: 'skillRatings', sql: 'select to_jsonb(r) as row from public.skill_ratings r where r.user_id = $1 order by r.created_at, r.skill_id' },
  { name: 'apiKeys', sql: 'select k as row from app.export_my_api_keys() k where $1::uuid is not null' },
  { name: 'sessions', sql: 'select s as row from app.export_my_sessions() s where $1::uuid is not null' },
  { name: 'auditEntries', sql: 'select a as row from app.export_my_audit_entries() a where $1::uuid is not null' },
  { name: 'analyticsEvents', sql: 'select e as row from app.export_my_analytics_events() e where $1::uuid is not null' },
  // Their own rows under row level security (database/029).
  { name: 'notifications', sql: 'select to_jsonb(n) as row from public.notifications n where n.user_id = $1 order by n.created_at, n.id' },
  { name: 'notificationPreferences', sql: 'select to_jsonb(p) as row from public.notification_preferences p where p.user_id = $1' },
];

/** Password and two-factor settings (never a hash or a secret) and every membership, active or not. */
export const MY_ACCOUNT = 'select app.export_my_account() as account';

/** $1 the address the person typed to confirm: their rows go (see database/022); the ids of their live local sessions come back. */
export const ERASE_CURRENT_USER = 'select ended_session_id from app.erase_current_user($1)';
