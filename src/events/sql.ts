import { CANDIDATE_COLUMNS } from '../reflexes/fire';

/**
 * $1 organization, $2 event name, $3 the most to fire. The partial index on
 * (organization, eventName) finds the candidates; source and conditions are
 * checked per reflex.
 */
export const EVENT_REFLEX_CANDIDATES = `select ${CANDIDATE_COLUMNS} from public.reflexes r
  where r.organization_id = $1 and r.trigger_type = 'event' and r.is_active and r.trigger_config ->> 'eventName' = $2
  order by r.created_at, r.id limit $3`;

/** $1 organization, $2 the most to fire: its active file_change reflexes (one index range; usually none). */
export const FILE_CHANGE_REFLEX_CANDIDATES = `select ${CANDIDATE_COLUMNS} from public.reflexes r
  where r.organization_id = $1 and r.trigger_type = 'file_change' and r.is_active
  order by r.created_at, r.id limit $2`;

export interface ProjectFileRow {
  id: string;
  project_id: string;
  name: string;
  path: string;
  mime_type: string;
  size_bytes: number;
}

/** $1 file, $2 project: what a file_change reflex sees of a file about to be deleted. */
export const FILE_OF_PROJECT =
  'select f.id, f.project_id, f.name, f.path, f.mime_type, f.size_bytes from public.project_files f where f.id = $1 and f.project_id = $2';
