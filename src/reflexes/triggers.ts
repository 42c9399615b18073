import { compilePattern, CONDITION_LIMITS, evaluateConditions, type Conditions, type ConditionsResult } from './conditions';
import type { ReflexTriggerType } from './definition';
import { globMatches } from './glob';

/**
 * Whatever fires a reflex, seen the same way: a named event (POST /events),
 * a file change, a signed delivery... Conditions look into `payload`.
 */
export interface ReflexEvent {
  eventName?: string;
  source?: string;
  payload: unknown;
}

/** One check of the trigger itself (event name, file path, sender...). */
export interface TriggerCheck {
  check: string;
  expected: string;
  actual: string | null;
  matched: boolean;
}

export interface ReflexMatch {
  triggerMatched: boolean;
  triggerChecks: TriggerCheck[];
  conditions: ConditionsResult;
  /** Trigger and conditions both match. */
  matched: boolean;
}

const field = (payload: unknown, key: string): string | null => {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null;
  const value = (payload as Record<string, unknown>)[key];
  return Object.hasOwn(payload, key) && typeof value === 'string' ? value : null;
};

function regexCheck(check: string, pattern: string | undefined, actual: string | null): TriggerCheck[] {
  if (pattern === undefined) return [];
  const matched = actual !== null && actual.length <= CONDITION_LIMITS.inputLength && compilePattern(pattern).matcher(actual).find();
  return [{ check, expected: pattern, actual, matched }];
}

function triggerChecks(type: ReflexTriggerType, config: Record<string, unknown>, event: ReflexEvent): TriggerCheck[] {
  switch (type) {
    case 'event': {
      const checks: TriggerCheck[] = [
        { check: 'eventName', expected: String(config.eventName), actual: event.eventName ?? null, matched: event.eventName === config.eventName },
      ];
      if (typeof config.source === 'string') {
        checks.push({ check: 'source', expected: config.source, actual: event.source ?? null, matched: event.source === config.source });
      }
      return checks;
    }
    case 'file_change': {
      const kind = field(event.payload, 'event');
      const path = field(event.payload, 'path');
      const events = (config.events as string[] | undefined) ?? [];
      const paths = (config.paths as string[] | undefined) ?? [];
      return [
        { check: 'fileEvent', expected: events.join(', '), actual: kind, matched: kind !== null && events.includes(kind) },
        { check: 'path', expected: paths.join(', '), actual: path, matched: path !== null && paths.some((glob) => globMatches(glob, path)) },
      ];
    }
    case 'email': {
      const from = field(event.payload, 'fromAddress');
      const expected = String(config.fromAddress);
      return [
        { check: 'fromAddress', expected, actual: from, matched: from !== null && from.toLowerCase() === expected.toLowerCase() },
        ...regexCheck('subjectPattern', config.subjectPattern as string | undefined, field(event.payload, 'subject')),
        ...regexCheck('bodyPattern', config.bodyPattern as string | undefined, field(event.payload, 'body')),
      ];
    }
    case 'api_call': {
      const endpoint = field(event.payload, 'endpoint');
      const method = field(event.payload, 'method');
      return [
        { check: 'endpoint', expected: String(config.endpoint), actual: endpoint, matched: endpoint === config.endpoint },
        { check: 'method', expected: String(config.method), actual: method, matched: method === config.method },
      ];
    }
    case 'webhook':
    case 'schedule':
      // A webhook's trigger is its valid signature, checked before this; schedules are habits.
      return [];
  }
}

/** Whether an event fires a reflex: its trigger, then its conditions on the payload. */
export function matchReflex(
  reflex: { triggerType: ReflexTriggerType; triggerConfig: Record<string, unknown>; conditions: Conditions },
  event: ReflexEvent,
): ReflexMatch {
  const checks = triggerChecks(reflex.triggerType, reflex.triggerConfig, event);
  const triggerMatched = reflex.triggerType !== 'schedule' && checks.every((check) => check.matched);
  const conditions = evaluateConditions(reflex.conditions, event.payload);
  return { triggerMatched, triggerChecks: checks, conditions, matched: triggerMatched && conditions.matched };
}

/**
 * The skill's input for an event: the payload's own fields when it is an
 * object (so a skill input "title" is fed by a payload field "title"),
 * otherwise { payload: <the value> }.
 */
export function skillInputFor(event: ReflexEvent): Record<string, unknown> {
  const { payload } = event;
  if (typeof payload === 'object' && payload !== null && !Array.isArray(payload)) return payload as Record<string, unknown>;
  return { payload: payload ?? null };
}
