import { EXECUTION_WITH_SKILL, type ExecutionWithSkillRow } from '../executions/sql';
import { INGESTION_COLUMNS, UNFINISHED, type IngestionRow } from '../projects/ingestions/sql';
import { PROJECT_COLUMNS, type ProjectRow } from '../projects/sql';
import type { ActivityEvent } from './frames';

/** The columns of an event, through the alias `e`, as EventRow names them. */
const EVENT_COLUMNS = `e.id::text as sequence, e.organization_id, e.type, e.subject_id, e.project_id, e.actor_id,
  e.created_at, e.data, e.xact_id::text as xact_id`;

/** Rows written by transactions that had not committed when snapshot $1 was taken (see 025's header). */
const AFTER_SNAPSHOT = `e.xact_id >= pg_snapshot_xmin($1::pg_snapshot) and not pg_visible_in_snapshot(e.xact_id, $1::pg_snapshot)`;

export interface EventRow {
  sequence: string | null;
  organization_id: string;
  type: string;
  subject_id: string;
  project_id: string | null;
  actor_id: string | null;
  created_at: string;
  data: Record<string, unknown>;
  xact_id: string;
}

/** A row that carries the snapshot of its statement beside an event (null when there was none). */
export interface SnapshotEventRow extends EventRow {
  snapshot: string;
}

export function toActivityEvent(row: EventRow): ActivityEvent {
  return {
    sequence: row.sequence!,
    organizationId: row.organization_id,
    type: row.type,
    subjectId: row.subject_id,
    projectId: row.project_id,
    actorId: row.actor_id,
    createdAt: row.created_at,
    data: row.data,
    xactId: BigInt(row.xact_id),
  };
}

/**
 * $1 the listener's last snapshot (null at start): every event committed
 * since, and the snapshot of this very statement (pg_current_snapshot() is the
 * statement's own), which becomes the next $1. Service role: all
 * organizations, read once per process; who may see what is checked per
 * subscriber afterwards. Always one row at least (the snapshot).
 */
export const NEW_EVENTS = `select n.s::text as snapshot, ${EVENT_COLUMNS}
  from (select pg_current_snapshot() as s) n
  left join public.activity_events e on $1::pg_snapshot is not null and ${AFTER_SNAPSHOT}
  order by e.id`;

/**
 * As the subscriber: $1 snapshot to replay after, $2 only this subject (or
 * null), $3 only this project's ingestions (or null), $4 at most this many.
 * Row level security keeps to what the caller may read, in the organization
 * the request acts in. One row at least, with the statement's snapshot.
 */
export const REPLAY_EVENTS = `select n.s::text as snapshot, ${EVENT_COLUMNS}
  from (select pg_current_snapshot() as s) n
  left join lateral (
    select * from public.activity_events e
    where ${AFTER_SNAPSHOT}
      and ($2::uuid is null or e.subject_id = $2::uuid)
      and ($3::uuid is null or (e.project_id = $3::uuid and e.subject_type = 'ingestion'))
    order by e.id
    limit $4
  ) e on true
  order by e.id`;

/** Events one replay sends at most (a stream that was away longer starts again from its subject's state). */
export const REPLAY_LIMIT = 10_000;

/** A stream's opening read: the state it starts with and the snapshot that state was read in. */
export interface OpeningRow {
  live_snapshot: string;
}

/** The organization stream starts with no state: the snapshot alone. */
export const ORGANIZATION_OPENING = 'select pg_current_snapshot()::text as live_snapshot';

/** $1 execution, $2 organization: the execution as GET /executions/{id} reads it (no row fields when not visible). */
export const EXECUTION_OPENING = `select n.live_snapshot, x.*
  from (select pg_current_snapshot()::text as live_snapshot) n
  left join (${EXECUTION_WITH_SKILL}) x on true`;
export type ExecutionOpeningRow = OpeningRow & { [K in keyof ExecutionWithSkillRow]: ExecutionWithSkillRow[K] | null };

/** $1 project: whether the caller sees it, and its unfinished ingestion if one runs. */
export const INGESTION_OPENING = `select n.live_snapshot, p.id as live_project_id, ${INGESTION_COLUMNS}
  from (select pg_current_snapshot()::text as live_snapshot) n
  left join public.projects p on p.id = $1
  left join public.ingestion_progress i on i.project_id = p.id and ${UNFINISHED}`;
export type IngestionOpeningRow = OpeningRow & { live_project_id: string | null } & { [K in keyof IngestionRow]: IngestionRow[K] | null };

/**
 * As one subscriber identity: which of the events $1 it may read (row level
 * security decides), with the project as it stands beside a completed
 * ingestion (the frontend's ingestion_complete carries it).
 */
export const READABLE_EVENTS = `select e.id::text as sequence, ${PROJECT_COLUMNS}
  from public.activity_events e
  left join public.projects p on e.type = 'ingestion.completed' and p.id = e.project_id
  where e.id = any($1::bigint[])`;
export type ReadableEventRow = { sequence: string } & { [K in keyof ProjectRow]: ProjectRow[K] | null };

/** As one subscriber identity: which of the executions $1 it may read. */
export const READABLE_EXECUTIONS = 'select e.id from public.skill_executions e where e.id = any($1::uuid[])';

/** Service role, once per process: the text streamed so far into the running executions $1. */
export const STREAMED_OUTPUTS = `select e.id, e.output #>> '{}' as text
  from public.skill_executions e
  where e.id = any($1::uuid[]) and e.status = 'running' and jsonb_typeof(e.output) = 'string'`;

/** $1 the secret's sha256, $2 seconds: a ticket for the caller in the request's organization; when it expires. */
export const ISSUE_TICKET = 'select app.issue_stream_ticket($1, $2) as expires_at';

/** Service role, $1 the secret's sha256: the claims and organization of an unexpired ticket, redeemed (gone) at once. */
export const REDEEM_TICKET = 'select claims, organization_id from app.redeem_stream_ticket($1)';

/** Service role: deletes at most $2 events older than $1 days; how many went. */
export const PURGE_OLD_EVENTS = `with doomed as (
    select e.id from public.activity_events e
    where e.created_at < now() - make_interval(days => $1::int)
    order by e.created_at
    limit $2
  ), gone as (
    delete from public.activity_events e using doomed where e.id = doomed.id returning 1
  )
  select count(*)::int as deleted from gone`;
