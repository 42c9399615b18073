import { requireOwnerOrAdmin, requireUser, type RequestTransaction } from '../db/transaction';
import { paginate, pageRequest, type Page } from '../http/pagination';
import type { RequestBody, RequestQuery } from '../http/route';
import { problems } from '../problems';
import { normalizeFilters, windowErrors, type AuditLogFilters } from './rules';
import {
  AUDIT_ENTRY_BY_ID,
  auditListQuery,
  DELETE_SAVED_FILTER,
  INSERT_SAVED_FILTER,
  SAVED_FILTER_BY_ID,
  savedFilterListQuery,
  toAuditEntry,
  toSavedFilter,
  updateSavedFilterSql,
  type AuditEntryRow,
  type AuditLogEntry,
  type AuditLogSavedFilter,
  type SavedFilterRow,
} from './sql';

// The audit log and saved filters: owners and admins of the organization the
// request acts in. Row level security decides the same (a member reads no
// entry); the check here only turns "nothing" into a 403 a member understands.

type ListQuery = RequestQuery<'listAuditLog'>;
type SavedFilterListQuery = RequestQuery<'listAuditSavedFilters'>;
type CreateFilterBody = RequestBody<'createAuditSavedFilter'>;
type UpdateFilterBody = RequestBody<'updateAuditSavedFilter'>;

const ENTRY_NOT_FOUND = 'There is no such audit-log entry in this organization.';
const FILTER_NOT_FOUND = 'There is no such saved filter in this organization.';
const NOT_YOURS = 'This saved filter was shared with you: only the person who saved it may change or delete it.';

function requireAuditReader(tx: RequestTransaction): string {
  return requireOwnerOrAdmin(tx, 'Only owners and admins of the organization may read its audit log.');
}

function checkWindow(filters: AuditLogFilters, path: string): void {
  const errors = windowErrors(filters, path);
  if (errors.length > 0) throw problems.validation('The date window ends before it starts.', errors);
}

export async function listAuditLog(tx: RequestTransaction, query: ListQuery): Promise<Page<AuditLogEntry>> {
  const organizationId = requireAuditReader(tx);
  const filters: AuditLogFilters = {
    userId: query.userId,
    eventCategory: query.eventCategory,
    eventTypes: query.eventTypes,
    dateFrom: query.dateFrom,
    dateTo: query.dateTo,
    searchQuery: query.searchQuery,
  };
  checkWindow(filters, '/query');
  return paginate(tx, auditListQuery(organizationId, filters, pageRequest(query)), toAuditEntry);
}

export async function getAuditLogEntry(tx: RequestTransaction, entryId: string): Promise<AuditLogEntry> {
  const organizationId = requireAuditReader(tx);
  const found = await tx.query<AuditEntryRow>(AUDIT_ENTRY_BY_ID, [entryId, organizationId]);
  if (found.rowCount === 0) throw problems.notFound(ENTRY_NOT_FOUND);
  return toAuditEntry(found.rows[0]!);
}

export async function listSavedFilters(tx: RequestTransaction, query: SavedFilterListQuery): Promise<Page<AuditLogSavedFilter>> {
  const organizationId = requireAuditReader(tx);
  const userId = requireUser(tx);
  return paginate(tx, savedFilterListQuery(organizationId, userId, pageRequest(query)), toSavedFilter);
}

export async function getSavedFilter(tx: RequestTransaction, filterId: string): Promise<AuditLogSavedFilter> {
  const organizationId = requireAuditReader(tx);
  const found = await tx.query<SavedFilterRow>(SAVED_FILTER_BY_ID, [filterId, organizationId]);
  if (found.rowCount === 0) throw problems.notFound(FILTER_NOT_FOUND);
  return toSavedFilter(found.rows[0]!);
}

export async function createSavedFilter(tx: RequestTransaction, body: CreateFilterBody): Promise<AuditLogSavedFilter> {
  const organizationId = requireAuditReader(tx);
  const userId = requireUser(tx);
  checkWindow(body.filters, '/body/filters');
  const inserted = await tx.query<SavedFilterRow>(INSERT_SAVED_FILTER, [
    organizationId,
    userId,
    body.name,
    normalizeFilters(body.filters),
    body.isShared ?? false,
  ]);
  return toSavedFilter(inserted.rows[0]!);
}

/** After nothing changed: a filter the caller sees but does not own is 403, one they do not see 404. */
async function notChanged(tx: RequestTransaction, filterId: string, organizationId: string): Promise<never> {
  const visible = await tx.query(SAVED_FILTER_BY_ID, [filterId, organizationId]);
  throw visible.rowCount === 0 ? problems.notFound(FILTER_NOT_FOUND) : problems.forbidden(NOT_YOURS);
}

export async function updateSavedFilter(tx: RequestTransaction, filterId: string, body: UpdateFilterBody): Promise<AuditLogSavedFilter> {
  const organizationId = requireAuditReader(tx);
  const assignments: string[] = [];
  const values: unknown[] = [];
  const set = (column: string, value: unknown) => {
    values.push(value);
    assignments.push(`${column} = $${values.length + 2}`);
  };
  if (body.name !== undefined) set('name', body.name);
  if (body.filters !== undefined) {
    checkWindow(body.filters, '/body/filters');
    set('filters', normalizeFilters(body.filters));
  }
  if (body.isShared !== undefined) set('is_shared', body.isShared);
  const updated = await tx.query<SavedFilterRow>(updateSavedFilterSql(assignments), [filterId, organizationId, ...values]);
  if (updated.rowCount === 0) return notChanged(tx, filterId, organizationId);
  return toSavedFilter(updated.rows[0]!);
}

export async function deleteSavedFilter(tx: RequestTransaction, filterId: string): Promise<void> {
  const organizationId = requireAuditReader(tx);
  const deleted = await tx.query(DELETE_SAVED_FILTER, [filterId, organizationId]);
  if (deleted.rowCount === 0) await notChanged(tx, filterId, organizationId);
}
