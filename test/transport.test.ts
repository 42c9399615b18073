import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import express from 'express';
import request from 'supertest';
import { compressLargeResponses, COMPRESSION_THRESHOLD_BYTES } from '../src/http/transport';
import { as, createTestApp, newUser, type TestApp, type TestUser } from './support/harness';

let t: TestApp;
let user: TestUser;

beforeAll(async () => {
  t = createTestApp();
  user = await newUser(t.app, 'transport');
});
afterAll(() => t.close());

/** A CSP header as a map of directive to its sources. */
function policy(header: string | undefined): Map<string, string[]> {
  expect(header).toBeDefined();
  return new Map(
    header!
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0])
      .map(([name, ...sources]) => [name!, sources]),
  );
}

describe('security headers (helmet)', () => {
  test('an API answer loads nothing, frames nowhere, and is never sniffed', async () => {
    const res = await as(t.app, user).get('/api/v1/me').expect(200);
    const csp = policy(res.headers['content-security-policy']);
    expect(csp.get('default-src')).toEqual(["'none'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(csp.has('upgrade-insecure-requests')).toBe(false);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['strict-transport-security']).toMatch(/^max-age=\d+/);
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  test('problems and refusals before any route carry them too', async () => {
    const res = await request(t.app).get('/api/v1/me').expect(401);
    expect(policy(res.headers['content-security-policy']).get('default-src')).toEqual(["'none'"]);
  });

  test("/docs gets a policy that lets Swagger UI's own files run, and what the page loads is all of that kind", async () => {
    const page = await request(t.app).get('/docs/').expect(200);
    const csp = policy(page.headers['content-security-policy']);
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('style-src')).toEqual(["'self'", "'unsafe-inline'"]);
    expect(csp.get('script-src-attr') ?? csp.get('script-src')).not.toContain("'unsafe-inline'");
    expect(csp.get('img-src')).toEqual(["'self'", 'data:']);
    expect(csp.get('connect-src')).toEqual(["'self'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);

    // No inline script (the policy allows none) and no event handler attribute, and every file from our origin.
    const html: string = page.text;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\bsrc="\.?\/?[\w.-]+\.js"/);
      expect(body!.trim()).toBe('');
    }
    expect(html).not.toMatch(/\son\w+=/i);
    const files = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(files.filter((file) => /^(https?:)?\/\//.test(file))).toEqual([]);
    for (const file of files) {
      const asset = await request(t.app).get(new URL(file, 'http://api.test/docs/').pathname).expect(200);
      // What the styles load themselves is inline data (allowed by img-src/font-src data:), never another origin.
      if (file.endsWith('.css')) expect(String(asset.text).match(/url\((?!["']?data:)[^)]*\)/g) ?? []).toEqual([]);
    }
    const initializer = await request(t.app).get('/docs/swagger-initializer.js').expect(200);
    expect(initializer.headers['content-type']).toMatch(/^application\/javascript/);
    expect(initializer.text).toContain("url: '/openapi.json'");
  });
});

describe('compression', () => {
  test('a large JSON answer is gzipped when the client accepts it; the same without is plain', async () => {
    const server = t.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      // Node's own client, which (unlike supertest) hands over the bytes as they came.
      const zipped = await rawGet(port, '/openapi.json', { 'Accept-Encoding': 'gzip' });
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.headers.vary).toMatch(/Accept-Encoding/);
      const text = gunzipSync(zipped.body).toString('utf8');
      expect(JSON.parse(text).openapi).toBe('3.1.0');
      expect(zipped.body.length).toBeLessThan(text.length / 3);

      const plain = await rawGet(port, '/openapi.json', { 'Accept-Encoding': 'identity' });
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.body.toString('utf8')).toBe(text);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test(`a small answer (under ${COMPRESSION_THRESHOLD_BYTES} bytes) goes as it is`, async () => {
    const res = await request(t.app).get('/health').set('Accept-Encoding', 'gzip').expect(200);
    expect(res.headers['content-encoding']).toBeUndefined();
  });

  test('a streamed export is not compressed, and arrives whole', async () => {
    for (let i = 0; i < 3; i++) {
      await t.admin.query(`insert into public.skill_executions (organization_id, user_id, status) values ($1, $2, 'completed')`, [user.personalOrganizationId, user.userId]);
    }
    const res = await as(t.app, user).get('/api/v1/executions/export?format=csv').set('Accept-Encoding', 'gzip').expect(200);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers['content-length']).toBeUndefined();
    expect(String(res.text).trim().split('\n')).toHaveLength(1 + 3);
  });

  test('Server-Sent Events are never buffered by the compressor: each event reaches the client as it is sent', async () => {
    // The same middleware as the API's, in front of an event stream written the way an SSE route writes one.
    let sendNext: (() => void) | undefined;
    const app = express();
    app.use(compressLargeResponses());
    app.get('/events', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      let n = 0;
      const send = () => res.write(`id: ${++n}\ndata: ${'x'.repeat(COMPRESSION_THRESHOLD_BYTES * 2)}\n\n`);
      send();
      sendNext = () => (n < 2 ? send() : res.end());
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const { headers, firstEvent } = await new Promise<{ headers: http.IncomingHttpHeaders; firstEvent: string }>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path: '/events', headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
          let received = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            received += chunk;
            // The first event is here while the stream is still open (the second has not been written).
            if (received.includes('\n\n')) {
              resolve({ headers: res.headers, firstEvent: received.slice(0, received.indexOf('\n\n')) });
              sendNext?.();
              sendNext?.();
            }
          });
        });
        req.on('error', reject);
        setTimeout(() => reject(new Error('the first event never arrived: the stream was buffered')), 5000).unref();
      });
      expect(headers['content-encoding']).toBeUndefined();
      expect(firstEvent).toMatch(/^id: 1\ndata: x+$/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

function rawGet(port: number, path: string, headers: Record<string, string>): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}
