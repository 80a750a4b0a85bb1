import { api } from '../lib/api.ts';
import { emptyState, fill, h, table, timeZone, when } from '../lib/dom.ts';

interface VaultStatus {
  readonly provider: string;
  readonly kekVersion: number;
  readonly dataKeys: readonly { version: number; state: string; kekVersion: number; createdAt: string; secrets: number }[];
  readonly legacySecrets: number;
}

const PROVIDERS: Readonly<Record<string, string>> = {
  local: 'local (KEKs derived from the gateway’s master key)',
  pkcs11: 'PKCS#11 (a hardware security module)',
};

/** Read-only, and never key material: what wraps what, and how many secrets each data key seals. Rotation is the CLI's. */
export async function renderVault(main: HTMLElement): Promise<void> {
  const v = await api.get<VaultStatus>('/vault');
  const rows = v.dataKeys.map((k) => [
    String(k.version),
    h('span', { class: `badge ${k.state === 'active' ? 'active' : 'expired'}` }, k.state),
    String(k.kekVersion),
    h('span', { 'data-testid': 'dek-secrets' }, String(k.secrets)),
    when(k.createdAt),
  ]);
  fill(
    main,
    h('h1', {}, 'Vault'),
    h('p', { class: 'lead' }, 'Connector secrets are sealed with this organisation’s data keys, which are wrapped by the gateway’s key-encryption key (KEK). No key material is ever shown.'),
    h(
      'dl',
      { class: 'detail', 'data-testid': 'vault-status' },
      h('dt', {}, 'Key provider'),
      h('dd', {}, PROVIDERS[v.provider] ?? v.provider),
      h('dt', {}, 'KEK version'),
      h('dd', { 'data-testid': 'kek-version' }, String(v.kekVersion)),
      h('dt', {}, 'Secrets sealed before the vault'),
      h('dd', {}, v.legacySecrets === 0 ? 'none' : `${String(v.legacySecrets)}, to reseal under a data key (gatehouse vault rotate-dek)`),
    ),
    h('h2', {}, 'Data keys'),
    rows.length === 0
      ? emptyState('No data key yet: the first one is made when the first secret is stored.')
      : table(`Data key versions (times in ${timeZone()})`, ['Version', 'State', 'Wrapped by KEK version', 'Secrets sealed', 'Created'], rows),
    h('p', { class: 'hint' }, 'Rotation is the operator’s, on the gateway host: gatehouse vault rotate-kek re-wraps every data key, gatehouse vault rotate-dek --org <slug> reseals this organisation’s secrets.'),
  );
}
