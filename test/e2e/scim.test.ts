// SCIM 2.0 against a running gateway over HTTP, as an identity provider drives it: Okta/Entra-like provisioning
// (look up, create, group, patch membership, filter, deactivate, reactivate, delete), roles following IdP groups,
// keys revoked and browser sessions ended the moment a person is deactivated (the MCP endpoint and the admin API refuse
// the next request), two organisations isolated, and SCIM errors for bad tokens, filters and attributes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hashSessionToken, SESSION_COOKIE } from '../../src/identity/session-cookie.ts';
import { operatorActor } from '../../src/services/context.ts';
import { addMember } from '../../src/services/members.ts';
import { setUserPassword } from '../../src/services/sign-in.ts';
import { api, makeOrg, type TestOrg } from './admin-client.ts';
import { Browser } from './browser.ts';
import { rawPost, runCli, startGateway, type Gateway } from './harness.ts';
import { ERROR_URN, GROUP_URN, newUser, patch, scim } from './scim-client.ts';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };

describe('SCIM 2.0', () => {
  let gw: Gateway;
  let acme: TestOrg;
  let globex: TestOrg;
  let acmeToken: string;
  let globexToken: string;

  before(async () => {
    gw = await startGateway();
    acme = await makeOrg(gw, 'acme');
    globex = await makeOrg(gw, 'globex');
    const issued = await api(gw, acme.people.admin.key, 'POST', '/scim/token', {});
    assert.equal(issued.status, 201, issued.text);
    acmeToken = (issued.body as { token: string }).token;
    globexToken = ((await api(gw, globex.people.owner.key, 'POST', '/scim/token', {})).body as { token: string }).token;
    const mapped = await api(gw, acme.people.admin.key, 'PATCH', '/scim', {
      roleMappings: [{ idpGroup: 'Engineering', role: 'member' }, { idpGroup: '00gAdmins', role: 'admin' }, { idpGroup: 'Owners', role: 'viewer' }],
    });
    assert.equal(mapped.status, 200, mapped.text);
  });
  after(async () => {
    await gw.close();
  });

  async function roleOf(org: TestOrg, userId: string): Promise<string | undefined> {
    const res = await api(gw, org.people.owner.key, 'GET', '/members');
    return (res.body as { members: { userId: string; role: string }[] }).members.find((m) => m.userId === userId)?.role;
  }

  test('the token is shown once, recognisable, and never again', async () => {
    assert.match(acmeToken, /^gths_[0-9A-Za-z]{49}$/);
    const settings = await api(gw, acme.people.owner.key, 'GET', '/scim');
    assert.equal(settings.status, 200);
    assert.ok(!settings.text.includes(acmeToken.slice(5)));
    assert.equal((settings.body as { token: { displayPrefix: string } }).token.displayPrefix, acmeToken.slice(0, 11) + '…');
    assert.ok(!gw.logs.join('\n').includes(acmeToken.slice(5)));
  });

  test('an Okta-like provisioning sequence; roles follow groups; deactivation ends access at once', async () => {
    const lookup = await scim(gw, acmeToken, 'GET', `/Users?filter=${encodeURIComponent('userName eq "dana@acme.example"')}`);
    assert.equal(lookup.status, 200);
    assert.match(lookup.headers.get('content-type') ?? '', /^application\/scim\+json/);
    assert.equal(lookup.body.totalResults, 0);

    const created = await scim(gw, acmeToken, 'POST', '/Users', newUser('dana@acme.example', { externalId: '00uDana', password: 'Hunter2-never-stored' }));
    assert.equal(created.status, 201, created.text);
    const dana = created.body.id ?? '';
    assert.match(dana, /^usr_/);
    assert.equal(created.headers.get('location'), `/scim/v2/Users/${dana}`);
    assert.ok(!created.text.includes('Hunter2'));
    assert.equal((await scim(gw, acmeToken, 'POST', '/Users', newUser('DANA@acme.example'))).body.scimType, 'uniqueness');
    const erin = (await scim(gw, acmeToken, 'POST', '/Users', newUser('erin@acme.example', { externalId: '00uErin' }))).body.id ?? '';
    assert.equal(await roleOf(acme, dana), undefined, 'no mapped group, no membership');

    const eng = await scim(gw, acmeToken, 'POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Engineering', members: [{ value: dana }] });
    assert.equal(eng.status, 201, eng.text);
    const admins = await scim(gw, acmeToken, 'POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Platform Admins', externalId: '00gAdmins', members: [] });
    const sales = await scim(gw, acmeToken, 'POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Sales', members: [{ value: erin }] });
    assert.equal(await roleOf(acme, dana), 'member');
    assert.equal(await roleOf(acme, erin), undefined, 'an unmapped group grants nothing');

    const adminsId = admins.body.id ?? '';
    const added = await scim(gw, acmeToken, 'PATCH', `/Groups/${adminsId}`, patch({ op: 'add', path: 'members', value: [{ value: dana }, { value: erin }] }));
    assert.equal(added.status, 200, added.text);
    assert.equal(await roleOf(acme, dana), 'admin', 'highest wins');
    assert.equal(await roleOf(acme, erin), 'admin');
    await scim(gw, acmeToken, 'PATCH', `/Groups/${adminsId}`, patch({ op: 'remove', path: `members[value eq "${erin}"]` }));
    assert.equal(await roleOf(acme, erin), undefined);
    await scim(gw, acmeToken, 'PATCH', `/Groups/${adminsId}`, patch({ op: 'remove', path: `members[value eq "${dana}"]` }));
    assert.equal(await roleOf(acme, dana), 'member');

    // Filters as IdPs send them.
    const q = async (path: string) => (await scim(gw, acmeToken, 'GET', path)).body;
    assert.equal((await q(`/Users?filter=${encodeURIComponent('userName eq "DANA@ACME.example"')}`)).totalResults, 1);
    assert.equal((await q(`/Users?filter=${encodeURIComponent('externalId eq "00uErin"')}`)).Resources?.[0]?.id, erin);
    assert.equal((await q(`/Users?filter=${encodeURIComponent('emails[type eq "work" and value co "@acme"] and active eq true')}`)).totalResults, 2);
    assert.equal((await q(`/Users?filter=${encodeURIComponent('userName sw "e" or externalId pr')}`)).totalResults, 2);
    assert.equal((await q(`/Groups?filter=${encodeURIComponent('displayName eq "engineering"')}&excludedAttributes=members`)).Resources?.[0]?.id, eng.body.id);
    const page = await q('/Users?startIndex=2&count=1');
    assert.deepEqual([page.totalResults, page.startIndex, page.itemsPerPage, page.Resources?.length], [2, 2, 1, 1]);
    assert.equal((await q(`/Groups/${sales.body.id ?? ''}`)).displayName, 'Sales');

    // Dana gets a key; the IdP deactivates Dana the way Entra ID does.
    const key = await api(gw, acme.people.admin.key, 'POST', '/keys', { name: 'dana', role: 'member', scopes: ['*'], userId: dana });
    const danaKey = (key.body as { key: string; record: { id: string } });
    assert.equal((await rawPost(gw.url, INIT, { authorization: `Bearer ${danaKey.key}` })).status, 200);
    const off = await scim(gw, acmeToken, 'PATCH', `/Users/${dana}`, patch({ op: 'Replace', path: 'active', value: 'False' }));
    assert.equal(off.status, 200, off.text);
    assert.equal(off.body.active, false);
    assert.equal((await rawPost(gw.url, INIT, { authorization: `Bearer ${danaKey.key}` })).status, 401);
    assert.equal(((await api(gw, acme.people.owner.key, 'GET', `/keys/${danaKey.record.id}`)).body as { status: string }).status, 'revoked');
    assert.equal(await roleOf(acme, dana), undefined);

    // Reactivation restores the role from the groups, but not the revoked key.
    await scim(gw, acmeToken, 'PATCH', `/Users/${dana}`, patch({ op: 'replace', value: { active: true } }));
    assert.equal(await roleOf(acme, dana), 'member');
    assert.equal((await rawPost(gw.url, INIT, { authorization: `Bearer ${danaKey.key}` })).status, 401);

    // PUT replaces; DELETE ends everything.
    const put = await scim(gw, acmeToken, 'PUT', `/Users/${dana}`, newUser('dana@acme.example', { displayName: 'Dana D', externalId: '00uDana' }));
    assert.equal(put.status, 200, put.text);
    assert.equal(put.body.displayName, 'Dana D');
    assert.equal((await scim(gw, acmeToken, 'DELETE', `/Users/${dana}`)).status, 204);
    assert.equal((await scim(gw, acmeToken, 'GET', `/Users/${dana}`)).status, 404);
    assert.deepEqual((await q(`/Groups/${eng.body.id ?? ''}`)).members, []);
    assert.equal(await roleOf(acme, dana), undefined);

    // Every change is audited with the SCIM token as actor.
    const audit = await api(gw, acme.people.owner.key, 'GET', '/audit?action=scim.*&limit=200');
    const records = (audit.body as { records: { action: string; actorKeyId: string | null; args: string | null }[] }).records;
    const tokenId = ((await api(gw, acme.people.owner.key, 'GET', '/scim')).body as { token: { id: string } }).token.id;
    for (const action of ['scim.user.create', 'scim.group.create', 'scim.group.update', 'scim.user.deactivate', 'scim.user.delete']) {
      assert.ok(records.some((r) => r.action === action && r.actorKeyId === tokenId), action);
    }
    assert.ok(!audit.text.includes('Hunter2'));
  });

  test("deactivation and deletion end the person's browser sessions and MCP sessions at once, in that organisation only", async () => {
    const base = gw.url.replace(/\/mcp$/, '');
    const password = 'amber lantern orchard 57';
    const mappings = ((await api(gw, acme.people.owner.key, 'GET', '/scim')).body as { roleMappings: unknown[] }).roleMappings;
    await api(gw, acme.people.owner.key, 'PATCH', '/scim', { roleMappings: [...mappings, { idpGroup: 'Support', role: 'member' }] });
    const hana = (await scim(gw, acmeToken, 'POST', '/Users', newUser('hana@acme.example'))).body.id ?? '';
    await scim(gw, acmeToken, 'POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Support', members: [{ value: hana }] });
    assert.equal(await roleOf(acme, hana), 'member');
    await addMember(gw.app.services, operatorActor('test'), globex.id, { email: 'hana@acme.example', role: 'viewer' });
    await setUserPassword(gw.app.services, operatorActor('test'), 'hana@acme.example', password);
    const signIn = async (org: string) => {
      const b = new Browser();
      const res = await b.fetch(`${base}/auth/login`, { body: { org, email: 'hana@acme.example', password } });
      assert.equal(res.status, 200, await res.text());
      return b;
    };
    const me = async (b: Browser) => (await b.fetch(`${base}/api/v1/me`)).status;
    const ended = async (b: Browser) => (await gw.app.services.store.signIn.getSession(hashSessionToken(b.cookie(base, SESSION_COOKIE) ?? '')))?.endedAt ?? null;
    const atAcme = await signIn('acme');
    const atGlobex = await signIn('globex');
    assert.deepEqual([await me(atAcme), await me(atGlobex)], [200, 200]);
    const key = (await api(gw, acme.people.admin.key, 'POST', '/keys', { name: 'hana', role: 'member', scopes: ['*'], userId: hana })).body as { key: string; record: { id: string } };
    const init = await rawPost(gw.url, INIT, { authorization: `Bearer ${key.key}` });
    assert.equal(init.status, 200);
    await init.body?.cancel();
    const mcpSessionOpen = () => [...gw.app.sessions.ofOrg(acme.id)].some((s) => s.keyId === key.record.id);
    assert.ok(mcpSessionOpen());

    assert.equal((await scim(gw, acmeToken, 'PATCH', `/Users/${hana}`, patch({ op: 'replace', path: 'active', value: false }))).status, 200);
    assert.equal(await me(atAcme), 401, 'the browser session cookie stops working at once');
    assert.notEqual(await ended(atAcme), null, 'the session is ended, not merely refused while the membership is gone');
    assert.equal(mcpSessionOpen(), false, "the MCP session is closed at once, not at the reaper's next round");
    assert.equal(await me(atGlobex), 200, "another organisation's session of the same person goes on");

    // Reactivation restores the role, not the ended session; a fresh sign-in works, and deletion ends that one too.
    await scim(gw, acmeToken, 'PATCH', `/Users/${hana}`, patch({ op: 'replace', value: { active: true } }));
    assert.equal(await roleOf(acme, hana), 'member');
    assert.equal(await me(atAcme), 401);
    const again = await signIn('acme');
    assert.equal(await me(again), 200);
    assert.equal((await scim(gw, acmeToken, 'DELETE', `/Users/${hana}`)).status, 204);
    assert.equal(await me(again), 401);
    assert.notEqual(await ended(again), null);
    assert.equal(await me(atGlobex), 200);
  });

  test("another organisation's users and groups answer exactly like missing ones", async () => {
    const user = (await scim(gw, acmeToken, 'POST', '/Users', newUser('frank@acme.example'))).body.id ?? '';
    const group = (await scim(gw, acmeToken, 'POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Acme only', members: [{ value: user }] })).body.id ?? '';
    const targets = [
      [`/Users/${user}`, '/Users/usr_doesNotExist000', newUser('x@globex.example'), { active: false }],
      [`/Groups/${group}`, '/Groups/grp_doesNotExist000', { schemas: [GROUP_URN], displayName: 'Mine now' }, { displayName: 'Mine now' }],
    ] as const;
    for (const [path, missing, replacement, change] of targets) {
      for (const [method, body] of [['GET', undefined], ['PUT', replacement], ['PATCH', patch({ op: 'replace', value: change })], ['DELETE', undefined]] as const) {
        const theirs = await scim(gw, globexToken, method, path, body);
        const none = await scim(gw, globexToken, method, missing, body);
        assert.equal(theirs.status, 404, `${method} ${path}`);
        assert.deepEqual(theirs.body, none.body, `${method} ${path}`);
      }
    }
    assert.equal((await scim(gw, globexToken, 'GET', '/Users')).body.totalResults, 0);
    const foreignMember = await scim(gw, globexToken, 'POST', '/Groups', { schemas: [GROUP_URN], displayName: 'Steal', members: [{ value: user }] });
    assert.equal(foreignMember.status, 400);
    assert.equal((await scim(gw, acmeToken, 'GET', `/Users/${user}`)).body.active, true, 'nothing changed');
  });

  test('a missing, wrong, foreign-format or replaced token is refused with a SCIM 401', async () => {
    const rotated = ((await api(gw, globex.people.owner.key, 'POST', '/scim/token', {})).body as { token: string }).token;
    for (const token of [undefined, 'nonsense', acme.people.owner.key, acmeToken.slice(0, -1) + (acmeToken.endsWith('A') ? 'B' : 'A'), globexToken]) {
      const res = await scim(gw, token, 'GET', '/Users');
      assert.equal(res.status, 401);
      assert.deepEqual(res.body.schemas, [ERROR_URN]);
      assert.equal(res.body.status, '401');
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /);
    }
    assert.equal((await scim(gw, rotated, 'GET', '/Users')).status, 200);
    globexToken = rotated;
    assert.equal((await api(gw, globex.people.member.key, 'POST', '/scim/token', {})).status, 403);
  });

  test('malformed filters, unknown attributes and bad bodies answer 400 with a scimType', async () => {
    const cases: [string, string, unknown, string][] = [
      ['GET', `/Users?filter=${encodeURIComponent('userName eq')}`, undefined, 'invalidFilter'],
      ['GET', `/Users?filter=${encodeURIComponent('userName zz "a"')}`, undefined, 'invalidFilter'],
      ['GET', `/Users?filter=${encodeURIComponent('favouriteColour eq "red"')}`, undefined, 'invalidFilter'],
      ['GET', '/Users?count=ten', undefined, 'invalidValue'],
      ['POST', '/Users', newUser('gina@acme.example', { favouriteColour: 'red' }), 'invalidSyntax'],
      ['POST', '/Users', { userName: 'nobody@acme.example' }, 'invalidSyntax'],
      ['POST', '/Users', '{not json', 'invalidSyntax'],
      ['PATCH', '/Users/usr_x', patch({ op: 'replace', path: 'favouriteColour', value: 'red' }), 'invalidPath'],
      ['PATCH', '/Users/usr_x', { Operations: [] }, 'invalidSyntax'],
    ];
    for (const [method, path, body, scimType] of cases) {
      const res = await scim(gw, acmeToken, method, path, body);
      assert.equal(res.status, 400, `${method} ${path}: ${res.text}`);
      assert.equal(res.body.scimType, scimType, `${method} ${path}: ${res.text}`);
      assert.deepEqual(res.body.schemas, [ERROR_URN]);
    }
  });

  test('discovery: ServiceProviderConfig, ResourceTypes and Schemas', async () => {
    const spc = await scim(gw, acmeToken, 'GET', '/ServiceProviderConfig');
    assert.equal(spc.status, 200);
    assert.deepEqual([(spc.body.patch as { supported: boolean }).supported, (spc.body.filter as { supported: boolean }).supported], [true, true]);
    const types = await scim(gw, acmeToken, 'GET', '/ResourceTypes');
    assert.deepEqual(types.body.Resources?.map((r) => r.name).sort(), ['Group', 'User']);
    const schemas = await scim(gw, acmeToken, 'GET', '/Schemas');
    assert.ok(schemas.body.Resources?.some((s) => s.id === 'urn:ietf:params:scim:schemas:core:2.0:User'));
    assert.equal((await scim(gw, acmeToken, 'GET', '/Nope')).status, 404);
    assert.equal((await scim(gw, acmeToken, 'DELETE', '/Users')).status, 405);
  });

  test('the CLI maps groups (roles follow at once), issues a token shown once and revokes it', async () => {
    const erin = (await scim(gw, acmeToken, 'GET', `/Users?filter=${encodeURIComponent('userName eq "erin@acme.example"')}`)).body.Resources?.[0]?.id;
    assert.ok(typeof erin === 'string');
    assert.equal(await roleOf(acme, erin), undefined);
    const mapped = await runCli(gw, ['scim', 'map', 'Sales', 'viewer', '--org', 'acme']);
    assert.equal(mapped.code, 0, mapped.stderr);
    assert.equal(await roleOf(acme, erin), 'viewer');
    const shown = await runCli(gw, ['scim', 'show', '--org', 'acme', '--json']);
    assert.ok((JSON.parse(shown.stdout) as { roleMappings: { idpGroup: string }[] }).roleMappings.some((m) => m.idpGroup === 'Sales'));

    const issued = await runCli(gw, ['scim', 'token', '--org', 'acme']);
    assert.equal(issued.code, 0, issued.stderr);
    const token = /gths_[0-9A-Za-z]{49}/.exec(issued.stdout)?.[0] ?? '';
    assert.equal((await scim(gw, token, 'GET', '/Users')).status, 200);
    assert.equal((await scim(gw, acmeToken, 'GET', '/Users')).status, 401, 'the previous token stops working at once');
    assert.ok(!(await runCli(gw, ['scim', 'show', '--org', 'acme'])).stdout.includes(token.slice(5)));
    assert.equal((await runCli(gw, ['scim', 'revoke', '--org', 'acme'])).code, 0);
    assert.equal((await scim(gw, token, 'GET', '/Users')).status, 401);
  });
});
