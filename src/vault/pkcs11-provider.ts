import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Pkcs11Module from 'pkcs11js';
import type { Config } from '../config/schema.ts';
import { GatehouseError } from '../errors.ts';
import { providerFailed, type KeyProvider } from './key-provider.ts';

type Pkcs11 = typeof Pkcs11Module;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface Pkcs11Settings {
  readonly library: string;
  readonly tokenLabel: string;
  readonly pin: { reveal(): string };
  readonly keyLabel: string;
}

export function pkcs11Settings(config: Pick<Config, 'pkcs11Library' | 'pkcs11TokenLabel' | 'pkcs11Pin' | 'pkcs11KeyLabel'>): Pkcs11Settings {
  const { pkcs11Library: library, pkcs11TokenLabel: tokenLabel, pkcs11Pin: pin, pkcs11KeyLabel: keyLabel } = config;
  if (library === undefined || tokenLabel === undefined || pin === undefined) {
    throw new GatehouseError('config_invalid', 'GATEHOUSE_VAULT_PROVIDER=pkcs11 needs GATEHOUSE_PKCS11_LIBRARY, GATEHOUSE_PKCS11_TOKEN_LABEL and GATEHOUSE_PKCS11_PIN');
  }
  return { library, tokenLabel, pin, keyLabel };
}

let loaded: Pkcs11 | undefined;
/** pkcs11js is a native module: loaded only when a PKCS#11 provider is configured. */
function pkcs11js(): Pkcs11 {
  loaded ??= createRequire(import.meta.url)('pkcs11js') as Pkcs11;
  return loaded;
}

/**
 * KEKs on a PKCS#11 token: AES-256 secret keys labelled GATEHOUSE_PKCS11_KEY_LABEL with CKA_ID `v<version>`,
 * generated on the token as sensitive and non-extractable. A data key is wrapped by AES-GCM encryption inside the
 * token (`iv || ciphertext || tag`, the organisation and version as associated data); the KEK never leaves it.
 *
 * Each operation opens its own session and logs in, then logs out: the provider is asked only when a data key is
 * created, rotated or missing from the vault's cache, and so a token that went away or a PIN that no longer works
 * is noticed at once instead of surviving in a stale session.
 */
export class Pkcs11KeyProvider implements KeyProvider {
  readonly id = 'pkcs11';
  readonly #settings: Pkcs11Settings;
  #module: Pkcs11Module.PKCS11 | undefined;

  constructor(settings: Pkcs11Settings) {
    this.#settings = settings;
  }

  describe(): string {
    return `pkcs11 (token '${this.#settings.tokenLabel}', key '${this.#settings.keyLabel}', ${this.#settings.library})`;
  }

  createKek(version: number): Promise<void> {
    return this.#withSession('create a key-encryption key', (p, session, m) => {
      if (this.#findKek(p, session, m, version) !== undefined) return;
      p.C_GenerateKey(session, { mechanism: m.CKM_AES_KEY_GEN }, [
        { type: m.CKA_CLASS, value: m.CKO_SECRET_KEY },
        { type: m.CKA_KEY_TYPE, value: m.CKK_AES },
        { type: m.CKA_VALUE_LEN, value: 32 },
        { type: m.CKA_LABEL, value: this.#settings.keyLabel },
        { type: m.CKA_ID, value: kekId(version) },
        { type: m.CKA_TOKEN, value: true },
        { type: m.CKA_PRIVATE, value: true },
        { type: m.CKA_SENSITIVE, value: true },
        { type: m.CKA_EXTRACTABLE, value: false },
        { type: m.CKA_ENCRYPT, value: true },
        { type: m.CKA_DECRYPT, value: true },
      ]);
    });
  }

