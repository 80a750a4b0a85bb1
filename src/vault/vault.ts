import { randomBytes } from 'node:crypto';
import { GatehouseError } from '../errors.ts';
import type { DataKeyRecord, KekState, VaultStore } from '../store/vault-types.ts';
import { DataKeyCache } from './data-key-cache.ts';
import { isEnvelope, openEnvelope, parseEnvelope, sealEnvelope } from './envelope.ts';
import type { KeyProvider } from './key-provider.ts';
import type { SecretBox } from './secret-box.ts';

export interface VaultDeps {
  readonly store: VaultStore;
  readonly provider: KeyProvider;
  /** The single-key box that sealed connector secrets before the vault: its v1 ciphertexts still open. */
  readonly legacy: SecretBox;
  readonly cacheSize: number;
  readonly cacheMs: number;
  readonly now?: () => number;
}

export interface Progress {
  (done: number, total: number): void;
}

const DATA_KEY_BYTES = 32;

function wrapAad(orgId: string, version: number): string {
  return `gatehouse/data-key\n${orgId}\n${version}`;
}

/** Why a credential does not open, for the client: never which key or what the provider said (that is the cause). */
function unavailable(cause: unknown): GatehouseError {
  if (cause instanceof GatehouseError && cause.code === 'credential_unavailable') return cause;
  return new GatehouseError('credential_unavailable', 'A stored credential cannot be opened', { cause });
}

/**
 * Envelope encryption of secrets: each organisation has its own AES-256-GCM data key, wrapped by the key
 * provider's current KEK; ciphertexts name the data key version that sealed them (envelope.ts). Opening looks the
 * data key up in a bounded in-memory cache first, so the data path costs an AES-GCM decryption per value and, on a
 * miss only, one store read and one provider unwrap (concurrent misses share one).
 */
export class Vault {
  readonly provider: KeyProvider;
  readonly #deps: VaultDeps;
  readonly #cache: DataKeyCache;
  readonly #pending = new Map<string, Promise<Buffer>>();

  constructor(deps: VaultDeps) {
    this.#deps = deps;
    this.provider = deps.provider;
    this.#cache = new DataKeyCache(deps.cacheSize, deps.cacheMs, deps.now);
  }

  /** Seals under the organisation's active data key (created on first use). */
  async seal(orgId: string, plaintext: string, binding: string): Promise<string> {
    const active = await this.activeDataKey(orgId);
    const key = await this.#dataKey(active);
    return sealEnvelope(key, orgId, active.version, plaintext, binding);
  }

  /** Opens a v2 ciphertext under its data key version, or a v1 one under the old single key. */
  async open(orgId: string, sealed: string, binding: string): Promise<string> {
    try {
      if (!isEnvelope(sealed)) return this.#deps.legacy.open(sealed, binding);
      const e = parseEnvelope(sealed);
      if (e === undefined) throw new Error('unreadable ciphertext');
      const key = this.#cache.get(cacheId(orgId, e.version)) ?? (await this.#loadDataKey(orgId, e.version));
      return openEnvelope(key, orgId, e, binding);
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** The organisation's active data key record, creating version 1 (wrapped under the current KEK) if it has none. */
  async activeDataKey(orgId: string): Promise<DataKeyRecord> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const keys = await this.#deps.store.listDataKeys(orgId);
      const active = keys.find((k) => k.state === 'active');
      if (active !== undefined) return active;
      if (keys.length > 0) throw new GatehouseError('credential_unavailable', 'The organisation has no active data key');
      const created = await this.#newDataKey(orgId, 1);
      if (await this.#deps.store.insertFirstDataKey(created.record)) {
        this.#cache.set(cacheId(orgId, 1), created.key);
        return created.record;
      }
    }
    throw new GatehouseError('credential_unavailable', 'Cannot create the organisation\'s data key');
  }

