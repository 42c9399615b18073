import type { RequestBody } from '../../http/route';
import { problems, type FieldError } from '../../problems';
import { pathPatternProblem } from '../files/path';
import { checkRepositoryUrl, selfHostedRepository, type GitProvider } from './url';

// The rules of a repository connection that need no database: the path
// patterns and what the URL says the repository is.

type CreateBody = RequestBody<'createRepository'>;

const NAME_LIMIT = 200;

const unprocessable = (path: string, message: string) => problems.unprocessable(message, [{ path, message }]);

/** 400 naming every include or exclude pattern that breaks the path rule (see ../files/path.ts). */
export function checkPathPatterns(body: Pick<CreateBody, 'includePaths' | 'excludePaths'>): void {
  const errors: FieldError[] = [];
  for (const field of ['includePaths', 'excludePaths'] as const) {
    body[field]?.forEach((pattern, i) => {
      const problem = pathPatternProblem(pattern);
      if (problem) errors.push({ path: `/body/${field}/${i}`, message: problem });
    });
  }
  if (errors.length > 0) throw problems.validation(errors[0]!.message, errors);
}

export interface RepositoryIdentity {
  provider: GitProvider;
  url: string;
  name: string;
}

/**
 * What a new repository row holds for its URL, provider and name.
 *
 * Stored URL: a recognised URL is stored in its normalized form (https, no
 * credentials, query, fragment, `.git` or trailing slash), so that the unique
 * (project, url, branch) constraint sees https://github.com/a/b,
 * http://github.com/a/b/ and https://github.com/a/b.git as the one repository
 * they are. Case in the path is kept as written (hosts differ on whether it
 * matters). A host we do not recognise is accepted only when the caller names
 * the provider (a self-hosted server): then the scheme is kept (internal
 * servers may be http only) and the same suffixes are dropped.
 */
export function repositoryIdentity(body: Pick<CreateBody, 'repositoryUrl' | 'provider' | 'repositoryName'>): RepositoryIdentity {
  const check = checkRepositoryUrl(body.repositoryUrl);
  let provider: GitProvider;
  let url: string;
  let derivedName: string;
  if (check.ok) {
    if (body.provider !== undefined && body.provider !== check.provider) {
      throw unprocessable('/body/provider', `The URL is a ${check.provider} repository, not ${body.provider}.`);
    }
    provider = check.provider;
    url = check.normalizedUrl;
    derivedName = `${check.owner}/${check.repository}`;
  } else if (check.code === 'unknown-host' && body.provider !== undefined && check.parsed) {
    const selfHosted = selfHostedRepository(check.parsed);
    if (!selfHosted) throw unprocessable('/body/repositoryUrl', 'The URL names no repository path.');
    provider = body.provider;
    url = selfHosted.url;
    derivedName = selfHosted.name;
  } else {
    const hint = check.code === 'unknown-host' ? ' Name the provider to connect a self-hosted server.' : '';
    throw unprocessable('/body/repositoryUrl', `${check.reason}${hint}`);
  }
  const name = body.repositoryName ?? derivedName;
  if (body.repositoryName === undefined && [...name].length > NAME_LIMIT) {
    throw unprocessable('/body/repositoryName', `The name taken from the URL is longer than ${NAME_LIMIT} characters; give a repositoryName.`);
  }
  return { provider, url, name };
}
