// People sign in with a password (and TOTP) on a running gateway: sessions in __Host- cookies, rotated at each step,
// CSRF-protected, ended by logout, idle timeout and the absolute maximum; lockout; every attempt audited with IP and UA.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SYSTEM_CHAIN } from '../../src/gateway/audit/audit-log.ts';
import { base32Decode, hotp, totpStep } from '../../src/identity/totp.ts';
import { operatorActor } from '../../src/services/context.ts';
import { setUserPassword, SIGN_IN_FAILED } from '../../src/services/sign-in.ts';
import type { AuditRecord } from '../../src/store/types.ts';
import { api, makeOrg, type TestOrg } from './admin-client.ts';
import { Browser } from './browser.ts';
import { runCli, startGateway, type Gateway } from './harness.ts';

const PASSWORD = 'violet kettle harbour 93';
const COOKIE = '__Host-gatehouse-session';

describe('sign-in: passwords, TOTP and browser sessions', () => {
  let gw: Gateway;
  let base: string;
  let acme: TestOrg;
  let offset = 0;
  const now = () => Date.now() + offset;
  const advance = (minutes: number) => (offset += minutes * 60_000);

  before(async () => {
    gw = await startGateway({}, { now });
    base = gw.url.replace(/\/mcp$/, '');
    acme = await makeOrg(gw, 'acme');
    for (const role of ['owner', 'admin', 'member', 'viewer'] as const) {
      await setUserPassword(gw.app.services, operatorActor('test'), acme.people[role].email, PASSWORD);
    }
  });
  after(async () => {
    await gw.close();
  });

  async function login(b: Browser, email: string, password = PASSWORD, org = 'acme') {
    const res = await b.fetch(`${base}/auth/login`, { body: { org, email, password } });
    const body = (await res.json()) as { next?: string; csrfToken?: string; error?: { code: string; message: string } };
    return { res, body, csrf: body.csrfToken ?? '' };
  }
  const me = (b: Browser) => b.fetch(`${base}/api/v1/me`);
  async function auditOf(orgId: string, action: string): Promise<AuditRecord[]> {
    return gw.app.services.store.searchAudit(orgId, { afterSeq: 0, limit: 1000, action });
  }

  test('a good password starts a session in a __Host- cookie; the admin API then knows the person and their role', async () => {
    const b = new Browser('e2e-agent/1.0 (sign-in)');
    const { res, body } = await login(b, acme.people.admin.email);
    assert.equal(res.status, 200);
    assert.equal(body.next, 'done');
    assert.match(body.csrfToken ?? '', /^[A-Za-z0-9_-]{43}$/);
    const [setCookie] = res.headers.getSetCookie();
    assert.match(setCookie ?? '', /^__Host-gatehouse-session=[A-Za-z0-9_-]{43}; /);
    for (const attr of ['Path=/', 'Secure', 'HttpOnly', 'SameSite=Lax']) assert.ok(setCookie?.split('; ').includes(attr), attr);
    assert.doesNotMatch(setCookie ?? '', /Domain=/i);
    const who = (await (await me(b)).json()) as { via: string; role: string; userId: string; orgId: string };
    assert.deepEqual([who.via, who.role, who.userId, who.orgId], ['session', 'admin', acme.people.admin.userId, acme.id]);
    const records = await auditOf(acme.id, 'auth.login');
    const last = records.at(-1)!;
    assert.equal(last.decision, 'allow');
    assert.equal(last.actorUser, acme.people.admin.userId);
    assert.equal(last.clientIp, '127.0.0.1');
    assert.equal((JSON.parse(last.args ?? '{}') as { userAgent: string }).userAgent, 'e2e-agent/1.0 (sign-in)');
  });

  test('a wrong password, an unknown person and an unknown organisation all get the same answer, each audited', async () => {
    const b = new Browser('e2e-agent/2.0');
    const answers = [
      await login(b, acme.people.member.email, 'wrong password entirely'),
      await login(b, 'nobody@acme.example'),
      await login(b, acme.people.member.email, PASSWORD, 'no-such-org'),
    ];
    for (const a of answers) {
      assert.equal(a.res.status, 401);
      assert.deepEqual(a.body, { error: { code: 'unauthenticated', message: SIGN_IN_FAILED } });
      assert.equal(a.res.headers.getSetCookie().length, 0, 'no session');
    }
    const denied = (await auditOf(acme.id, 'auth.login')).filter((r) => r.decision === 'deny');
    assert.deepEqual(denied.slice(-2).map((r) => r.reason), ['bad_password', 'unknown_account']);
    for (const r of denied.slice(-2)) {
      assert.equal(r.clientIp, '127.0.0.1');
      assert.equal((JSON.parse(r.args ?? '{}') as { userAgent: string }).userAgent, 'e2e-agent/2.0');
    }
    const system = await auditOf(SYSTEM_CHAIN, 'auth.login');
    assert.equal(system.at(-1)?.reason, 'unknown_org');
    // The refused password appears nowhere: not in the answers, the audit records or the logs.
    assert.ok(!JSON.stringify(await gw.app.services.store.listAudit(acme.id, 0, 10_000)).includes('wrong password entirely'));
    assert.ok(!gw.logs.join('\n').includes('wrong password entirely'));
    assert.ok(!gw.logs.join('\n').includes(PASSWORD));
  });

  test('five failures lock the account: even the right password is refused, alike, until the lock expires', async () => {
    const b = new Browser();
    const email = acme.people.viewer.email;
    for (let i = 0; i < 5; i++) assert.equal((await login(b, email, `not the password ${String(i)}`)).res.status, 401);
    const locked = await login(b, email);
    assert.equal(locked.res.status, 401);
    assert.deepEqual(locked.body, { error: { code: 'unauthenticated', message: SIGN_IN_FAILED } });
    assert.deepEqual((await auditOf(acme.id, 'auth.login')).slice(-2).map((r) => r.reason), ['bad_password_locked', 'locked']);
    advance(16);
    assert.equal((await login(b, email)).res.status, 200, 'the lock expired');
  });

  test('signing in rotates the session id: the id held before is dead afterwards', async () => {
    const b = new Browser();
    await login(b, acme.people.member.email);
    const first = b.cookie(base, COOKIE);
    await login(b, acme.people.member.email);
    const second = b.cookie(base, COOKIE);
    assert.ok(first !== undefined && second !== undefined && first !== second);
    assert.equal((await me(b)).status, 200);
    b.setCookie(base, COOKIE, first);
    assert.equal((await me(b)).status, 401, 'the old id no longer works');
  });

  test('a change by cookie needs the CSRF token of this session and a same-origin request', async () => {
    const b = new Browser();
    const { csrf } = await login(b, acme.people.owner.email);
    const other = await login(new Browser(), acme.people.admin.email);
    const patch = (headers: Record<string, string>, token?: string) =>
      b.fetch(`${base}/api/v1/organisations/${acme.id}`, { method: 'PATCH', body: { name: 'Acme Renamed' }, headers, ...(token === undefined ? {} : { csrf: token }) });
    assert.equal((await patch({})).status, 403, 'no token');
    assert.equal((await patch({}, other.csrf)).status, 403, "another session's token");
    assert.equal((await patch({}, csrf.slice(0, -2) + 'AA')).status, 403, 'a forged token');
    assert.equal((await patch({ 'sec-fetch-site': 'cross-site' }, csrf)).status, 403, 'a cross-site fetch');
    assert.equal((await patch({ origin: 'https://evil.example' }, csrf)).status, 403, 'a foreign origin');
    assert.equal((await gw.app.services.store.getOrganisation(acme.id))?.name, `Org acme`, 'nothing changed');
    assert.equal((await patch({ 'sec-fetch-site': 'same-origin' }, csrf)).status, 200);
    assert.ok((await auditOf(acme.id, 'auth.csrf')).length >= 4, 'refusals past the listener are audited');
    // Reads need no token; a Bearer key needs none either (no cookie, no ambient authority).
    assert.equal((await me(b)).status, 200);
    assert.equal((await api(gw, acme.ownerKey, 'PATCH', `/organisations/${acme.id}`, { name: `Org acme` })).status, 200);
  });

  test('sessions end after the idle timeout (activity extends it) and at the absolute maximum', async () => {
    const owner = new Browser();
    const { csrf } = await login(owner, acme.people.owner.email);
    const set = await owner.fetch(`${base}/api/v1/organisations/${acme.id}/sign-in`, { method: 'PATCH', body: { sessionIdleMinutes: 15, sessionMaxHours: 1 }, csrf });
    assert.equal(set.status, 200, await set.clone().text());
    const b = new Browser();
    await login(b, acme.people.member.email);
    advance(10);
    assert.equal((await me(b)).status, 200, 'used within the idle timeout');
    advance(10);
    assert.equal((await me(b)).status, 200, 'the use above restarted the idle clock');
    advance(16);
    assert.equal((await me(b)).status, 401, 'idle too long');
    assert.equal((await auditOf(acme.id, 'auth.failed')).at(-1)?.reason, 'session_idle');

    await login(b, acme.people.member.email);
    for (let i = 0; i < 5; i++) {
      advance(11);
      assert.equal((await me(b)).status, 200);
    }
    advance(11);
    assert.equal((await me(b)).status, 401, 'past the absolute maximum, however active');
    const owner2 = new Browser();
    const again = await login(owner2, acme.people.owner.email);
    await owner2.fetch(`${base}/api/v1/organisations/${acme.id}/sign-in`, { method: 'PATCH', body: { sessionIdleMinutes: 60, sessionMaxHours: 12 }, csrf: again.csrf });
  });

  test('logout ends the session on the server and clears the cookie', async () => {
    const b = new Browser();
    const { csrf } = await login(b, acme.people.member.email);
    const held = b.cookie(base, COOKIE);
    assert.equal((await b.fetch(`${base}/auth/logout`, { method: 'POST', csrf })).status, 204);
    assert.equal(b.cookie(base, COOKIE), undefined, 'cleared');
    b.setCookie(base, COOKIE, held);
    assert.equal((await me(b)).status, 401, 'ended server-side, not just forgotten by the browser');
  });

  test('TOTP: enrol, confirm with a first code, then sign-in needs a fresh code; a used code is refused; recovery codes work once', async () => {
    const b = new Browser();
    const email = acme.people.admin.email;
    let { csrf } = await login(b, email);
    const enrol = await b.fetch(`${base}/auth/totp/enrol`, { method: 'POST', csrf });
    const { secret, otpauthUri } = (await enrol.json()) as { secret: string; otpauthUri: string };
    assert.match(otpauthUri, /^otpauth:\/\/totp\//);
    const code = (at = now()) => hotp(base32Decode(secret), totpStep(at));
    assert.equal((await b.fetch(`${base}/auth/totp/confirm`, { body: { code: '000000' === code() ? '111111' : '000000' }, csrf })).status, 401);
    const confirmed = await b.fetch(`${base}/auth/totp/confirm`, { body: { code: code() }, csrf });
    const { recoveryCodes } = (await confirmed.json()) as { recoveryCodes: string[] };
    assert.equal(recoveryCodes.length, 10);
    assert.ok(!JSON.stringify(await gw.app.services.store.signIn.getTotp(acme.people.admin.userId)).includes(secret), 'the seed is sealed');

    const first = await login(b, email);
    assert.equal(first.body.next, 'totp');
    csrf = first.csrf;
    assert.equal((await me(b)).status, 401, 'a password alone opens nothing');
    const replay = await b.fetch(`${base}/auth/totp/verify`, { body: { code: code() }, csrf });
    assert.equal(replay.status, 401, 'the code used to confirm cannot be used again');
    assert.equal((await auditOf(acme.id, 'auth.totp.verify')).at(-1)?.reason, 'replayed_code');
    advance(0.5);
    const partial = b.cookie(base, COOKIE);
    const ok = await b.fetch(`${base}/auth/totp/verify`, { body: { code: code() }, csrf });
    assert.equal(ok.status, 200);
    assert.notEqual(b.cookie(base, COOKIE), partial, 'stepping up rotates the id');
    assert.equal((await me(b)).status, 200);
    b.setCookie(base, COOKIE, partial);
    assert.equal((await me(b)).status, 401, 'and the partial session is gone');

    const second = await login(b, email);
    assert.equal((await b.fetch(`${base}/auth/totp/verify`, { body: { code: code() }, csrf: second.csrf })).status, 401, 'the same step twice');
    const rc = recoveryCodes[0] ?? '';
    assert.equal((await b.fetch(`${base}/auth/totp/verify`, { body: { recoveryCode: rc }, csrf: second.csrf })).status, 200);
    const third = await login(b, email);
    assert.equal((await b.fetch(`${base}/auth/totp/verify`, { body: { recoveryCode: rc }, csrf: third.csrf })).status, 401, 'spent');
    assert.equal((await b.fetch(`${base}/auth/totp/enrol`, { method: 'POST', csrf: third.csrf })).status, 409, 'a password alone cannot replace the factor');
    assert.ok(!gw.logs.join('\n').includes(secret));
  });

  test('an organisation that requires MFA refuses a password-only sign-in (audited) and ends sessions without MFA', async () => {
    const owner = new Browser();
    const o = await login(owner, acme.people.owner.email);
    const b = new Browser();
    await login(b, acme.people.member.email);
    assert.equal((await me(b)).status, 200);
    const set = await owner.fetch(`${base}/api/v1/organisations/${acme.id}/sign-in`, { method: 'PATCH', body: { requireMfa: true }, csrf: o.csrf });
    assert.equal(set.status, 200);
    assert.equal((await me(b)).status, 401, 'a standing session without a second factor no longer counts');
    const again = await login(b, acme.people.member.email);
    assert.equal(again.body.next, 'enrol_totp');
    assert.equal((await me(b)).status, 401);
    const refused = (await auditOf(acme.id, 'auth.login')).at(-1);
    assert.deepEqual([refused?.decision, refused?.reason], ['deny', 'mfa_required']);
    // The partial session can do one thing: set up a second factor, which then opens the door.
    const { secret } = (await (await b.fetch(`${base}/auth/totp/enrol`, { method: 'POST', csrf: again.csrf })).json()) as { secret: string };
    const confirmed = await b.fetch(`${base}/auth/totp/confirm`, { body: { code: hotp(base32Decode(secret), totpStep(now())) }, csrf: again.csrf });
    assert.equal(confirmed.status, 200);
    assert.equal((await me(b)).status, 200);
  });

  test('the CLI sets sign-in settings and passwords, taking secrets from the environment and never printing them', async () => {
    const settings = await runCli(gw, ['orgs', 'sign-in', 'acme', '--idle-minutes', '30', '--oidc-issuer', 'http://127.0.0.1:9/', '--oidc-client-id', 'cli-client', '--oidc-client-secret-env', 'SSO_SECRET', '--json'], { SSO_SECRET: 'cli-sso-secret-value' });
    assert.equal(settings.code, 0, settings.stderr);
    const shown = JSON.parse(settings.stdout) as { sessionIdleMinutes: number; oidc: { issuer: string; clientSecretSet: boolean } };
    assert.deepEqual([shown.sessionIdleMinutes, shown.oidc.issuer, shown.oidc.clientSecretSet], [30, 'http://127.0.0.1:9', true]);
    assert.ok(!settings.stdout.includes('cli-sso-secret-value'));
    assert.equal((await runCli(gw, ['orgs', 'sign-in', 'acme', '--idle-minutes', '5'])).code, 1, 'out of range');

    const weak = await runCli(gw, ['members', 'set-password', acme.people.viewer.email, '--password-env', 'PW'], { PW: 'password1234' });
    assert.equal(weak.code, 1);
    assert.match(weak.stderr, /too common/);
    assert.ok(!weak.stderr.includes('password1234'));
    const set = await runCli(gw, ['members', 'set-password', acme.people.viewer.email, '--password-env', 'PW'], { PW: 'a fresh passphrase for cli' });
    assert.equal(set.code, 0, set.stderr);
    assert.equal((await login(new Browser(), acme.people.viewer.email, 'a fresh passphrase for cli')).res.status, 200);
    assert.equal((await login(new Browser(), acme.people.viewer.email)).res.status, 401, 'the old password is gone');
  });
});
