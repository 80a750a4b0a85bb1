import { chmodSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { SYSTEM_CHAIN } from '../gateway/audit/audit-log.ts';
import { configuredSinks } from '../gateway/audit/sinks/siem.ts';
import { exportAudit, listAuditChains, siemPositions, verifyAudit } from '../services/audit.ts';
import type { CliContext } from './context.ts';
import { err, out, table, UsageError } from './output.ts';

export const AUDIT_USAGE = `gatehouse audit verify [--org SLUG] [--json]      (default: every chain)
gatehouse audit export [--org SLUG | --system] [--out FILE]   (JSON lines; default org: default)
gatehouse audit sinks [--json]                  (each SIEM sink's cursor and lag per chain)`;

export async function auditCommand(ctx: CliContext, sub: string, rest: string[]): Promise<void> {
  const { values } = parseArgs({
    args: rest,
    options: { org: { type: 'string' }, system: { type: 'boolean' }, out: { type: 'string' }, json: { type: 'boolean' } },
  });
  switch (sub) {
    case 'verify': {
      const chains = values.org !== undefined ? [(await ctx.org(values.org)).id] : await listAuditChains(ctx, ctx.actor);
      const orgs = new Map((await ctx.store.listOrganisations()).map((o) => [o.id, o.slug]));
      const reports = [];
      for (const chain of chains) reports.push(await verifyAudit(ctx, ctx.actor, chain));
      if (values.json === true) out(JSON.stringify(reports));
      else {
        for (const r of reports) {
          const label = r.chain === SYSTEM_CHAIN ? 'system' : (orgs.get(r.chain) ?? r.chain);
          if (r.ok) out(`ok      ${label}: ${r.verified} records, head ${r.headHash.slice(0, 16)}…`);
          else err(`BROKEN  ${label}: ${r.firstBreak?.reason ?? ''} (first broken record: ${r.firstBreak?.seq ?? '?'})`);
        }
      }
      if (reports.some((r) => !r.ok)) process.exitCode = 1;
      return;
    }
    case 'export': {
      const chain = values.system === true ? SYSTEM_CHAIN : (await ctx.org(values.org)).id;
      if (values.out === undefined) {
        for await (const line of exportAudit(ctx, ctx.actor, chain)) process.stdout.write(line);
        return;
      }
      const file = createWriteStream(values.out, { mode: 0o600 });
      await once(file, 'open');
      // The mode above applies only to a new file; an existing one is narrowed too.
      chmodSync(values.out, 0o600);
      let count = 0;
      for await (const line of exportAudit(ctx, ctx.actor, chain)) {
        count++;
        if (!file.write(line)) await once(file, 'drain');
      }
      file.end();
      await once(file, 'finish');
      err(`Exported ${count} records to ${values.out}`);
      return;
    }
    case 'sinks': {
      const positions = await siemPositions(ctx, ctx.actor, configuredSinks(ctx.config));
      if (values.json === true) {
        out(JSON.stringify(positions));
        return;
      }
      if (positions.length === 0) {
        out('No SIEM sink is configured (GATEHOUSE_SIEM_SYSLOG_URL, GATEHOUSE_SIEM_WEBHOOK_URL, GATEHOUSE_SIEM_OTLP_URL).');
        return;
      }
      const orgs = new Map((await ctx.store.listOrganisations()).map((o) => [o.id, o.slug]));
      const rows = positions.flatMap((p) =>
        p.chains.map((c) => ({
          sink: p.configured ? p.sink : `${p.sink} (not configured)`,
          chain: c.chain === SYSTEM_CHAIN ? 'system' : (orgs.get(c.chain) ?? c.chain),
          cursor: String(c.cursor),
          head: String(c.head),
          lag: String(c.lag),
          updated: c.updatedAtMs === null ? '-' : new Date(c.updatedAtMs).toISOString(),
        })),
      );
      table(rows, ['sink', 'chain', 'cursor', 'head', 'lag', 'updated']);
      for (const p of positions) out(`${p.sink}: ${String(p.lag)} records behind`);
      return;
    }
    default:
      throw new UsageError(AUDIT_USAGE);
  }
}
