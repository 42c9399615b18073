import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A stand-in LLM gateway: each test sets how it answers and reads what it received. */
export interface Gateway {
  url: string;
  received: Array<{ headers: http.IncomingHttpHeaders; body: Record<string, unknown> }>;
  answer: (res: http.ServerResponse, body: Record<string, unknown>) => void;
  close(): Promise<void>;
}

export async function startGateway(): Promise<Gateway> {
  const gateway = {
    received: [],
    answer: (res: http.ServerResponse) => res.end('{}'),
  } as unknown as Gateway;
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      const body = JSON.parse(raw || '{}');
      gateway.received.push({ headers: req.headers, body });
      gateway.answer(res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  gateway.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/complete`;
  gateway.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return gateway;
}

export const json = (res: http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

