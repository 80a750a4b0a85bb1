import type { Config } from '../config/schema.ts';
import type { VaultStore } from '../store/vault-types.ts';
import type { KeyProvider } from './key-provider.ts';
import { LocalKeyProvider } from './local-provider.ts';
import type { MasterKey } from './master-key.ts';
import { Pkcs11KeyProvider, pkcs11Settings } from './pkcs11-provider.ts';
import type { SecretBox } from './secret-box.ts';
import { Vault } from './vault.ts';

export function createKeyProvider(config: Config, master: MasterKey): KeyProvider {
  return config.vaultProvider === 'pkcs11' ? new Pkcs11KeyProvider(pkcs11Settings(config)) : new LocalKeyProvider(master);
}

/** The vault as configured: its provider (GATEHOUSE_VAULT_PROVIDER) and its data key cache. Nothing is asked of the provider yet. */
export function createVault(config: Config, master: MasterKey, store: VaultStore, legacy: SecretBox): Vault {
  return new Vault({ store, provider: createKeyProvider(config, master), legacy, cacheSize: config.vaultKeyCacheSize, cacheMs: config.vaultKeyCacheSeconds * 1000 });
}
