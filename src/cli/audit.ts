import { chmodSync, createReadStream, createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { GatehouseError } from '../errors.ts';
import { SYSTEM_CHAIN } from '../gateway/audit/audit-log.ts';
import { configuredSinks } from '../gateway/audit/sinks/siem.ts';
import { isCommittedField, PII_FIELDS } from '../gateway/audit/export.ts';
import { verifyExport } from '../gateway/audit/file-verify.ts';
import { parsePublicKey } from '../gateway/audit/signing.ts';
import type { ChainReport } from '../gateway/audit/verify.ts';
import { getAuditSettings, parseRetention, pruneAudit, updateAuditSettings } from '../services/audit-retention.ts';
import type { AuditSettings } from '../store/audit-retention-types.ts';
import { auditPublicKey, exportAudit, listAuditChains, siemPositions, verifyAudit, type AuditQuery } from '../services/audit.ts';
import type { AuditCheckpoint, AuditDecision } from '../store/types.ts';
import type { CliContext } from './context.ts';
import { err, out, table, UsageError } from './output.ts';

export const AUDIT_USAGE = `gatehouse audit verify [--org SLUG] [--json] [--public-key FILE] [--anchor FILE]   (default: every chain)
gatehouse audit verify --file EXPORT.ndjson --public-key FILE   (an export, offline: no database needed)
gatehouse audit export [--org SLUG | --system] [--out FILE] [--since T] [--until T] [--key KEY_ID] [--decision allow|deny|error]
                       [--connector NAME] [--action A] [--redact-pii | --redact FIELD,...]   (JSON lines; default org: default)
gatehouse audit public-key [--out FILE]   (the Ed25519 key that verifies checkpoints, SPKI PEM)
gatehouse audit sinks [--json]                  (each SIEM sink's cursor and lag per chain)
gatehouse audit settings [--org SLUG] [--json]   (retention and whether viewers may export)
gatehouse audit retention DAYS|off [--org SLUG]  (e.g. 365d: older records go, whole signed segments at a time)
gatehouse audit export-grant [--org SLUG] viewer on|off   (let viewers export in bulk; owners and admins always may)
gatehouse audit prune [--org SLUG] [--dry-run] [--json]   (apply retention now; the gateway also does it hourly)`;

const DECISIONS = new Set<string>(['allow', 'deny', 'error']);

export async function auditCommand(ctx: CliContext, sub: string, rest: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      org: { type: 'string' }, system: { type: 'boolean' }, out: { type: 'string' }, json: { type: 'boolean' },
      'public-key': { type: 'string' }, anchor: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' },
      key: { type: 'string' }, decision: { type: 'string' }, connector: { type: 'string' }, action: { type: 'string' },
      'redact-pii': { type: 'boolean' }, redact: { type: 'string' }, 'dry-run': { type: 'boolean' },
    },
    allowPositionals: true,
  });
  if (positionals.length > 0 && sub !== 'retention' && sub !== 'export-grant') throw new UsageError(`audit ${sub}: unexpected ${positionals.join(' ')}\n${AUDIT_USAGE}`);
  switch (sub) {
    case 'verify': {
      const publicKey = values['public-key'] === undefined ? undefined : readPublicKey(values['public-key']);
      const anchors = values.anchor === undefined ? undefined : readAnchors(values.anchor);
      const chains = values.org !== undefined ? [(await ctx.org(values.org)).id] : await listAuditChains(ctx, ctx.actor);
      const orgs = new Map((await ctx.store.listOrganisations()).map((o) => [o.id, o.slug]));
      const reports: ChainReport[] = [];
      for (const chain of chains) {
        const label = chain === SYSTEM_CHAIN ? 'system' : (orgs.get(chain) ?? chain);
        const bar = progressBar(label);
        reports.push(await verifyAudit(ctx, ctx.actor, chain, { publicKey, anchors, onProgress: bar.update }));
        bar.done();
      }
      if (values.json === true) out(JSON.stringify(reports));
      else {
        for (const r of reports) {
          const label = r.chain === SYSTEM_CHAIN ? 'system' : (orgs.get(r.chain) ?? r.chain);
          const signed = r.checkpoints.latestSeq === null ? 'no signed checkpoint yet' : `signed through record ${r.checkpoints.latestSeq}`;
          const pruned = r.pruned === null ? '' : `, records 1 to ${r.pruned.throughSeq} removed by retention (${r.pruned.tombstones} signed tombstones)`;
          if (r.ok) out(`ok      ${label}: ${r.verified} records, ${signed}${pruned}, head ${r.headHash.slice(0, 16)}…`);
          else err(`BROKEN  ${label}: ${r.firstBreak?.reason ?? ''} (first broken record: ${r.firstBreak?.seq ?? '?'})`);
        }
      }
      if (reports.some((r) => !r.ok)) process.exitCode = 1;
      return;
    }
    case 'export': {
      const chain = values.system === true ? SYSTEM_CHAIN : (await ctx.org(values.org)).id;
      const query = exportQuery(values);
      const redact = redactFields(values['redact-pii'] === true, values.redact);
      const lines = exportAudit(ctx, ctx.actor, chain, query, { redact });
      if (values.out === undefined) {
        for await (const line of lines) process.stdout.write(line);
        return;
      }
      const file = createWriteStream(values.out, { mode: 0o600 });
      await once(file, 'open');
      // The mode above applies only to a new file; an existing one is narrowed too.
      chmodSync(values.out, 0o600);
      let count = 0;
      for await (const line of lines) {
        if (!line.startsWith('{"type":')) count++;
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
    case 'public-key': {
      const { keyId, publicKey } = await auditPublicKey(ctx, ctx.actor);
      if (values.out === undefined) process.stdout.write(publicKey);
      else {
        writeFileSync(values.out, publicKey, { mode: 0o644 });
        err(`Wrote public key ${keyId} to ${values.out}`);
      }
      return;
    }
    case 'settings': {
      const s = await getAuditSettings(ctx, ctx.actor, (await ctx.org(values.org)).id);
      if (values.json === true) out(JSON.stringify(s));
      else printSettings(s);
      return;
    }
    case 'retention': {
      const [days] = positionals;
      if (days === undefined || positionals.length !== 1) throw new UsageError('audit retention needs DAYS (e.g. 365d) or off');
      printSettings(await updateAuditSettings(ctx, ctx.actor, (await ctx.org(values.org)).id, { retentionDays: parseRetention(days) }));
      return;
    }
    case 'export-grant': {
      const [role, state] = positionals;
      if (role !== 'viewer' || (state !== 'on' && state !== 'off') || positionals.length !== 2) throw new UsageError('audit export-grant takes viewer on|off');
      printSettings(await updateAuditSettings(ctx, ctx.actor, (await ctx.org(values.org)).id, { viewerExport: state === 'on' }));
      return;
    }
    case 'prune': {
      const r = await pruneAudit(ctx, ctx.actor, (await ctx.org(values.org)).id, { dryRun: values['dry-run'] === true });
      if (values.json === true) out(JSON.stringify(r));
      else if (r.removed === 0) out(`Nothing to remove: ${r.note ?? 'no whole segment is older than the retention'}`);
      else out(`${r.dryRun ? 'Would remove' : 'Removed'} records ${r.firstSeq ?? '?'} to ${r.lastSeq ?? '?'} (${r.removed}); a signed tombstone stands in their place`);
      return;
    }
    default:
      throw new UsageError(AUDIT_USAGE);
  }
}

function printSettings(s: AuditSettings): void {
  out(`retention      ${s.retentionDays === null ? 'off (every record is kept)' : `${s.retentionDays} days`}`);
  out(`viewer export  ${s.viewerExport ? 'on' : 'off'}`);
}

/** `audit verify --file`: an export checked with the public key alone; it opens no database and needs no secret. */
export async function verifyExportFile(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { file: { type: 'string' }, 'public-key': { type: 'string' }, json: { type: 'boolean' } } });
  if (values.file === undefined || values['public-key'] === undefined) throw new UsageError(AUDIT_USAGE);
  const key = readPublicKey(values['public-key']);
  if (!existsSync(values.file)) throw new GatehouseError('not_found', `No such file: ${values.file}`);
  const lines = createInterface({ input: createReadStream(values.file, 'utf8'), crlfDelay: Infinity });
  const r = await verifyExport(lines, key);
  if (values.json === true) out(JSON.stringify(r));
  else if (r.firstBreak !== undefined) err(`BROKEN  ${values.file}: first bad record ${r.firstBreak.seq} (line ${r.firstBreak.line}): ${r.firstBreak.reason}`);
  else if (!r.ok) {
    err(
      r.checkpoints === 0
        ? `UNANCHORED  ${values.file}: ${r.records} records link and hash correctly, but no signed checkpoint covers them`
        : `UNANCHORED  ${values.file}: the last ${r.unanchored} records are not covered by a signed checkpoint (the file may have been cut or extended)`,
    );
  } else out(`ok      ${values.file}: ${r.records} records (${r.links} left out by the filter), ${r.checkpoints} signed checkpoints, all anchored`);
  if (!r.ok) process.exitCode = 1;
}

