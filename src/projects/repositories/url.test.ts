import fc from 'fast-check';
import { MAX_REPOSITORY_URL_LENGTH, checkRepositoryUrl, repositoryUrlVerdict, repositoryValidation, selfHostedRepository, type UrlProblemCode } from './url';

// The contract tests (test/repositories.test.ts) cover the verdicts over HTTP;
// these pin the codes the create handler acts on and the edges of the rules.
const codeOf = (input: string): UrlProblemCode | 'ok' => {
  const check = checkRepositoryUrl(input);
  return check.ok ? 'ok' : check.code;
};

describe('problem codes', () => {
  test.each<[string, UrlProblemCode]>([
    ['', 'empty'],
    [' \t\n', 'empty'],
    [`https://github.com/acme/${'x'.repeat(MAX_REPOSITORY_URL_LENGTH)}`, 'too-long'],
    ['git@github.com:acme/api.git', 'ssh'],
    ['deploy.bot@git.example.com:team/api.git', 'ssh'],
    ['SSH://git@github.com/acme/api', 'ssh'],
    ['git+ssh://git@github.com/acme/api', 'ssh'],
    ['github.com/acme/api', 'not-a-url'],
    ['//github.com/acme/api', 'not-a-url'],
    ['ftp://github.com/acme/api', 'not-http'],
    ['file:///etc/passwd', 'not-http'],
    ['javascript://github.com/%0aalert(1)', 'not-http'],
    ['https://github.com\\acme\\api', 'not-a-url'],
    ['https://github.com/acme/my\tapi', 'whitespace'],
    ['https://github.com/acme/api\nmore', 'whitespace'],
    ['https://', 'not-a-url'],
    ['https://[::1/acme/api', 'not-a-url'],
    ['https://user@github.com/acme/api', 'credentials'],
    ['https://:pass@github.com/acme/api', 'credentials'],
    ['https://example.com/acme/api', 'unknown-host'],
    ['https://github.com.evil.test/acme/api', 'unknown-host'],
    ['https://evilgithub.com/acme/api', 'unknown-host'],
    ['https://github.com', 'missing-owner'],
    ['https://github.com/acme', 'missing-repository'],
    ['https://github.com/acme/.git', 'missing-repository'],
    ['https://gitlab.com/-/acme/web', 'missing-owner'],
    ['https://gitlab.com/acme', 'missing-repository'],
    ['https://dev.azure.com', 'missing-owner'],
    ['https://dev.azure.com/acme', 'missing-owner'],
    ['https://dev.azure.com/acme/_git/repo', 'missing-owner'],
    ['https://dev.azure.com/acme/Payments/_git', 'missing-repository'],
    ['https://acme.visualstudio.com/DefaultCollection', 'missing-owner'],
  ])('%j is %s', (input, code) => {
    expect(codeOf(input)).toBe(code);
  });

  test('every refusal has a sentence; only an unknown host keeps the parsed URL, for a provider override', () => {
    const unknown = checkRepositoryUrl('https://git.acme.internal/team/api');
    expect(unknown).toMatchObject({ ok: false, code: 'unknown-host', reason: expect.stringMatching(/git\.acme\.internal/) });
    expect(!unknown.ok && unknown.parsed?.href).toBe('https://git.acme.internal/team/api');
    for (const input of ['', 'git@github.com:a/b', 'ftp://x/y', 'https://u:p@github.com/a/b']) {
      const check = checkRepositoryUrl(input);
      expect(check.ok).toBe(false);
      if (!check.ok) {
        expect(check.reason.length).toBeGreaterThan(10);
        expect(check).not.toHaveProperty('parsed');
      }
    }
  });
});

