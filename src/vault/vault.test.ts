// The vault contract: every key provider (local, PKCS#11 on SoftHSM2) on both store dialects gets the same tests.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { GatehouseError } from '../errors.ts';
import { secretBinding } from '../gateway/upstream/credentials.ts';
import { destroyKek, rotateDek, resealOrganisation } from '../services/vault.ts';
import { operatorActor, type ServiceContext } from '../services/context.ts';
import { createAuditLog } from '../gateway/audit/audit-log.ts';
import type { ConnectorRecord } from '../store/types.ts';
import { orgA, orgB, T0, T1 } from '../../test/support/store-contract.ts';
import { forEachVault } from '../../test/support/vault-contract.ts';
import { envelopeVersion } from './envelope.ts';
import type { KeyProvider } from './key-provider.ts';
import pino from 'pino';

const unavailable = (e: unknown) => e instanceof GatehouseError && e.code === 'credential_unavailable' && !/s3cret|hunter2|tok-/.test(e.message);

/** Counts what reaches the provider: the data path must not. */
function counting(inner: KeyProvider): KeyProvider & { unwraps: number } {
  const p = {
    id: inner.id,
    unwraps: 0,
    describe: () => inner.describe(),
    createKek: (v: number) => inner.createKek(v),
    destroyKek: (v: number) => inner.destroyKek(v),
    wrap: (k: Buffer, v: number, aad: string) => inner.wrap(k, v, aad),
    unwrap: (w: Buffer, v: number, aad: string) => {
      p.unwraps++;
      return inner.unwrap(w, v, aad);
    },
    close: () => inner.close(),
  };
  return p;
}

async function httpConnector(vault: { seal(o: string, p: string, b: string): Promise<string> }, id: string, orgId: string, token: string, legacy?: (p: string, b: string) => string): Promise<ConnectorRecord> {
  const binding = secretBinding(orgId, id, 'header', 'Authorization');
  return {
    id, orgId, name: id.replace(/_/g, '-'), createdAt: T0, updatedAt: T1,
    transport: {
      type: 'http', url: 'https://upstream.example/mcp',
      headers: [{ name: 'X-Plain', secret: false, value: 'plain' }, { name: 'Authorization', secret: true, ciphertext: legacy ? legacy(token, binding) : await vault.seal(orgId, token, binding) }],
    },
  };
}

function ciphertextOf(c: ConnectorRecord | undefined): string {
  const values = c?.transport.type === 'http' ? c.transport.headers : [];
  for (const v of values) if (v.secret) return v.ciphertext;
  throw new Error('no secret header');
}

