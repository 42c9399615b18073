import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { mintToken } from '../src/auth/demo-users';
import { loadBillingConfig } from '../src/config';
import { loadContract } from '../src/http/contract';
import { signatureHeaderValue } from '../src/reflexes/hooks/signature';
import { as, createTestApp, jwtSecret, newOrganization, newUser, type TestApp, type TestUser } from './support/harness';

/*
 * Every operation the contract gives a JSON request body gets the same set of
 * hostile bodies: absurd nesting and sizes, strings the database cannot store,
 * numbers JavaScript cannot hold, duplicate and prototype-polluting keys,
 * wrong top-level types, broken UTF-8 and broken JSON, each field in turn.
 * Whatever the answer, it is never a 5xx, and a 4xx is a problem document.
 * Path parameters are real resources of this file's own organization, signed
 * webhooks are signed, so the bodies get as far into the handlers as they can.
 */

type Schema = Record<string, unknown>;

interface BodyOperation {
  operationId: string;
  method: string;
  path: string;
  schema: Schema;
  example: unknown;
}

interface HostileBody {
  label: string;
  bytes: Buffer;
  contentType?: string;
}

interface Outcome {
  status: number;
  contentType: string;
  body: string;
  /** Every response header, as text (to look for the Host header in them). */
  headers: string;
}

const contract = loadContract() as unknown as Schema;
const HOSTILE_HOST = 'hostile-host.invalid';
const STRIPE_SECRET = 'whsec_hostile_bodies';

function resolve(schema: unknown): Schema {
  let current = schema as Schema;
  while (current && typeof current.$ref === 'string') {
    current = (current.$ref as string)
      .slice(2)
      .split('/')
      .reduce<Schema>((node, key) => node[key] as Schema, contract);
  }
  return current ?? {};
}

/** Every operation whose request body is JSON, from the contract itself. */
function bodyOperations(): BodyOperation[] {
  const found: BodyOperation[] = [];
  for (const [path, item] of Object.entries(contract.paths as Record<string, Schema>)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      const operation = item[method] as Schema | undefined;
      if (!operation?.requestBody) continue;
      const media = (resolve(operation.requestBody).content as Record<string, Schema> | undefined)?.['application/json'];
      if (!media) continue;
      const schema = resolve(media.schema);
      found.push({ operationId: operation.operationId as string, method, path, schema, example: media.example ?? schema.example });
    }
  }
  return found;
}

/** Top-level properties of a body schema (allOf merged), each resolved. */
function propertiesOf(schema: Schema): Array<[string, Schema]> {
  const parts = [schema, ...((schema.allOf as Schema[] | undefined) ?? []).map(resolve)];
  return parts.flatMap((part) => Object.entries((part.properties as Record<string, Schema> | undefined) ?? {}).map(([name, value]): [string, Schema] => [name, resolve(value)]));
}

const typesOf = (schema: Schema): string[] => [schema.type ?? []].flat() as string[];
/** Any JSON goes: an object without declared properties, or no type at all. */
const isFreeForm = (schema: Schema) =>
  (typesOf(schema).length === 0 && !schema.oneOf && !schema.allOf && !schema.enum) ||
  (typesOf(schema).includes('object') && !schema.properties && schema.additionalProperties !== false);

const NOW_SECONDS = Math.floor(Date.now() / 1000);

/** Bodies for the operations whose contract shows no example. */
const FALLBACK_BODIES: Record<string, unknown> = {
  testSkillConfiguration: { promptTemplate: 'Say hello to {{who}} please', input: { who: 'Bob' } },
  importSkills: { version: 1, skills: [{ name: 'Imported Hostile', promptTemplate: 'An imported prompt template.' }] },
  testSkill: { input: { value: 'text' } },
  updateReflex: { conditions: { matchAll: true, filters: [] } },
  // A subscription of this file's organization (its Stripe customer is arranged below), so the event is applied.
  receiveStripeWebhook: {
    id: 'evt_hostile',
    object: 'event',
    type: 'customer.subscription.updated',
    created: NOW_SECONDS,
    data: {
      object: {
        id: 'sub_hostile',
        object: 'subscription',
        customer: 'cus_hostile',
        status: 'active',
        metadata: { planId: 'teams' },
        // A period that has not ended: the billing tests beside this file roll over every ended one.
        items: { data: [{ price: { recurring: { interval: 'month' } }, current_period_start: NOW_SECONDS, current_period_end: NOW_SECONDS + 30 * 86_400 }] },
      },
    },
  },
};

