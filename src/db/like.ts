/** Escapes LIKE/ILIKE wildcards (and the escape character) so that text matches as itself. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
