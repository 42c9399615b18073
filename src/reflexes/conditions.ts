import { RE2JS } from 're2js';
import type { FieldError } from '../problems';

export const CONDITION_OPERATORS = ['equals', 'contains', 'startsWith', 'endsWith', 'regex'] as const;
export type ConditionOperator = (typeof CONDITION_OPERATORS)[number];

export interface ConditionFilter {
  field: string;
  operator: ConditionOperator;
  value: string;
}

export interface Conditions {
  matchAll: boolean;
  filters: ConditionFilter[];
}

/** Limits that keep matching cheap whatever a reflex's author or an event's sender sends. */
export const CONDITION_LIMITS = {
  filters: 20,
  fieldLength: 200,
  pathSegments: 20,
  valueLength: 1000,
  patternLength: 500,
  /** Longer text is not matched at all (the filter fails): re2 is linear, but not free. */
  inputLength: 65_536,
} as const;

export const EMPTY_CONDITIONS: Conditions = { matchAll: true, filters: [] };

/** One filter's verdict, as POST /reflexes/{id}/test shows it. */
export interface FilterResult extends ConditionFilter {
  matched: boolean;
  /** The text the filter compared, when the field held a string, number or boolean. */
  actual: string | null;
  /** Why a filter failed without comparing (missing field, not a scalar, too long). */
  reason?: string;
}

