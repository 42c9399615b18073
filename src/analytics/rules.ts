import { isStorableText } from '../auth/text';
import type { components } from '../generated/openapi';
import type { FieldError } from '../problems';

export type AnalyticsEventInput = components['schemas']['AnalyticsEvent'];

/** What one batch of product events may hold; the contract states the simple ones, these the rest. */
export const ANALYTICS_LIMITS = {
  eventsPerBatch: 100,
  /** Containers open at once inside `properties`, the object itself being level 1. */
  propertyDepth: 5,
  /** `properties` as JSON, in UTF-8 bytes. */
  propertyBytes: 8192,
  /** How far a browser's clock may run ahead of the server's. */
  futureMs: 24 * 60 * 60 * 1000,
  /** How old an event may be when it arrives (a tab asleep for a weekend still reports). */
  pastMs: 30 * 24 * 60 * 60 * 1000,
} as const;

/** An event as it is stored, in the database's terms. */
export interface StoredAnalyticsEvent {
  type: string;
  occurred_at: string;
  session_id: string | null;
  persona: string | null;
  properties: Record<string, unknown>;
}

/**
 * Levels of containers in a JSON value (a scalar is 0), or `limit + 1` as
 * soon as it is known to be deeper than `limit`: a hostile value is never
 * walked further than needed.
 */
export function depthBeyond(value: unknown, limit: number): number {
  if (typeof value !== 'object' || value === null) return 0;
  if (limit <= 0) return 1;
  let deepest = 0;
  for (const child of Array.isArray(value) ? value : Object.values(value)) {
    deepest = Math.max(deepest, depthBeyond(child, limit - 1));
    if (deepest >= limit) break;
  }
  return 1 + deepest;
}

/** The first key or string inside `value` that PostgreSQL cannot store (NUL, half a surrogate pair). */
function unstorableText(value: unknown): boolean {
  if (typeof value === 'string') return !isStorableText(value);
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(unstorableText);
  return Object.entries(value).some(([key, child]) => !isStorableText(key) || unstorableText(child));
}

/**
 * Every rule of a batch the contract cannot state, as field errors (empty:
 * the batch is good). A batch is kept whole or not at all, so one bad event
 * refuses all of it.
 */
export function checkEvents(events: AnalyticsEventInput[], now: Date): FieldError[] {
  const errors: FieldError[] = [];
  if (events.length > ANALYTICS_LIMITS.eventsPerBatch) {
    errors.push({ path: '/body/events', message: `may hold at most ${ANALYTICS_LIMITS.eventsPerBatch} events` });
    return errors;
  }
  events.forEach((event, i) => {
    const at = `/body/events/${i}`;
    const when = Date.parse(event.timestamp);
    if (!Number.isFinite(when)) {
      errors.push({ path: `${at}/timestamp`, message: 'must be a date-time' });
    } else if (when > now.getTime() + ANALYTICS_LIMITS.futureMs || when < now.getTime() - ANALYTICS_LIMITS.pastMs) {
      errors.push({ path: `${at}/timestamp`, message: 'must be at most a day ahead of and 30 days behind the server clock' });
    }
    if (event.sessionId != null && !isStorableText(event.sessionId)) {
      errors.push({ path: `${at}/sessionId`, message: 'must not contain NUL characters or broken UTF-16' });
    }
    const properties = event.properties ?? {};
    if (depthBeyond(properties, ANALYTICS_LIMITS.propertyDepth) > ANALYTICS_LIMITS.propertyDepth) {
      errors.push({ path: `${at}/properties`, message: `may be nested at most ${ANALYTICS_LIMITS.propertyDepth} levels deep` });
    } else if (Buffer.byteLength(JSON.stringify(properties)) > ANALYTICS_LIMITS.propertyBytes) {
      errors.push({ path: `${at}/properties`, message: `may be at most ${ANALYTICS_LIMITS.propertyBytes} bytes as JSON` });
    } else if (unstorableText(properties)) {
      errors.push({ path: `${at}/properties`, message: 'must not contain NUL characters or broken UTF-16' });
    }
  });
  return errors;
}

/** A checked event in the form it is stored, its timestamp made canonical UTC. */
export function toStoredEvent(event: AnalyticsEventInput): StoredAnalyticsEvent {
  return {
    type: event.type,
    occurred_at: new Date(event.timestamp).toISOString(),
    session_id: event.sessionId ?? null,
    persona: event.persona ?? null,
    properties: event.properties ?? {},
  };
}
