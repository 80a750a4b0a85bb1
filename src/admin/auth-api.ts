import type { Logger } from 'pino';
import * as z from 'zod';
import type { AuthRequest, AuthResponse } from '../control-plane.ts';
import { describeError, errorBody, GatehouseError, toGatehouseError } from '../errors.ts';
import type { SessionPrincipal } from '../identity/browser-session.ts';
import { MAX_PASSWORD_LENGTH } from '../identity/password-policy.ts';
import { clearCookie, csrfTokenFor, OIDC_FLOW_COOKIE, readCookie, sameOriginRequest, SESSION_COOKIE, setCookie, UPSTREAM_CONNECT_COOKIE } from '../identity/session-cookie.ts';
import { confirmTotp, enrolTotp, verifySecondFactor } from '../services/mfa.ts';
import { finishOidc, startOidc, type OidcEnv } from '../services/oidc-sign-in.ts';
import { auditSignIn, changeOwnPassword, passwordLogin, type ClientInfo } from '../services/sign-in.ts';
import { authenticateCookie, NETWORK_REFUSED, refusalOf, type CookieAuthDeps } from './cookie-auth.ts';

export interface AuthApiDeps {
  readonly env: OidcEnv;
  readonly cookieAuth: CookieAuthDeps;
  readonly log: Logger;
}

const password = z.string().min(1).max(MAX_PASSWORD_LENGTH * 4);
const loginBody = z.strictObject({ org: z.string().min(1).max(40), email: z.string().min(3).max(320), password });
const codeBody = z.strictObject({ code: z.string().min(1).max(16) });
const verifyBody = z.union([codeBody, z.strictObject({ recoveryCode: z.string().min(1).max(32) })]);
const passwordBody = z.strictObject({ currentPassword: password, newPassword: password });
const OIDC_PATH = /^\/oidc\/([a-z0-9-]{1,40})\/(start|callback)$/;

const sessionCookie = (token: string, p: { maxSeconds: number }) => setCookie(SESSION_COOKIE, token, p.maxSeconds);

/**
 * People sign in here: password (+ TOTP), OIDC single sign-on, enrolment of a second factor, logout. Every answer that
 * starts a session sets a new `__Host-` cookie (the id rotates at each step) and returns the CSRF token the browser
 * sends back in `x-csrf-token` with every change.
 */
