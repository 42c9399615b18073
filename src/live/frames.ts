import type { components } from '../generated/openapi';

// What a stream writes: Server-Sent Events frames (the WHATWG event-stream
// format), and the payloads each kind of stream gives an activity event.

type Project = components['schemas']['Project'];
type Ingestion = components['schemas']['Ingestion'];
type IngestionMetrics = components['schemas']['IngestionMetrics'];
type IngestionPhase = Ingestion['phase'];

/** One row of public.activity_events, as the streams pass it around. */
export interface ActivityEvent {
  /** The row's id (a bigint, as text): tells one event from another. */
  sequence: string;
  organizationId: string;
  type: string;
  subjectId: string;
  projectId: string | null;
  actorId: string | null;
  createdAt: string;
  data: Record<string, unknown>;
  /** The transaction that wrote it, for snapshot arithmetic (never sent). */
  xactId: bigint;
}

/** What a frame carries before it is written. */
export interface Frame {
  event: string;
  data: unknown;
}

/**
 * One frame. `data` goes as one line of JSON (JSON.stringify escapes line
 * breaks), so no payload can end a frame early or forge a field; `id` and
 * `event` are ours (snapshot text, fixed names).
 */
export function formatFrame(frame: Frame, id?: string): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${frame.event}\ndata: ${JSON.stringify(frame.data)}\n\n`;
}

/**
 * A frame with only an id: EventSource takes the id as its Last-Event-ID and
 * dispatches nothing. Sent with a heartbeat when a stream's position moved on
 * without an event for it, so that a reconnect after a quiet hour replays from
 * there instead of from the hour before.
 */
export function formatPosition(id: string): string {
  return `id: ${id}\n\n`;
}

/** A comment line: keeps proxies and load balancers from closing an idle stream. */
export const HEARTBEAT = ': keep-alive\n\n';

/** The first thing a stream says: how long EventSource waits before reconnecting. */
export const RETRY_FRAME = 'retry: 3000\n\n';

/** An activity event as the organization and execution streams send it, named by its type. */
export function activityFrame(event: ActivityEvent): Frame {
  return {
    event: event.type,
    data: {
      sequence: event.sequence,
      type: event.type,
      subjectId: event.subjectId,
      projectId: event.projectId,
      actorId: event.actorId,
      createdAt: event.createdAt,
      data: event.data,
    },
  };
}

/** The frontend's phases, in order (its PhaseStartedEvent counts them). */
export const INGESTION_PHASES: readonly IngestionPhase[] = ['repository_fetch', 'parsing', 'chunking', 'optimization', 'indexing'];

const METRIC_KEYS = ['filesProcessed', 'totalFiles', 'tokensProcessed', 'bytesProcessed', 'chunksCreated', 'errorsEncountered'] as const;

/** Exactly the six counters of the frontend's IngestionMetrics, 0 where none was reported. */
export function ingestionMetrics(value: unknown): IngestionMetrics {
  const stored = value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  const metrics = {} as IngestionMetrics;
  for (const key of METRIC_KEYS) {
    const count = stored[key];
    metrics[key] = typeof count === 'number' ? count : 0;
  }
  return metrics;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/**
 * An ingestion event as the frontend's ingestion service names and shapes it
 * (types/project.ts): phase_started, progress_update, ingestion_complete and
 * error. `project` is the project as it stands, for ingestion_complete.
 */
export function ingestionFrame(event: ActivityEvent, project?: Project): Frame | undefined {
  const data = event.data;
  const projectId = event.projectId ?? text(data.projectId);
  const phase = (INGESTION_PHASES.includes(data.phase as IngestionPhase) ? data.phase : INGESTION_PHASES[0]) as IngestionPhase;
  switch (event.type) {
    case 'ingestion.started':
    case 'ingestion.phase_started':
      return {
        event: 'phase_started',
        data: {
          projectId,
          phase,
          message: text(data.message),
          startTime: event.createdAt,
          totalPhases: INGESTION_PHASES.length,
          currentPhaseIndex: INGESTION_PHASES.indexOf(phase),
        },
      };
    case 'ingestion.progress':
      return {
        event: 'progress_update',
        data: { projectId, phase, progressPercent: data.progressPercent, message: text(data.message), metrics: ingestionMetrics(data.metrics) },
      };
    case 'ingestion.completed': {
      const started = Date.parse(text(data.startedAt));
      const completed = Date.parse(text(data.completedAt));
      const seconds = Number.isFinite(started) && Number.isFinite(completed) ? Math.max(0, Math.round((completed - started) / 1000)) : 0;
      return {
        event: 'ingestion_complete',
        data: { projectId, success: true, totalDurationSeconds: seconds, finalMetrics: ingestionMetrics(data.metrics), project: project ?? null },
      };
    }
    case 'ingestion.failed':
      return {
        event: 'error',
        data: {
          projectId,
          phase,
          errorCode: text(data.errorCode) || 'ingestion_failed',
          errorMessage: text(data.errorMessage),
          // A failed ingestion is final; a new one is started, not this one resumed.
          recoverable: false,
          retryCount: 0,
        },
      };
    default:
      return undefined;
  }
}

/** An unfinished ingestion's state, as the progress_update a stream starts with. */
export function ingestionStateFrame(ingestion: Ingestion): Frame {
  return {
    event: 'progress_update',
    data: {
      projectId: ingestion.projectId,
      phase: ingestion.phase,
      progressPercent: ingestion.progressPercent,
      message: ingestion.message,
      metrics: ingestion.metrics,
    },
  };
}
