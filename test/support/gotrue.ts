import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Secret, TOTP } from 'otpauth';
import { decodeUnverified, signHs256, verifyHs256, type TokenClaims } from '../../src/auth/jwt';

// A stand-in for Supabase Auth (GoTrue), on loopback only: just the endpoints
// supabase-js calls for sign-up, password and refresh-token grants, the PKCE
// exchange, logout, /user, TOTP factors, and the admin API's user deletion
// (with STAND_IN_SERVICE_ROLE_KEY). Tokens are HS256 with the test
// secret and carry Supabase's claims, so the API's verifier takes them as it
// takes a real project's. Errors have GoTrue's statuses and bodies
// ({code, error_code, msg}, the shape before API version 2024-01-01).

interface StandInFactor {
  id: string;
  secret: string;
  status: 'verified' | 'unverified';
  created_at: string;
  updated_at: string;
}

interface StandInUser {
  id: string;
  email: string;
  password: string;
  userMetadata: Record<string, unknown>;
  provider: string;
  confirmed: boolean;
  createdAt: string;
  factors: StandInFactor[];
}

interface StandInSession {
  id: string;
  userId: string;
  aal: 'aal1' | 'aal2';
  amr: Array<{ method: string; timestamp: number }>;
  revoked: boolean;
}

interface RefreshToken {
  sessionId: string;
  used: boolean;
}

export interface Logout {
  scope: string;
  sessionId: string;
}

export interface GoTrueStandIn {
  /** What SUPABASE_URL would be. */
  url: string;
  /** Every request seen, as "METHOD /path?grant_type". */
  requests: string[];
  logouts: Logout[];
  /** Sign-ups wait for an email confirmation (no session) while true. */
  confirmEmails: boolean;
  /** Every request is answered with this status (and Retry-After) while set. */
  failWith: { status: number; retryAfter?: string } | undefined;
  /** Marks an email as confirmed, as following the email's link does. */
  confirm(email: string): void;
  /** Stands in for the provider round trip: the code Supabase puts on the redirect, for this PKCE challenge. */
  authorize(email: string, codeChallenge: string, provider?: string): string;
  /** A current code of the user's TOTP factor (the authenticator app). */
  totpCode(email: string): string;
  /** Whether a session (by its id) is still live. */
  sessionLive(sessionId: string): boolean;
  close(): Promise<void>;
}

/** The service role key the stand-in's admin API takes. */
export const STAND_IN_SERVICE_ROLE_KEY = 'stand-in-service-role-key';

const totpOf = (secret: string) => new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });

