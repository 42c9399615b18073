import fc from 'fast-check';
import type { Identity } from '../auth/caller';
import type { TokenClaims } from '../auth/jwt';
import { identitySql, SERVICE_IDENTITY, type TransactionOptions } from './transaction';

// The text that opens every request's transaction, checked without a
// database: what runs, in which order, and that no value can leave its literal.

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
const statements = (sql: string) => sql.split('\n');

/**
 * The SQL with every string literal ('...' with '' for a quote, or E'...'
 * where a backslash escapes the next character) replaced by `?`, and the
 * literals' values in order. If a value could end its literal early, the
 * skeleton would change with the value.
 */
function literals(sql: string): { skeleton: string; values: string[] } {
  let skeleton = '';
  const values: string[] = [];
  let i = 0;
  while (i < sql.length) {
    const escaped = (sql[i] === 'E' || sql[i] === 'e') && sql[i + 1] === "'";
    if (sql[i] !== "'" && !escaped) {
      skeleton += sql[i];
      i += 1;
      continue;
    }
    i += escaped ? 2 : 1;
    let value = '';
    for (;;) {
      if (i >= sql.length) throw new Error(`unterminated literal in ${sql}`);
      const c = sql[i]!;
      if (escaped && c === '\\') {
        value += sql[i + 1];
        i += 2;
      } else if (c === "'" && sql[i + 1] === "'") {
        value += "'";
        i += 2;
      } else if (c === "'") {
        i += 1;
        break;
      } else {
        value += c;
        i += 1;
      }
    }
    skeleton += '?';
    values.push(value);
  }
  // pg.escapeLiteral puts a space before E'...': the same statement either way.
  return { skeleton: skeleton.replace(/ +\?/g, '?'), values };
}

/** Each call of `name` in a skeleton, up to its closing parenthesis. */
function calls(skeleton: string, name: string): string[] {
  const found: string[] = [];
  for (let start = skeleton.indexOf(`${name}(`); start !== -1; start = skeleton.indexOf(`${name}(`, start + 1)) {
    let depth = 0;
    let end = start + name.length;
    do {
      if (skeleton[end] === '(') depth += 1;
      if (skeleton[end] === ')') depth -= 1;
      end += 1;
    } while (depth > 0 && end < skeleton.length);
    found.push(skeleton.slice(start, end));
  }
  return found;
}

