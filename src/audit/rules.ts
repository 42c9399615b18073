import type { components } from '../generated/openapi';
import type { FieldError } from '../problems';

export type AuditEventType = components['schemas']['AuditEventType'];
export type AuditLogChange = components['schemas']['AuditLogChange'];
export type AuditLogFilters = components['schemas']['AuditLogFilters'];

/** What the database keeps of an update: {"column": {"old": ..., "new": ...}} (017_audit_log.sql). */
export type StoredChanges = Record<string, { old?: unknown; new?: unknown }>;

/** snake_case column -> the API's camelCase field name. */
export function fieldName(column: string): string {
  return column.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The stored changes as the frontend lists them, in a stable order (by field name). */
export function toChanges(stored: StoredChanges | null | undefined): AuditLogChange[] {
  return Object.entries(stored ?? {})
    .map(([column, change]) => ({ field: fieldName(column), oldValue: change.old ?? null, newValue: change.new ?? null }))
    .sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
}

export interface DescribedEntry {
  eventType: string;
  actorEmail: string | null;
  actorRole: string | null;
  targetType: string;
  targetName: string | null;
  metadata: Record<string, unknown>;
  changes: StoredChanges;
}

function quoted(value: unknown): string {
  return typeof value === 'string' && value !== '' ? value : 'an unnamed item';
}

/** A project membership names its project; an organization membership the organization. */
function place(entry: DescribedEntry): string {
  return entry.targetType === 'project_member' || entry.targetType === 'project_invitation'
    ? `project ${quoted(entry.metadata.projectName)}`
    : 'the organization';
}

/** One line for a person reading the log; written from the entry, so it never disagrees with it. */
export function describeEntry(entry: DescribedEntry): string {
  const actor = entry.actorEmail ?? (entry.actorRole === 'service_role' ? 'The back office' : 'The system');
  const target = quoted(entry.targetName);
  const newValue = (column: string) => String(entry.changes[column]?.new ?? 'unknown');
  switch (entry.eventType) {
    case 'user.login':
      return `${actor} signed in`;
    case 'user.logout':
      return `${actor} signed out`;
    case 'security.login_failed':
      return `Failed sign-in for ${entry.targetName ?? entry.actorEmail ?? 'an unknown account'}`;
    case 'context.created':
      return `${actor} created project ${target}`;
    case 'context.updated':
      return `${actor} updated project ${target}`;
    case 'context.deleted':
      return `${actor} deleted project ${target}`;
    case 'context.skill_shared':
      return `${actor} shared skill ${target} publicly`;
    case 'context.skill_unshared':
      return `${actor} made skill ${target} private`;
    case 'team.member_invited':
      return `${actor} invited ${target} to ${place(entry)}`;
    case 'team.invitation_resent':
      return `${actor} sent the invitation of ${target} to ${place(entry)} again`;
    case 'team.invitation_cancelled':
      return `${actor} cancelled the invitation of ${target} to ${place(entry)}`;
    case 'team.member_joined':
      return `${target} joined ${place(entry)}`;
    case 'team.member_removed':
      return `${actor} removed ${target} from ${place(entry)}`;
    case 'team.role_changed':
      return `${actor} changed the role of ${target} in ${place(entry)} to ${newValue('role')}`;
    case 'team.member_status_changed':
      return `${actor} ${newValue('status') === 'inactive' ? 'deactivated' : 'reactivated'} ${target}`;
    case 'team.settings_updated':
      return `${actor} updated the organization's settings`;
    case 'team.plan_changed':
      return `${actor} changed the plan to ${target}`;
    case 'team.subscription_updated':
      return `${actor} changed the subscription`;
    case 'team.billing_details_updated':
      return `${actor} updated the billing details`;
    case 'security.payment_method_added':
      return `${actor} added payment method ${target}`;
    case 'security.payment_method_removed':
      return `${actor} removed payment method ${target}`;
    case 'security.reflex_secret_regenerated':
      return `${actor} regenerated the webhook secret of the reflex of skill ${target}`;
    case 'security.api_key_created':
      return `${actor} created API key ${target}`;
    case 'security.api_key_revoked':
      return `${actor} revoked API key ${target}`;
    default: {
      // Events recorded through app.record_audit_event that need no words of their own.
      const words = entry.eventType.slice(entry.eventType.indexOf('.') + 1).replace(/_/g, ' ');
      return entry.targetName ? `${actor}: ${words} (${entry.targetName})` : `${actor}: ${words}`;
    }
  }
}

/** The window of a filter: a dateTo before dateFrom is a field error at `path`. */
export function windowErrors(filters: Pick<AuditLogFilters, 'dateFrom' | 'dateTo'>, path: string): FieldError[] {
  if (filters.dateFrom && filters.dateTo && Date.parse(filters.dateTo) < Date.parse(filters.dateFrom)) {
    return [{ path: `${path}/dateTo`, message: 'must not be before dateFrom', code: 'window' }];
  }
  return [];
}

/** A filter as it is stored: the fields sent, dates as ISO instants (UTC), no empty event-type list. */
export function normalizeFilters(filters: AuditLogFilters): AuditLogFilters {
  const out: AuditLogFilters = {};
  if (filters.userId) out.userId = filters.userId;
  if (filters.eventCategory) out.eventCategory = filters.eventCategory;
  if (filters.eventTypes && filters.eventTypes.length > 0) out.eventTypes = [...filters.eventTypes];
  if (filters.dateFrom) out.dateFrom = new Date(filters.dateFrom).toISOString();
  if (filters.dateTo) out.dateTo = new Date(filters.dateTo).toISOString();
  if (filters.searchQuery) out.searchQuery = filters.searchQuery;
  return out;
}
