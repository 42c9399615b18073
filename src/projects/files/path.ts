import { problems } from '../../problems';

/**
 * Where a file sits inside its project, and the glob patterns that pick
 * files of a repository. Both end up in the hands of workers that read and
 * write storage and checkouts, so neither may point outside the project.
 *
 * A file path is refused when it could mean something else on another system
 * or hides what it is: absolute (`/etc/passwd`, `C:\...`, `C:...`), a `..`
 * segment, a backslash (a separator on Windows), control characters (NUL
 * included) and bidirectional formatting characters (they make `exe.txt` read
 * as `txt.exe`). Harmless spellings of the same path are normalized rather
 * than refused: empty and `.` segments are dropped, so `./docs//guide/`
 * becomes `docs/guide`. That way one file has one path, and the unique
 * (project, path) constraint sees duplicates.
 */

/** Characters, as the contract's maxLength counts them (code points). */
export const MAX_FILE_PATH_LENGTH = 1024;

export type FilePathVerdict = { ok: true; path: string } | { ok: false; reason: string };

/** C0 controls, DEL, C1 controls; and the bidirectional marks, embeddings, overrides and isolates. */
const HIDDEN_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const DRIVE_LETTER = /^[A-Za-z]:/;

const refuse = (reason: string): FilePathVerdict => ({ ok: false, reason });

/** Characters no path or pattern may hold; undefined when the text is clean. */
function hiddenCharacterReason(text: string): string | undefined {
  if (HIDDEN_CHARACTERS.test(text)) return 'may not contain control characters (NUL included) or bidirectional formatting characters';
  if (LONE_SURROGATE.test(text)) return 'is not valid Unicode text';
  return undefined;
}

const hasParentSegment = (text: string): boolean => text.split('/').includes('..');

/** The path in its one normalized spelling, or why it is refused. */
export function normalizeFilePath(raw: string): FilePathVerdict {
  const hidden = hiddenCharacterReason(raw);
  if (hidden) return refuse(`The path ${hidden}.`);
  if (raw.includes('\\')) return refuse('The path may not contain backslashes; separate folders with "/".');
  if (raw.startsWith('/')) return refuse('The path must be relative to the project (no leading "/").');
  if (hasParentSegment(raw)) return refuse('The path may not contain ".." segments.');
  const path = raw
    .split('/')
    .filter((segment) => segment !== '' && segment !== '.')
    .join('/');
  if (path === '') return refuse('The path names no file.');
  // Checked on the normalized path: "./C:/x" is "C:/x".
  if (DRIVE_LETTER.test(path)) return refuse('The path must be relative to the project (no drive letter).');
  if ([...path].length > MAX_FILE_PATH_LENGTH) return refuse(`The path may have at most ${MAX_FILE_PATH_LENGTH} characters.`);
  return { ok: true, path };
}

/** The normalized path of a file to register; a refused one is the caller's 400 at /body/path. */
export function requireFilePath(raw: string): string {
  const verdict = normalizeFilePath(raw);
  if (!verdict.ok) throw problems.validation(verdict.reason, [{ path: '/body/path', message: verdict.reason }]);
  return verdict.path;
}

/**
 * Why a repository path glob (includePaths, excludePaths) is refused, or
 * undefined. Globs keep their own syntax (a backslash may escape, a leading
 * "/" may anchor at the repository root, as in .gitignore); they only may not
 * climb out of the repository or hide characters. Character classes and the
 * like could still spell "..": whoever expands a glob must match it against
 * paths inside the checkout only.
 */
export function pathPatternProblem(pattern: string): string | undefined {
  const hidden = hiddenCharacterReason(pattern);
  if (hidden) return `The pattern ${hidden}.`;
  if (DRIVE_LETTER.test(pattern)) return 'The pattern must be relative to the repository (no drive letter).';
  // ".." between slashes or backslashes, written plainly or with escaped dots.
  const unescaped = pattern.replace(/\\(.)/gs, '$1');
  if (pattern.split(/[\\/]/).includes('..') || hasParentSegment(unescaped)) return 'The pattern may not contain ".." segments.';
  return undefined;
}
