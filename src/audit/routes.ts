import type { RunInTransaction } from '../http/context';
import { Operations, route } from '../http/route';
import {
  createSavedFilter,
  deleteSavedFilter,
  getAuditLogEntry,
  getSavedFilter,
  listAuditLog,
  listSavedFilters,
  updateSavedFilter,
} from './operations';

/** /audit-log: the organization's audit log and its owners' and admins' saved filters. */
export function auditRoutes(inTransaction: RunInTransaction): Operations {
  const routes = new Operations();

  route(routes, 'listAuditLog', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listAuditLog(tx, query)));
  });

  route(routes, 'listAuditSavedFilters', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listSavedFilters(tx, query)));
  });

  route(routes, 'createAuditSavedFilter', async ({ body, req, res }) => {
    const saved = await inTransaction(req, (tx) => createSavedFilter(tx, body));
    res.status(201).location(`/api/v1/audit-log/saved-filters/${saved.id}`).json(saved);
  });

  route(routes, 'getAuditSavedFilter', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getSavedFilter(tx, params.filterId)));
  });

  route(routes, 'updateAuditSavedFilter', async ({ params, body, req, res }) => {
    res.json(await inTransaction(req, (tx) => updateSavedFilter(tx, params.filterId, body)));
  });

  route(routes, 'deleteAuditSavedFilter', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => deleteSavedFilter(tx, params.filterId));
    res.status(204).end();
  });

  route(routes, 'getAuditLogEntry', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getAuditLogEntry(tx, params.entryId)));
  });

  return routes;
}
