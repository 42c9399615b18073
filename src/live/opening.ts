import { requireOrganization, type RequestTransaction } from '../db/transaction';
import { toExecutionWithSkill, type ExecutionWithSkillRow } from '../executions/sql';
import { toIngestion, type IngestionRow } from '../projects/ingestions/sql';
import { problems } from '../problems';
import { ingestionStateFrame, type Frame } from './frames';
import { frameFor, type StreamSubject } from './hub';
import { parseSnapshot, type Snapshot } from './snapshot';
import {
  EXECUTION_OPENING,
  INGESTION_OPENING,
  ORGANIZATION_OPENING,
  READABLE_EVENTS,
  REPLAY_EVENTS,
  REPLAY_LIMIT,
  toActivityEvent,
  type ExecutionOpeningRow,
  type IngestionOpeningRow,
  type OpeningRow,
  type ReadableEventRow,
  type SnapshotEventRow,
} from './sql';

/** What a stream sends before it goes live, read in its opening request (one metered call). */
export interface Opening {
  organizationId: string;
  /** The subject's state (when it has one), then every event since `base`. */
  frames: Frame[];
  /** Where the client stood: its Last-Event-ID, or the snapshot the state was read in. */
  base: Snapshot;
  /** Everything visible here has been read: the stream goes on from this snapshot. */
  position: Snapshot;
  /** Characters of output the state carried (execution streams). */
  outputOffset: number;
}

/**
 * Reads, as the caller, what a stream starts with: its subject's state (404
 * when the caller cannot see it), then the events the client missed since
 * `from` (a reconnect's Last-Event-ID) or since that state, from the
 * database, with the snapshot the stream continues from.
 */
export async function readOpening(tx: RequestTransaction, subject: StreamSubject, from: Snapshot | undefined): Promise<Opening> {
  const organizationId = requireOrganization(tx);
  const frames: Frame[] = [];
  let stateSnapshot: string;
  let outputOffset = 0;
  switch (subject.kind) {
    case 'organization':
      stateSnapshot = (await tx.query<OpeningRow>(ORGANIZATION_OPENING)).rows[0]!.live_snapshot;
      break;
    case 'execution': {
      const row = (await tx.query<ExecutionOpeningRow>(EXECUTION_OPENING, [subject.executionId, organizationId])).rows[0]!;
      if (row.id === null) throw problems.notFound('There is no such execution in this organization.');
      frames.push({ event: 'execution', data: toExecutionWithSkill(row as ExecutionWithSkillRow) });
      outputOffset = typeof row.output === 'string' ? row.output.length : 0;
      stateSnapshot = row.live_snapshot;
      break;
    }
    case 'ingestion': {
      const row = (await tx.query<IngestionOpeningRow>(INGESTION_OPENING, [subject.projectId])).rows[0]!;
      if (row.live_project_id === null) throw problems.notFound('There is no such project, or you may not see it.');
      if (row.id !== null) frames.push(ingestionStateFrame(toIngestion(row as IngestionRow)));
      stateSnapshot = row.live_snapshot;
      break;
    }
  }
  const base = from ?? parseSnapshot(stateSnapshot)!;
  const rows = (
    await tx.query<SnapshotEventRow>(REPLAY_EVENTS, [
      base.text,
      subject.kind === 'execution' ? subject.executionId : null,
      subject.kind === 'ingestion' ? subject.projectId : null,
      REPLAY_LIMIT,
    ])
  ).rows;
  const position = parseSnapshot(rows[0]!.snapshot)!;
  const events = rows.filter((row) => row.sequence !== null).map(toActivityEvent);
  let projects = new Map<string, ReadableEventRow>();
  const completed = events.filter((event) => event.type === 'ingestion.completed').map((event) => event.sequence);
  if (subject.kind === 'ingestion' && completed.length > 0) {
    projects = new Map((await tx.query<ReadableEventRow>(READABLE_EVENTS, [completed])).rows.map((row) => [row.sequence, row]));
  }
  for (const event of events) {
    const frame = frameFor({ subject }, event, projects.get(event.sequence));
    if (frame) frames.push(frame);
  }
  return { organizationId, frames, base, position, outputOffset };
}
