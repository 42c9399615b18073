import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { mintToken } from '../../src/auth/demo-users';
import { loadConfig } from '../../src/config';
import { startServer, type RunningServer } from '../../src/server';

// A real Chromium (Debian's package) against a real server on loopback: a page
// served from another origin calls the API with fetch, and the /docs page
// authorizes and executes a call. `npm run test:browser` (node's test runner
// through tsx, which loads the embedded database's ES module as the server
// does); CHROMIUM_PATH points at another Chromium binary.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Chromium's own background connections fail on a closed network; these keep it quiet and quick.
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The page of "another web app": it reads its token and the API's address from the URL and reports what it could read. */
const PAGE = `<!doctype html>
<html><body><pre id="out">running</pre>
<script>
(async () => {
  const params = new URLSearchParams(location.search);
  const api = params.get('api');
  const headers = { Authorization: 'Bearer ' + params.get('token'), 'Content-Type': 'application/json' };
  const result = {};
  try {
    const created = await fetch(api + '/api/v1/projects', { method: 'POST', headers, body: JSON.stringify({ name: 'Made in a browser', type: 'manual' }) });
    result.createStatus = created.status;
    result.location = created.headers.get('Location');
    result.rateLimit = created.headers.get('RateLimit-Policy');
    result.created = await created.json();
    const listed = await fetch(api + '/api/v1/projects?search=browser', { headers });
    result.listStatus = listed.status;
    result.names = (await listed.json()).data.map((p) => p.name);
  } catch (error) {
    result.error = String(error);
  }
  document.getElementById('out').textContent = JSON.stringify(result);
})();
</script></body></html>`;

let server: RunningServer;
let pageServer: http.Server;
let pageOrigin: string;
let dataDir: string;
let browser: Browser;
let token: string;

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH`);
  pageServer = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE));
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
  pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;

  dataDir = await mkdtemp(path.join(os.tmpdir(), 'browser-test-'));
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: '',
    SUPABASE_URL: '',
    SUPABASE_ANON_KEY: '',
    SUPABASE_JWT_SECRET: '',
    DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    SEED_DEMO_DATA: 'true',
    BACKGROUND_WORK: 'false',
    CORS_ORIGINS: pageOrigin,
    LOG_LEVEL: 'warn',
  });
  server = await startServer(config, () => undefined);
  token = mintToken('alice@acme.test', { secret: server.jwtSecret! });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await new Promise((resolve) => pageServer?.close(resolve));
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** The API's address as the socket is bound (the server reports localhost, which may resolve to ::1). */
const apiBase = () => `http://127.0.0.1:${new URL(server.baseUrl).port}`;

test('a page on another origin signs in with a token and calls the API through fetch (CORS)', async () => {
  const page = await browser.newPage();
  await page.goto(`${pageOrigin}/?api=${encodeURIComponent(apiBase())}&token=${encodeURIComponent(token)}`);
  await page.waitForFunction("document.getElementById('out').textContent !== 'running'", undefined, { timeout: 30_000 });
  const result = JSON.parse((await page.textContent('#out'))!);
  assert.equal(result.error, undefined);
  assert.equal(result.createStatus, 201);
  assert.equal(result.location, `/api/v1/projects/${result.created.id}`);
  assert.notEqual(result.rateLimit, null);
  assert.equal(result.listStatus, 200);
  assert.ok(result.names.includes('Made in a browser'), `listed: ${JSON.stringify(result.names)}`);
  await page.close();
});

test('a page on an origin that is not allowed cannot read the answer', async () => {
  const page = await browser.newPage();
  // The API's own origin serves no page, so use the docs' origin as "not the page's": another port, not listed.
  const other = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE));
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  try {
    const origin = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    await page.goto(`${origin}/?api=${encodeURIComponent(apiBase())}&token=${encodeURIComponent(token)}`);
    await page.waitForFunction("document.getElementById('out').textContent !== 'running'", undefined, { timeout: 30_000 });
    const result = JSON.parse((await page.textContent('#out'))!);
    assert.match(String(result.error), /Failed to fetch/);
  } finally {
    await page.close();
    await new Promise((resolve) => other.close(resolve));
  }
});

test('the /docs page loads from our own server, authorizes with the token and executes a call', async () => {
  const page = await browser.newPage();
  const offSite: string[] = [];
  page.on('request', (req) => {
    if (!req.url().startsWith(apiBase()) && !req.url().startsWith('data:')) offSite.push(req.url());
  });
  // Whatever the content security policy blocks, the browser reports as a violation event and on the console.
  const blocked: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) blocked.push(message.text());
  });
  await page.exposeFunction('reportViolation', (what: string) => void blocked.push(what));
  await page.addInitScript({
    content: "document.addEventListener('securitypolicyviolation', (event) => window.reportViolation(event.violatedDirective + ' ' + event.blockedURI));",
  });
  const docs = await page.goto(`${apiBase()}/docs/`);
  assert.match(docs?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
  await page.getByRole('button', { name: 'Authorize' }).first().click();
  // The modal has a form per scheme (the bearer token, the stream ticket): the bearer one.
  const bearer = page.locator('.modal-ux form').filter({ hasText: 'bearerAuth' });
  await bearer.locator('input[type=text], input:not([type])').first().fill(token);
  await bearer.locator('.auth-btn-wrapper button.authorize').click();
  await page.locator('.modal-ux button.btn-done').first().click();
  // Swagger UI renders a tag's operations once the tag scrolls into view.
  await page.locator('#operations-tag-Me').scrollIntoViewIfNeeded();
  await page.locator('#operations-Me-getMe .opblock-summary').click();
  await page.locator('#operations-Me-getMe button.execute').click();
  const status = page.locator('#operations-Me-getMe .live-responses-table tr.response .response-col_status').first();
  await status.waitFor({ timeout: 30_000 });
  assert.equal((await status.textContent())?.trim(), '200');
  const body = await page.locator('#operations-Me-getMe .live-responses-table tr.response .microlight').first().textContent();
  assert.ok(body?.includes('alice@acme.test'), `the response shown: ${body}`);
  // Everything the page needed came from our own server (no CDN), and the policy blocked none of it.
  assert.deepEqual(offSite, []);
  assert.deepEqual(blocked, []);
  await page.close();
});
