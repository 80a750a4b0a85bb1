/** The key providers the vault contract suite (src/vault/vault.test.ts) runs on, each on both store dialects. */
import { randomBytes } from 'node:crypto';
import { after, before, describe } from 'node:test';
import type { Store } from '../../src/store/types.ts';
import type { KeyProvider } from '../../src/vault/key-provider.ts';
import { LocalKeyProvider } from '../../src/vault/local-provider.ts';
import { MasterKey } from '../../src/vault/master-key.ts';
import { Pkcs11KeyProvider } from '../../src/vault/pkcs11-provider.ts';
import { SecretBox } from '../../src/vault/secret-box.ts';
import { Vault } from '../../src/vault/vault.ts';
import { createSoftHsm, type SoftHsm } from './softhsm.ts';
import { orgA, orgB, postgresFixture, sqliteFixture, type Fixture } from './store-contract.ts';

/** A provider under test: the working one, and one that cannot unwrap what the working one wrapped. */
export interface ProviderFixture {
  readonly name: 'local' | 'pkcs11';
  /** A working provider; each call gives a new instance over the same keys (a second replica, a restarted one). */
  provider(): KeyProvider;
  /** The same keys made unreachable: another master key, or the right token with the wrong PIN. */
  broken(): KeyProvider;
}

export interface VaultWorld {
  readonly fixture: ProviderFixture;
  readonly store: Store;
  readonly other: Store;
  /** The legacy (v1) box of this world: what sealed connector secrets before the vault. */
  readonly legacy: SecretBox;
  /** A vault over `store` (or `other`) with a cold cache. */
  vault(options?: { store?: Store; provider?: KeyProvider; cacheMs?: number; now?: () => number }): Vault;
}

let hsm: SoftHsm | undefined;
/** One token for the whole file, made before the library is first loaded (SoftHSM reads its configuration once). */
export function softHsm(): SoftHsm {
  hsm ??= createSoftHsm();
  return hsm;
}

function providerFixtures(dialect: string): ProviderFixture[] {
  const master = MasterKey.fromBytes(randomBytes(32));
  const h = softHsm();
  // Each dialect's database gets its own key label on the shared token: their KEK versions move independently.
  const settings = { library: h.library, tokenLabel: h.tokenLabel, keyLabel: `kek-${dialect}-${randomBytes(3).toString('hex')}` };
  return [
    { name: 'local', provider: () => new LocalKeyProvider(master), broken: () => new LocalKeyProvider(MasterKey.fromBytes(randomBytes(32))) },
    {
      name: 'pkcs11',
      provider: () => new Pkcs11KeyProvider({ ...settings, pin: { reveal: () => h.pin } }),
      broken: () => new Pkcs11KeyProvider({ ...settings, pin: { reveal: () => 'not-the-pin' } }),
    },
  ];
}

/**
 * Runs `body` for every provider on every dialect (four times), each on a database of its own: two stores opened
 * and migrated, orgA and orgB created (store-contract's fixtures); a provider over fresh keys; vaults opened on
 * demand. Closed and removed afterwards.
 */
export function forEachVault(what: string, body: (world: VaultWorld) => void): void {
  for (const [dialect, makeFixture] of [['SqliteStore', sqliteFixture], ['PostgresStore', postgresFixture]] as const) {
    for (const fixture of providerFixtures(dialect)) {
      void describe(`vault ${what} (${fixture.name} provider, ${dialect})`, () => {
        const legacy = new SecretBox(randomBytes(32));
        const db = {} as { fixture: Fixture; store: Store; other: Store };
        before(async () => {
          db.fixture = makeFixture();
          db.store = db.fixture.open();
          db.other = db.fixture.open();
          await db.store.migrate();
          await db.other.migrate();
          await db.store.createOrganisation(orgA);
          await db.store.createOrganisation(orgB);
        });
        after(async () => {
          await Promise.all([db.store.close(), db.other.close()]);
          await db.fixture.cleanup();
        });
        body({
          fixture,
          legacy,
          get store() {
            return db.store;
          },
          get other() {
            return db.other;
          },
          vault: (o = {}) =>
            new Vault({
              store: (o.store ?? db.store).vault,
              provider: o.provider ?? fixture.provider(),
              legacy,
              cacheSize: 100,
              cacheMs: o.cacheMs ?? 60_000,
              ...(o.now === undefined ? {} : { now: o.now }),
            }),
        });
      });
    }
  }
}