describe('identitySql', () => {
  test('a request: BEGIN, role, claims, then its organization resolved by begin_request', () => {
    const claims = JSON.stringify(user().claims);
    const settings =
      `select set_config('request.jwt.claims', '${claims}', true), set_config('request.jwt.claim.sub', '${user().claims.sub}', true), ` +
      `set_config('statement_timeout', '5000', true)`;
    expect(statements(identitySql(user(), options({ requestedOrganizationId: ORG })))).toEqual([
      'begin;',
      'set local role authenticated;',
      `${settings};`,
      `select known, organization_id, organization_role from app.begin_request('${ORG}'::uuid);`,
    ]);
  });

  test('with the organization predicted, confirm_request checks it instead of begin_request resolving it', () => {
    const sql = statements(identitySql(session(), options(), { organizationId: ORG, organizationRole: 'admin', isDefault: true }));
    expect(sql[0]).toBe('begin;');
    expect(sql).toHaveLength(3);
    // After the settings it reads, in the same statement.
    expect(sql[2]).toMatch(new RegExp(`^select set_config\\('request\\.jwt\\.claims'.*, app\\.confirm_request\\('${ORG}'::uuid, 'admin'::public\\.organization_role, true\\);$`));
    expect(sql.join('\n')).not.toContain('begin_request');
    // Nothing is counted in the opening: API-key calls are counted before it (ApiCallLeases).
    expect(identitySql(user(), options())).not.toMatch(/meter|lease|commit/);
  });

  test('a read-scope key runs in a read-only transaction; other keys and sessions do not', () => {
    const begins = (identity: Identity) => statements(identitySql(identity, options({ meterApiCall: false })))[0];
    expect(begins(user({}, 'read'))).toBe('begin transaction read only;');
    expect(begins(user({}, 'write'))).toBe('begin;');
    expect(begins(user({}, 'admin'))).toBe('begin;');
    expect(begins(session())).toBe('begin;');
    expect(statements(identitySql(user({}, 'read'), options()))).toContain('begin transaction read only;');
  });

  test('a service caller gets its role and the organization it names, never begin_request', () => {
    const sql = statements(identitySql(SERVICE_IDENTITY, options({ requestedOrganizationId: ORG })));
    expect(sql).toHaveLength(4);
    expect(sql.slice(0, 3)).toEqual([
      'begin;',
      'set local role service_role;',
      `select set_config('request.jwt.claims', '{"role":"service_role"}', true), set_config('request.jwt.claim.sub', '', true), set_config('statement_timeout', '5000', true);`,
    ]);
    expect(sql[3]).toBe(
      `select true as known, nullif(set_config('app.organization_id', coalesce('${ORG}', ''), true), '')::uuid as organization_id, null as organization_role;`,
    );
    expect(sql.join('\n')).not.toContain('begin_request');
    expect(identitySql(SERVICE_IDENTITY, options())).toContain("coalesce(null, '')");
  });

  test('without an organization asked for, the request goes with null (the caller’s default)', () => {
    const sql = identitySql(user(), options());
    expect(sql).toContain('app.begin_request(null::uuid)');
    // An empty header is no header.
    expect(identitySql(user(), options({ requestedOrganizationId: '' }))).toBe(sql);
  });

  test.each(['anon', 'postgres', 'service_role ', 'Authenticated', 'authenticated; reset role', '', undefined, null])(
    'role %j is refused before any SQL is written',
    (role) => {
      const identity = { ...user(), role } as unknown as Identity;
      expect(() => identitySql(identity, options())).toThrow(/refusing database role/);
    },
  );

  test('every setting is transaction-local, and the only role changes are SET LOCAL ROLE to the caller’s role', () => {
    for (const [identity, meterApiCall] of [
      [user(), true],
      [user(), false],
      [SERVICE_IDENTITY, undefined],
    ] as const) {
      const sql = identitySql(identity, options({ requestedOrganizationId: ORG, meterApiCall }));
      const { skeleton } = literals(sql);
      const setConfigs = calls(skeleton, 'set_config');
      expect(setConfigs.length).toBeGreaterThan(0);
      for (const call of setConfigs) expect(call).toMatch(/, true\)$/);
      const roleChanges = statements(sql).filter((s) => /\brole\b/i.test(s) && !s.startsWith('select'));
      expect(new Set(roleChanges)).toEqual(new Set([`set local role ${identity.role};`]));
      expect(skeleton).not.toMatch(/\bset session\b|\breset\b|^set (?!local)/im);
    }
  });

  test('statement_timeout is a whole number of milliseconds, whatever the setting holds (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 2 ** 31 - 1, noNaN: true }), fc.boolean(), (ms, service) => {
        const sql = identitySql(service ? SERVICE_IDENTITY : user(), options({ statementTimeoutMs: ms }));
        const timeouts = [...sql.matchAll(/set_config\('statement_timeout', '([^']*)', true\)/g)].map((m) => m[1]);
        expect(timeouts.length).toBe(1);
        for (const timeout of timeouts) {
          expect(timeout).toMatch(/^\d+$/);
          expect(Number(timeout)).toBe(Math.trunc(ms));
        }
      }),
    );
  });

  test('claims and an organization id with quotes and backslashes stay inside their literals and come back as sent', () => {
    const hostile = "x'); set local role postgres; select ('\\' \\\\ '' E'\\''";
    const benign = literals(identitySql(user(), options({ requestedOrganizationId: ORG })));
    const claims = literals(identitySql(user({ user_metadata: { name: hostile } }), options({ requestedOrganizationId: ORG })));
    expect(claims.skeleton).toBe(benign.skeleton);
    const claimValues = claims.values.filter((value) => value.startsWith('{'));
    expect(claimValues.map((value) => JSON.parse(value))).toEqual(Array(1).fill(user({ user_metadata: { name: hostile } }).claims));
    const organization = literals(identitySql(user(), options({ requestedOrganizationId: hostile })));
    expect(organization.skeleton).toBe(benign.skeleton);
    expect(organization.values.filter((value) => value === hostile)).toHaveLength(1);
  });

  test('any claims and any organization id are escaped: the statements never change shape (property)', () => {
    // Any text at all, and text made mostly of what could end or escape a literal.
    const dangerous = fc.constantFrom("'", '\\', '"', 'E', 'e', ';', ' ', '\n', ')', '-', '$', 'a', '\u00e9', '\u{1F600}');
    const text = fc
      .oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: dangerous, maxLength: 40 }))
      .filter((value) => !value.includes('\u0000'));
    const claims = fc.dictionary(fc.constantFrom('sub', 'email', 'name', "we'ird", 'back\\slash', 'user_metadata'), fc.oneof(text, fc.array(text, { maxLength: 3 })));
    const shapes = new Map<string, string>();
    fc.assert(
      fc.property(claims, text.filter((value) => value !== ''), fc.boolean(), fc.constantFrom(true, false, undefined), (extra, organization, service, meterApiCall) => {
        const identity = service ? { ...SERVICE_IDENTITY, claims: { role: 'service_role', ...extra } } : user(extra);
        const key = `${service} ${meterApiCall}`;
        const { skeleton, values } = literals(identitySql(identity, options({ requestedOrganizationId: organization, meterApiCall })));
        // The same shape as with a plain uuid for the same kind of caller.
        if (!shapes.has(key)) {
          const plainIdentity = service ? SERVICE_IDENTITY : user();
          shapes.set(key, literals(identitySql(plainIdentity, options({ requestedOrganizationId: ORG, meterApiCall }))).skeleton);
        }
        expect(skeleton).toBe(shapes.get(key));
        // And the values come back exactly.
        expect(values.filter((value) => value === organization).length).toBeGreaterThan(0);
        for (const value of values.filter((v) => v.startsWith('{') && v !== organization)) expect(JSON.parse(value)).toEqual(identity.claims);
      }),
      { numRuns: 300 },
    );
  });
});

