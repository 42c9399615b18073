import fc from 'fast-check';
import { globMatches, globToPattern } from './glob';

describe('globToPattern', () => {
  test.each([
    ['*.md', '^[^/]*\\.md$'],
    ['src/?.ts', '^src/[^/]\\.ts$'],
    ['docs/**/*.md', '^docs/(?:.*/)?[^/]*\\.md$'],
    ['docs/**', '^docs/.*$'],
    ['**', '^.*$'],
    ['a+b(1)[x]{y}|z^$', '^a\\+b\\(1\\)\\[x\\]\\{y\\}\\|z\\^\\$$'],
    ['back\\slash', '^back\\\\slash$'],
  ])('%j compiles to %j', (glob, pattern) => {
    expect(globToPattern(glob)).toBe(pattern);
  });
});

describe('globMatches', () => {
  test('file globs: ** spans folders, * and ? stay in one', () => {
    expect(globMatches('docs/**/*.md', 'docs/a/b/c.md')).toBe(true);
    expect(globMatches('docs/**/*.md', 'docs/c.md')).toBe(true);
    expect(globMatches('docs/*.md', 'docs/a/c.md')).toBe(false);
    expect(globMatches('src/?.ts', 'src/a.ts')).toBe(true);
    expect(globMatches('src/?.ts', 'src/ab.ts')).toBe(false);
    expect(globMatches('a+b(1).txt', 'a+b(1).txt')).toBe(true);
    expect(globMatches('a.txt', 'abtxt')).toBe(false);
  });

  test('a leading **/ also matches at the top, a trailing /** needs the folder itself', () => {
    expect(globMatches('**/README.md', 'README.md')).toBe(true);
    expect(globMatches('**/README.md', 'a/b/README.md')).toBe(true);
    expect(globMatches('**/README.md', 'a/bREADME.md')).toBe(false);
    expect(globMatches('docs/**', 'docs/a/b.md')).toBe(true);
    expect(globMatches('docs/**', 'docs/')).toBe(true);
    expect(globMatches('docs/**', 'docs')).toBe(false);
    expect(globMatches('docs/**', 'docsx/a.md')).toBe(false);
  });

  test('the whole path must match, not a part of it', () => {
    expect(globMatches('*.md', 'notes.md')).toBe(true);
    expect(globMatches('*.md', 'notes.md.bak')).toBe(false);
    expect(globMatches('*.md', 'docs/notes.md')).toBe(false);
    expect(globMatches('notes', 'my-notes')).toBe(false);
  });

  test('brackets, braces and other regex characters are literal, not classes or alternatives', () => {
    expect(globMatches('[abc].txt', '[abc].txt')).toBe(true);
    expect(globMatches('[abc].txt', 'a.txt')).toBe(false);
    expect(globMatches('{a,b}.txt', 'a.txt')).toBe(false);
    expect(globMatches('{a,b}.txt', '{a,b}.txt')).toBe(true);
    expect(globMatches('a|b', 'a')).toBe(false);
    expect(globMatches('^x$', '^x$')).toBe(true);
  });

  test('** crosses line breaks too (DOTALL): a path cannot hide behind a newline', () => {
    expect(globMatches('**', 'a\nb/c')).toBe(true);
    expect(globMatches('docs/**', 'docs/a\n.md')).toBe(true);
    expect(globMatches('*', 'a\nb')).toBe(true);
  });

  test('a glob without wildcards matches exactly itself (property)', () => {
    const literal = fc.string({ maxLength: 40 }).filter((text) => !text.includes('*') && !text.includes('?'));
    fc.assert(
      fc.property(literal, literal, (glob, path) => {
        expect(globMatches(glob, glob)).toBe(true);
        expect(globMatches(glob, path)).toBe(glob === path);
      }),
    );
  });

  test('* and ? never match a slash; ** matches any path (property)', () => {
    const segment = fc.string({ minLength: 1, maxLength: 12 }).filter((text) => !text.includes('/'));
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), (segments) => {
        const path = segments.join('/');
        expect(globMatches('*', path)).toBe(segments.length === 1);
        expect(globMatches('**', path)).toBe(true);
        expect(globMatches(segments.map(() => '*').join('/'), path)).toBe(true);
        expect(globMatches('?', path)).toBe(path.length === 1);
      }),
    );
  });

  test('a glob of many stars against a long path that almost matches returns, and says no', () => {
    const glob = `${'*a'.repeat(20)}b`;
    expect(globMatches(glob, 'a'.repeat(20_000))).toBe(false);
    expect(globMatches(glob, `${'a'.repeat(20_000)}b`)).toBe(true);
  });
});
