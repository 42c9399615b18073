import http from 'node:http';
import type { AddressInfo } from 'node:net';

// Stand-ins for the model APIs the openai and anthropic runners call, written
// against each API's wire format: JSON requests, answers streamed as
// Server-Sent Events. Each test sets how the stand-in answers and reads the
// exact requests the SDK sent.

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** When the request arrived (performance.now()). */
  at: number;
  /** Resolves when the client closed the connection (an abort, or the end of the exchange). */
  closed: Promise<void>;
}

export type Answer = (res: http.ServerResponse, request: ReceivedRequest) => void | Promise<void>;

export interface StandIn {
  /** The base URL a runner is configured with. */
  url: string;
  received: ReceivedRequest[];
  /** Answers the next requests in order; the last one answers every request after them. */
  answers: Answer[];
  /** Requests answered since the answers were set. */
  served: number;
  close(): Promise<void>;
}

export async function startStandIn(basePath: string): Promise<StandIn> {
  const standIn = { received: [] as ReceivedRequest[], answers: [] as Answer[], served: 0 } as StandIn;
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      const closed = new Promise<void>((resolve) => res.on('close', () => resolve()));
      const request: ReceivedRequest = { method: req.method!, path: req.url!, headers: req.headers, body: JSON.parse(raw || '{}'), at: performance.now(), closed };
      standIn.received.push(request);
      const answer = standIn.answers[Math.min(standIn.served, standIn.answers.length - 1)];
      standIn.served += 1;
      if (!answer) {
        res.writeHead(500).end();
        return;
      }
      Promise.resolve(answer(res, request)).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  standIn.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${basePath}`;
  standIn.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return standIn;
}

/** Lets a test reset a stand-in between cases: nothing received, new answers. */
export function expectAnswers(standIn: StandIn, ...answers: Answer[]): void {
  standIn.received.length = 0;
  standIn.served = 0;
  standIn.answers.length = 0;
  standIn.answers.push(...answers);
}

export function jsonAnswer(status: number, body: unknown, headers: Record<string, string> = {}): Answer {
  return (res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
}

/** Sends the headers and then nothing: a model that never finishes. */
export const hang: Answer = (res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.flushHeaders();
};

/** A promise and the function that settles it: lets a test hold a stream half way. */
export function gate(): { opened: Promise<void>; open(): void } {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

function startEvents(res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
}

export interface StreamPlan {
  /** The answer's text, in the pieces it streams in. */
  pieces: string[];
  /** After this many pieces, wait for `hold` before sending the rest. */
  holdAfter?: number;
  hold?: Promise<void>;
}

async function eachPiece(plan: StreamPlan, send: (piece: string) => void): Promise<void> {
  for (const [index, piece] of plan.pieces.entries()) {
    if (plan.hold && index === plan.holdAfter) await plan.hold;
    send(piece);
  }
  if (plan.hold && plan.holdAfter === plan.pieces.length) await plan.hold;
}

/**
 * OpenAI chat completions, streamed: `data: {chunk}` lines, each chunk a
 * delta of choice 0; the finish reason in a last choice chunk; with
 * stream_options.include_usage, one more chunk with no choices and the usage;
 * then `data: [DONE]`.
 */
export function openAiStream(plan: StreamPlan & { usage?: { prompt_tokens: number; completion_tokens: number } }): Answer {
  return async (res, request) => {
    const base = { id: 'chatcmpl-standin', object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: request.body.model };
    const data = (chunk: unknown) => res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    startEvents(res);
    data({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
    await eachPiece(plan, (piece) => data({ ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] }));
    data({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
    const options = request.body.stream_options as { include_usage?: boolean } | undefined;
    if (plan.usage && options?.include_usage) {
      data({ ...base, choices: [], usage: { ...plan.usage, total_tokens: plan.usage.prompt_tokens + plan.usage.completion_tokens } });
    }
    res.end('data: [DONE]\n\n');
  };
}

/**
 * Anthropic messages, streamed: named events message_start (with the input
 * usage), content_block_start, content_block_delta (text_delta) per piece, a
 * ping, content_block_stop, message_delta (stop reason and the output usage),
 * message_stop.
 */
export function anthropicStream(plan: StreamPlan & { usage: { input_tokens: number; output_tokens: number } }): Answer {
  return async (res, request) => {
    const event = (name: string, payload: Record<string, unknown>) => res.write(`event: ${name}\ndata: ${JSON.stringify({ type: name, ...payload })}\n\n`);
    startEvents(res);
    event('message_start', {
      message: {
        id: 'msg_standin',
        type: 'message',
        role: 'assistant',
        content: [],
        model: request.body.model,
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: plan.usage.input_tokens, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
    });
    event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    event('ping', {});
    await eachPiece(plan, (piece) => event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } }));
    event('content_block_stop', { index: 0 });
    event('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: plan.usage.output_tokens } });
    event('message_stop', {});
    res.end();
  };
}
