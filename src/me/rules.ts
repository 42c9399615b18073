/** snake_case to camelCase, as the API names what the database names (`organization_id` -> `organizationId`). */
export function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

/** A row's top-level keys in camelCase; nested values (settings, payloads) are kept exactly as stored. */
export function camelKeys(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([key, value]) => [camelCase(key), value]));
}

/** Whether the typed confirmation is the account's address (addresses compare without case). */
export function confirmsAddress(typed: string, email: string): boolean {
  return typed.trim().toLowerCase() === email.toLowerCase();
}
