import { RE2JS } from 're2js';

/**
 * File globs for file_change reflexes: `**` spans folders, `*` and `?` stay
 * within one path segment, everything else is literal. They compile to re2
 * patterns, so matching is linear in the path whatever the glob.
 */
export function globToPattern(glob: string): string {
  let pattern = '^';
  for (let i = 0; i < glob.length; i += 1) {
    const char = glob[i]!;
    if (char === '*' && glob[i + 1] === '*') {
      if (glob[i + 2] === '/') {
        pattern += '(?:.*/)?';
        i += 2;
      } else {
        pattern += '.*';
        i += 1;
      }
    } else if (char === '*') {
      pattern += '[^/]*';
    } else if (char === '?') {
      pattern += '[^/]';
    } else {
      pattern += /[\\^$.|+()[\]{}]/.test(char) ? `\\${char}` : char;
    }
  }
  return `${pattern}$`;
}

export function compileGlob(glob: string): RE2JS {
  return RE2JS.compile(globToPattern(glob), RE2JS.DOTALL);
}

export function globMatches(glob: string, path: string): boolean {
  return compileGlob(glob).matches(path);
}
