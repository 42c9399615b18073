// Pure rules of the public catalogue and the organization's figures.

/** The stored average ("4.50", two decimals) as the JSON number the frontend reads (4.5); null while nobody rated. */
export function averageRating(stored: string | null): number | null {
  return stored === null ? null : Number(stored);
}

/** Every key given, with its count from `counted` or 0: the frontend reads a record with all of them. */
export function countsFor<Key extends string>(keys: readonly Key[], counted: Readonly<Record<string, number>>): Record<Key, number> {
  return Object.fromEntries(keys.map((key) => [key, counted[key] ?? 0])) as Record<Key, number>;
}

/**
 * An exact decimal amount ("12.0150") as a JSON number. The text has at most
 * four decimals and far fewer than 15 significant digits, so the number is
 * the nearest double to the exact value and prints back as the same decimal.
 */
export function centsAsNumber(exact: string): number {
  if (!/^\d{1,11}\.\d{4}$/.test(exact)) throw new Error(`not an amount of cents: ${exact}`);
  return Number(exact);
}