/** Stripe applies each event id once: every delivery gets ids of its own. */
const STRIPE_IDS = /evt_hostile|sub_hostile|cus_hostile/g;

// ---- the resources the bodies are sent to, all in this file's own organization ----
let t: TestApp;
let server: http.Server;
let stripeStandIn: http.Server;
let port: number;
// Operations that exist only with a Supabase project (501 here otherwise) go to an app in that mode,
// whose Supabase Auth is never reached: an unknown state is refused first.
const SUPABASE_ONLY = new Set(['finishOAuth']);
let supabaseServer: http.Server;
let supabasePort: number;
let owner: TestUser;
let colleague: TestUser;
let org: string;
let reflexSecret: string;
let stripeCustomer: string;
const ids: Record<string, string> = {};
const serviceToken = () => mintToken(null, { secret: jwtSecret(), role: 'service_role' });
let sent = 0;

beforeAll(async () => {
  // Checkout talks to this stand-in for Stripe, which opens any session it is asked for.
  stripeStandIn = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id: 'cs_hostile', object: 'checkout.session', url: 'https://checkout.stripe.com/c/pay/cs_hostile' }));
    });
  });
  await new Promise<void>((done) => stripeStandIn.listen(0, '127.0.0.1', done));
  const stripePort = (stripeStandIn.address() as AddressInfo).port;
  t = createTestApp({
    billing: {
      config: { ...loadBillingConfig({}), stripeSecretKey: 'sk_test_hostile', stripeWebhookSecret: STRIPE_SECRET, webAppUrl: 'https://app.example.test' },
      stripe: new Stripe('sk_test_hostile', { host: '127.0.0.1', port: stripePort, protocol: 'http', maxNetworkRetries: 0, telemetry: false }),
    },
  });
  server = http.createServer(t.app);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  port = (server.address() as AddressInfo).port;
  supabaseServer = http.createServer(t.variant({ accounts: { mode: 'supabase', url: 'http://127.0.0.1:9', anonKey: 'anon', redirectOrigins: [] } }));
  await new Promise<void>((done) => supabaseServer.listen(0, '127.0.0.1', done));
  supabasePort = (supabaseServer.address() as AddressInfo).port;

  owner = await newUser(t.app, 'hostile-owner');
  colleague = await newUser(t.app, 'hostile-colleague');
  org = await newOrganization(t.app, owner, 'Hostile Bodies');
  const api = as(t.app, owner, org);
  await api.post(`/api/v1/organizations/${org}/members`).send({ email: colleague.email, role: 'member' }).expect(201);
  // Teams: no daily limit on the executions the bodies start (signed webhooks are metered like any run).
  await t.admin.query("update public.subscriptions set plan_id = 'teams' where organization_id = $1", [org]);
  ids.organizationId = org;
  ids.userId = colleague.userId;
  ids.projectId = (await api.post('/api/v1/projects').send({ name: 'Hostile Target', type: 'repository' }).expect(201)).body.id;
  ids.repositoryId = (await api.post(`/api/v1/projects/${ids.projectId}/repositories`).send({ repositoryUrl: 'https://github.com/acme/hostile-target' }).expect(201)).body.id;
  ids.memberId = (await api.post(`/api/v1/projects/${ids.projectId}/members`).send({ userId: colleague.userId, role: 'viewer' }).expect(201)).body.id;
  ids.ingestionId = (await api.post(`/api/v1/projects/${ids.projectId}/ingestions`).send({}).expect(201)).body.id;
  ids.skillId = (await api.post('/api/v1/skills').send({ name: 'Hostile Target', promptTemplate: 'Handle this input: {{value}}' }).expect(201)).body.id;
  // A yearly schedule: the scheduler tests running beside this file never find it due.
  ids.habitId = (await api.post('/api/v1/habits').send({ skillId: ids.skillId, scheduleCron: '0 0 1 1 *' }).expect(201)).body.id;
  const reflex = (await api.post('/api/v1/reflexes').send({ skillId: ids.skillId, triggerType: 'webhook', triggerConfig: { method: 'POST' } }).expect(201)).body;
  ids.reflexId = reflex.id;
  reflexSecret = reflex.secret;
  stripeCustomer = `cus_${randomUUID()}`;
  await t.admin.query('update public.subscriptions set provider_customer_id = $2 where organization_id = $1', [org, stripeCustomer]);
});

