import type { InputError, InputField } from './types';

type Declared = InputField['type'];

function typeOf(value: unknown): Declared | 'null' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const type = typeof value;
  if (type === 'string' || type === 'number' || type === 'boolean') return type;
  return 'object';
}

/** Whether `value` is of the declared type (numbers must be finite; JSON has no other kind). */
export function matchesType(value: unknown, type: Declared): boolean {
  if (type === 'number') return typeof value === 'number' && Number.isFinite(value);
  return typeOf(value) === type;
}

/**
 * Checks an input against a skill's inputSchema and applies its defaults.
 * Declared fields must have their type; a required one must be present (null
 * counts as absent); a missing optional one takes its default when it has one.
 * Fields the schema does not declare are kept: habits and reflexes hand over
 * payloads with more in them, and a template may still name them.
 */
export function checkInput(
  schema: readonly InputField[],
  input: Record<string, unknown>,
  basePath = '/body/input',
): { values: Record<string, unknown>; errors: InputError[] } {
  const values: Record<string, unknown> = { ...input };
  const errors: InputError[] = [];
  for (const field of schema) {
    const path = `${basePath}/${field.name}`;
    const given = input[field.name];
    if (given === undefined || given === null) {
      if (field.default !== undefined && field.default !== null) values[field.name] = field.default;
      else if (field.required) errors.push({ path, message: `is required`, code: 'required' });
      continue;
    }
    if (!matchesType(given, field.type)) {
      errors.push({ path, message: `must be of type ${field.type}, got ${typeOf(given)}`, code: 'type' });
    }
  }
  return { values, errors };
}

/**
 * Rules of an inputSchema the contract cannot say: names are unique, and a
 * default has the field's type. Returned as field errors under `basePath`.
 */
export function inputSchemaProblems(schema: readonly InputField[], basePath: string): InputError[] {
  const errors: InputError[] = [];
  const seen = new Set<string>();
  schema.forEach((field, index) => {
    if (seen.has(field.name)) {
      errors.push({ path: `${basePath}/${index}/name`, message: `duplicates the field "${field.name}"`, code: 'unique' });
    }
    seen.add(field.name);
    if (field.default !== undefined && field.default !== null && !matchesType(field.default, field.type)) {
      errors.push({ path: `${basePath}/${index}/default`, message: `must be of type ${field.type}`, code: 'type' });
    }
  });
  return errors;
}
