// OIDC single sign-on per organisation, against real OpenID Providers (oidc-provider) on loopback: two organisations,
// each with its own IdP. PKCE, state and nonce are each shown to matter; MFA by amr; and neither organisation's
// people or IdP get into the other.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, makeOrg, type ApiAnswer, type TestOrg } from './admin-client.ts';
import { Browser } from './browser.ts';
import { startGateway, type Gateway } from './harness.ts';
import { startIdp, type Idp } from './idp.ts';

const FLOW_COOKIE = '__Host-gatehouse-oidc';
const SESSION_COOKIE = '__Host-gatehouse-session';

describe('sign-in: OIDC single sign-on, two organisations with their own IdPs', () => {
  let gw: Gateway;
  let base: string;
  let acme: TestOrg;
  let globex: TestOrg;
  let idpA: Idp;
  let idpB: Idp;

  before(async () => {
    gw = await startGateway();
    base = gw.url.replace(/\/mcp$/, '');
    acme = await makeOrg(gw, 'acme');
    globex = await makeOrg(gw, 'globex');
    idpA = await startIdp('acme', [`${base}/auth/oidc/acme/callback`]);
    idpB = await startIdp('globex', [`${base}/auth/oidc/globex/callback`]);
    for (const [org, idp] of [[acme, idpA], [globex, idpB]] as const) {
      const set = await api(gw, org.ownerKey, 'PATCH', `/organisations/${org.id}/sign-in`, {
        oidc: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret },
      });
      assert.equal(set.status, 200, set.text);
    }
  });
  after(async () => {
    await gw.close();
    await idpA.close();
    await idpB.close();
  });

  /** Starts SSO at the gateway: the IdP's authorization URL (not yet followed). */
  async function start(b: Browser, slug: string): Promise<URL> {
    const res = await b.fetch(`${base}/auth/oidc/${slug}/start`);
    assert.equal(res.status, 302, await res.text());
    return new URL(res.headers.get('location') ?? '');
  }
  /** Plays the person at the IdP: follows its redirects until it sends the browser back to the gateway. */
  async function atIdp(b: Browser, authorizationUrl: URL): Promise<URL> {
    const { url } = await b.follow(authorizationUrl.href, (next) => next.origin === base);
    assert.equal(url.origin, base, 'the IdP sent the browser back');
    return url;
  }
  async function signIn(b: Browser, slug: string, idp: Idp, login: Partial<Idp['nextLogin']>): Promise<Response> {
    idp.nextLogin = { ...idp.nextLogin, amr: ['pwd'], emailVerified: true, ...login };
    b.forget(idp.issuer); // no IdP session left from an earlier sign-in: the IdP asks (the test) who this is
    return b.fetch((await atIdp(b, await start(b, slug))).href);
  }
  const lastSsoAudit = async (orgId: string) => (await gw.app.services.store.searchAudit(orgId, { afterSeq: 0, limit: 10_000, action: 'auth.oidc.login' })).at(-1);
  const me = async (b: Browser) => (await b.fetch(`${base}/api/v1/me`)).json() as Promise<{ role?: string; orgId?: string; via?: string; userId?: string }>;

  test('a verified email at the organisation IdP signs its member in: PKCE S256, state and nonce on the way out', async () => {
    const b = new Browser('sso-agent/1');
    const auth = await start(b, 'acme');
    assert.equal(auth.origin, idpA.issuer);
    assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
    for (const p of ['code_challenge', 'state', 'nonce']) assert.match(auth.searchParams.get(p) ?? '', /^[A-Za-z0-9_-]{43,}$/, p);
    assert.equal(auth.searchParams.get('redirect_uri'), `${base}/auth/oidc/acme/callback`);
    idpA.nextLogin = { email: acme.people.admin.email, emailVerified: true, amr: ['pwd'] };
    const done = await b.fetch((await atIdp(b, auth)).href);
    assert.equal(done.status, 302);
    assert.equal(b.cookie(base, FLOW_COOKIE), undefined, 'the flow cookie is spent');
    assert.deepEqual(await me(b), { ...(await me(b)), via: 'session', role: 'admin', orgId: acme.id, userId: acme.people.admin.userId });
    const audited = await lastSsoAudit(acme.id);
    assert.deepEqual([audited?.decision, audited?.clientIp], ['allow', '127.0.0.1']);
    // The client secret is write-only: not in the settings, the audit chain or the logs.
    const settings = await api(gw, acme.ownerKey, 'GET', `/organisations/${acme.id}/sign-in`);
    assert.equal((settings.body as { oidc: { clientSecretSet: boolean } }).oidc.clientSecretSet, true);
    assert.ok(!settings.text.includes(idpA.clientSecret));
    assert.ok(!JSON.stringify(await gw.app.services.store.listAudit(acme.id, 0, 10_000)).includes(idpA.clientSecret));
    assert.ok(!gw.logs.join('\n').includes(idpA.clientSecret));
  });

  test('a tampered state is refused, and a callback cannot be replayed', async () => {
    const b = new Browser();
    idpA.nextLogin = { email: acme.people.member.email, emailVerified: true, amr: ['pwd'] };
    const back = await atIdp(b, await start(b, 'acme'));
    const tampered = new URL(back);
    tampered.searchParams.set('state', 'A'.repeat(43));
    assert.equal((await b.fetch(tampered.href)).status, 401);
    assert.equal((await lastSsoAudit(acme.id))?.reason, 'state_mismatch');
    assert.equal((await b.fetch(back.href)).status, 401, 'the flow was spent by the refused attempt');
    assert.equal((await lastSsoAudit(acme.id))?.reason, 'no_flow');
    assert.equal(b.cookie(base, SESSION_COOKIE), undefined);
  });

  test('a nonce changed on the way to the IdP is refused when the ID token comes back with it', async () => {
    const b = new Browser();
    idpA.nextLogin = { email: acme.people.member.email, emailVerified: true, amr: ['pwd'] };
    const auth = await start(b, 'acme');
    auth.searchParams.set('nonce', 'N'.repeat(43));
    assert.equal((await b.fetch((await atIdp(b, auth)).href)).status, 401);
    assert.equal((await lastSsoAudit(acme.id))?.reason, 'nonce_mismatch');
  });

  test('a code_challenge changed on the way to the IdP makes the code useless (PKCE)', async () => {
    const b = new Browser();
    idpA.nextLogin = { email: acme.people.member.email, emailVerified: true, amr: ['pwd'] };
    const auth = await start(b, 'acme');
    auth.searchParams.set('code_challenge', 'C'.repeat(43));
    assert.equal((await b.fetch((await atIdp(b, auth)).href)).status, 401);
    assert.match((await lastSsoAudit(acme.id))?.reason ?? '', /^grant_failed:.*invalid_grant/);
  });

  test('a callback in a browser that did not start the sign-in is refused (login CSRF)', async () => {
    const victim = new Browser();
    const attacker = new Browser();
    idpA.nextLogin = { email: acme.people.member.email, emailVerified: true, amr: ['pwd'] };
    const back = await atIdp(attacker, await start(attacker, 'acme'));
    assert.equal((await victim.fetch(back.href)).status, 401);
    assert.equal((await lastSsoAudit(acme.id))?.reason, 'no_flow');
  });

  test('an email the organisation does not know is refused; unverified emails too; with JIT on a newcomer becomes a member', async () => {
    const b = new Browser();
    assert.equal((await signIn(b, 'acme', idpA, { email: 'stranger@acme.example' })).status, 401);
    assert.equal((await lastSsoAudit(acme.id))?.reason, 'not_a_member');
    assert.equal((await signIn(b, 'acme', idpA, { email: acme.people.owner.email, emailVerified: false })).status, 401);
    assert.equal((await lastSsoAudit(acme.id))?.reason, 'email_not_verified');
    await api(gw, acme.ownerKey, 'PATCH', `/organisations/${acme.id}/sign-in`, { oidc: { issuer: idpA.issuer, clientId: idpA.clientId, allowJit: true } });
    assert.equal((await signIn(b, 'acme', idpA, { email: 'newcomer@acme.example' })).status, 302);
    assert.equal((await me(b)).role, 'member');
    await api(gw, acme.ownerKey, 'PATCH', `/organisations/${acme.id}/sign-in`, { oidc: { issuer: idpA.issuer, clientId: idpA.clientId, allowJit: false } });
  });

  test('an organisation requiring MFA refuses an IdP sign-in without a second factor in amr, and accepts one with it', async () => {
    const set = await api(gw, globex.ownerKey, 'PATCH', `/organisations/${globex.id}/sign-in`, { requireMfa: true });
    assert.equal(set.status, 200);
    const b = new Browser();
    const refused = await signIn(b, 'globex', idpB, { email: globex.people.viewer.email, amr: ['pwd'] });
    assert.equal(refused.status, 403);
    const audited = await lastSsoAudit(globex.id);
    assert.deepEqual([audited?.decision, audited?.reason, audited?.actorUser], ['deny', 'mfa_required', globex.people.viewer.userId]);
    assert.equal(b.cookie(base, SESSION_COOKIE), undefined);
    assert.equal((await signIn(b, 'globex', idpB, { email: globex.people.viewer.email, amr: ['pwd', 'otp'] })).status, 302);
    const session = (await (await b.fetch(`${base}/auth/session`)).json()) as { mfa: boolean; method: string };
    assert.deepEqual([session.mfa, session.method], [true, 'oidc']);
    await api(gw, globex.ownerKey, 'PATCH', `/organisations/${globex.id}/sign-in`, { requireMfa: false });
  });

  test("a person signed in to one organisation cannot see or touch the other's anything: it answers like a missing one", async () => {
    const b = new Browser();
    assert.equal((await signIn(b, 'acme', idpA, { email: acme.people.owner.email })).status, 302);
    const { csrfToken } = (await (await b.fetch(`${base}/auth/session`)).json()) as { csrfToken: string };
    const call = async (method: string, path: string, body?: unknown): Promise<ApiAnswer> => {
      const res = await b.fetch(`${base}/api/v1${path}`, { method, ...(body === undefined ? {} : { body }), csrf: csrfToken });
      return { status: res.status, text: await res.text(), body: undefined, headers: res.headers };
    };
    const pairs: [string, string, string, unknown?][] = [
      ['GET', `/organisations/${globex.id}`, '/organisations/org_AAAAAAAAAAAAAAAA'],
      ['PATCH', `/organisations/${globex.id}`, '/organisations/org_AAAAAAAAAAAAAAAA', { name: 'Taken' }],
      ['DELETE', `/organisations/${globex.id}`, '/organisations/org_AAAAAAAAAAAAAAAA'],
      ['GET', `/organisations/${globex.id}/sign-in`, '/organisations/org_AAAAAAAAAAAAAAAA/sign-in'],
      ['PATCH', `/organisations/${globex.id}/sign-in`, '/organisations/org_AAAAAAAAAAAAAAAA/sign-in', { requireMfa: false }],
      ['GET', `/members/${globex.people.admin.userId}`, '/members/usr_AAAAAAAAAAAAAAAA'],
      ['PATCH', `/members/${globex.people.admin.userId}`, '/members/usr_AAAAAAAAAAAAAAAA', { role: 'viewer' }],
      ['DELETE', `/members/${globex.people.admin.userId}`, '/members/usr_AAAAAAAAAAAAAAAA'],
      ['GET', `/keys/${globex.people.member.keyId}`, '/keys/key_AAAAAAAAAAAAAAAA'],
      ['POST', `/keys/${globex.people.member.keyId}/revoke`, '/keys/key_AAAAAAAAAAAAAAAA/revoke', {}],
    ];
    for (const [method, theirs, missing, body] of pairs) {
      const foreign = await call(method, theirs, body);
      const absent = await call(method, missing, body);
      assert.equal(foreign.status, 404, `${method} ${theirs}: ${foreign.text}`);
      assert.equal(foreign.text, absent.text, `${method} ${theirs}`);
    }
    const members = (await (await b.fetch(`${base}/api/v1/members`)).json()) as { members: { email: string }[] };
    assert.ok(members.members.every((m) => m.email.endsWith('@acme.example')));
    assert.equal((await api(gw, globex.ownerKey, 'GET', `/members/${globex.people.admin.userId}`)).status, 200, 'globex untouched');
    assert.equal((await api(gw, globex.ownerKey, 'GET', `/keys/${globex.people.member.keyId}`)).status, 200);
  });

  test("one organisation's IdP is no way into the other", async () => {
    // 1. globex's IdP vouches for an acme owner's email: through globex's sign-in that is nobody at globex.
    const b = new Browser();
    assert.equal((await signIn(b, 'globex', idpB, { email: acme.people.owner.email })).status, 401);
    assert.equal((await lastSsoAudit(globex.id))?.reason, 'not_a_member');
    assert.equal(b.cookie(base, SESSION_COOKIE), undefined);

    // 2. A code from globex's IdP, brought to acme's callback with acme's own flow and state, is refused by acme's IdP.
    const c = new Browser();
    const acmeAuth = await start(c, 'acme');
    const acmeFlow = c.cookie(base, FLOW_COOKIE);
    idpB.nextLogin = { email: globex.people.owner.email, emailVerified: true, amr: ['pwd'] };
    const globexBack = await atIdp(c, await start(c, 'globex'));
    c.setCookie(base, FLOW_COOKIE, acmeFlow);
    const forged = new URL(`${base}/auth/oidc/acme/callback`);
    forged.searchParams.set('code', globexBack.searchParams.get('code') ?? '');
    forged.searchParams.set('state', acmeAuth.searchParams.get('state') ?? '');
    forged.searchParams.set('iss', idpA.issuer);
    assert.equal((await c.fetch(forged.href)).status, 401);
    assert.match((await lastSsoAudit(acme.id))?.reason ?? '', /^grant_failed/);

    // 3. globex's flow brought to acme's callback path is refused before any IdP is asked.
    const d = new Browser();
    idpB.nextLogin = { email: globex.people.owner.email, emailVerified: true, amr: ['pwd'] };
    const back = await atIdp(d, await start(d, 'globex'));
    const moved = new URL(`${base}/auth/oidc/acme/callback${back.search}`);
    assert.equal((await d.fetch(moved.href)).status, 401);
    assert.equal((await lastSsoAudit(acme.id))?.reason, 'flow_of_another_organisation');
    assert.equal(d.cookie(base, SESSION_COOKIE), undefined);
  });
});
