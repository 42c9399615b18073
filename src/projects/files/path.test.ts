import fc from 'fast-check';
import { MAX_FILE_PATH_LENGTH, normalizeFilePath, pathPatternProblem } from './path';

describe('normalizeFilePath', () => {
  test.each([
    ['docs/README.md', 'docs/README.md'],
    ['README', 'README'],
    ['./docs/guide.md', 'docs/guide.md'],
    ['docs//guide.md', 'docs/guide.md'],
    ['docs/./a/.//b.md', 'docs/a/b.md'],
    ['docs/', 'docs'],
    ['.env', '.env'],
    ['a/.../b', 'a/.../b'],
    ['..a/b..', '..a/b..'],
    ['%2e%2e/secret', '%2e%2e/secret'],
    ['caf\u00e9/\u{1F600}.txt', 'caf\u00e9/\u{1F600}.txt'],
    ['name with spaces.md', 'name with spaces.md'],
  ])('%j is kept as %j', (raw, normalized) => {
    expect(normalizeFilePath(raw)).toEqual({ ok: true, path: normalized });
  });

  test.each([
    ['../../etc/passwd', /"\.\."/],
    ['docs/../../secret', /"\.\."/],
    ['..', /"\.\."/],
    ['docs/..', /"\.\."/],
    ['./../x', /"\.\."/],
    ['/etc/passwd', /relative/],
    ['//server/share', /relative/],
    ['C:\\Windows\\win.ini', /backslash/],
    ['C:/Windows/win.ini', /drive letter/],
    ['c:notes.txt', /drive letter/],
    ['./C:/Windows', /drive letter/],
    ['.//d:', /drive letter/],
    ['docs\\guide.md', /backslash/],
    ['a\u0000b.md', /control characters/],
    ['a\nb.md', /control characters/],
    ['tab\there', /control characters/],
    ['del\u007f', /control characters/],
    ['c1\u0085', /control characters/],
    ['invoice\u202Efdp.exe', /bidirectional/],
    ['isolate\u2066x\u2069', /bidirectional/],
    ['half\ud800.md', /Unicode/],
    ['.', /names no file/],
    ['./', /names no file/],
    ['', /names no file/],
  ])('%j is refused', (raw, reason) => {
    const verdict = normalizeFilePath(raw);
    expect(verdict.ok).toBe(false);
    if (!verdict.ok) expect(verdict.reason).toMatch(reason);
  });

  test('the length limit counts characters of the normalized path', () => {
    expect(normalizeFilePath('p'.repeat(MAX_FILE_PATH_LENGTH)).ok).toBe(true);
    expect(normalizeFilePath(`./${'p'.repeat(MAX_FILE_PATH_LENGTH)}`).ok).toBe(true);
    expect(normalizeFilePath('\u{1F600}'.repeat(MAX_FILE_PATH_LENGTH)).ok).toBe(true);
    expect(normalizeFilePath('p'.repeat(MAX_FILE_PATH_LENGTH + 1))).toEqual({ ok: false, reason: expect.stringMatching(/at most 1024/) });
  });

  test('a normalized path is normalized already, and never climbs or starts at a root', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b.md', '.', '..', '', 'C:', '\\', '\u0000', '\u202e', ' '), { maxLength: 8 }), (parts) => {
        const verdict = normalizeFilePath(parts.join('/'));
        if (!verdict.ok) return;
        expect(normalizeFilePath(verdict.path)).toEqual(verdict);
        expect(verdict.path.split('/')).not.toContain('..');
        expect(verdict.path.split('/')).not.toContain('.');
        expect(verdict.path.split('/')).not.toContain('');
        expect(verdict.path).not.toMatch(/^\/|^[A-Za-z]:|\\|\u0000/);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('pathPatternProblem', () => {
  test.each(['src/**', 'docs/*.md', '**/*.test.ts', '/build', 'vendor/', '\\*.literal', 'a/.../b', '..*/x'])('%j is a fine pattern', (pattern) => {
    expect(pathPatternProblem(pattern)).toBeUndefined();
  });

  test.each([
    ['../**', /"\.\."/],
    ['src/../../**', /"\.\."/],
    ['src\\..\\..\\**', /"\.\."/],
    ['\\.\\./secret', /"\.\."/],
    ['C:/**', /drive letter/],
    ['a\u0000b', /control characters/],
    ['a\rb', /control characters/],
    ['x\u202e', /bidirectional/],
    ['\udfff', /Unicode/],
  ])('%j is refused', (pattern, reason) => {
    expect(pathPatternProblem(pattern)).toMatch(reason);
  });
});

describe('hidden characters, one by one', () => {
  const named = (characters: string[]) => characters.map((c) => [`U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`, c]);
  const refusedEverywhere = ['\u0000', '\u001f', '\u007f', '\u0080', '\u009f', '\u200e', '\u200f', '\u202a', '\u202e', '\u2066', '\u2069'];
  // The neighbours of each refused range.
  const allowed = ['\u00a0', '\u200d', '\u2010', '\u202f', '\u2065', '\u206a'];

  test.each(named(refusedEverywhere))('%s is refused in a path and in a pattern', (_name, character) => {
    expect(normalizeFilePath(`docs/a${character}b.md`)).toEqual({ ok: false, reason: expect.stringMatching(/control characters/) });
    expect(pathPatternProblem(`docs/*${character}`)).toMatch(/control characters/);
  });

  test.each(named(allowed))('%s, next to a refused range, is an ordinary character', (_name, character) => {
    expect(normalizeFilePath(`docs/a${character}b.md`)).toEqual({ ok: true, path: `docs/a${character}b.md` });
    expect(pathPatternProblem(`docs/*${character}`)).toBeUndefined();
  });

  test('a surrogate pair is one character; either half alone is broken text', () => {
    expect(normalizeFilePath('\ud83d\ude00.md').ok).toBe(true);
    expect(normalizeFilePath('\ude00\ud83d.md')).toEqual({ ok: false, reason: expect.stringMatching(/Unicode/) });
  });
});

describe('patterns that climb', () => {
  test('a ".." segment is refused whether the dots are escaped or the folders split by backslashes (property)', () => {
    // Escaped dots between slashes, or plain dots between backslashes (a backslash before a dot would escape it instead).
    const climb = fc.constantFrom(['/', '..'], ['/', '\\..'], ['/', '.\\.'], ['/', '\\.\\.'], ['\\', '..']);
    const segment = fc.constantFrom('src', '**', '*.ts', 'a b', '.x');
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 3 }), climb, fc.array(segment, { maxLength: 3 }), (before, [separator, dots], after) => {
        const pattern = [...before, dots, ...after].join(separator);
        expect(pathPatternProblem(pattern)).toMatch(/"\.\."/);
      }),
    );
  });
});
