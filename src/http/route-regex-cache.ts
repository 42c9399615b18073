/**
 * express-openapi-validator (5.6) compiles every contract path into a regular
 * expression on every request while it looks for the matching route, so the
 * cost of each request grows with the size of the contract. The compiled
 * result depends only on the path and options, and the regexes carry no
 * state (no /g flag), so it is memoized here, for the copy of path-to-regexp
 * the validator itself loads.
 */
type Compile = (path: string, options?: Record<string, unknown>) => unknown;

const MEMOIZED = Symbol.for('devtools-backend.memoizedPathToRegexp');

export function memoizeValidatorRouteRegexes(): void {
  const validatorEntry = require.resolve('express-openapi-validator');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pathToRegexpModule = require(require.resolve('path-to-regexp', { paths: [validatorEntry] })) as {
    pathToRegexp: Compile & { [MEMOIZED]?: Map<string, unknown> };
  };
  if (pathToRegexpModule.pathToRegexp[MEMOIZED]) return;
  const original = pathToRegexpModule.pathToRegexp;
  const cache = new Map<string, unknown>();
  const memoized: Compile & { [MEMOIZED]?: Map<string, unknown> } = (path, options) => {
    const key = `${path}\u0000${JSON.stringify(options ?? {})}`;
    let compiled = cache.get(key);
    if (compiled === undefined) {
      compiled = original(path, options);
      cache.set(key, compiled);
    }
    return compiled;
  };
  memoized[MEMOIZED] = cache;
  pathToRegexpModule.pathToRegexp = memoized;
}

/** How many compiled route regexes are cached (for tests). */
export function cachedRouteRegexCount(): number {
  const validatorEntry = require.resolve('express-openapi-validator');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pathToRegexpModule = require(require.resolve('path-to-regexp', { paths: [validatorEntry] })) as {
    pathToRegexp: { [MEMOIZED]?: Map<string, unknown> };
  };
  return pathToRegexpModule.pathToRegexp[MEMOIZED]?.size ?? 0;
}
