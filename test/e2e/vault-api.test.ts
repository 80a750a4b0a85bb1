// The vault's status in the admin API, the organisation's own part only: its owners read the provider's kind, the KEK
// version and its own data key versions with how many secrets each seals; nothing of another organisation's keys
// and nothing of the host's provider settings; every other role is refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, makeOrg, type TestOrg } from './admin-client.ts';
import { startGateway, type Gateway } from './harness.ts';

interface Status {
  provider: string;
  kekVersion: number;
  dataKeys: { version: number; state: string; kekVersion: number; secrets: number }[];
  legacySecrets: number;
}

describe('admin API: vault status for owners', () => {
  let gw: Gateway;
  let acme: TestOrg;
  let globex: TestOrg;

  before(async () => {
    gw = await startGateway();
    acme = await makeOrg(gw, 'acme');
    globex = await makeOrg(gw, 'globex');
    const secret = (name: string) => ({ type: 'http', name, url: 'http://127.0.0.1:9/mcp', headers: [{ name: 'Authorization', value: 'Bearer s3cret-value-1234', secret: true }] });
    for (const [org, names] of [[acme, ['one', 'two']], [globex, ['three']]] as const) {
      for (const name of names) {
        const added = await api(gw, org.ownerKey, 'POST', '/connectors', secret(name));
        assert.equal(added.status, 201, added.text);
      }
    }
  });
  after(async () => {
    await gw.close();
  });

  test('an owner sees the provider kind, the KEK version and its own data keys with the secrets each seals', async () => {
    const res = await api(gw, acme.people.owner.key, 'GET', '/vault');
    assert.equal(res.status, 200, res.text);
    const s = res.body as Status;
    assert.equal(s.provider, 'local');
    assert.equal(s.kekVersion, 1);
    assert.equal(s.dataKeys.length, 1);
    assert.deepEqual([s.dataKeys[0]?.state, s.dataKeys[0]?.secrets, s.dataKeys[0]?.kekVersion], ['active', 2, 1]);
    assert.equal(s.legacySecrets, 0);
    assert.doesNotMatch(res.text, /master key|derived|s3cret/i, 'no provider settings, no secret');
    const other = (await api(gw, globex.people.owner.key, 'GET', '/vault')).body as Status;
    assert.equal(other.dataKeys[0]?.secrets, 1, 'each organisation counts its own secrets only');
  });

  test('admins, members and viewers are refused', async () => {
    for (const role of ['admin', 'member', 'viewer'] as const) {
      const res = await api(gw, acme.people[role].key, 'GET', '/vault');
      assert.equal(res.status, 403, `${role}: ${res.text}`);
    }
  });
});
