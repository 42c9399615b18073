import fc from 'fast-check';
import type { Identity } from '../auth/caller';
import type { TokenClaims } from '../auth/jwt';
import { openingOf, SERVICE_IDENTITY, type TransactionOptions } from './transaction';

// The statements that open every request's transaction, checked without a
// database: what runs, in which order, and that every value is a bind
// parameter, so that no value can change a statement's text.

const ORG = '7b1c9a52-3f0e-4d6b-9a41-2f7c8e5d1a90';

const KEY = { id: '3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a', organizationId: ORG, scope: 'write' as const };

/** A signed-in user's session: never metered. */
function session(claims: TokenClaims = {}): Identity {
  return {
    role: 'authenticated',
    userId: '0f8e2d4c-6b1a-4c3e-8d7f-9a0b1c2d3e4f',
    email: 'ana@example.test',
    claims: { sub: '0f8e2d4c-6b1a-4c3e-8d7f-9a0b1c2d3e4f', email: 'ana@example.test', role: 'authenticated', aud: 'authenticated', ...claims },
  };
}

/** A request made with an API key (acting as its creator): metered against the plan's API calls. */
function user(claims: TokenClaims = {}, scope: 'read' | 'write' | 'admin' = 'write'): Identity {
  const apiKey = { ...KEY, scope };
  const base = session({ api_key: { id: KEY.id, organization_id: ORG, scope }, ...claims });
  return { ...base, apiKey };
}

const options = (more: Partial<TransactionOptions> = {}): TransactionOptions => ({ statementTimeoutMs: 5000, ...more });
const texts = (identity: Identity, more: Partial<TransactionOptions> = {}) => openingOf(identity, options(more)).steps.map((step) => step.text);
/** Each call of set_config in a text, up to its closing parenthesis. */
function setConfigCalls(text: string): string[] {
  const found: string[] = [];
  for (let start = text.indexOf('set_config('); start !== -1; start = text.indexOf('set_config(', start + 1)) {
    let depth = 0;
    let end = start + 'set_config'.length;
    do {
      if (text[end] === '(') depth += 1;
      if (text[end] === ')') depth -= 1;
      end += 1;
    } while (depth > 0 && end < text.length);
    found.push(text.slice(start, end));
  }
  return found;
}

const SETTINGS = "select set_config('request.jwt.claims', $1, true), set_config('request.jwt.claim.sub', $2, true), set_config('statement_timeout', $3, true)";

