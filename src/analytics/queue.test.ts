import type { Identity } from '../auth/caller';
import { createAnalyticsQueue, groupBatches, type QueuedBatch } from './queue';
import type { StoredAnalyticsEvent } from './rules';

const person = (userId: string): Identity => ({ role: 'authenticated', userId, email: `${userId}@example.test`, claims: { sub: userId } });
const events = (n: number, type = 'clicked'): StoredAnalyticsEvent[] =>
  Array.from({ length: n }, () => ({ type, occurred_at: '2026-11-30T12:00:00.000Z', session_id: null, persona: null, properties: {} }));
const batch = (userId: string, organizationId: string | null, n: number, type?: string): QueuedBatch => ({
  identity: person(userId),
  organizationId,
  events: events(n, type),
});

function recordingQueue(capacity = 10, flushAt = 1000) {
  const written: QueuedBatch[] = [];
  const log: string[] = [];
  const queue = createAnalyticsQueue({
    capacity,
    flushAt,
    flushIntervalMs: 60_000,
    store: async (group) => {
      if (group.organizationId === 'refused') throw new Error('new row violates row-level security policy');
      written.push(group);
    },
    log: (line) => log.push(line),
  });
  return { queue, written, log };
}

describe('groupBatches', () => {
  test('one group per caller and organization, events in arrival order', () => {
    const groups = groupBatches([batch('u1', 'o1', 1, 'a'), batch('u2', 'o1', 1, 'b'), batch('u1', 'o1', 2, 'c'), batch('u1', null, 1, 'd')]);
    expect(groups.map((g) => [g.identity.userId, g.organizationId, g.events.map((e) => e.type).join('')])).toEqual([
      ['u1', 'o1', 'acc'],
      ['u2', 'o1', 'b'],
      ['u1', null, 'd'],
    ]);
  });
});

describe('createAnalyticsQueue', () => {
  test('nothing is written until a flush; a flush writes one group per caller and organization', async () => {
    const { queue, written } = recordingQueue();
    expect(queue.enqueue(batch('u1', 'o1', 2))).toBe(true);
    expect(queue.enqueue(batch('u1', 'o1', 3))).toBe(true);
    expect(written).toEqual([]);
    await queue.flush();
    expect(written.map((g) => g.events.length)).toEqual([5]);
    expect(queue.counters()).toEqual({ accepted: 5, dropped: 0, stored: 5, failed: 0 });
    await queue.close();
  });

  test('a batch that would pass the capacity is dropped whole and counted; later ones fit again after a flush', async () => {
    const { queue, written, log } = recordingQueue(10);
    expect(queue.enqueue(batch('u1', null, 8))).toBe(true);
    expect(queue.enqueue(batch('u1', null, 3))).toBe(false);
    expect(log).toEqual([expect.stringMatching(/queue full/)]);
    await queue.flush();
    expect(queue.enqueue(batch('u1', null, 3))).toBe(true);
    await queue.close();
    expect(written.map((g) => g.events.length)).toEqual([8, 3]);
    expect(queue.counters()).toEqual({ accepted: 11, dropped: 3, stored: 11, failed: 0 });
  });

  test('reaching flushAt starts a flush without the timer', async () => {
    const { queue, written } = recordingQueue(100, 4);
    queue.enqueue(batch('u1', null, 2));
    expect(written).toEqual([]);
    queue.enqueue(batch('u2', null, 2));
    await queue.flush();
    expect(written.map((g) => g.identity.userId)).toEqual(['u1', 'u2']);
    await queue.close();
  });

  test('a refused group is counted as failed and logged; the others are still written', async () => {
    const { queue, written, log } = recordingQueue();
    queue.enqueue(batch('u1', 'refused', 2));
    queue.enqueue(batch('u2', 'o1', 1));
    await queue.flush();
    expect(written.map((g) => g.identity.userId)).toEqual(['u2']);
    expect(queue.counters()).toEqual({ accepted: 3, dropped: 0, stored: 1, failed: 2 });
    expect(log).toEqual([expect.stringMatching(/2 events not written \(2 so far\): new row violates/)]);
    // A second failure within the minute is counted, not logged again.
    queue.enqueue(batch('u3', 'refused', 1));
    await queue.flush();
    expect(queue.counters().failed).toBe(3);
    expect(log).toHaveLength(1);
    await queue.close();
  });

  test('close writes what is left and refuses what comes after', async () => {
    const { queue, written } = recordingQueue();
    queue.enqueue(batch('u1', null, 1));
    await queue.close();
    expect(written).toHaveLength(1);
    expect(queue.enqueue(batch('u1', null, 1))).toBe(false);
    expect(queue.counters().dropped).toBe(1);
  });
});
