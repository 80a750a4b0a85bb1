import { secretBinding } from '../gateway/upstream/transport.ts';
import type { ConnectorRecord, ConnectorTransport, ConnectorValue } from '../store/types.ts';
import type { DataKeyRecord } from '../store/vault-types.ts';
import { envelopeVersion } from '../vault/envelope.ts';
import type { Progress, Vault } from '../vault/vault.ts';
import { authorize, changeEvent, requireSameOrg, type Actor, type ServiceContext } from './context.ts';

/** An organisation's data key versions and how many of its secrets each seals. Never key material. */
export interface OrgKeyUsage {
  readonly dataKeys: readonly { version: number; state: string; kekVersion: number; createdAt: string; secrets: number }[];
  /** Secrets still sealed by the single key of before the vault (v1), until resealed. */
  readonly legacySecrets: number;
}

/** What `vault status` shows: provider, KEK version, each organisation's data key versions. */
export interface VaultStatus {
  readonly provider: string;
  readonly kekVersion: number;
  /** KEK versions `vault destroy-kek` destroyed: never used again. */
  readonly destroyedKeks: readonly number[];
  readonly organisations: readonly (OrgKeyUsage & { readonly orgId: string; readonly slug: string })[];
}

/** One organisation's part of the vault status: the provider's kind (not its settings) and its own data keys. */
export interface OrgVaultStatus extends OrgKeyUsage {
  readonly provider: string;
  readonly kekVersion: number;
}

type VaultContext = ServiceContext & { readonly vault: Vault };

/** The data key version each secret of a connector is sealed under (`legacy` for a v1 ciphertext). */
function sealedVersions(c: ConnectorRecord): (number | 'legacy')[] {
  return secretValues(c).map((v) => envelopeVersion(v.ciphertext) ?? 'legacy');
}

/** One organisation's data keys (`keys`, its own) against the versions its connectors' secrets are sealed under. */
function keyUsage(keys: readonly DataKeyRecord[], connectors: readonly ConnectorRecord[]): OrgKeyUsage {
  const versions = connectors.flatMap(sealedVersions);
  return {
    dataKeys: keys.map((k) => ({ version: k.version, state: k.state, kekVersion: k.kekVersion, createdAt: k.createdAt, secrets: versions.filter((v) => v === k.version).length })),
    legacySecrets: versions.filter((v) => v === 'legacy').length,
  };
}

function secretValues(c: ConnectorRecord): Extract<ConnectorValue, { secret: true }>[] {
  const values = c.transport.type === 'http' ? c.transport.headers : c.transport.env;
  return values.filter((v): v is Extract<ConnectorValue, { secret: true }> => v.secret);
}

export async function vaultStatus(ctx: VaultContext, actor: Actor): Promise<VaultStatus> {
  authorize(actor, 'vault.read');
  const kek = await ctx.vault.currentKek();
  const keys = await ctx.vault.listDataKeys();
  const connectors = await ctx.store.listAllConnectors();
  const orgIds = [...new Set([...keys.map((k) => k.orgId), ...connectors.filter((c) => secretValues(c).length > 0).map((c) => c.orgId)])];
  const organisations = [];
  for (const orgId of orgIds) {
    organisations.push({
      orgId,
      slug: (await ctx.store.getOrganisation(orgId))?.slug ?? orgId,
      ...keyUsage(keys.filter((k) => k.orgId === orgId), connectors.filter((c) => c.orgId === orgId)),
    });
  }
  return { provider: ctx.vault.provider.describe(), kekVersion: kek.kekVersion, destroyedKeks: await ctx.vault.destroyedKeks(), organisations };
}

/**
 * The organisation's own vault status, for its owners. The provider is named by its kind only: a PKCS#11 provider's
 * library path and labels are the host's, not the organisation's.
 */
export async function orgVaultStatus(ctx: VaultContext, actor: Actor, orgId: string): Promise<OrgVaultStatus> {
  authorize(actor, 'vault.read_org');
  requireSameOrg(actor, orgId, 'No such organisation');
  const kek = await ctx.vault.currentKek();
  const usage = keyUsage(await ctx.vault.listDataKeys(orgId), await ctx.store.listConnectors(orgId));
  return { provider: ctx.vault.provider.id, kekVersion: kek.kekVersion, ...usage };
}

export async function rotateKek(ctx: VaultContext, actor: Actor, progress?: Progress): Promise<{ from: number; to: number; rewrapped: number; resumed: boolean }> {
  authorize(actor, 'vault.rotate');
  const result = await ctx.vault.rotateKek(progress);
  const orgs = new Set((await ctx.vault.listDataKeys()).map((k) => k.orgId));
  // Each organisation's chain records that its data keys were re-wrapped (they are its keys); the operator acted.
  for (const orgId of orgs) await ctx.audit.record(changeEvent(orgId, actor, 'vault.rotate_kek', { name: `kek/v${result.to}` }, result));
  return result;
}

