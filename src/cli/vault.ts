import { parseArgs } from 'node:util';
import { destroyKek, rotateDek, rotateKek, vaultStatus } from '../services/vault.ts';
import type { Progress } from '../vault/vault.ts';
import type { CliContext } from './context.ts';
import { err, out, table, UsageError } from './output.ts';

export const VAULT_USAGE = `gatehouse vault status [--json]                   provider, KEK version, data keys per organisation (never key material)
gatehouse vault rotate-kek                        re-wrap every data key under a new key-encryption key (resumable)
gatehouse vault rotate-dek --org SLUG             reseal one organisation's secrets under a new data key (resumable)
gatehouse vault destroy-kek --version N           destroy an old key-encryption key version for good (refused while
                                                  it is current or any data key is still wrapped under it)`;

/** A progress bar on stderr when it is a terminal; nothing otherwise (scripts get the summary line alone). */
function progressBar(label: string): { progress: Progress; done: () => void } {
  if (!process.stderr.isTTY) return { progress: () => undefined, done: () => undefined };
  let drawn = false;
  return {
    progress: (done, total) => {
      const width = 30;
      const filled = total === 0 ? width : Math.round((done / total) * width);
      process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
      drawn = true;
    },
    done: () => {
      if (drawn) process.stderr.write('\n');
    },
  };
}

export async function vaultCommand(ctx: CliContext, sub: string, rest: string[]): Promise<void> {
  const { values } = parseArgs({ args: rest, options: { org: { type: 'string' }, json: { type: 'boolean' }, version: { type: 'string' } } });
  switch (sub) {
    case 'status': {
      const status = await vaultStatus(ctx, ctx.actor);
      if (values.json === true) {
        out(JSON.stringify(status));
        return;
      }
      out(`provider     ${status.provider}`);
      out(`KEK version  ${status.kekVersion}`);
      if (status.destroyedKeks.length > 0) out(`destroyed    ${status.destroyedKeks.map((v) => `v${v}`).join(' ')}`);
      const rows = status.organisations.flatMap((o) => [
        ...o.dataKeys.map((k) => ({ org: o.slug, 'data key': `v${k.version}`, state: k.state, kek: `v${k.kekVersion}`, secrets: String(k.secrets), created: k.createdAt })),
        ...(o.legacySecrets > 0 ? [{ org: o.slug, 'data key': 'legacy (v1)', state: 'to reseal', kek: '-', secrets: String(o.legacySecrets), created: '-' }] : []),
      ]);
      if (rows.length > 0) {
        out();
        table(rows, ['org', 'data key', 'state', 'kek', 'secrets', 'created']);
      }
      return;
    }
    case 'rotate-kek': {
      const bar = progressBar('re-wrapping data keys');
      const r = await rotateKek(ctx, ctx.actor, bar.progress).finally(bar.done);
      out(`${r.resumed ? 'Resumed: ' : ''}data keys re-wrapped under KEK v${r.to} (${r.rewrapped} re-wrapped, from v${r.from})`);
      return;
    }
    case 'rotate-dek': {
      if (values.org === undefined) throw new UsageError(VAULT_USAGE);
      const org = await ctx.org(values.org);
      const bar = progressBar('resealing connectors');
      const r = await rotateDek(ctx, ctx.actor, org.id, bar.progress).finally(bar.done);
      out(`${r.resumed ? 'Resumed: ' : ''}${org.slug}: secrets sealed under data key v${r.to} (${r.resealed} resealed, from v${r.from})`);
      if (r.deleted.length > 0) err(`Deleted unused data key versions: ${r.deleted.map((v) => `v${v}`).join(', ')}`);
      return;
    }
    case 'destroy-kek': {
      const version = /^[1-9]\d{0,8}$/.test(values.version ?? '') ? Number(values.version) : undefined;
      if (version === undefined) throw new UsageError('vault destroy-kek needs --version N (a KEK version older than the current one)');
      const r = await destroyKek(ctx, ctx.actor, version);
      if (values.json === true) {
        out(JSON.stringify(r));
        return;
      }
      out(r.already ? `KEK v${r.version} was already destroyed (the provider was asked again)` : `KEK v${r.version} destroyed: the vault never uses it again`);
      return;
    }
    default:
      throw new UsageError(VAULT_USAGE);
  }
}
