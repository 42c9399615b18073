import type { Conditions } from './conditions';

/** What a webhook reflex without conditions is shown as an example body. */
export const DEFAULT_SAMPLE_PAYLOAD: Readonly<Record<string, unknown>> = Object.freeze({
  event: 'example_event',
  data: { id: '123', action: 'created' },
});

// Keys that would reach an object's prototype instead of the object itself.
const UNSAFE_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

type Container = Record<string, unknown> | unknown[];

const isContainer = (value: unknown): value is Container => typeof value === 'object' && value !== null;

/**
 * Places `value` at a dotted path (`pull_request.base.ref`, `labels.0.name`),
 * making objects (or arrays, for numeric segments) on the way. A path that
 * runs into a value already placed, or names a prototype key, is skipped:
 * false.
 */
function place(target: Record<string, unknown>, path: string, value: string): boolean {
  const segments = path.split('.');
  if (segments.some((segment) => segment === '' || UNSAFE_KEYS.has(segment))) return false;
  let node: Container = target;
  for (let i = 0; i < segments.length; i += 1) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    const key: string | number = Array.isArray(node) ? Number(segment) : segment;
    if (Array.isArray(node) && !/^\d{1,2}$/.test(segment)) return false;
    const existing: unknown = (node as Record<string | number, unknown>)[key];
    if (last) {
      if (existing !== undefined) return false;
      (node as Record<string | number, unknown>)[key] = value;
      return true;
    }
    if (existing === undefined) {
      const child: Container = /^\d{1,2}$/.test(segments[i + 1]!) ? [] : {};
      (node as Record<string | number, unknown>)[key] = child;
      node = child;
    } else if (isContainer(existing)) {
      node = existing;
    } else {
      return false;
    }
  }
  return false;
}

/**
 * An example body a webhook reflex would accept: each filter the value itself
 * satisfies (equals, contains, startsWith, endsWith) puts that value at its
 * field, so the sample matches the reflex when its filters can all hold at
 * once. Regular expressions are left out (their matches cannot be guessed
 * cheaply). No usable filter: a generic example.
 */
export function samplePayloadFor(conditions: Conditions): Record<string, unknown> {
  const sample: Record<string, unknown> = {};
  let placed = 0;
  for (const filter of conditions.filters) {
    if (filter.operator === 'regex') continue;
    if (place(sample, filter.field, filter.value)) placed += 1;
  }
  return placed > 0 ? sample : (structuredClone(DEFAULT_SAMPLE_PAYLOAD) as Record<string, unknown>);
}
