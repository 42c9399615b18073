import type { components } from '../../generated/openapi';

export type GitProvider = components['schemas']['GitProvider'];
export type RepositoryUrlVerdict = components['schemas']['RepositoryUrlVerdict'];
export type RepositoryValidation = components['schemas']['RepositoryValidation'];

/** The column's limit (and the contract's): longer URLs are refused, never cut. */
export const MAX_REPOSITORY_URL_LENGTH = 500;

/**
 * Why a URL cannot be used, as a code the create handler can act on
 * (`unknown-host` is the one a caller may override by naming the provider of
 * a self-hosted server) and a sentence for people.
 */
export type UrlProblemCode =
  | 'empty'
  | 'too-long'
  | 'ssh'
  | 'whitespace'
  | 'not-a-url'
  | 'not-http'
  | 'credentials'
  | 'unknown-host'
  | 'missing-owner'
  | 'missing-repository';

export interface RecognisedRepository {
  provider: GitProvider;
  /** Owner, group path (gitlab, may be nested) or "organization/project" (azure). */
  owner: string;
  repository: string;
  /** https, host lowercased, no credentials, query, fragment, `.git` or trailing slash. */
  normalizedUrl: string;
}

export type UrlCheck =
  | ({ ok: true } & RecognisedRepository)
  | { ok: false; code: UrlProblemCode; reason: string; parsed?: URL };

const SSH_SCP_FORM = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:/;

function fail(code: UrlProblemCode, reason: string, parsed?: URL): UrlCheck {
  return { ok: false, code, reason, ...(parsed ? { parsed } : {}) };
}

/** Path segments as written (still percent-encoded), without empty ones from doubled or trailing slashes. */
function segmentsOf(url: URL): string[] {
  return url.pathname.split('/').filter((segment) => segment.length > 0);
}

function stripGitSuffix(segment: string): string {
  return segment.replace(/\.git$/i, '');
}

/** Percent-decoded for display; a malformed escape is kept as written. */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function recognised(
  provider: GitProvider,
  host: string,
  ownerSegments: string[],
  repository: string,
  pathSegments: string[],
): UrlCheck {
  return {
    ok: true,
    provider,
    owner: ownerSegments.map(decoded).join('/'),
    repository: decoded(repository),
    normalizedUrl: `https://${host}/${pathSegments.join('/')}`,
  };
}

/** owner/repository hosts: github.com and bitbucket.org. Extra segments (a pasted /tree/main page) are dropped. */
function ownerAndRepository(provider: GitProvider, url: URL, host: string): UrlCheck {
  const expected = `expected https://${host}/owner/repository`;
  const segments = segmentsOf(url);
  if (segments.length === 0) return fail('missing-owner', `The URL names no owner: ${expected}.`, url);
  const repository = segments[1] === undefined ? '' : stripGitSuffix(segments[1]);
  if (repository === '') return fail('missing-repository', `The URL names no repository: ${expected}.`, url);
  const owner = segments[0]!;
  return recognised(provider, host, [owner], repository, [owner, repository]);
}

/** GitLab: any depth of groups, then the project; "/-/" starts a page inside the project. */
function gitlab(url: URL): UrlCheck {
  const expected = `expected https://${url.host}/group/project`;
  const all = segmentsOf(url);
  const dash = all.indexOf('-');
  const segments = dash === -1 ? all : all.slice(0, dash);
  if (segments.length === 0) return fail('missing-owner', `The URL names no group: ${expected}.`, url);
  const repository = segments.length < 2 ? '' : stripGitSuffix(segments[segments.length - 1]!);
  if (repository === '') return fail('missing-repository', `The URL names no project: ${expected}.`, url);
  const groups = segments.slice(0, -1);
  return recognised('gitlab', url.host, groups, repository, [...groups, repository]);
}

/**
 * Azure DevOps: dev.azure.com/{org}/{project}/_git/{repo}, or
 * {org}.visualstudio.com/[DefaultCollection/]{project}/_git/{repo}.
 * The owner is "org/project".
 */
function azure(url: URL, visualStudioOrganization?: string): UrlCheck {
  let segments = segmentsOf(url);
  const prefix: string[] = [];
  let organization: string;
  let expected: string;
  if (visualStudioOrganization === undefined) {
    expected = 'expected https://dev.azure.com/organization/project/_git/repository';
    if (segments.length === 0) return fail('missing-owner', `The URL names no organization: ${expected}.`, url);
    organization = segments[0]!;
    prefix.push(organization);
    segments = segments.slice(1);
  } else {
    expected = `expected https://${url.host}/project/_git/repository`;
    organization = visualStudioOrganization;
    if (segments[0]?.toLowerCase() === 'defaultcollection') {
      prefix.push(segments[0]);
      segments = segments.slice(1);
    }
  }
  const project = segments[0];
  if (project === undefined || project === '_git') return fail('missing-owner', `The URL names no project: ${expected}.`, url);
  if (segments[1] !== '_git') return fail('missing-repository', `The URL has no /_git/repository part: ${expected}.`, url);
  const repository = segments[2] === undefined ? '' : stripGitSuffix(segments[2]);
  if (repository === '') return fail('missing-repository', `The URL names no repository: ${expected}.`, url);
  return recognised('azure', url.host, [organization, project], repository, [...prefix, project, '_git', repository]);
}