export interface ConditionsResult {
  matched: boolean;
  matchAll: boolean;
  filters: FilterResult[];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Compiles a pattern with re2 (linear time, no backtracking); throws on a bad or unsupported pattern. */
export function compilePattern(pattern: string): RE2JS {
  return RE2JS.compile(pattern);
}

/** Why a pattern is refused, or undefined when it compiles within the limits. */
export function patternError(pattern: string): string | undefined {
  if (pattern.length > CONDITION_LIMITS.patternLength) {
    return `A pattern may have at most ${CONDITION_LIMITS.patternLength} characters.`;
  }
  try {
    compilePattern(pattern);
    return undefined;
  } catch (error) {
    return `Not a valid pattern (RE2 syntax, no look-around or back-references): ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * Checks a conditions object as a client sent it and returns it normalized
 * (matchAll defaults to true, filters to none), or the field errors.
 */
export function validateConditions(raw: unknown, at: string): { value?: Conditions; errors: FieldError[] } {
  if (raw === undefined) return { value: EMPTY_CONDITIONS, errors: [] };
  const errors: FieldError[] = [];
  if (!isObject(raw)) return { errors: [{ path: at, message: 'must be an object { matchAll, filters }' }] };
  for (const key of Object.keys(raw)) {
    if (key !== 'matchAll' && key !== 'filters') errors.push({ path: `${at}/${key}`, message: 'is not a known property' });
  }
  const matchAll = raw.matchAll ?? true;
  if (typeof matchAll !== 'boolean') errors.push({ path: `${at}/matchAll`, message: 'must be a boolean' });
  const rawFilters = raw.filters ?? [];
  if (!Array.isArray(rawFilters)) {
    errors.push({ path: `${at}/filters`, message: 'must be an array' });
    return { errors };
  }
  if (rawFilters.length > CONDITION_LIMITS.filters) {
    errors.push({ path: `${at}/filters`, message: `may hold at most ${CONDITION_LIMITS.filters} filters` });
    return { errors };
  }
  const filters: ConditionFilter[] = [];
  rawFilters.forEach((filter: unknown, index) => {
    const here = `${at}/filters/${index}`;
    if (!isObject(filter)) {
      errors.push({ path: here, message: 'must be an object { field, operator, value }' });
      return;
    }
    for (const key of Object.keys(filter)) {
      if (!['field', 'operator', 'value'].includes(key)) errors.push({ path: `${here}/${key}`, message: 'is not a known property' });
    }
    const { field, operator, value } = filter;
    const fieldProblem = fieldPathError(field);
    if (fieldProblem) errors.push({ path: `${here}/field`, message: fieldProblem });
    if (typeof operator !== 'string' || !(CONDITION_OPERATORS as readonly string[]).includes(operator)) {
      errors.push({ path: `${here}/operator`, message: `must be one of ${CONDITION_OPERATORS.join(', ')}` });
    }
    if (typeof value !== 'string') {
      errors.push({ path: `${here}/value`, message: 'must be a string' });
    } else if (value.length > CONDITION_LIMITS.valueLength) {
      errors.push({ path: `${here}/value`, message: `may have at most ${CONDITION_LIMITS.valueLength} characters` });
    } else if (operator === 'regex') {
      const problem = patternError(value);
      if (problem) errors.push({ path: `${here}/value`, message: problem });
    }
    if (errors.length === 0) filters.push({ field: field as string, operator: operator as ConditionOperator, value: value as string });
  });
  if (errors.length > 0) return { errors };
  return { value: { matchAll: matchAll as boolean, filters }, errors };
}

function fieldPathError(field: unknown): string | undefined {
  if (typeof field !== 'string' || field.length === 0) return 'must be a non-empty dotted path, e.g. "pull_request.title"';
  if (field.length > CONDITION_LIMITS.fieldLength) return `may have at most ${CONDITION_LIMITS.fieldLength} characters`;
  const segments = field.split('.');
  if (segments.length > CONDITION_LIMITS.pathSegments) return `may have at most ${CONDITION_LIMITS.pathSegments} segments`;
  if (segments.some((segment) => segment.length === 0)) return 'has an empty segment (two dots, or a dot at an end)';
  return undefined;
}

/**
 * The value at a dotted path: object keys by name, array items by index
 * ("items.0.name"). Only own properties count, so "__proto__" or
 * "constructor" never reach the prototype.
 */
export function valueAtPath(payload: unknown, field: string): { found: boolean; value?: unknown } {
  let current: unknown = payload;
  for (const segment of field.split('.')) {
    if (Array.isArray(current)) {
      if (!/^(0|[1-9]\d{0,8})$/.test(segment)) return { found: false };
      const index = Number(segment);
      if (index >= current.length) return { found: false };
      current = current[index];
    } else if (isObject(current)) {
      if (!Object.hasOwn(current, segment)) return { found: false };
      current = current[segment];
    } else {
      return { found: false };
    }
  }
  return { found: true, value: current };
}

/** Strings as they are; numbers and booleans as their JSON text; anything else is not compared. */
function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  return undefined;
}

export function evaluateFilter(filter: ConditionFilter, payload: unknown): FilterResult {
  const at = valueAtPath(payload, filter.field);
  if (!at.found) return { ...filter, matched: false, actual: null, reason: 'The field is not in the payload.' };
  const text = scalarText(at.value);
  if (text === undefined) {
    return { ...filter, matched: false, actual: null, reason: 'The field holds an object, an array or null, not a string, number or boolean.' };
  }
  if (text.length > CONDITION_LIMITS.inputLength) {
    return { ...filter, matched: false, actual: null, reason: `The field's text is longer than ${CONDITION_LIMITS.inputLength} characters.` };
  }
  let matched: boolean;
  switch (filter.operator) {
    case 'equals':
      matched = text === filter.value;
      break;
    case 'contains':
      matched = text.includes(filter.value);
      break;
    case 'startsWith':
      matched = text.startsWith(filter.value);
      break;
    case 'endsWith':
      matched = text.endsWith(filter.value);
      break;
    case 'regex':
      // re2 runs in time linear in the input: no pattern can make it backtrack.
      matched = filter.value.length <= CONDITION_LIMITS.patternLength && compilePattern(filter.value).matcher(text).find();
      break;
  }
  return { ...filter, matched, actual: text };
}

/** All filters (matchAll) or any of them; no filters always match. */
export function evaluateConditions(conditions: Conditions, payload: unknown): ConditionsResult {
  const filters = conditions.filters.map((filter) => evaluateFilter(filter, payload));
  const matched =
    filters.length === 0 || (conditions.matchAll ? filters.every((f) => f.matched) : filters.some((f) => f.matched));
  return { matched, matchAll: conditions.matchAll, filters };
}