forEachVault('contract', (w) => {
  void it('seals under the organisation\'s own data key, bound to organisation, version and field', async () => {
    const vault = w.vault();
    const b = secretBinding(orgA.id, 'con_1', 'header', 'Authorization');
    const sealed = await vault.seal(orgA.id, 'Bearer s3cret-token', b);
    assert.match(sealed, /^v2\.1\./);
    assert.ok(!sealed.includes('s3cret'));
    assert.equal(await vault.open(orgA.id, sealed, b), 'Bearer s3cret-token');
    // Another replica, with nothing cached, opens it from the store and the provider.
    assert.equal(await w.vault({ store: w.other }).open(orgA.id, sealed, b), 'Bearer s3cret-token');
    await assert.rejects(vault.open(orgA.id, sealed, secretBinding(orgA.id, 'con_2', 'header', 'Authorization')), unavailable, 'moved to another row');
    await assert.rejects(vault.open(orgA.id, sealed, secretBinding(orgA.id, 'con_1', 'header', 'X-Other')), unavailable, 'moved to another field');
    await assert.rejects(vault.open(orgB.id, sealed, b), unavailable, 'moved to another organisation');
    const relabelled = sealed.replace(/^v2\.1\./, 'v2.2.');
    await assert.rejects(vault.open(orgA.id, relabelled, b), unavailable, 'a version that does not exist');
    const parts = sealed.split('.');
    const ct = Buffer.from(parts[3] ?? '', 'base64url');
    ct[0] = (ct[0] ?? 0) ^ 1;
    parts[3] = ct.toString('base64url');
    await assert.rejects(vault.open(orgA.id, parts.join('.'), b), unavailable, 'tampered');
    await assert.rejects(vault.open(orgA.id, 'v2.x.y', b), unavailable, 'unreadable');
    const keysA = await vault.listDataKeys(orgA.id);
    const sealedB = await vault.seal(orgB.id, 'other', 'x');
    assert.equal(keysA.length, 1);
    assert.equal((await vault.listDataKeys(orgB.id)).length, 1);
    assert.notEqual((await vault.listDataKeys(orgB.id))[0]?.wrapped, keysA[0]?.wrapped);
    assert.equal(await vault.open(orgB.id, sealedB, 'x'), 'other');
    assert.equal(keysA[0]?.provider, w.fixture.name);
  });

  void it('asks the provider once per data key, not per open; concurrent first uses create one key', async () => {
    const provider = counting(w.fixture.provider());
    const vault = w.vault({ provider });
    const sealed = await w.vault().seal(orgA.id, 'hunter2-hunter2', 'f');
    await Promise.all(Array.from({ length: 20 }, () => vault.open(orgA.id, sealed, 'f')));
    assert.equal(provider.unwraps, 1);
    for (let i = 0; i < 50; i++) assert.equal(await vault.open(orgA.id, sealed, 'f'), 'hunter2-hunter2');
    assert.equal(provider.unwraps, 1);
    // The cache ages: after its time the provider is asked again.
    let now = 0;
    const aging = counting(w.fixture.provider());
    const aged = w.vault({ provider: aging, cacheMs: 1000, now: () => now });
    await aged.open(orgA.id, sealed, 'f');
    now = 1500;
    await aged.open(orgA.id, sealed, 'f');
    assert.equal(aging.unwraps, 2);
    const orgC = { ...orgA, id: 'org_c', slug: 'initech' };
    await w.store.createOrganisation(orgC);
    await Promise.all([w.vault().seal(orgC.id, 'a', 'f'), w.vault({ store: w.other }).seal(orgC.id, 'b', 'f'), w.vault().seal(orgC.id, 'c', 'f')]);
    assert.equal((await w.vault().listDataKeys(orgC.id)).length, 1);
  });

  void it('a provider that cannot unwrap fails the open with credential_unavailable, and caches nothing', async () => {
    const sealed = await w.vault().seal(orgA.id, 'tok-abcdefgh', 'f');
    const broken = w.vault({ provider: w.fixture.broken() });
    await assert.rejects(broken.open(orgA.id, sealed, 'f'), unavailable);
    await assert.rejects(broken.open(orgA.id, sealed, 'f'), unavailable);
    assert.equal(await w.vault().open(orgA.id, sealed, 'f'), 'tok-abcdefgh');
  });

  void it('v1 ciphertexts (before the vault) open and are resealed under the data key, keeping updated_at', async () => {
    const vault = w.vault();
    const c = await httpConnector(vault, 'con_legacy', orgA.id, 'Bearer tok-legacy', (p, b) => w.legacy.seal(p, b));
    await w.store.insertConnector(c);
    assert.match(ciphertextOf(c), /^v1\./);
    const b = secretBinding(orgA.id, c.id, 'header', 'Authorization');
    assert.equal(await vault.open(orgA.id, ciphertextOf(c), b), 'Bearer tok-legacy');
    const active = await vault.activeDataKey(orgA.id);
    assert.equal(await resealOrganisation({ store: w.store, vault }, orgA.id, active.version), 1);
    const after = await w.store.getConnector(orgA.id, c.id);
    assert.equal(envelopeVersion(ciphertextOf(after)), active.version);
    assert.equal(after?.updatedAt, c.updatedAt);
    assert.equal(await w.vault({ store: w.other }).open(orgA.id, ciphertextOf(after), b), 'Bearer tok-legacy');
  });

  void it('a reseal never overwrites a connector changed meanwhile', async () => {
    const vault = w.vault();
    const c = await httpConnector(vault, 'con_race', orgA.id, 'Bearer tok-race');
    await w.store.insertConnector(c);
    const changed = { ...c, transport: { ...c.transport, url: 'https://changed.example/mcp' } } as ConnectorRecord;
    await w.store.updateConnector(changed);
    assert.equal(await w.store.vault.resealConnector(orgA.id, c.id, JSON.stringify(c.transport), JSON.stringify(c.transport)), false);
    const stored = (await w.store.getConnector(orgA.id, c.id))?.transport;
    assert.equal(stored?.type === 'http' ? stored.url : undefined, 'https://changed.example/mcp');
  });

  void it('rotate-kek re-wraps every data key; sealed secrets still open on a cold replica; a stopped run is resumed', async () => {
    const vault = w.vault();
    const sealedA = await vault.seal(orgA.id, 'tok-kek-a', 'f');
    const sealedB = await vault.seal(orgB.id, 'tok-kek-b', 'f');
    const before = await vault.currentKek();
    const steps: number[] = [];
    const r = await vault.rotateKek((done) => steps.push(done));
    assert.equal(r.to, before.kekVersion + 1);
    assert.equal(r.resumed, false);
    assert.ok(r.rewrapped >= 2 && steps.length === r.rewrapped);
    assert.ok((await vault.listDataKeys()).every((k) => k.kekVersion === r.to));
    const cold = w.vault({ store: w.other });
    assert.equal(await cold.open(orgA.id, sealedA, 'f'), 'tok-kek-a');
    assert.equal(await cold.open(orgB.id, sealedB, 'f'), 'tok-kek-b');
    assert.equal(await vault.open(orgA.id, sealedA, 'f'), 'tok-kek-a', 'the replica that cached the key still opens');
    // A run that stopped after moving the version and before re-wrapping (simulated: the version moves, no key does).
    await w.fixture.provider().createKek(r.to + 1);
    assert.equal(await w.store.vault.setKekState({ provider: w.fixture.name, kekVersion: r.to + 1 }, r.to), true);
    await assert.doesNotReject(w.vault().open(orgA.id, sealedA, 'f'), 'keys under the older version still open meanwhile');
    const resumed = await w.vault().rotateKek();
    assert.deepEqual({ resumed: resumed.resumed, to: resumed.to }, { resumed: true, to: r.to + 1 });
    assert.equal((await w.vault().currentKek()).kekVersion, r.to + 1, 'resuming makes no new version');
    assert.equal(await w.vault({ store: w.other }).open(orgB.id, sealedB, 'f'), 'tok-kek-b');
  });

  void it('rotate-dek reseals one organisation under a new version; the old stays readable until the next rotation', async () => {
    const vault = w.vault();
    const ctx = { store: w.store, vault, audit: createAuditLog({ store: w.store, log: pino({ level: 'silent' }) }) } as unknown as ServiceContext & { vault: typeof vault };
    const c = await httpConnector(vault, 'con_dek', orgB.id, 'Bearer tok-dek');
    await w.store.insertConnector(c);
    const before = await vault.activeDataKey(orgB.id);
    const oldSealed = ciphertextOf(c);
    const r = await rotateDek(ctx, operatorActor('test'), orgB.id);
    assert.deepEqual({ from: r.from, to: r.to, resumed: r.resumed }, { from: before.version, to: before.version + 1, resumed: false });
    assert.ok(r.resealed >= 1);
    const now = await w.store.getConnector(orgB.id, c.id);
    assert.equal(envelopeVersion(ciphertextOf(now)), r.to);
    const b = secretBinding(orgB.id, c.id, 'header', 'Authorization');
    assert.equal(await w.vault({ store: w.other }).open(orgB.id, oldSealed, b), 'Bearer tok-dek', 'a replica holding the old record still opens it');
    assert.equal((await vault.listDataKeys(orgB.id)).find((k) => k.version === before.version)?.state, 'retired');
    // A run that stopped after the new version was made: the next run reseals without making another.
    const stale = { ...c, id: 'con_dek2', name: 'con-dek2', transport: { ...c.transport, headers: [{ name: 'Authorization', secret: true as const, ciphertext: await w.vault().seal(orgB.id, 'x', secretBinding(orgB.id, 'con_dek2', 'header', 'Authorization')) }] } } as ConnectorRecord;
    await vault.rotateDataKey(orgB.id);
    await w.store.insertConnector(stale);
    const resumed = await rotateDek(ctx, operatorActor('test'), orgB.id);
    assert.deepEqual({ resumed: resumed.resumed, to: resumed.to }, { resumed: true, to: r.to + 1 });
    assert.ok(resumed.deleted.includes(before.version), 'the version retired by the previous run is gone');
    assert.ok((await vault.listDataKeys(orgB.id)).some((k) => k.version === r.to), 'the one retired by this run stays');
    const audit = await w.store.listAudit(orgB.id, 0, 1000);
    assert.equal(audit.filter((e) => e.action === 'vault.rotate_dek').length, 2);
    assert.ok(!audit.some((e) => /tok-dek/.test(JSON.stringify(e))));
  });

  void it('destroy-kek: refused for the current version, one never made, or one a data key is still under; then never used again', async () => {
    const vault = w.vault();
    const ctx = { store: w.store, vault, audit: createAuditLog({ store: w.store, log: pino({ level: 'silent' }) }) } as unknown as ServiceContext & { vault: typeof vault };
    const sealed = await vault.seal(orgA.id, 'tok-destroy', 'f');
    const { kekVersion: current } = await vault.currentKek();
    const code = (c: string, message: RegExp) => (e: unknown) => e instanceof GatehouseError && e.code === c && message.test(e.message);
    await assert.rejects(destroyKek(ctx, operatorActor('test'), current), code('conflict', /is the current version/));
    await assert.rejects(destroyKek(ctx, operatorActor('test'), current + 1), code('not_found', /no key-encryption key version/));
    await assert.rejects(destroyKek(ctx, operatorActor('test'), 0), code('not_found', /no key-encryption key version/));
    await assert.rejects(destroyKek(ctx, { ...operatorActor('test'), role: 'owner', orgId: orgA.id }, 1), code('forbidden', /vault\.destroy_kek/), 'the operator only');

    // A rotate-kek that stopped after moving the version: the data keys are still under the old one, which stays.
    const next = current + 1;
    await w.fixture.provider().createKek(next);
    assert.equal(await w.store.vault.setKekState({ provider: w.fixture.name, kekVersion: next }, current), true);
    const before = (await vault.listDataKeys()).filter((k) => k.kekVersion === current);
    assert.ok(before.length >= 2);
    await assert.rejects(destroyKek(ctx, operatorActor('test'), current), code('conflict', new RegExp(`${before.length} data keys are still wrapped under KEK version ${current}`)));
    assert.equal(await w.store.vault.recordDestroyedKek(w.fixture.name, current, T1), false, 'the store refuses it too, in the same step as its write');
    assert.equal(await w.store.vault.recordDestroyedKek(w.fixture.name, next, T1), false, 'and the current version');
    assert.deepEqual(await vault.destroyedKeks(), []);

    await vault.rotateKek();
    assert.deepEqual(await destroyKek(ctx, operatorActor('test'), current), { version: current, already: false });
    assert.deepEqual(await w.vault({ store: w.other }).destroyedKeks(), [current], 'every replica sees it');
    assert.deepEqual(await destroyKek(ctx, operatorActor('test'), current), { version: current, already: true }, 'again: the same outcome');
    assert.equal(await w.vault({ store: w.other }).open(orgA.id, sealed, 'f'), 'tok-destroy', 'what was re-wrapped opens on a cold replica');
    const audit = await w.store.listAudit(orgA.id, 0, 1000);
    assert.equal(audit.filter((e) => e.action === 'vault.destroy_kek' && e.targetName === `kek/v${current}`).length, 2);

    // A data key wrapped under the destroyed version (a restored backup) is refused by the vault with a clear cause.
    const old = before.find((k) => k.orgId === orgA.id);
    assert.ok(old !== undefined);
    assert.equal(await w.store.vault.rewrapDataKey(old.orgId, old.version, next, old.provider, current, old.wrapped), true);
    const refused = await w.vault({ store: w.other }).open(orgA.id, sealed, 'f').then(() => undefined, (e: unknown) => e);
    assert.ok(unavailable(refused), String(refused));
    assert.match(String((refused as Error).cause), /version \d+, which was destroyed \(vault destroy-kek\)/);
    await assert.rejects(w.vault().rotateKek(), /which was destroyed/, 'rotate-kek cannot re-wrap it either');
    if (w.fixture.name === 'pkcs11') {
      // The token no longer holds it: even a provider asked directly cannot unwrap under it.
      await assert.rejects(w.fixture.provider().unwrap(Buffer.from(old.wrapped, 'base64'), current, `gatehouse/data-key\n${old.orgId}\n${old.version}`), /holds no key-encryption key/);
    }
  });
});
