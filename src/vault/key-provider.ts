import { GatehouseError } from '../errors.ts';

/**
 * Who holds the key-encryption keys (KEKs) that wrap the organisations' data keys. A KEK has a version: data keys
 * name the version that wrapped them, so after `vault rotate-kek` old and new versions unwrap side by side until
 * every data key is re-wrapped. `aad` binds a wrapped data key to its organisation and version, so a wrapped key
 * copied to another row does not unwrap. The KEK never leaves the provider: only wrapped data keys do.
 */
export interface KeyProvider {
  /** `local` or `pkcs11`: stored beside each wrapped data key. */
  readonly id: string;
  /** What the operator sees in `vault status` (never key material). */
  describe(): string;
  /** Makes KEK `version` exist (the token generates it; the local provider derives it): rotate-kek's first step. */
  createKek(version: number): Promise<void>;
  /**
   * Destroys KEK `version` where the provider holds it (the token deletes the object); nothing to do when it is gone
   * already, or for a provider that derives its KEKs (the vault's record of destroyed versions keeps those unused).
   */
  destroyKek(version: number): Promise<void>;
  wrap(dataKey: Buffer, kekVersion: number, aad: string): Promise<Buffer>;
  unwrap(wrapped: Buffer, kekVersion: number, aad: string): Promise<Buffer>;
  close(): Promise<void>;
}

/** A provider failure as the vault reports it: its code and a message without the provider's own words. */
export function providerFailed(what: string, cause: unknown): GatehouseError {
  return new GatehouseError('key_provider_unavailable', `The key provider cannot ${what}`, { cause });
}
