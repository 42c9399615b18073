import { activityFrame, formatFrame, formatPosition, ingestionFrame, type ActivityEvent } from './frames';

const base: ActivityEvent = {
  sequence: '42',
  organizationId: '00000000-0000-4000-8000-000000000001',
  type: 'ingestion.progress',
  subjectId: '00000000-0000-4000-8000-000000000002',
  projectId: '00000000-0000-4000-8000-000000000003',
  actorId: null,
  createdAt: '2026-11-30T10:00:05.000Z',
  data: {
    phase: 'chunking',
    progressPercent: 55,
    message: 'Chunking',
    metrics: { filesProcessed: 12, totalFiles: 20, extra: 'dropped' },
    startedAt: '2026-11-30T10:00:00.000Z',
    completedAt: null,
  },
  xactId: 900n,
};

describe('frames', () => {
  test('a frame is id, event and one line of JSON data, ended by a blank line', () => {
    const text = formatFrame({ event: 'progress_update', data: { message: 'two\nlines', evil: '\n\nevent: x' } }, '1:2:');
    expect(text).toBe('id: 1:2:\nevent: progress_update\ndata: {"message":"two\\nlines","evil":"\\n\\nevent: x"}\n\n');
    expect(text.split('\n\n')).toHaveLength(2);
    expect(formatFrame({ event: 'x', data: null })).toBe('event: x\ndata: null\n\n');
    expect(formatPosition('5:9:7')).toBe('id: 5:9:7\n\n');
  });

  test('an activity frame is named by its type and never carries the transaction id', () => {
    const frame = activityFrame(base);
    expect(frame.event).toBe('ingestion.progress');
    expect(frame.data).toEqual({
      sequence: '42',
      type: 'ingestion.progress',
      subjectId: base.subjectId,
      projectId: base.projectId,
      actorId: null,
      createdAt: base.createdAt,
      data: base.data,
    });
    expect(JSON.stringify(frame.data)).not.toContain('900');
  });
});

describe("ingestion events in the frontend's shapes", () => {
  test('progress_update carries exactly the six counters', () => {
    expect(ingestionFrame(base)).toEqual({
      event: 'progress_update',
      data: {
        projectId: base.projectId,
        phase: 'chunking',
        progressPercent: 55,
        message: 'Chunking',
        metrics: { filesProcessed: 12, totalFiles: 20, tokensProcessed: 0, bytesProcessed: 0, chunksCreated: 0, errorsEncountered: 0 },
      },
    });
  });

  test('a start and a new phase are phase_started, counted from 0 of 5', () => {
    expect(ingestionFrame({ ...base, type: 'ingestion.phase_started' })).toEqual({
      event: 'phase_started',
      data: { projectId: base.projectId, phase: 'chunking', message: 'Chunking', startTime: base.createdAt, totalPhases: 5, currentPhaseIndex: 2 },
    });
    const started = ingestionFrame({ ...base, type: 'ingestion.started', data: { ...base.data, phase: 'repository_fetch' } });
    expect(started?.data).toMatchObject({ phase: 'repository_fetch', currentPhaseIndex: 0 });
  });

  test('completion has the duration and the project; a failure is a final error', () => {
    const done = ingestionFrame({ ...base, type: 'ingestion.completed', data: { ...base.data, completedAt: '2026-11-30T10:01:30.400Z' } }, { id: 'p' } as never);
    expect(done).toMatchObject({ event: 'ingestion_complete', data: { success: true, totalDurationSeconds: 90, project: { id: 'p' } } });
    const failed = ingestionFrame({ ...base, type: 'ingestion.failed', data: { ...base.data, errorMessage: 'no access', errorCode: null } });
    expect(failed).toEqual({
      event: 'error',
      data: { projectId: base.projectId, phase: 'chunking', errorCode: 'ingestion_failed', errorMessage: 'no access', recoverable: false, retryCount: 0 },
    });
  });

  test('other events are not ingestion frames', () => {
    expect(ingestionFrame({ ...base, type: 'execution.queued' })).toBeUndefined();
  });
});