afterAll(async () => {
  console.log(`hostile bodies: ${sent} requests sent to ${bodyOperations().length} operations`);
  agent.destroy();
  server.closeAllConnections();
  await new Promise<void>((done) => server.close(() => done()));
  supabaseServer.closeAllConnections();
  await new Promise<void>((done) => supabaseServer.close(() => done()));
  await new Promise<void>((done) => stripeStandIn.close(() => done()));
  await t.close();
});

// ---- building the bodies ----
/** The example, pointed at this file's resources, with nothing that reaches other tests' users or schedules. */
function sanitize(value: unknown, key?: string): unknown {
  if (key === 'scheduleCron' || key === 'cron') return '0 0 1 1 *';
  if (key === 'skillId') return ids.skillId;
  if (key === 'userId') return ids.userId;
  // Switched-off skills and reflexes would stop later bodies at a 409 before they get far.
  if (key === 'isActive') return true;
  if (typeof value === 'string' && /^[^@\s]+@[^@\s]+$/.test(value)) return `hostile-${randomUUID().slice(0, 8)}@example.test`;
  if (Array.isArray(value)) return value.map((item) => sanitize(item));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, sanitize(v, k)]));
  return value;
}

const RAW_MARK = '@@raw@@';
/** JSON text of `value` in which each RAW_MARK string is replaced by the next raw text (numbers JSON.stringify cannot write). */
function jsonWithRaw(value: unknown, ...raw: string[]): Buffer {
  let text = JSON.stringify(value);
  for (const piece of raw) text = text.replace(JSON.stringify(RAW_MARK), piece);
  return Buffer.from(text);
}

type FieldPath = Array<string | number>;

/** Where a value sits in the example: every leaf, and every empty list or object. */
function leafPaths(value: unknown, path: FieldPath = []): FieldPath[] {
  if (Array.isArray(value)) return value.length === 0 ? [[...path, 0]] : value.flatMap((item, i) => leafPaths(item, [...path, i]));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    return entries.length === 0 ? [[...path, 'value']] : entries.flatMap(([key, item]) => leafPaths(item, [...path, key]));
  }
  return [path];
}

/** The fields to attack: the example's leaves, and the schema's properties the example leaves out. */
function fieldPaths(schema: Schema, base: Record<string, unknown>): FieldPath[] {
  const paths = leafPaths(base).filter((path) => path.length > 0);
  for (const [name, property] of propertiesOf(schema)) {
    if (name in base) continue;
    if (typesOf(property).includes('array')) paths.push([name, 0]);
    else if (isFreeForm(property)) paths.push([name, 'value']);
    else paths.push([name]);
  }
  return paths;
}

/** A copy of `base` with `value` at `path`, lists and objects made on the way. */
function withValueAt(base: Record<string, unknown>, path: FieldPath, value: unknown): Record<string, unknown> {
  const copy = structuredClone(base);
  let node: Record<string | number, unknown> = copy;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (!next || typeof next !== 'object') node[key] = typeof path[i + 1] === 'number' ? [] : {};
    node = node[key] as Record<string | number, unknown>;
  });
  return copy;
}

const nested = (levels: number, open: string, close: string, inner = '1') => open.repeat(levels) + inner + close.repeat(levels);
const objectNested = (levels: number) => nested(levels, '{"a":', '}');