describe('openingOf', () => {
  test('a request: BEGIN, role, claims, then its organization resolved by begin_request', () => {
    const opening = openingOf(user(), options({ requestedOrganizationId: ORG }));
    expect(opening.steps).toEqual([
      { text: 'begin' },
      { text: 'set local role authenticated' },
      { text: SETTINGS, values: [JSON.stringify(user().claims), user().claims.sub, '5000'] },
      { text: 'select known, organization_id, organization_role from app.begin_request($1::uuid)', values: [ORG] },
    ]);
    expect(opening.confirms).toBe(false);
  });

  test('with the organization predicted, confirm_request checks it instead of begin_request resolving it', () => {
    const opening = openingOf(session(), options(), { organizationId: ORG, organizationRole: 'admin', isDefault: true });
    expect(opening.steps).toHaveLength(3);
    // After the settings it reads, in the same statement.
    expect(opening.steps[2]).toEqual({
      text: `${SETTINGS}, app.confirm_request($4::uuid, $5::public.organization_role, $6::boolean)`,
      values: [JSON.stringify(session().claims), session().claims.sub, '5000', ORG, 'admin', true],
    });
    expect(opening.confirms).toBe(true);
    expect(JSON.stringify(opening.steps)).not.toContain('begin_request');
    // Nothing is counted in the opening: API-key calls are counted before it (ApiCallLeases).
    expect(JSON.stringify(openingOf(user(), options()).steps)).not.toMatch(/meter|lease|commit/);
  });

  test('a read-scope key runs in a read-only transaction; other keys and sessions do not', () => {
    const begins = (identity: Identity) => texts(identity, { meterApiCall: false })[0];
    expect(begins(user({}, 'read'))).toBe('begin transaction read only');
    expect(begins(user({}, 'write'))).toBe('begin');
    expect(begins(user({}, 'admin'))).toBe('begin');
    expect(begins(session())).toBe('begin');
  });

  test('a service caller gets its role and the organization it names, never begin_request', () => {
    const { steps } = openingOf(SERVICE_IDENTITY, options({ requestedOrganizationId: ORG }));
    expect(steps).toEqual([
      { text: 'begin' },
      { text: 'set local role service_role' },
      { text: SETTINGS, values: ['{"role":"service_role"}', '', '5000'] },
      {
        text: "select true as known, nullif(set_config('app.organization_id', coalesce($1::text, ''), true), '')::uuid as organization_id, null::public.organization_role as organization_role",
        values: [ORG],
      },
    ]);
    expect(openingOf(SERVICE_IDENTITY, options()).steps[3]!.values).toEqual([null]);
  });

  test('without an organization asked for, the request goes with null (the caller’s default); an empty header is no header', () => {
    const steps = openingOf(user(), options()).steps;
    expect(steps[3]!.values).toEqual([null]);
    expect(openingOf(user(), options({ requestedOrganizationId: '' })).steps).toEqual(steps);
  });

  test.each(['anon', 'postgres', 'service_role ', 'Authenticated', 'authenticated; reset role', '', undefined, null])(
    'role %j is refused before any statement is written',
    (role) => {
      const identity = { ...user(), role } as unknown as Identity;
      expect(() => openingOf(identity, options())).toThrow(/refusing database role/);
    },
  );

  test('every setting is transaction-local, and the only role change is SET LOCAL ROLE to the caller’s role', () => {
    for (const identity of [user(), session(), SERVICE_IDENTITY]) {
      const all = texts(identity, { requestedOrganizationId: ORG, clientIp: '203.0.113.9', userAgent: 'curl/8' });
      const setConfigs = setConfigCalls(all.join('\n'));
      expect(setConfigs.length).toBeGreaterThan(0);
      for (const call of setConfigs) expect(call).toMatch(/, true\)$/);
      expect(all.filter((text) => /\brole\b/i.test(text) && !text.startsWith('select'))).toEqual([`set local role ${identity.role}`]);
      expect(all.join('\n')).not.toMatch(/\bset session\b|\breset\b|^set (?!local)/im);
    }
  });

  test('statement_timeout is a whole number of milliseconds, whatever the setting holds (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 2 ** 31 - 1, noNaN: true }), fc.boolean(), (ms, service) => {
        const timeout = openingOf(service ? SERVICE_IDENTITY : user(), options({ statementTimeoutMs: ms })).steps[2]!.values![2];
        expect(timeout).toMatch(/^\d+$/);
        expect(Number(timeout)).toBe(Math.trunc(ms));
      }),
    );
  });

  test('no claim, organization id or client value ever reaches a statement’s text: they travel as parameters, exactly (property)', () => {
    const dangerous = fc.constantFrom("'", '\\', '"', 'E', 'e', ';', ' ', '\n', ')', '-', '$', '1', 'a', '\u00e9', '\u{1F600}');
    const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: dangerous, maxLength: 40 }));
    const claims = fc.dictionary(fc.constantFrom('sub', 'email', 'name', "we'ird", 'back\\slash', 'user_metadata'), fc.oneof(text, fc.array(text, { maxLength: 3 })));
    fc.assert(
      fc.property(claims, text.filter((value) => value !== ''), text.filter((value) => value !== ''), fc.boolean(), (extra, organization, agent, service) => {
        const identity = service ? { ...SERVICE_IDENTITY, claims: { role: 'service_role', ...extra } } : user(extra);
        const plain = service ? SERVICE_IDENTITY : user();
        const hostile = openingOf(identity, options({ requestedOrganizationId: organization, clientIp: '203.0.113.9', userAgent: agent }));
        const benign = openingOf(plain, options({ requestedOrganizationId: ORG, clientIp: '203.0.113.9', userAgent: 'curl/8' }));
        expect(hostile.steps.map((step) => step.text)).toEqual(benign.steps.map((step) => step.text));
        const values = hostile.steps.flatMap((step) => step.values ?? []);
        expect(values).toContain(organization);
        expect(values).toContain(agent.slice(0, 512));
        expect(JSON.parse(String(values[0]))).toEqual(identity.claims);
      }),
      { numRuns: 300 },
    );
  });
});

describe('openingOf: the client for the audit log', () => {
  test('address and user agent are transaction-local settings of the same statement, as parameters', () => {
    const hostile = "curl/8 ', true); set local role postgres; select ('\\";
    const step = openingOf(user(), options({ clientIp: '203.0.113.9', userAgent: hostile, meterApiCall: false })).steps[2]!;
    expect(step.text).toBe(`${SETTINGS}, set_config('app.client_ip', $4, true), set_config('app.user_agent', $5, true)`);
    expect(step.values!.slice(3)).toEqual(['203.0.113.9', hostile]);
  });

  test('absent, nothing is set; a user agent is cut to 512 characters', () => {
    expect(texts(user()).join('\n')).not.toMatch(/app\.client_ip|app\.user_agent/);
    const values = openingOf(SERVICE_IDENTITY, options({ userAgent: 'u'.repeat(2000) })).steps[2]!.values!;
    expect(values).toContain('u'.repeat(512));
    expect(values).not.toContain('u'.repeat(513));
  });
});