/**
 * Destroys a KEK version nothing is wrapped under any more (see Vault.destroyKek). Each organisation whose data keys
 * the vault holds gets the record in its chain, as for rotate-kek: it was their keys' wrapping.
 */
export async function destroyKek(ctx: VaultContext, actor: Actor, version: number): Promise<{ version: number; already: boolean }> {
  authorize(actor, 'vault.destroy_kek');
  const result = await ctx.vault.destroyKek(version);
  const orgs = new Set((await ctx.vault.listDataKeys()).map((k) => k.orgId));
  for (const orgId of orgs) await ctx.audit.record(changeEvent(orgId, actor, 'vault.destroy_kek', { name: `kek/v${version}` }, { provider: ctx.vault.provider.id, ...result }));
  return result;
}

/**
 * Re-seals one organisation's secrets under a new data key version. Resumable: when secrets are still sealed under
 * an older version (a run that stopped, or v1 ciphertexts from before the vault), those are resealed under the
 * active version and no new one is made. Each connector is rewritten only if it did not change meanwhile (else it
 * is read again), keeping its updated_at, so running connections stay up. Retired versions older than the one
 * before the active one, that nothing refers to, are deleted; the version just before the active one stays readable
 * until the next rotation, for whatever a replica still holds in memory.
 */
export async function rotateDek(ctx: VaultContext, actor: Actor, orgId: string, progress?: Progress): Promise<{ from: number; to: number; resealed: number; resumed: boolean; deleted: number[] }> {
  authorize(actor, 'vault.rotate');
  const before = await ctx.vault.activeDataKey(orgId);
  const behind = (await ctx.store.listConnectors(orgId)).some((c) => sealedVersions(c).some((v) => v !== before.version));
  const active = behind ? before : await ctx.vault.rotateDataKey(orgId);
  const resealed = await resealOrganisation(ctx, orgId, active.version, progress);
  const referenced = new Set((await ctx.store.listConnectors(orgId)).flatMap(sealedVersions));
  const deleted: number[] = [];
  const old = (await ctx.vault.listDataKeys(orgId)).filter((k) => k.state === 'retired' && k.version < active.version - 1).map((k) => k.version);
  for (const version of old) {
    if (!referenced.has(version) && (await ctx.vault.dropDataKey(orgId, version))) deleted.push(version);
  }
  const result = { from: before.version, to: active.version, resealed, resumed: behind, deleted };
  await ctx.audit.record(changeEvent(orgId, actor, 'vault.rotate_dek', { name: `dek/v${active.version}` }, result));
  return result;
}

/** Reseals every secret of the organisation not under `version`; returns how many values were resealed. */
export async function resealOrganisation(ctx: Pick<VaultContext, 'store' | 'vault'>, orgId: string, version: number, progress?: Progress): Promise<number> {
  let resealed = 0;
  for (let pass = 0; pass < 100; pass++) {
    const todo = (await ctx.store.listConnectors(orgId)).filter((c) => sealedVersions(c).some((v) => v !== version));
    if (todo.length === 0) return resealed;
    for (const [i, c] of todo.entries()) {
      const transport = await resealTransport(ctx.vault, c, version);
      if (await ctx.store.vault.resealConnector(orgId, c.id, JSON.stringify(c.transport), JSON.stringify(transport.transport))) resealed += transport.count;
      progress?.(i + 1, todo.length);
    }
  }
  throw new Error('Connectors kept changing while they were resealed; run the command again');
}

async function resealTransport(vault: Vault, c: ConnectorRecord, version: number): Promise<{ transport: ConnectorTransport; count: number }> {
  let count = 0;
  const kind = c.transport.type === 'http' ? 'header' : 'env';
  const reseal = async (values: readonly ConnectorValue[]): Promise<ConnectorValue[]> => {
    const out: ConnectorValue[] = [];
    for (const v of values) {
      if (!v.secret || envelopeVersion(v.ciphertext) === version) {
        out.push(v);
        continue;
      }
      const binding = secretBinding(c.orgId, c.id, kind, v.name);
      const ciphertext = await vault.seal(c.orgId, await vault.open(c.orgId, v.ciphertext, binding), binding);
      if (envelopeVersion(ciphertext) !== version) throw new Error('The active data key changed while resealing; run the command again');
      out.push({ name: v.name, secret: true, ciphertext });
      count++;
    }
    return out;
  };
  const t = c.transport;
  return t.type === 'http' ? { transport: { ...t, headers: await reseal(t.headers) }, count } : { transport: { ...t, env: await reseal(t.env) }, count };
}

/** At start-up: secrets sealed before the vault (v1) are resealed under their organisation's data key. */
export async function resealLegacySecrets(ctx: Pick<VaultContext, 'store' | 'vault'>): Promise<number> {
  const orgs = new Set((await ctx.store.listAllConnectors()).filter((c) => sealedVersions(c).includes('legacy')).map((c) => c.orgId));
  let resealed = 0;
  for (const orgId of orgs) resealed += await resealOrganisation(ctx, orgId, (await ctx.vault.activeDataKey(orgId)).version);
  return resealed;
}