export function createAuthApi(deps: AuthApiDeps): (req: AuthRequest) => Promise<AuthResponse> {
  const { env } = deps;
  const started = (token: string, extra: Record<string, unknown> = {}): AuthResponse => {
    const hours = 7 * 24; // the cookie outlives nothing: the server ends the session at its own idle and absolute limits
    return { status: 200, body: { ...extra, csrfToken: csrfTokenFor(deps.cookieAuth.csrfKey, token) }, cookies: [sessionCookie(token, { maxSeconds: hours * 3600 })] };
  };

  async function json<T extends z.ZodType>(req: AuthRequest, schema: T): Promise<z.output<T>> {
    if (!(req.contentType ?? '').toLowerCase().startsWith('application/json')) {
      // A form post from another site cannot send JSON without a CORS preflight, which this gateway never grants.
      throw new GatehouseError('unsupported_media_type', 'Content-Type must be application/json');
    }
    let value: unknown;
    try {
      value = JSON.parse(await req.readBody()) as unknown;
    } catch {
      throw new GatehouseError('parse_error', 'The body is not valid JSON');
    }
    const r = schema.safeParse(value);
    // Names fields only, never values: a password in a refused body stays out of the answer.
    if (!r.success) throw new GatehouseError('bad_request', `Invalid body: ${r.error.issues.map((i) => i.path.join('.') || i.code).join(', ')}`);
    return r.data;
  }

  async function session(req: AuthRequest, client: ClientInfo, allowPartial: boolean): Promise<SessionPrincipal> {
    const r = await authenticateCookie(deps.cookieAuth, req, { allowPartial });
    if (r.ok) return r.principal;
    const { action, reason } = refusalOf(r);
    await auditSignIn(env, { orgId: r.orgId ?? null, userId: r.userId ?? null, action, decision: 'deny', reason, target: `${req.method} /auth${req.path}` }, client);
    throw r.error;
  }

  /**
   * A session just started (password or IdP) from an address its organisation's `api` allowlist does not admit is
   * ended at once and refused: the credentials were good, so the answer is 403 and the audit says why.
   */
  async function admitted(token: string, client: ClientInfo): Promise<string> {
    const r = await deps.cookieAuth.sessions.authenticate(token, { allowPartial: true });
    if (!r.ok || (await deps.cookieAuth.networkAllowed(r.principal.orgId, client.ip))) return token;
    await deps.cookieAuth.sessions.end(token);
    await auditSignIn(env, { orgId: r.principal.orgId, userId: r.principal.userId, action: 'auth.network', decision: 'deny', reason: 'ip_not_allowed', target: 'org' }, client);
    throw NETWORK_REFUSED;
  }

  async function route(req: AuthRequest, client: ClientInfo): Promise<AuthResponse> {
    const previous = readCookie(req.cookie, SESSION_COOKIE);
    const key = `${req.method} ${req.path}`;
    switch (key) {
      case 'POST /login': {
        // No session yet, so no token to check: the browser's own account of where the request came from must do.
        if (!sameOriginRequest(req, deps.cookieAuth.originAllowed)) throw new GatehouseError('forbidden', 'Sign in from this gateway\'s own pages');
        const body = await json(req, loginBody);
        const { token, next } = await passwordLogin(env, body, client, previous);
        return started(await admitted(token, client), { next });
      }
      case 'GET /session': {
        const p = await session(req, client, true);
        return {
          status: 200,
          body: {
            orgId: p.orgId, userId: p.userId, role: p.role, stage: p.stage, mfa: p.mfa, method: p.method,
            expiresAt: p.expiresAt, idleExpiresAt: p.idleExpiresAt, csrfToken: csrfTokenFor(deps.cookieAuth.csrfKey, p.token),
            // The gateway's own time: the dashboard counts the session down by it, whatever the browser's clock says.
            now: new Date().toISOString(),
          },
        };
      }
      case 'POST /totp/enrol':
        return { status: 200, body: await enrolTotp(env, await session(req, client, true), client) };
      case 'POST /totp/confirm': {
        const p = await session(req, client, true);
        const { token, recoveryCodes } = await confirmTotp(env, p, (await json(req, codeBody)).code, client);
        return started(token, { recoveryCodes });
      }
      case 'POST /totp/verify': {
        const p = await session(req, client, true);
        if (p.stage !== 'partial') throw new GatehouseError('conflict', 'This session needs no second factor');
        return started(await verifySecondFactor(env, p, await json(req, verifyBody), client));
      }
      case 'POST /password': {
        const p = await session(req, client, false);
        return started(await changeOwnPassword(env, p, await json(req, passwordBody), client));
      }
      case 'POST /logout': {
        const p = await session(req, client, true);
        await deps.cookieAuth.sessions.end(p.token);
        await auditSignIn(env, { orgId: p.orgId, userId: p.userId, action: 'auth.logout', decision: 'allow', reason: null }, client);
        return { status: 204, cookies: [clearCookie(SESSION_COOKIE)] };
      }
    }
    // OAuth per user (gateway/upstream/oauth/user-tokens.ts): the upstream's authorization server sends the browser
    // back here; the single-use state names the person and connector, the code is exchanged and the tokens sealed.
    if (key === 'GET /upstream/callback') {
      const engine = env.services.upstreamOAuth;
      if (engine === undefined) throw new GatehouseError('not_found', 'Not found');
      const done = await engine.finish(new URLSearchParams(req.rawQuery), readCookie(req.cookie, UPSTREAM_CONNECT_COOKIE));
      // A browser coming back from the authorization server lands on the dashboard's connectors page again.
      if (req.accept?.includes('text/html') === true) {
        return { status: 302, location: `/ui/#/connectors?connected=${encodeURIComponent(done.connector)}`, cookies: [clearCookie(UPSTREAM_CONNECT_COOKIE)] };
      }
      return { status: 200, body: { connected: done.connector }, cookies: [clearCookie(UPSTREAM_CONNECT_COOKIE)] };
    }
    if (key === 'GET /upstream/client-metadata.json') {
      const doc = env.services.upstreamOAuth?.clientMetadata();
      if (doc === undefined) throw new GatehouseError('not_found', 'Not found');
      return { status: 200, body: doc };
    }
    const oidc = req.method === 'GET' ? OIDC_PATH.exec(req.path) : null;
    if (oidc?.[1] !== undefined && oidc[2] === 'start') {
      const { location, flowToken } = await startOidc(env, oidc[1], req.baseUrl, client);
      return { status: 302, location, cookies: [setCookie(OIDC_FLOW_COOKIE, flowToken, 600)] };
    }
    if (oidc?.[1] !== undefined && oidc[2] === 'callback') {
      const callbackUrl = new URL(`${req.baseUrl}/auth${req.path}${req.rawQuery === '' ? '' : `?${req.rawQuery}`}`);
      const token = await admitted(await finishOidc(env, oidc[1], callbackUrl, readCookie(req.cookie, OIDC_FLOW_COOKIE), previous, client), client);
      return { status: 302, location: '/', cookies: [sessionCookie(token, { maxSeconds: 7 * 24 * 3600 }), clearCookie(OIDC_FLOW_COOKIE)] };
    }
    throw new GatehouseError(OIDC_PATH.test(req.path) || /^\/(login|logout|session|password|totp\/\w+)$/.test(req.path) ? 'method_not_allowed' : 'not_found', 'Not found');
  }

  return async function handle(req: AuthRequest): Promise<AuthResponse> {
    const client: ClientInfo = { ip: req.clientIp, userAgent: req.userAgent ?? null, correlationId: req.correlationId };
    try {
      return await route(req, client);
    } catch (err) {
      const e = toGatehouseError(err);
      const { httpStatus, logLevel } = describeError(e.code);
      if (logLevel !== 'debug') deps.log[logLevel]({ correlationId: req.correlationId, err: e.cause ?? e }, 'sign-in request failed');
      const cookies = req.path.endsWith('/callback') ? [clearCookie(OIDC_FLOW_COOKIE)] : [];
      return { status: httpStatus, body: errorBody(e), cookies };
    }
  };
}
