import http from 'node:http';
import https from 'node:https';
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { parseTarget, resolveTarget, TargetRefused, type Resolver, type TargetPolicy } from './targets';

/** The longest part of an answer's body kept in the delivery log. */
export const RESPONSE_EXCERPT_CHARS = 2048;

export interface PostOutcome {
  /** The answer's status, when one came. */
  status?: number;
  /** The start of its body. */
  body?: string;
  /** Why no answer came (timeout, refused address, connection error). */
  error?: string;
  durationMs: number;
}

export interface PostOptions {
  policy: TargetPolicy;
  timeoutMs: number;
  resolve?: Resolver;
}

/**
 * A lookup that answers only with the addresses already checked: the
 * connection goes where the check looked, so a name that resolves elsewhere a
 * moment later (DNS rebinding) changes nothing.
 */
function pinnedLookup(addresses: LookupAddress[]): LookupFunction {
  return ((_hostname: string, options: { all?: boolean; family?: number }, callback: (...args: unknown[]) => void) => {
    const usable = options.family ? addresses.filter((a) => a.family === options.family) : addresses;
    const chosen = usable.length > 0 ? usable : addresses;
    if (options.all) callback(null, chosen);
    else callback(null, chosen[0]!.address, chosen[0]!.family);
  }) as unknown as LookupFunction;
}

/**
 * POSTs a JSON body to a webhook endpoint: the address checked against the
 * policy right before connecting and pinned for the connection, no redirect
 * followed (a 3xx is an answer like any other, and not a success), the whole
 * exchange bounded by the timeout, only the start of the answer read.
 */
export async function postJson(target: string, body: string, headers: Record<string, string>, options: PostOptions): Promise<PostOutcome> {
  const started = Date.now();
  const elapsed = () => Date.now() - started;
  let addresses: LookupAddress[];
  let url: URL;
  try {
    const parsed = parseTarget(target, options.policy);
    url = parsed.url;
    addresses = await resolveTarget(parsed.host, options.policy, options.resolve);
  } catch (error) {
    return { error: error instanceof TargetRefused ? error.message : 'The endpoint could not be resolved.', durationMs: elapsed() };
  }

  return new Promise<PostOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: Omit<PostOutcome, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...outcome, durationMs: elapsed() });
    };
    const transport = url.protocol === 'https:' ? https : http;
    const request = transport.request(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      lookup: pinnedLookup(addresses),
      agent: false,
    });
    const timer = setTimeout(() => {
      finish({ error: `No answer within ${options.timeoutMs} ms.` });
      request.destroy();
    }, options.timeoutMs);
    request.on('error', (error) => finish({ error: `The connection failed: ${error.message}`.slice(0, 500) }));
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        const text = Buffer.concat(chunks).toString('utf8').slice(0, RESPONSE_EXCERPT_CHARS);
        finish({ status: response.statusCode, body: text });
        response.destroy();
      };
      response.on('data', (chunk: Buffer) => {
        if (size >= RESPONSE_EXCERPT_CHARS * 4) return;
        chunks.push(chunk);
        size += chunk.length;
        // Enough for the excerpt: the rest of a large answer is not read.
        if (size >= RESPONSE_EXCERPT_CHARS * 4) done();
      });
      response.on('end', done);
      response.on('error', done);
    });
    request.end(body);
  });
}
