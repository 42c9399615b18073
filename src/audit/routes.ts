import express, { type Router } from 'express';
import type { RunInTransaction } from '../http/context';
import { route } from '../http/route';
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
export function auditRouter(inTransaction: RunInTransaction): Router {
  const router = express.Router();

  route(router, 'listAuditLog', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listAuditLog(tx, query)));
  });

  // The fixed path /audit-log/saved-filters before /audit-log/{entryId}.
  route(router, 'listAuditSavedFilters', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listSavedFilters(tx, query)));
  });

  route(router, 'createAuditSavedFilter', async ({ body, req, res }) => {
    const saved = await inTransaction(req, (tx) => createSavedFilter(tx, body));
    res.status(201).location(`/api/v1/audit-log/saved-filters/${saved.id}`).json(saved);
  });

  route(router, 'getAuditSavedFilter', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getSavedFilter(tx, params.filterId)));
  });

  route(router, 'updateAuditSavedFilter', async ({ params, body, req, res }) => {
    res.json(await inTransaction(req, (tx) => updateSavedFilter(tx, params.filterId, body)));
  });

  route(router, 'deleteAuditSavedFilter', async ({ params, req, res }) => {
    await inTransaction(req, (tx) => deleteSavedFilter(tx, params.filterId));
    res.status(204).end();
  });

  route(router, 'getAuditLogEntry', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => getAuditLogEntry(tx, params.entryId)));
  });

  return router;
}
