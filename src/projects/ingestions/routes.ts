import type { RunInTransaction } from '../../http/context';
import { Operations, route } from '../../http/route';
import { cancelCurrentIngestion, cancelIngestion, currentIngestion, listIngestions, reportProgress, startIngestion } from './operations';
import { claimIngestion, listPendingIngestions } from './claims';
import { checkProgressReport, requireIngestionWorker } from './rules';

/** /projects/{projectId}/ingestions: each handler parses (the contract did), calls its operation, responds. */
export function ingestionsRoutes(inTransaction: RunInTransaction): Operations {
  const routes = new Operations();

  route(routes, 'listIngestions', async ({ params, query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listIngestions(tx, params.projectId, query)));
  });

  route(routes, 'startIngestion', async ({ params, body, req, res }) => {
    res.status(201).json(await inTransaction(req, (tx) => startIngestion(tx, params.projectId, body)));
  });

  route(routes, 'getCurrentIngestion', async ({ params, req, res }) => {
    const current = await inTransaction(req, (tx) => currentIngestion(tx, params.projectId));
    // express-openapi-validator reads a null body as a missing one; `null` is
    // what the contract declares for "none runs", so it is sent as it is.
    if (current === null) res.type('application/json').send('null');
    else res.json(current);
  });

  route(routes, 'cancelIngestion', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => cancelIngestion(tx, params.projectId, params.ingestionId)));
  });

  route(routes, 'cancelCurrentIngestion', async ({ params, req, res }) => {
    res.json(await inTransaction(req, (tx) => cancelCurrentIngestion(tx, params.projectId)));
  });

  route(routes, 'reportIngestionProgress', async ({ params, body, req, res }) => {
    requireIngestionWorker(req.identity);
    checkProgressReport(body);
    const ingestion = await inTransaction(req, (tx) => reportProgress(tx, params.projectId, params.ingestionId, body), { allowServiceRole: true });
    res.json(ingestion);
  });

  route(routes, 'listPendingIngestions', async ({ query, req, res }) => {
    res.json(await inTransaction(req, (tx) => listPendingIngestions(tx, query), { allowServiceRole: true }));
  });

  route(routes, 'claimIngestion', async ({ body, req, res }) => {
    const claim = await inTransaction(req, (tx) => claimIngestion(tx, body));
    if (claim === null) res.status(204).end();
    else res.json(claim);
  });

  return routes;
}