function readPublicKey(path: string): NonNullable<ReturnType<typeof parsePublicKey>> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new GatehouseError('bad_request', `Cannot read the public key file ${path}`, { cause: e });
  }
  const key = parsePublicKey(text);
  if (key === undefined) throw new GatehouseError('bad_request', `${path} does not hold an Ed25519 public key (SPKI PEM, as \`gatehouse audit public-key\` prints)`);
  return key;
}

function readAnchors(path: string): AuditCheckpoint[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new GatehouseError('bad_request', `Cannot read the anchor file ${path}`, { cause: e });
  }
  const anchors: AuditCheckpoint[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new GatehouseError('bad_request', `${path} line ${i + 1} is not JSON`);
    }
    const { orgId, seq, hash, ts, keyId, signature } = o;
    if (typeof orgId !== 'string' || typeof seq !== 'number' || typeof hash !== 'string' || typeof ts !== 'string' || typeof keyId !== 'string' || typeof signature !== 'string') {
      throw new GatehouseError('bad_request', `${path} line ${i + 1} is not a checkpoint`);
    }
    anchors.push({ orgId, seq, hash, ts, keyId, signature });
  }
  return anchors;
}

function exportQuery(v: { since?: string; until?: string; key?: string; decision?: string; connector?: string; action?: string }): AuditQuery {
  if (v.decision !== undefined && !DECISIONS.has(v.decision)) throw new UsageError('--decision must be allow, deny or error');
  return {
    since: v.since, until: v.until, actorKeyId: v.key, decision: v.decision as AuditDecision | undefined, targetConnector: v.connector, action: v.action,
  };
}