  destroyKek(version: number): Promise<void> {
    return this.#withSession('destroy a key-encryption key', (p, session, m) => {
      // Every object of that label and version: a token may hold a duplicate (two replicas creating it at once).
      for (let key = this.#findKek(p, session, m, version); key !== undefined; key = this.#findKek(p, session, m, version)) p.C_DestroyObject(session, key);
    });
  }

  wrap(dataKey: Buffer, kekVersion: number, aad: string): Promise<Buffer> {
    return this.#withSession('wrap a data key', (p, session, m) => {
      const key = this.#requireKek(p, session, m, kekVersion);
      const iv = randomBytes(IV_BYTES);
      p.C_EncryptInit(session, gcm(m, iv, aad), key);
      const out = p.C_Encrypt(session, dataKey, Buffer.alloc(dataKey.length + TAG_BYTES));
      return Buffer.concat([iv, out]);
    });
  }

  unwrap(wrapped: Buffer, kekVersion: number, aad: string): Promise<Buffer> {
    return this.#withSession('unwrap a data key', (p, session, m) => {
      const key = this.#requireKek(p, session, m, kekVersion);
      p.C_DecryptInit(session, gcm(m, wrapped.subarray(0, IV_BYTES), aad), key);
      const body = wrapped.subarray(IV_BYTES);
      return Buffer.from(p.C_Decrypt(session, body, Buffer.alloc(body.length)));
    });
  }

  close(): Promise<void> {
    if (this.#module !== undefined) {
      try {
        this.#module.C_Finalize();
      } catch {
        // Already finalised (another provider in this process shares the library): nothing to release.
      }
      this.#module = undefined;
    }
    return Promise.resolve();
  }

  #withSession<T>(what: string, op: (p: Pkcs11Module.PKCS11, session: Buffer, m: Pkcs11) => T): Promise<T> {
    const m = pkcs11js();
    let session: Buffer | undefined;
    let p: Pkcs11Module.PKCS11 | undefined;
    try {
      p = this.#open(m);
      session = p.C_OpenSession(this.#slot(p), m.CKF_SERIAL_SESSION | m.CKF_RW_SESSION);
      try {
        p.C_Login(session, m.CKU_USER, this.#settings.pin.reveal());
      } catch (err) {
        if (!(err instanceof m.Pkcs11Error && err.code === m.CKR_USER_ALREADY_LOGGED_IN)) throw err;
      }
      return Promise.resolve(op(p, session, m));
    } catch (err) {
      return Promise.reject(err instanceof GatehouseError ? err : providerFailed(what, safeCause(err)));
    } finally {
      if (session !== undefined && p !== undefined) {
        try {
          p.C_Logout(session);
        } catch {
          // Not logged in (the login failed): nothing to undo.
        }
        try {
          p.C_CloseSession(session);
        } catch {
          // The token went away with the session.
        }
      }
    }
  }

  #open(m: Pkcs11): Pkcs11Module.PKCS11 {
    if (this.#module !== undefined) return this.#module;
    const p = new m.PKCS11();
    p.load(this.#settings.library);
    try {
      p.C_Initialize();
    } catch (err) {
      if (!(err instanceof m.Pkcs11Error && err.code === m.CKR_CRYPTOKI_ALREADY_INITIALIZED)) throw err;
    }
    this.#module = p;
    return p;
  }

  #slot(p: Pkcs11Module.PKCS11): Buffer {
    for (const slot of p.C_GetSlotList(true)) {
      if (p.C_GetTokenInfo(slot).label.trim() === this.#settings.tokenLabel) return slot;
    }
    throw new GatehouseError('key_provider_unavailable', `No PKCS#11 token labelled '${this.#settings.tokenLabel}' is present`);
  }

  #findKek(p: Pkcs11Module.PKCS11, session: Buffer, m: Pkcs11, version: number): Buffer | undefined {
    p.C_FindObjectsInit(session, [
      { type: m.CKA_CLASS, value: m.CKO_SECRET_KEY },
      { type: m.CKA_LABEL, value: this.#settings.keyLabel },
      { type: m.CKA_ID, value: kekId(version) },
    ]);
    try {
      return p.C_FindObjects(session) ?? undefined;
    } finally {
      p.C_FindObjectsFinal(session);
    }
  }

  #requireKek(p: Pkcs11Module.PKCS11, session: Buffer, m: Pkcs11, version: number): Buffer {
    const key = this.#findKek(p, session, m, version);
    if (key === undefined) throw new GatehouseError('key_provider_unavailable', `The token holds no key-encryption key '${this.#settings.keyLabel}' version ${version}`);
    return key;
  }
}

function kekId(version: number): Buffer {
  return Buffer.from(`v${version}`, 'utf8');
}

function gcm(m: Pkcs11, iv: Buffer, aad: string): Pkcs11Module.Mechanism {
  const parameter: Pkcs11Module.GcmParams = { type: m.CK_PARAMS_AES_GCM, iv, ivBits: IV_BYTES * 8, aad: Buffer.from(aad, 'utf8'), tagBits: TAG_BYTES * 8 };
  return { mechanism: m.CKM_AES_GCM, parameter };
}

/** The library's error names the PKCS#11 return value (CKR_PIN_INCORRECT...), never the PIN: kept as the cause. */
function safeCause(err: unknown): Error {
  return err instanceof Error ? new Error(err.message) : new Error('PKCS#11 failure');
}
