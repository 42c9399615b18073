import { registerUniqueConstraints } from '../db/errors';
import type { components } from '../generated/openapi';
import type { PageQuery, PageRequest } from '../http/pagination';
import { describeEntry, normalizeFilters, toChanges, type AuditEventType, type AuditLogFilters, type StoredChanges } from './rules';

export type AuditLogEntry = components['schemas']['AuditLogEntry'];
export type AuditLogSavedFilter = components['schemas']['AuditLogSavedFilter'];
type AuditEventCategory = components['schemas']['AuditEventCategory'];

export interface AuditEntryRow {
  id: string;
  organization_id: string;
  actor_user_id: string | null;
  actor_email: string | null;
  actor_role: string | null;
  actor_name: string | null;
  actor_avatar_url: string | null;
  category: AuditEventCategory;
  event_type: AuditEventType;
  target_type: string;
  target_id: string | null;
  target_name: string | null;
  changes: StoredChanges;
  metadata: Record<string, unknown>;
  ip_address: string | null;
  user_agent: string | null;
  session_id: string | null;
  created_at: string;
}

// The actor's name and avatar are their profile's now (visible while they
// share an organization with the reader); the email is the entry's snapshot.
const ENTRY_COLUMNS = `a.id, a.organization_id, a.actor_user_id, a.actor_email, a.actor_role,
  (select p.full_name from public.profiles p where p.id = a.actor_user_id) as actor_name,
  (select p.avatar_url from public.profiles p where p.id = a.actor_user_id) as actor_avatar_url,
  a.category, a.event_type, a.target_type, a.target_id, a.target_name, a.changes, a.metadata,
  host(a.ip_address) as ip_address, a.user_agent, a.session_id, a.created_at`;

export function toAuditEntry(row: AuditEntryRow): AuditLogEntry {
  return {
    id: row.id,
    teamId: row.organization_id,
    userId: row.actor_user_id,
    userEmail: row.actor_email,
    userName: row.actor_name,
    userAvatarUrl: row.actor_avatar_url,
    eventType: row.event_type,
    eventCategory: row.category,
    description: describeEntry({
      eventType: row.event_type,
      actorEmail: row.actor_email,
      actorRole: row.actor_role,
      targetType: row.target_type,
      targetName: row.target_name,
      metadata: row.metadata,
      changes: row.changes,
    }),
    metadata: row.metadata,
    changes: toChanges(row.changes),
    ipAddress: row.ip_address,
    userAgent: row.user_agent,
    sessionId: row.session_id,
    targetType: row.target_type,
    targetId: row.target_id,
    targetName: row.target_name,
    actorRole: row.actor_role,
    createdAt: row.created_at,
  };
}

/**
 * The organization's entries matching the frontend's filters, newest first.
 * Each filter has an index that starts with the organization; the text search
 * goes through the trigram index (app.search_audit_log_ids).
 */
export function auditListQuery(organizationId: string, filters: AuditLogFilters, page: PageRequest): PageQuery<AuditEntryRow> {
  const params: unknown[] = [organizationId];
  const where = ['a.organization_id = $1'];
  const bind = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filters.userId) where.push(`a.actor_user_id = ${bind(filters.userId)}::uuid`);
  if (filters.eventCategory) where.push(`a.category = ${bind(filters.eventCategory)}::public.audit_event_category`);
  if (filters.eventTypes && filters.eventTypes.length > 0) where.push(`a.event_type = any(${bind(filters.eventTypes)}::text[])`);
  if (filters.dateFrom) where.push(`a.created_at >= ${bind(filters.dateFrom)}::timestamptz`);
  if (filters.dateTo) where.push(`a.created_at <= ${bind(filters.dateTo)}::timestamptz`);
  if (filters.searchQuery) where.push(`a.id in (select app.search_audit_log_ids(${bind(filters.searchQuery)}))`);
  return {
    select: ENTRY_COLUMNS,
    fromWhere: `public.audit_log a where ${where.join(' and ')}`,
    params,
    orderBy: 'a.created_at desc, a.id desc',
    page,
  };
}

export const AUDIT_ENTRY_BY_ID = `select ${ENTRY_COLUMNS} from public.audit_log a where a.id = $1 and a.organization_id = $2`;

// ---------------------------------------------------------------------------
// Saved filters
// ---------------------------------------------------------------------------

export interface SavedFilterRow {
  id: string;
  organization_id: string;
  user_id: string;
  name: string;
  filters: AuditLogFilters;
  is_shared: boolean;
  created_at: string;
  updated_at: string;
}

const SAVED_FILTER_COLUMNS = 'f.id, f.organization_id, f.user_id, f.name, f.filters, f.is_shared, f.created_at, f.updated_at';

export function toSavedFilter(row: SavedFilterRow): AuditLogSavedFilter {
  return {
    id: row.id,
    teamId: row.organization_id,
    userId: row.user_id,
    name: row.name,
    filters: normalizeFilters(row.filters),
    isShared: row.is_shared,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Mine and the shared ones (row level security says the same), by name. */
export function savedFilterListQuery(organizationId: string, userId: string, page: PageRequest): PageQuery<SavedFilterRow> {
  return {
    select: SAVED_FILTER_COLUMNS,
    fromWhere: 'public.audit_saved_filters f where f.organization_id = $1 and (f.user_id = $2 or f.is_shared)',
    params: [organizationId, userId],
    orderBy: 'lower(f.name), f.id',
    page,
  };
}

export const SAVED_FILTER_BY_ID = `select ${SAVED_FILTER_COLUMNS} from public.audit_saved_filters f where f.id = $1 and f.organization_id = $2`;

export const INSERT_SAVED_FILTER = `insert into public.audit_saved_filters as f (organization_id, user_id, name, filters, is_shared)
  values ($1, $2, $3, $4, $5) returning ${SAVED_FILTER_COLUMNS}`;

/** Only the caller's own filter changes (the update policy); SET assignments use $3 onwards. */
export function updateSavedFilterSql(assignments: string[]): string {
  return `update public.audit_saved_filters f set ${assignments.join(', ')}
    where f.id = $1 and f.organization_id = $2 and f.user_id = (select auth.uid()) returning ${SAVED_FILTER_COLUMNS}`;
}

export const DELETE_SAVED_FILTER = `delete from public.audit_saved_filters f
  where f.id = $1 and f.organization_id = $2 and f.user_id = (select auth.uid())`;

export const FILTER_NAME_TAKEN = 'You already have a saved filter with this name in this organization (names are compared case-insensitively).';

registerUniqueConstraints({
  audit_saved_filters_name_key: { detail: FILTER_NAME_TAKEN, field: '/body/name', code: 'unique', problemCode: 'audit_filter_name_taken' },
});

/** $1 batch size: entries past their plan's retention, oldest first; how many went. */
export const PURGE_EXPIRED_ENTRIES = 'select app.purge_audit_log($1) as deleted';