  async #newDataKey(orgId: string, version: number): Promise<{ record: DataKeyRecord; key: Buffer }> {
    const kek = await this.currentKek();
    const key = randomBytes(DATA_KEY_BYTES);
    const wrapped = await this.provider.wrap(key, kek.kekVersion, wrapAad(orgId, version));
    return {
      key,
      record: { orgId, version, state: 'active', provider: this.provider.id, kekVersion: kek.kekVersion, wrapped: wrapped.toString('base64'), createdAt: new Date().toISOString() },
    };
  }

  /** The current KEK version, recording version 1 of this provider on first use. */
  async currentKek(): Promise<KekState> {
    const state = await this.#deps.store.getKekState();
    if (state !== undefined) {
      if (state.provider !== this.provider.id) {
        throw new GatehouseError('key_provider_unavailable', `The data keys are wrapped by the '${state.provider}' provider, not the configured '${this.provider.id}'`);
      }
      return state;
    }
    await this.provider.createKek(1);
    const first = { provider: this.provider.id, kekVersion: 1 };
    if (await this.#deps.store.setKekState(first, undefined)) return first;
    return this.currentKek();
  }

  /** Retires the active data key and makes a new version active: what rotate-dek seals under from then on. */
  async rotateDataKey(orgId: string): Promise<DataKeyRecord> {
    const active = await this.activeDataKey(orgId);
    const next = await this.#newDataKey(orgId, active.version + 1);
    if (!(await this.#deps.store.rotateDataKey(orgId, active.version, next.record))) {
      throw new GatehouseError('conflict', 'The data key was rotated by someone else meanwhile; run the command again');
    }
    this.#cache.set(cacheId(orgId, next.record.version), next.key);
    return next.record;
  }

  /**
   * Re-wraps every data key under a new KEK version, or finishes a run that stopped (some keys still under an older
   * version: those are re-wrapped, and no new version is made). Data keys themselves do not change, so nothing any
   * replica has cached or sealed stops opening.
   */
  async rotateKek(progress?: Progress): Promise<{ from: number; to: number; rewrapped: number; resumed: boolean }> {
    const state = await this.currentKek();
    const behind = (await this.#deps.store.listDataKeys()).filter((k) => k.kekVersion < state.kekVersion);
    let target = state.kekVersion;
    const resumed = behind.length > 0;
    if (!resumed) {
      target = state.kekVersion + 1;
      await this.provider.createKek(target);
      if (!(await this.#deps.store.setKekState({ provider: this.provider.id, kekVersion: target }, state.kekVersion))) {
        throw new GatehouseError('conflict', 'The key-encryption key was rotated by someone else meanwhile; run the command again');
      }
    }
    let rewrapped = 0;
    // Keys created while this runs were wrapped by whatever version their creator read: look again until none is behind.
    for (;;) {
      const todo = (await this.#deps.store.listDataKeys()).filter((k) => k.kekVersion < target);
      if (todo.length === 0) break;
      for (const [i, k] of todo.entries()) {
        await this.#refuseDestroyed(k.kekVersion);
        const key = await this.provider.unwrap(Buffer.from(k.wrapped, 'base64'), k.kekVersion, wrapAad(k.orgId, k.version));
        const wrapped = await this.provider.wrap(key, target, wrapAad(k.orgId, k.version));
        key.fill(0);
        if (await this.#deps.store.rewrapDataKey(k.orgId, k.version, k.kekVersion, this.provider.id, target, wrapped.toString('base64'))) rewrapped++;
        progress?.(i + 1, todo.length);
      }
    }
    return { from: resumed ? Math.min(...behind.map((k) => k.kekVersion)) : state.kekVersion, to: target, rewrapped, resumed };
  }

  /**
   * Destroys KEK `version` for good: refused while it is the current version, while any data key is still wrapped
   * under it (finish `vault rotate-kek` first), or when it never existed. The store records it first (in the same
   * step as those checks), so from then on no replica unwraps under it; then the provider destroys it where it holds
   * it. Running it again for a recorded version retries the provider's part.
   */
  async destroyKek(version: number): Promise<{ version: number; already: boolean }> {
    const state = await this.currentKek();
    if (!Number.isInteger(version) || version < 1 || version > state.kekVersion) {
      throw new GatehouseError('not_found', `There is no key-encryption key version ${version} (the current version is ${state.kekVersion})`);
    }
    if (version === state.kekVersion) throw new GatehouseError('conflict', `KEK version ${version} is the current version: rotate it first (vault rotate-kek)`);
    let already = (await this.#deps.store.listDestroyedKeks(this.provider.id)).includes(version);
    if (!already) {
      const wrapped = (await this.#deps.store.listDataKeys()).filter((k) => k.provider === this.provider.id && k.kekVersion === version).length;
      if (wrapped > 0) {
        throw new GatehouseError('conflict', `${wrapped} data key${wrapped === 1 ? ' is' : 's are'} still wrapped under KEK version ${version}: finish re-wrapping them first (vault rotate-kek)`);
      }
      if (!(await this.#deps.store.recordDestroyedKek(this.provider.id, version, new Date().toISOString()))) {
        // Another run recorded it first: the same outcome. Otherwise a data key was wrapped under it meanwhile.
        already = (await this.#deps.store.listDestroyedKeks(this.provider.id)).includes(version);
        if (!already) throw new GatehouseError('conflict', `KEK version ${version} came into use meanwhile (a data key was wrapped under it); run vault rotate-kek, then again`);
      }
    }
    await this.provider.destroyKek(version);
    return { version, already };
  }

  /** The KEK versions of this provider that were destroyed. */
  destroyedKeks(): Promise<number[]> {
    return this.#deps.store.listDestroyedKeks(this.provider.id);
  }

  async #refuseDestroyed(kekVersion: number): Promise<void> {
    if ((await this.#deps.store.listDestroyedKeks(this.provider.id)).includes(kekVersion)) {
      throw new GatehouseError('key_provider_unavailable', `The data key is wrapped under key-encryption key version ${kekVersion}, which was destroyed (vault destroy-kek)`);
    }
  }

  /** Deletes a retired data key version (the caller checked that nothing refers to it). */
  async dropDataKey(orgId: string, version: number): Promise<boolean> {
    return this.#deps.store.deleteRetiredDataKey(orgId, version);
  }

  listDataKeys(orgId?: string): Promise<DataKeyRecord[]> {
    return this.#deps.store.listDataKeys(orgId);
  }

  async #dataKey(record: DataKeyRecord): Promise<Buffer> {
    return this.#cache.get(cacheId(record.orgId, record.version)) ?? this.#unwrap(record);
  }

  #loadDataKey(orgId: string, version: number): Promise<Buffer> {
    const id = cacheId(orgId, version);
    let p = this.#pending.get(id);
    if (p === undefined) {
      p = (async () => {
        const record = await this.#deps.store.getDataKey(orgId, version);
        if (record === undefined) throw new GatehouseError('credential_unavailable', 'A stored credential names a data key that no longer exists');
        return this.#unwrap(record);
      })().finally(() => this.#pending.delete(id));
      this.#pending.set(id, p);
    }
    return p;
  }

  async #unwrap(record: DataKeyRecord): Promise<Buffer> {
    if (record.provider !== this.provider.id) {
      throw new GatehouseError('credential_unavailable', `The data key is wrapped by the '${record.provider}' provider, not the configured '${this.provider.id}'`);
    }
    await this.#refuseDestroyed(record.kekVersion);
    const key = await this.provider.unwrap(Buffer.from(record.wrapped, 'base64'), record.kekVersion, wrapAad(record.orgId, record.version));
    if (key.length !== DATA_KEY_BYTES) throw new GatehouseError('credential_unavailable', 'A data key unwrapped to the wrong length');
    this.#cache.set(cacheId(record.orgId, record.version), key);
    return key;
  }

  close(): Promise<void> {
    this.#cache.clear();
    return this.provider.close();
  }
}

function cacheId(orgId: string, version: number): string {
  return `${orgId}/${version}`;
}
