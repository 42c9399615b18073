/**
 * express-openapi-validator (5.6) finds a request's operation by trying every
 * route of the contract in turn, compiling each path into a regular expression
 * as it goes: the cost of every request grows with the size of the contract
 * (with 107 operations it was an eighth of the API's CPU). Two changes keep the
 * validator's own matching, so its answers (parameters, 404, 405) stay exactly
 * what they were, but make it cheap:
 * - the compiled expressions are memoized (they depend only on the path and
 *   two flags, and carry no state);
 * - its route lookup sees only the candidates for the request's path: the
 *   routes with as many segments whose first segment after the common base is
 *   the request's (or a parameter), in the contract's order. A path that fits
 *   no such bucket is looked up among all routes, as before.
 */
type Compile = (path: string, options?: { sensitive?: boolean; strict?: boolean }) => unknown;

interface RouteMethods {
  basePath: string;
  _expressRoute: string;
}

interface OpenApiContextLike {
  expressRouteMap: Record<string, RouteMethods>;
}

type Middleware = (req: { originalUrl: string }, res: unknown, next: (error?: unknown) => void) => unknown;

interface ValidatorPrototype {
  metadataMiddleware(context: OpenApiContextLike, responseApiDoc: unknown): Middleware;
  [PATCHED]?: true;
}

const PATCHED = Symbol.for('devtools-backend.validatorRouteIndex');

function validatorModule<T>(path: string): T {
  const validatorEntry = require.resolve('express-openapi-validator');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(require.resolve(path, { paths: [validatorEntry] })) as T;
}

let compiled: Map<string, unknown> | undefined;

export function speedUpValidatorRouting(): void {
  const pathToRegexpModule = validatorModule<{ pathToRegexp: Compile }>('path-to-regexp');
  if (!compiled) {
    compiled = new Map();
    const cache = compiled;
    const original = pathToRegexpModule.pathToRegexp;
    pathToRegexpModule.pathToRegexp = (path, options) => {
      const key = `${options?.sensitive ? 's' : '-'}${options?.strict ? 's' : '-'}${path}`;
      let found = cache.get(key);
      if (found === undefined) {
        found = original(path, options);
        cache.set(key, found);
      }
      return found;
    };
  }

  const prototype = validatorModule<{ OpenApiValidator: { prototype: ValidatorPrototype } }>('express-openapi-validator/dist/openapi.validator')
    .OpenApiValidator.prototype;
  if (prototype[PATCHED]) return;
  const metadataMiddleware = prototype.metadataMiddleware;
  prototype.metadataMiddleware = function indexedMetadataMiddleware(context, responseApiDoc) {
    const index = new RouteIndex(context.expressRouteMap);
    let candidates = context.expressRouteMap;
    // The validator reads expressRouteMap synchronously inside the call below;
    // this view of the context answers with the current request's candidates.
    const narrowed = Object.create(context, { expressRouteMap: { get: () => candidates } }) as OpenApiContextLike;
    const inner = metadataMiddleware.call(this, narrowed, responseApiDoc);
    return (req, res, next) => {
      candidates = index.candidatesFor(req.originalUrl);
      try {
        return inner(req, res, next);
      } finally {
        candidates = context.expressRouteMap;
      }
    };
  };
  prototype[PATCHED] = true;
}

/** How many compiled route expressions are memoized (for tests). */
export function compiledRouteCount(): number {
  return compiled?.size ?? 0;
}

/** How many leading segments of a path pick its bucket (e.g. "api", "v1", "projects"). */
const KEY_SEGMENTS = 3;

/**
 * Routes bucketed by their segment count and first KEY_SEGMENTS segments; a
 * parameter among those matches any value. Each bucket keeps the contract's
 * order, which decides between overlapping routes.
 */
export class RouteIndex {
  private readonly buckets = new Map<string, Record<string, RouteMethods>>();
  private readonly withParameters: Array<{ route: string; pattern: string[] }> = [];

  constructor(private readonly all: Record<string, RouteMethods>) {
    const routes = Object.keys(all);
    const patterns = new Map(routes.map((route) => [route, patternOf(route)]));
    const literal = new Map<string, string[]>();
    for (const [route, pattern] of patterns) {
      if (pattern.includes('*')) this.withParameters.push({ route, pattern });
      else literal.set(pattern.join('/'), [...(literal.get(pattern.join('/')) ?? []), route]);
    }
    for (const [key, members] of literal) {
      const pattern = key.split('/');
      this.buckets.set(key, this.ordered([...members, ...this.matchingParameterised(pattern)]));
    }
  }

  candidatesFor(url: string): Record<string, RouteMethods> {
    let path = url.split('?')[0]!;
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    if (path.includes('//')) return this.all;
    const pattern = keyOf(path.split('/'), false);
    return this.buckets.get(pattern.join('/')) ?? this.ordered(this.matchingParameterised(pattern));
  }

  private matchingParameterised(key: string[]): string[] {
    return this.withParameters
      .filter(({ pattern }) => pattern.every((part, i) => part === '*' || part === key[i]))
      .map(({ route }) => route);
  }

  private ordered(chosen: string[]): Record<string, RouteMethods> {
    const members = new Set(chosen);
    const ordered: Record<string, RouteMethods> = {};
    for (const route of Object.keys(this.all)) if (members.has(route)) ordered[route] = this.all[route]!;
    return ordered;
  }
}

function patternOf(route: string): string[] {
  return keyOf(route.split('/'), true);
}

/** Segment count, then the first KEY_SEGMENTS segments after the leading slash (lower case; parameters as "*"). */
function keyOf(segments: string[], isRoute: boolean): string[] {
  const key = [String(segments.length)];
  for (let i = 1; i <= KEY_SEGMENTS; i++) {
    const segment = segments[i];
    if (segment === undefined) key.push('');
    else if (isRoute && (segment.startsWith(':') || /[(*?]/.test(segment))) key.push('*');
    else key.push(segment.toLowerCase());
  }
  return key;
}