function redactFields(pii: boolean, list: string | undefined): (typeof PII_FIELDS)[number][] | undefined {
  if (list === undefined) return pii ? [...PII_FIELDS] : undefined;
  const fields = list.split(',').map((f) => f.trim()).filter(Boolean);
  const unknown = fields.filter((f) => !isCommittedField(f));
  if (unknown.length > 0) throw new UsageError(`--redact: unknown field ${unknown.join(', ')}; fields are ts, actorKeyId, actorUser, clientIp, action, targetConnector, targetName, decision, reason, latencyMs, correlationId, args, detail`);
  return fields.filter(isCommittedField);
}

/** A progress bar on a terminal (stderr), nothing otherwise: piped output stays clean. */
function progressBar(label: string): { update: (done: number, total: number) => void; done: () => void } {
  if (!process.stderr.isTTY) return { update: () => undefined, done: () => undefined };
  let shown = false;
  return {
    update: (done, total) => {
      const width = 30;
      const frac = total === 0 ? 1 : Math.min(done / total, 1);
      const filled = Math.round(frac * width);
      process.stderr.write(`\r${label.slice(0, 24).padEnd(24)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(frac * 100)).padStart(3)}% ${done}/${total}`);
      shown = true;
    },
    done: () => {
      if (shown) process.stderr.write('\r\x1b[2K');
    },
  };
}