describe('recognised hosts', () => {
  test('www. is dropped from github and bitbucket, the port kept on a GitLab server', () => {
    expect(checkRepositoryUrl('https://www.github.com/acme/api')).toMatchObject({ ok: true, normalizedUrl: 'https://github.com/acme/api' });
    expect(checkRepositoryUrl('https://www.bitbucket.org/acme/api')).toMatchObject({ ok: true, normalizedUrl: 'https://bitbucket.org/acme/api' });
    expect(checkRepositoryUrl('http://gitlab.acme.internal:8080/a/b')).toMatchObject({ provider: 'gitlab', normalizedUrl: 'https://gitlab.acme.internal:8080/a/b' });
  });

  test('the default port, doubled slashes and an upper-case .GIT are normalized away', () => {
    expect(checkRepositoryUrl('https://github.com:443//acme//api.GIT')).toMatchObject({ ok: true, owner: 'acme', repository: 'api', normalizedUrl: 'https://github.com/acme/api' });
  });

  test('Azure on visualstudio.com: DefaultCollection stays in the URL, the organization comes from the host', () => {
    expect(checkRepositoryUrl('https://acme.visualstudio.com/DefaultCollection/Payments/_git/ledger')).toEqual({
      ok: true,
      provider: 'azure',
      owner: 'acme/Payments',
      repository: 'ledger',
      normalizedUrl: 'https://acme.visualstudio.com/DefaultCollection/Payments/_git/ledger',
    });
    expect(codeOf('https://acme.corp.visualstudio.com/P/_git/r')).toBe('unknown-host');
  });

  test('owner and repository are decoded for display; a malformed escape is shown as written; the URL keeps the escapes', () => {
    expect(checkRepositoryUrl('https://gitlab.com/caf%C3%A9/na%20me')).toMatchObject({ owner: 'café', repository: 'na me', normalizedUrl: 'https://gitlab.com/caf%C3%A9/na%20me' });
    expect(checkRepositoryUrl('https://github.com/acme/100%25')).toMatchObject({ repository: '100%' });
    expect(checkRepositoryUrl('https://github.com/acme/bad%E0%A4%A')).toMatchObject({ ok: true, repository: 'bad%E0%A4%A' });
  });

  test('the limit applies to the normalized URL too: http becomes https, one character longer', () => {
    const atLimit = `http://github.com/acme/${'x'.repeat(MAX_REPOSITORY_URL_LENGTH - 'http://github.com/acme/'.length)}`;
    expect(atLimit).toHaveLength(MAX_REPOSITORY_URL_LENGTH);
    expect(checkRepositoryUrl(atLimit)).toMatchObject({ ok: false, code: 'too-long', reason: expect.stringMatching(/once normalized/) });
    expect(checkRepositoryUrl(atLimit.replace('http:', 'https:').slice(0, MAX_REPOSITORY_URL_LENGTH))).toMatchObject({ ok: true });
  });

  test('a normalized URL is normalized already, and never carries credentials, query, fragment or .git (property)', () => {
    const word = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,15}$/).filter((w) => !/\.git$/i.test(w) && w !== '.' && w !== '..');
    const url = fc
      .record({
        scheme: fc.constantFrom('http', 'https', 'HTTPS'),
        host: fc.constantFrom('github.com', 'bitbucket.org', 'gitlab.com', 'gitlab.example.org'),
        owner: word,
        repository: word,
        tail: fc.constantFrom('', '/', '.git', '.git/', '?tab=1', '#top', '/tree/main', '.git?x=1#y'),
      })
      .map(({ scheme, host, owner, repository, tail }) => `${scheme}://${host}/${owner}/${repository}${tail}`);
    fc.assert(
      fc.property(url, (input) => {
        const check = checkRepositoryUrl(input);
        if (!check.ok) throw new Error(`${input} was refused: ${check.reason}`);
        expect(checkRepositoryUrl(check.normalizedUrl)).toEqual(check);
        expect(check.normalizedUrl).toMatch(/^https:\/\/[a-z.]+\/[^?#@]+$/);
        expect(check.normalizedUrl).not.toMatch(/\.git$|\/$/i);
      }),
    );
  });
});

describe('repositoryUrlVerdict', () => {
  test('keeps the input as given and fills either the repository or the reason', () => {
    expect(repositoryUrlVerdict(' https://github.com/acme/api.git ')).toEqual({
      url: ' https://github.com/acme/api.git ',
      valid: true,
      provider: 'github',
      owner: 'acme',
      repository: 'api',
      normalizedUrl: 'https://github.com/acme/api',
      reason: null,
    });
    expect(repositoryUrlVerdict('https://example.com/a/b')).toEqual({
      url: 'https://example.com/a/b',
      valid: false,
      provider: null,
      owner: null,
      repository: null,
      normalizedUrl: null,
      reason: expect.stringMatching(/not a recognised git provider/),
    });
  });
});

describe('selfHostedRepository', () => {
  const selfHosted = (input: string) => selfHostedRepository(new URL(input));

  test('keeps scheme, host and port; drops query, fragment, .git and the trailing slash', () => {
    expect(selfHosted('http://git.acme.internal:8080/team/tools.git/?x=1#y')).toEqual({ url: 'http://git.acme.internal:8080/team/tools', name: 'team/tools' });
  });

  test('the name skips an Azure-style _git segment and is decoded', () => {
    expect(selfHosted('https://tfs.acme.internal/Big%20Project/_git/api')).toEqual({
      url: 'https://tfs.acme.internal/Big%20Project/_git/api',
      name: 'Big Project/api',
    });
  });

  test('a path of nothing, or of only ".git", names no repository', () => {
    expect(selfHosted('https://git.acme.internal/')).toBeNull();
    expect(selfHosted('https://git.acme.internal//')).toBeNull();
    expect(selfHosted('https://git.acme.internal/.git')).toBeNull();
    expect(selfHosted('https://git.acme.internal/team/.git')).toEqual({ url: 'https://git.acme.internal/team', name: 'team' });
  });
});

describe('repositoryValidation (the frontend shape of the same verdict)', () => {
  test('valid: provider and owner/repository as repoName, no error', () => {
    expect(repositoryValidation('https://github.com/acme/payments-api.git')).toEqual({
      valid: true,
      error: null,
      provider: 'github',
      repoName: 'acme/payments-api',
    });
    expect(repositoryValidation('https://dev.azure.com/org/proj/_git/repo')).toMatchObject({ valid: true, provider: 'azure', repoName: 'org/proj/repo' });
  });

  test('invalid: the rule\'s own reason as error, nothing else', () => {
    for (const input of ['', 'ftp://github.com/a/b', 'https://example.com/a/b']) {
      expect(repositoryValidation(input)).toEqual({ valid: false, error: repositoryUrlVerdict(input).reason, provider: null, repoName: null });
    }
  });
});
