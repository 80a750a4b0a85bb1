import { randomBytes } from 'node:crypto';
import type { VaultStore } from '../store/vault-types.ts';
import { LocalKeyProvider } from './local-provider.ts';
import { MasterKey } from './master-key.ts';
import { SecretBox } from './secret-box.ts';
import { Vault } from './vault.ts';

/** A vault with the local provider under a fresh random master key, over a real store (for service unit tests). */
export function testVault(store: { readonly vault: VaultStore }): Vault {
  const master = MasterKey.fromBytes(randomBytes(32));
  return new Vault({ store: store.vault, provider: new LocalKeyProvider(master), legacy: new SecretBox(master.derive('connector-secrets/v1')), cacheSize: 100, cacheMs: 60_000 });
}