export async function startGoTrue(jwtSecret: string): Promise<GoTrueStandIn> {
  const users = new Map<string, StandInUser>();
  const sessions = new Map<string, StandInSession>();
  const refreshTokens = new Map<string, RefreshToken>();
  const codes = new Map<string, { userId: string; challenge: string }>();
  const challenges = new Map<string, string>();
  let url = '';

  const userById = (id: string) => [...users.values()].find((user) => user.id === id);

  function userJson(user: StandInUser) {
    return {
      id: user.id,
      aud: 'authenticated',
      role: 'authenticated',
      email: user.email,
      phone: '',
      ...(user.confirmed ? { email_confirmed_at: user.createdAt } : { confirmation_sent_at: new Date().toISOString() }),
      app_metadata: { provider: user.provider, providers: [user.provider] },
      user_metadata: user.userMetadata,
      identities: [],
      created_at: user.createdAt,
      updated_at: user.createdAt,
      is_anonymous: false,
      factors: user.factors.map((factor) => ({ id: factor.id, factor_type: 'totp', friendly_name: '', status: factor.status, created_at: factor.created_at, updated_at: factor.updated_at })),
    };
  }

  function issue(user: StandInUser, session: StandInSession) {
    const now = Math.floor(Date.now() / 1000);
    const claims: TokenClaims = {
      aud: 'authenticated',
      exp: now + 3600,
      iat: now,
      iss: `${url}/auth/v1`,
      sub: user.id,
      email: user.email,
      phone: '',
      app_metadata: { provider: user.provider, providers: [user.provider] },
      user_metadata: user.userMetadata,
      role: 'authenticated',
      aal: session.aal,
      amr: session.amr,
      session_id: session.id,
      is_anonymous: false,
    };
    const refresh = randomBytes(9).toString('base64url');
    refreshTokens.set(refresh, { sessionId: session.id, used: false });
    return { access_token: signHs256(claims, jwtSecret), token_type: 'bearer', expires_in: 3600, expires_at: now + 3600, refresh_token: refresh, user: userJson(user) };
  }

  function newSession(user: StandInUser, method: string): StandInSession {
    const session: StandInSession = { id: randomUUID(), userId: user.id, aal: 'aal1', amr: [{ method, timestamp: Math.floor(Date.now() / 1000) }], revoked: false };
    sessions.set(session.id, session);
    return session;
  }

  /** The caller's user and session by its bearer token, or null (GoTrue's 403 bad_jwt / session_not_found). */
  function caller(req: http.IncomingMessage): { user: StandInUser; session: StandInSession } | null {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return null;
    let claims: TokenClaims;
    try {
      claims = verifyHs256(token, jwtSecret);
    } catch {
      return null;
    }
    const session = sessions.get(String(claims.session_id));
    const user = userById(String(claims.sub));
    return session && user && !session.revoked ? { user, session } : null;
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = new URL(req.url ?? '/', 'http://localhost');
      const path = target.pathname;
      const grant = target.searchParams.get('grant_type');
      stand.requests.push(`${req.method} ${path}${grant ? `?${grant}` : ''}`);
      const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
      const send = (status: number, value?: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
        res.end(value === undefined ? undefined : JSON.stringify(value));
      };
      const fail = (status: number, errorCode: string, msg: string) => send(status, { code: status, error_code: errorCode, msg });

      if (stand.failWith) {
        const { status, retryAfter } = stand.failWith;
        send(status, { code: status, error_code: status === 429 ? 'over_request_rate_limit' : 'unexpected_failure', msg: 'stand-in failure' }, retryAfter ? { 'Retry-After': retryAfter } : {});
        return;
      }

      if (req.method === 'POST' && path === '/auth/v1/signup') {
        const email = String(body.email).toLowerCase();
        if (users.has(email)) return fail(422, 'user_already_exists', 'User already registered');
        const user: StandInUser = {
          id: randomUUID(),
          email,
          password: String(body.password),
          userMetadata: (body.data as Record<string, unknown>) ?? {},
          provider: 'email',
          confirmed: !stand.confirmEmails,
          createdAt: new Date().toISOString(),
          factors: [],
        };
        users.set(email, user);
        if (!user.confirmed) return send(200, userJson(user));
        return send(200, issue(user, newSession(user, 'password')));
      }

      if (req.method === 'POST' && path === '/auth/v1/token' && grant === 'password') {
        const user = users.get(String(body.email).toLowerCase());
        if (!user || user.password !== body.password) return fail(400, 'invalid_credentials', 'Invalid login credentials');
        if (!user.confirmed) return fail(400, 'email_not_confirmed', 'Email not confirmed');
        return send(200, issue(user, newSession(user, 'password')));
      }

      if (req.method === 'POST' && path === '/auth/v1/token' && grant === 'refresh_token') {
        const presented = refreshTokens.get(String(body.refresh_token));
        if (!presented) return fail(400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
        const session = sessions.get(presented.sessionId)!;
        if (presented.used) {
          // Reuse of a rotated token: the whole session goes.
          session.revoked = true;
          return fail(400, 'refresh_token_already_used', 'Invalid Refresh Token: Already Used');
        }
        if (session.revoked) return fail(400, 'session_expired', 'Invalid Refresh Token: Session Expired (Revoked by Newer Login)');
        presented.used = true;
        return send(200, issue(userById(session.userId)!, session));
      }

      if (req.method === 'POST' && path === '/auth/v1/token' && grant === 'pkce') {
        const flow = codes.get(String(body.auth_code));
        if (!flow) return fail(404, 'flow_state_not_found', 'invalid flow state, no valid flow state found');
        const challenge = createHash('sha256').update(String(body.code_verifier)).digest('base64url');
        if (challenge !== flow.challenge) return fail(400, 'bad_code_verifier', 'code challenge does not match previously saved code verifier');
        codes.delete(String(body.auth_code));
        const user = userById(flow.userId)!;
        return send(200, issue(user, newSession(user, 'oauth')));
      }

      const adminUser = /^\/auth\/v1\/admin\/users\/([0-9a-f-]{36})$/.exec(path);
      if (req.method === 'DELETE' && adminUser) {
        if (req.headers.authorization !== `Bearer ${STAND_IN_SERVICE_ROLE_KEY}`) return fail(403, 'not_admin', 'User not allowed');
        const user = userById(adminUser[1]!);
        if (!user) return fail(404, 'user_not_found', 'User not found');
        users.delete(user.email);
        for (const session of sessions.values()) if (session.userId === user.id) session.revoked = true;
        return send(200, {});
      }

      const who = caller(req);

      if (req.method === 'POST' && path === '/auth/v1/logout') {
        if (!who) return fail(403, 'session_not_found', 'Session from session_id claim in JWT does not exist');
        const scope = target.searchParams.get('scope') ?? 'global';
        stand.logouts.push({ scope, sessionId: who.session.id });
        for (const session of sessions.values()) {
          if (session.userId !== who.user.id) continue;
          if (scope === 'global' || (scope === 'local' && session.id === who.session.id) || (scope === 'others' && session.id !== who.session.id)) session.revoked = true;
        }
        return send(204);
      }

      if (!who) return fail(403, 'bad_jwt', 'invalid JWT: unable to parse or verify signature');

      if (req.method === 'GET' && path === '/auth/v1/user') return send(200, userJson(who.user));

      if (req.method === 'POST' && path === '/auth/v1/factors') {
        const secret = new Secret({ size: 20 }).base32;
        const now = new Date().toISOString();
        const factor: StandInFactor = { id: randomUUID(), secret, status: 'unverified', created_at: now, updated_at: now };
        who.user.factors.push(factor);
        const uri = new TOTP({ issuer: 'Supabase', label: who.user.email, secret: Secret.fromBase32(secret) }).toString();
        return send(200, { id: factor.id, type: 'totp', friendly_name: '', totp: { qr_code: '<svg xmlns="http://www.w3.org/2000/svg"/>', secret, uri } });
      }

      const factorPath = /^\/auth\/v1\/factors\/([0-9a-f-]{36})(\/challenge|\/verify)?$/.exec(path);
      const factor = factorPath ? who.user.factors.find((candidate) => candidate.id === factorPath[1]) : undefined;
      if (factorPath && !factor) return fail(404, 'mfa_factor_not_found', 'Factor not found');
      if (factor && req.method === 'POST' && factorPath![2] === '/challenge') {
        const id = randomUUID();
        challenges.set(id, factor.id);
        return send(200, { id, type: 'totp', expires_at: Math.floor(Date.now() / 1000) + 300 });
      }
      if (factor && req.method === 'POST' && factorPath![2] === '/verify') {
        if (challenges.get(String(body.challenge_id)) !== factor.id) return fail(404, 'mfa_factor_not_found', 'MFA factor with the provided challenge ID not found');
        challenges.delete(String(body.challenge_id));
        if (totpOf(factor.secret).validate({ token: String(body.code), window: 1 }) === null) return fail(422, 'mfa_verification_failed', 'Invalid TOTP code entered');
        factor.status = 'verified';
        factor.updated_at = new Date().toISOString();
        who.session.aal = 'aal2';
        who.session.amr = [{ method: 'totp', timestamp: Math.floor(Date.now() / 1000) }, ...who.session.amr];
        const { expires_at: _expiresAt, ...verified } = issue(who.user, who.session);
        return send(200, verified);
      }
      if (factor && req.method === 'DELETE' && !factorPath![2]) {
        if (factor.status === 'verified' && who.session.aal !== 'aal2') return fail(403, 'insufficient_aal', 'AAL2 required to unenroll verified factor');
        who.user.factors = who.user.factors.filter((candidate) => candidate !== factor);
        return send(200, { id: factor.id });
      }
      return fail(404, 'not_found', 'not found');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const stand: GoTrueStandIn = {
    url,
    requests: [],
    logouts: [],
    confirmEmails: false,
    failWith: undefined,
    confirm(email) {
      users.get(email.toLowerCase())!.confirmed = true;
    },
    authorize(email, codeChallenge, provider = 'github') {
      const key = email.toLowerCase();
      if (!users.has(key)) {
        users.set(key, { id: randomUUID(), email: key, password: randomUUID(), userMetadata: { full_name: 'Octo Cat' }, provider, confirmed: true, createdAt: new Date().toISOString(), factors: [] });
      }
      const code = randomUUID();
      codes.set(code, { userId: users.get(key)!.id, challenge: codeChallenge });
      return code;
    },
    totpCode(email) {
      const factor = users.get(email.toLowerCase())!.factors.at(-1)!;
      return totpOf(factor.secret).generate();
    },
    sessionLive(sessionId) {
      return sessions.get(sessionId)?.revoked === false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return stand;
}

/** The session id a token of the stand-in carries. */
export const sessionIdOf = (token: string): string => String(decodeUnverified(token).payload.session_id);
