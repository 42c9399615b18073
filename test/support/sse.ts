import http from 'node:http';

/** One dispatched Server-Sent Event, as an EventSource would hand it to a listener. */
export interface SseEvent {
  event: string;
  data: string;
  /** The stream's last event id when this one was dispatched. */
  lastEventId: string;
}

/**
 * A client of our own for Server-Sent Events over node:http, parsing the
 * event-stream format as the WHATWG spec tells EventSource to: fields per
 * line, a blank line dispatches, `id` updates the last event id even on a
 * frame without data, comment lines are ignored (counted here, for heartbeats).
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  lastEventId = '';
  comments = 0;
  ended = false;
  private buffer = '';
  private eventType = '';
  private data: string[] = [];
  private pendingId: string | undefined;
  private waiters: Array<() => void> = [];

  constructor(
    readonly status: number,
    readonly headers: http.IncomingHttpHeaders,
    readonly body: string,
    private readonly request: http.ClientRequest | undefined,
    response: http.IncomingMessage | undefined,
  ) {
    if (!response) return;
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.feed(chunk));
    response.on('end', () => this.finish());
    response.on('close', () => this.finish());
    response.on('error', () => this.finish());
  }

  /** The parsed JSON data of the events so far. */
  parsed(name?: string): Array<Record<string, unknown>> {
    return this.events.filter((e) => name === undefined || e.event === name).map((e) => JSON.parse(e.data) as Record<string, unknown>);
  }

  /** Waits until `done` holds for the events received (or the stream ended), at most `timeoutMs`. */
  async waitFor(done: (events: SseEvent[]) => boolean, timeoutMs = 5000, what = 'the expected events'): Promise<SseEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.events)) {
      if (this.ended) throw new Error(`the stream ended before ${what}; got ${JSON.stringify(this.events.map((e) => e.event))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.events.map((e) => e.event))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.events;
  }

  /** Waits for the server to end the stream. */
  async waitForEnd(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('the stream did not end');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  close(): void {
    this.request?.destroy();
    this.finish();
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let newline: number;
    while ((newline = this.buffer.search(/\r\n|\n|\r/)) >= 0) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + (this.buffer.startsWith('\r\n', newline) ? 2 : 1));
      this.line(line);
    }
    this.wake();
  }

  private line(line: string): void {
    if (line === '') {
      if (this.pendingId !== undefined) this.lastEventId = this.pendingId;
      this.pendingId = undefined;
      if (this.data.length > 0) this.events.push({ event: this.eventType || 'message', data: this.data.join('\n'), lastEventId: this.lastEventId });
      this.data = [];
      this.eventType = '';
      return;
    }
    if (line.startsWith(':')) {
      this.comments++;
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.eventType = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.pendingId = value;
  }
}

/**
 * Opens a stream at `url` with `headers` (real HTTP on loopback). Resolves once
 * the response headers arrive; a refusal (not 200) comes back with its body
 * read whole.
 */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { Accept: 'text/event-stream', ...headers } }, (response) => {
      if (response.statusCode !== 200) {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve(new SseClient(response.statusCode ?? 0, response.headers, body, undefined, undefined)));
        return;
      }
      resolve(new SseClient(200, response.headers, '', request, response));
    });
    request.on('error', reject);
  });
}
