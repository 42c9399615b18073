import type { Identity } from '../../auth/caller';
import type { RequestBody } from '../../http/route';
import { problems } from '../../problems';

// The rules of a progress report that need no database: who may send one,
// and how its fields go together (each value alone is the contract's).

/** Workers report progress with a service_role token; people never do, not even the creator. */
export function requireIngestionWorker(identity: Identity | undefined): void {
  if (identity?.role !== 'service_role') {
    throw problems.forbidden('Only ingestion workers (service_role tokens) may report ingestion progress.');
  }
}

/** 400 when the fields of a report contradict each other. */
export function checkProgressReport(body: RequestBody<'reportIngestionProgress'>): void {
  if (body.completed === true && body.error !== undefined) {
    throw problems.validation('An ingestion either completes or fails, not both.', [
      { path: '/body/error', message: 'must not be sent together with completed' },
    ]);
  }
  if (body.completed !== true) {
    for (const field of ['originalTokens', 'optimizedTokens'] as const) {
      if (body[field] !== undefined) {
        throw problems.validation('Token totals are reported together with completed: true.', [
          { path: `/body/${field}`, message: 'is only accepted together with completed: true' },
        ]);
      }
    }
  }
}
