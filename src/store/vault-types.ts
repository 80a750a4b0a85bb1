import type { Row } from './rows.ts';

/**
 * The vault's rows: which KEK version is current (one row), and each organisation's data keys, wrapped. A data key
 * is `active` (new secrets are sealed under it; one per organisation) or `retired` (still opens what refers to it,
 * until `vault rotate-dek` finds nothing does and deletes it). Never key material in the clear.
 */
export interface KekState {
  readonly provider: string;
  readonly kekVersion: number;
}

export interface DataKeyRecord {
  readonly orgId: string;
  readonly version: number;
  readonly state: 'active' | 'retired';
  readonly provider: string;
  readonly kekVersion: number;
  /** base64 of what the key provider returned. */
  readonly wrapped: string;
  readonly createdAt: string;
}

export interface VaultStore {
  getKekState(): Promise<KekState | undefined>;
  /** Sets the current KEK version if it is still `expected` (undefined: no row yet); false when another process moved it. */
  setKekState(next: KekState, expected: number | undefined): Promise<boolean>;
  /** One organisation's data keys, or every organisation's, by organisation and version. */
  listDataKeys(orgId?: string): Promise<DataKeyRecord[]>;
  getDataKey(orgId: string, version: number): Promise<DataKeyRecord | undefined>;
  /** The organisation's first data key; false when one already exists (another process created it first). */
  insertFirstDataKey(key: DataKeyRecord): Promise<boolean>;
  /** Retires the active version `from` and inserts `next` (active) in one step; false when `from` is no longer active. */
  rotateDataKey(orgId: string, from: number, next: DataKeyRecord): Promise<boolean>;
  /** Replaces a wrapping if it is still under `expectedKekVersion`; false when someone re-wrapped it first. */
  rewrapDataKey(orgId: string, version: number, expectedKekVersion: number, provider: string, kekVersion: number, wrapped: string): Promise<boolean>;
  /** Deletes a retired version (an active one is never deleted). */
  deleteRetiredDataKey(orgId: string, version: number): Promise<boolean>;
  /** The KEK versions of `provider` that `vault destroy-kek` destroyed: the vault never uses them again. */
  listDestroyedKeks(provider: string): Promise<number[]>;
  /**
   * Records KEK `version` of `provider` as destroyed, unless it is the current version or a data key is still
   * wrapped under it (checked in the same step as the write); false then, or when it already was recorded.
   */
  recordDestroyedKek(provider: string, version: number, at: string): Promise<boolean>;
  /**
   * Writes a connector's transport resealed, keeping its updated_at (a reseal changes no setting), if its transport
   * is still `expected` (JSON): false when it changed meanwhile and must be read again.
   */
  resealConnector(orgId: string, id: string, expected: string, transport: string): Promise<boolean>;
}

export function toDataKey(r: Row): DataKeyRecord {
  return {
    orgId: String(r.org_id),
    version: Number(r.version),
    state: r.state === 'active' ? 'active' : 'retired',
    provider: String(r.provider),
    kekVersion: Number(r.kek_version),
    wrapped: String(r.wrapped),
    createdAt: r.created_at instanceof Date ? r.created_at.toISOString() : String(r.created_at),
  };
}