/** The text of a JSON object with the given members in order, duplicates kept. */
const objectText = (members: Array<[string, string]>) => `{${members.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;

/** Just under the body limit once quoted: sent to one field of each kind per operation, not to all (the suite stays quick). */
const LARGE_STRING = JSON.stringify('x'.repeat(1_000_000));

/** Strings and numbers that go into each field in turn. */
const FIELD_VALUES: Array<[string, string]> = [
  ['a NUL character', JSON.stringify('before\u0000after')],
  ['a lone surrogate', '"\\ud800 half a pair"'],
  ['a right-to-left override', JSON.stringify('\u202Egnp.exe')],
  ['1e400', '1e400'],
  ['-0', '-0'],
  ['a number past 2^53', '9007199254740993'],
  ['objects nested 10,000 deep', objectNested(10_000)],
];

function hostileBodies(operation: BodyOperation): HostileBody[] {
  const base = (sanitize(operation.example ?? FALLBACK_BODIES[operation.operationId] ?? {}) ?? {}) as Record<string, unknown>;
  const baseMembers = Object.entries(base).map(([key, value]): [string, string] => [key, JSON.stringify(value)]);
  const bodies: HostileBody[] = [];
  const add = (label: string, bytes: Buffer | string, contentType?: string) =>
    bodies.push({ label, bytes: typeof bytes === 'string' ? Buffer.from(bytes) : bytes, contentType });

  // Structure and size.
  add('objects nested 10,000 deep', objectNested(10_000));
  add('arrays nested 10,000 deep', nested(10_000, '[', ']', ''));
  add('a field nested 10,000 deep', objectText([...baseMembers, ['deep', objectNested(10_000)]]));
  add('a body just under the depth limit', objectNested(63));
  add('a 2 MB body', JSON.stringify({ ...base, padding: 'x'.repeat(2 * 1024 * 1024) }));
  add('an array of 100,000 elements', JSON.stringify(new Array(100_000).fill(0)));
  add('a field with 100,000 elements', JSON.stringify({ ...base, list: new Array(100_000).fill(1) }));
  // Keys.
  add('duplicate keys, the hostile one last', objectText(baseMembers.flatMap(([key, value]): Array<[string, string]> => [[key, value], [key, '"\\u0000"']])));
  add('duplicate keys, the hostile one first', objectText(baseMembers.flatMap(([key, value]): Array<[string, string]> => [[key, '"\\u0000"'], [key, value]])));
  add('__proto__ and constructor keys', objectText([...baseMembers, ['__proto__', '{"polluted":true}'], ['constructor', '{"prototype":{"polluted":true}}']]));
  add('a NUL in a key', objectText([...baseMembers, ['k\u0000ey', '1']]));
  // Wrong top-level types.
  for (const [label, text] of [['an array', `[${JSON.stringify(base)}]`], ['a string', '"text"'], ['null', 'null'], ['a number', '42'], ['true', 'true'], ['-0', '-0'], ['1e400', '1e400']]) {
    add(`${label} at the top`, text!);
  }
  // Broken bytes and broken JSON.
  const valid = Buffer.from(JSON.stringify({ ...base, note: 'AB' }));
  const at = valid.indexOf('AB');
  add('a byte that is not UTF-8', Buffer.concat([valid.subarray(0, at), Buffer.from([0xff]), valid.subarray(at + 2)]));
  add('a surrogate encoded in UTF-8', Buffer.concat([valid.subarray(0, at), Buffer.from([0xed, 0xa0, 0x80]), valid.subarray(at + 2)]));
  add('an overlong UTF-8 slash', Buffer.concat([valid.subarray(0, at), Buffer.from([0xc0, 0xaf]), valid.subarray(at + 2)]));
  add('a byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(base))]));
  for (const text of ['{', '{"a":}', "{'a':1}", '{"a":1,}', 'NaN', '{"a":01}', '{"a":"\\x"}', '{"a":"unterminated', '', '\u0000']) {
    add(`invalid JSON ${JSON.stringify(text)}`, text);
  }
  add('JSON declared as UTF-16', Buffer.from(JSON.stringify(base), 'utf16le'), 'application/json; charset=utf-16le');
  add('JSON sent as text/plain', JSON.stringify(base), 'text/plain');

  // Each field in turn (every value of the example, and every property of the
  // schema): hostile strings and numbers, where a list or free-form object
  // holds them inside it.
  const paths = fieldPaths(operation.schema, base);
  for (const path of paths) {
    const name = path.join('.');
    for (const [label, value] of FIELD_VALUES) add(`${name}: ${label}`, jsonWithRaw(withValueAt(base, path, RAW_MARK), value));
  }
  if (paths[0]) add(`${paths[0].join('.')}: a 1 MB string`, jsonWithRaw(withValueAt(base, paths[0], RAW_MARK), LARGE_STRING));
  for (const [name, schema] of propertiesOf(operation.schema).filter(([, schema]) => isFreeForm(schema))) {
    add(`${name}: a 1 MB string inside`, jsonWithRaw({ ...base, [name]: { value: RAW_MARK } }, LARGE_STRING));
    add(`${name}: hostile keys`, jsonWithRaw({ ...base, [name]: RAW_MARK }, objectText([['\u0000', '1'], ['\ud800', '2'], ['__proto__', '{"polluted":true}'], ['constructor', '{"prototype":{"polluted":true}}']])));
    add(`${name}: nested to the depth limit`, jsonWithRaw({ ...base, [name]: RAW_MARK }, objectNested(62)));
  }
  return bodies;
}

// ---- sending ----
/** Fresh event and subscription ids, and the customer of this file's organization (bytes outside them kept as they are). */
function withOwnStripeIds(bytes: Buffer): Buffer {
  const delivery = randomUUID();
  const text = bytes.toString('latin1').replace(STRIPE_IDS, (id) => (id === 'cus_hostile' ? stripeCustomer : `${id}_${delivery}`));
  return Buffer.from(text, 'latin1');
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function headersFor(operation: BodyOperation, body: HostileBody): Record<string, string> {
  const headers: Record<string, string> = { Host: HOSTILE_HOST, 'Content-Type': body.contentType ?? 'application/json', 'Content-Length': String(body.bytes.length) };
  switch (operation.operationId) {
    case 'receiveReflexWebhook': {
      const timestamp = String(Math.floor(Date.now() / 1000));
      headers['X-Reflex-Timestamp'] = timestamp;
      headers['X-Reflex-Signature'] = signatureHeaderValue(reflexSecret, timestamp, body.bytes);
      break;
    }
    case 'receiveStripeWebhook':
      headers['Stripe-Signature'] = Stripe.webhooks.generateTestHeaderString({ payload: body.bytes.toString('utf8'), secret: STRIPE_SECRET });
      break;
    case 'reportIngestionProgress':
      headers.Authorization = `Bearer ${serviceToken()}`;
      break;
    default:
      headers.Authorization = `Bearer ${owner.token}`;
      headers['X-Organization-Id'] = org;
  }
  return headers;
}

function send(operation: BodyOperation, hostile: HostileBody): Promise<Outcome> {
  const body = operation.operationId === 'receiveStripeWebhook' ? { ...hostile, bytes: withOwnStripeIds(hostile.bytes) } : hostile;
  const path = operation.path.replace(/\{(\w+)\}/g, (_match, name: string) => ids[name] ?? randomUUID());
  sent += 1;
  return new Promise((done, fail) => {
    const target = SUPABASE_ONLY.has(operation.operationId) ? supabasePort : port;
    const req = http.request({ host: '127.0.0.1', port: target, method: operation.method.toUpperCase(), path, agent, headers: headersFor(operation, body) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        done({ status: res.statusCode!, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8'), headers: JSON.stringify(res.headers) }),
      );
      res.on('error', fail);
    });
    // The server may answer a body it will not read (413) before it is all sent.
    req.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' || error.code === 'EPIPE' ? done({ status: 413, contentType: 'application/problem+json', body: '', headers: '' }) : fail(error),
    );
    req.end(body.bytes);
  });
}

/** What is wrong with an answer, or undefined when it is fine. */
function complaint(outcome: Outcome): string | undefined {
  if (outcome.status >= 500) return `status ${outcome.status}`;
  if (outcome.body.includes(HOSTILE_HOST) || outcome.headers.includes(HOSTILE_HOST)) return 'the Host header came back in the response';
  if (outcome.status >= 400 && outcome.body !== '') {
    if (!outcome.contentType.startsWith('application/problem+json')) return `a ${outcome.status} as ${outcome.contentType}`;
    const problem = JSON.parse(outcome.body) as { status?: number };
    if (problem.status !== outcome.status) return `a problem document saying ${problem.status} on a ${outcome.status}`;
  }
  return undefined;
}

const operations = bodyOperations();

test('the contract has JSON bodies to attack', () => {
  expect(operations.length).toBeGreaterThan(30);
});

test.each(operations.map((operation) => [`${operation.method.toUpperCase()} ${operation.path} (${operation.operationId})`, operation] as const))(
  '%s: no hostile body gets a 5xx',
  async (_name, operation) => {
    const problems: string[] = [];
    const bodies = hostileBodies(operation);
    // A few at a time: quick, without crowding the suites that share the database.
    for (let i = 0; i < bodies.length; i += 4) {
      const batch = bodies.slice(i, i + 4);
      const outcomes = await Promise.all(batch.map((body) => send(operation, body)));
      outcomes.forEach((outcome, j) => {
        const wrong = complaint(outcome);
        if (wrong) problems.push(`${batch[j]!.label}: ${wrong}: ${outcome.body.slice(0, 300)}`);
      });
    }
    expect(problems).toEqual([]);
    // Parsed __proto__ keys are own properties; nothing reached Object.prototype.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  },
);