/**
 * Judges a repository URL without any network call. Only https/http URLs of
 * a recognised host, with an owner and a repository, are valid; everything
 * else comes back with the first reason found.
 */
export function checkRepositoryUrl(input: string): UrlCheck {
  const text = input.trim();
  if (text === '') return fail('empty', 'The URL is empty.');
  if (text.length > MAX_REPOSITORY_URL_LENGTH) {
    return fail('too-long', `The URL is longer than ${MAX_REPOSITORY_URL_LENGTH} characters.`);
  }
  if (SSH_SCP_FORM.test(text) || /^(ssh|git\+ssh):\/\//i.test(text)) {
    return fail('ssh', 'SSH URLs are not supported: use the https URL of the repository.');
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) return fail('not-a-url', 'This is not a URL: write it as https://host/owner/repository.');
  if (scheme !== 'https' && scheme !== 'http') return fail('not-http', `Only http and https URLs are supported, not ${scheme}.`);
  // The parser would forgive backslashes; the stored URL must be written plainly.
  if (text.includes('\\')) return fail('not-a-url', 'A URL cannot contain backslashes: write it as https://host/owner/repository.');
  if (/\s/.test(text)) return fail('whitespace', 'A URL cannot contain spaces or line breaks.');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail('not-a-url', 'This is not a well-formed URL: write it as https://host/owner/repository.');
  }
  if (url.username !== '' || url.password !== '') {
    return fail('credentials', 'The URL contains a user name or password: remove them (credentials are never stored in a URL).');
  }
  const host = url.hostname;
  let verdict: UrlCheck;
  if (host === 'github.com' || host === 'www.github.com') verdict = ownerAndRepository('github', url, 'github.com');
  else if (host === 'bitbucket.org' || host === 'www.bitbucket.org') verdict = ownerAndRepository('bitbucket', url, 'bitbucket.org');
  else if (host.includes('gitlab')) verdict = gitlab(url);
  else if (host === 'dev.azure.com') verdict = azure(url, undefined);
  else if (/^[a-z0-9-]+\.visualstudio\.com$/.test(host)) verdict = azure(url, host.slice(0, -'.visualstudio.com'.length));
  else {
    return fail(
      'unknown-host',
      `The host ${host} is not a recognised git provider (github.com, gitlab.com or a GitLab server, bitbucket.org, dev.azure.com, *.visualstudio.com).`,
      url,
    );
  }
  // http becomes https: the normalized form may be one character longer than the input.
  if (verdict.ok && verdict.normalizedUrl.length > MAX_REPOSITORY_URL_LENGTH) {
    return fail('too-long', `The URL is longer than ${MAX_REPOSITORY_URL_LENGTH} characters once normalized.`);
  }
  return verdict;
}

/** The verdict as the contract shapes it. */
export function repositoryUrlVerdict(input: string): RepositoryUrlVerdict {
  const check = checkRepositoryUrl(input);
  if (!check.ok) {
    return { url: input, valid: false, provider: null, owner: null, repository: null, normalizedUrl: null, reason: check.reason };
  }
  return {
    url: input,
    valid: true,
    provider: check.provider,
    owner: check.owner,
    repository: check.repository,
    normalizedUrl: check.normalizedUrl,
    reason: null,
  };
}

/**
 * The same verdict in the frontend's shape: `repoName` is owner/repository,
 * the name a repository connected from this URL gets.
 */
export function repositoryValidation(input: string): RepositoryValidation {
  const check = checkRepositoryUrl(input);
  if (!check.ok) return { valid: false, error: check.reason, provider: null, repoName: null };
  return { valid: true, error: null, provider: check.provider, repoName: `${check.owner}/${check.repository}` };
}

/**
 * A self-hosted server the caller vouches for by naming the provider: the URL
 * keeps its scheme and host, loses query, fragment, `.git` and trailing slash,
 * and the name is its path. Null when the path is empty.
 */
export function selfHostedRepository(url: URL): { url: string; name: string } | null {
  const segments = segmentsOf(url);
  if (segments.length === 0) return null;
  const last = stripGitSuffix(segments[segments.length - 1]!);
  const path = [...segments.slice(0, -1), ...(last === '' ? [] : [last])];
  if (path.length === 0) return null;
  return {
    url: `${url.protocol}//${url.host}/${path.join('/')}`,
    name: path.filter((segment) => segment !== '_git').map(decoded).join('/'),
  };
}