describe('identitySql: the client for the audit log', () => {
  test('address and user agent are transaction-local settings of the same round trip, escaped like every value', () => {
    const hostile = "curl/8 ', true); set local role postgres; select ('\\";
    const sql = identitySql(user(), options({ clientIp: '203.0.113.9', userAgent: hostile, meterApiCall: false }));
    const { skeleton, values } = literals(sql);
    expect(calls(skeleton, 'set_config').filter((call) => /, true\)$/.test(call))).toHaveLength(5);
    expect(values).toEqual(expect.arrayContaining(['app.client_ip', '203.0.113.9', 'app.user_agent', hostile]));
    expect(statements(sql)).toHaveLength(4);
    expect(literals(identitySql(user(), options({ clientIp: '1.2.3.4', userAgent: 'x', meterApiCall: false }))).skeleton).toBe(skeleton);
  });

  test('absent, nothing is set; a user agent is cut to 512 characters', () => {
    expect(identitySql(user(), options())).not.toContain('app.client_ip');
    expect(identitySql(user(), options())).not.toContain('app.user_agent');
    const { values } = literals(identitySql(SERVICE_IDENTITY, options({ userAgent: 'u'.repeat(2000) })));
    expect(values).toContain('u'.repeat(512));
    expect(values).not.toContain('u'.repeat(513));
  });
});
