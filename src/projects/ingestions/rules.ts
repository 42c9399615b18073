import type { Identity } from '../../auth/caller';
import type { RequestBody } from '../../http/route';
import { problems, type FieldError } from '../../problems';

// The rules of a progress report that need no database: who may send one,
// and how its fields go together (each value alone is the contract's).

/**
 * Workers report progress with a service_role token, or with an API key that
 * holds the ingestion's claim (the database checks the claim); people never
 * do, not even the creator.
 */
export function requireIngestionWorker(identity: Identity | undefined): void {
  if (identity?.role !== 'service_role' && !identity?.apiKey) {
    throw problems.forbidden('Only ingestion workers (an API key holding the claim, or a service_role token) may report ingestion progress.');
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

/** The sources of a project as INGESTION_PLANNING reads them, for the checks and the estimate below. */
export interface IngestionSources {
  repositories: number;
  failedRepositories: readonly string[];
  files: number;
  fileBytes: number;
}

/**
 * The pre-flight check a start runs unless told to skip it: every repository
 * must be reachable as far as we know, i.e. none is in status error (its
 * last sync failed). No network call is made. Each unreachable repository is
 * one field error; an empty list means the start may go on.
 */
export function preflightProblems(sources: IngestionSources): FieldError[] {
  return sources.failedRepositories.map((name) => ({
    path: '/body/skipValidation',
    message: `the repository ${name} is in status error (its last sync failed): fix or remove it, or skip validation`,
    code: 'repository_unreachable',
  }));
}

/** Seconds an ingestion takes when history is no guide: a fixed start, then per repository, per file and per byte. */
const BASE_SECONDS = 30;
const SECONDS_PER_REPOSITORY = 20;
const SECONDS_PER_FILE = 0.05;
const BYTES_PER_SECOND = 2_000_000;

/**
 * How long an ingestion should take, in whole seconds (at least 1): the mean
 * of the project's last completed ingestions when it has any (the same
 * project on the same workers is the best guide), else a size-based guess.
 */
export function estimateDurationSeconds(sources: IngestionSources, meanSecondsOfRecent: number | null): number {
  if (meanSecondsOfRecent !== null && Number.isFinite(meanSecondsOfRecent)) {
    return Math.max(1, Math.ceil(meanSecondsOfRecent));
  }
  const guess =
    BASE_SECONDS + SECONDS_PER_REPOSITORY * sources.repositories + SECONDS_PER_FILE * sources.files + sources.fileBytes / BYTES_PER_SECOND;
  return Math.max(1, Math.ceil(guess));
}
