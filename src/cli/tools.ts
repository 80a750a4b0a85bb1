import { parseArgs } from 'node:util';
import {
  approveToolPin, classifyTool, getToolPin, listToolPins, rejectToolPin, setConnectorPinSettings, type ToolPinDetail,
} from '../services/tool-pins.ts';
import type { PinStatus } from '../store/pinning-types.ts';
import type { CliContext } from './context.ts';
import { out, table, UsageError } from './output.ts';

export const TOOLS_USAGE = `gatehouse tools review [--connector NAME] [--org SLUG] [--json]
gatehouse tools list [--connector NAME] [--status approved|pending|rejected] [--org SLUG] [--json]
gatehouse tools approve CONNECTOR TOOL [--fingerprint SHA256] [--org SLUG]
gatehouse tools reject CONNECTOR TOOL [--org SLUG]
gatehouse tools classify CONNECTOR TOOL read|write|none [--org SLUG]
gatehouse tools read-only CONNECTOR on|off [--org SLUG]
gatehouse tools auto-approve CONNECTOR on|off [--org SLUG]
  Tool pinning: every tool definition is fingerprinted; a new or changed one is quarantined (not listed, calls
  refused) until approved. review shows each pending change as a diff of the approved (-) and new (+) definition,
  with what the scan found (instruction injection, hidden characters shown as <U+200B>). A read-only connector serves
  only tools classified read; the upstream's readOnlyHint is shown as a hint, never trusted. auto-approve: whether
  the clean tools of a connector's first sync are approved without review (default on).`;

const STATUSES: readonly string[] = ['approved', 'pending', 'rejected'];

function onOff(v: string | undefined, what: string): boolean {
  if (v === 'on') return true;
  if (v === 'off') return false;
  throw new UsageError(`tools ${what} needs on or off`);
}

function printDetail(d: ToolPinDetail): void {
  out(`${d.connector} / ${d.tool}: ${d.change ?? 'no change'} (${d.status})`);
  out(`  fingerprint: ${d.approvedFingerprint ?? '(never approved)'} -> ${d.pendingFingerprint ?? '-'}`);
  out(`  readOnlyHint (upstream's, not trusted): ${d.readOnlyHint === null ? '-' : String(d.readOnlyHint)}; classified: ${d.classification ?? 'unclassified'}`);
  out(d.findings.length === 0 ? '  findings: none' : `  FINDINGS: ${d.findings.map((f) => `${f.rule} in ${f.place}`).join('; ')}`);
  if (d.diff !== null) for (const line of d.diff.split('\n')) out(`  ${line}`);
  out(`  approve: gatehouse tools approve ${d.connector} ${d.tool} --fingerprint ${d.pendingFingerprint ?? ''}`);
  out('');
}

export async function toolsCommand(ctx: CliContext, sub: string, rest: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { org: { type: 'string' }, connector: { type: 'string' }, status: { type: 'string' }, fingerprint: { type: 'string' }, json: { type: 'boolean' } },
  });
  if (values.status !== undefined && !STATUSES.includes(values.status)) throw new UsageError('--status must be approved, pending or rejected');
  const org = await ctx.org(values.org);
  const [connector, tool, arg] = positionals;
  const needTool = (n: number): { connector: string; tool: string } => {
    if (connector === undefined || tool === undefined || positionals.length !== n) throw new UsageError(TOOLS_USAGE);
    return { connector, tool };
  };
  switch (sub) {
    case 'review': {
      if (positionals.length > 0) throw new UsageError(TOOLS_USAGE);
      const pending = await listToolPins(ctx, ctx.actor, org.id, { connector: values.connector, status: 'pending' });
      const details = await Promise.all(pending.map((p) => getToolPin(ctx, ctx.actor, org.id, p.connector, p.tool)));
      if (values.json === true) {
        out(JSON.stringify(details));
        return;
      }
      if (details.length === 0) out(`Nothing awaits review in ${org.slug}`);
      for (const d of details) printDetail(d);
      return;
    }
    case 'list': {
      if (positionals.length > 0) throw new UsageError(TOOLS_USAGE);
      const pins = await listToolPins(ctx, ctx.actor, org.id, { connector: values.connector, status: values.status as PinStatus | undefined });
      if (values.json === true) {
        out(JSON.stringify(pins));
        return;
      }
      table(
        pins.map((p) => ({
          connector: p.connector, tool: p.tool, status: p.status, class: p.classification ?? '-', hint: p.readOnlyHint === true ? 'readOnlyHint' : '-',
          findings: p.findings.length === 0 ? '-' : p.findings.map((f) => f.rule).join(','),
        })),
        ['connector', 'tool', 'status', 'class', 'hint', 'findings'],
      );
      return;
    }
    case 'approve': {
      const t = needTool(2);
      const d = await approveToolPin(ctx, ctx.actor, org.id, t.connector, t.tool, values.fingerprint);
      out(`Approved ${d.connector} / ${d.tool} (${d.approvedFingerprint ?? ''}); served from the gateway's next poll`);
      return;
    }
    case 'reject': {
      const t = needTool(2);
      await rejectToolPin(ctx, ctx.actor, org.id, t.connector, t.tool);
      out(`Rejected the pending definition of ${t.connector} / ${t.tool}: it stays blocked`);
      return;
    }
    case 'classify': {
      const t = needTool(3);
      if (arg !== 'read' && arg !== 'write' && arg !== 'none') throw new UsageError('tools classify needs read, write or none');
      await classifyTool(ctx, ctx.actor, org.id, t.connector, t.tool, arg === 'none' ? null : arg);
      out(`Classified ${t.connector} / ${t.tool} as ${arg === 'none' ? 'unclassified' : arg}`);
      return;
    }
    case 'read-only':
    case 'auto-approve': {
      if (connector === undefined || positionals.length !== 2) throw new UsageError(TOOLS_USAGE);
      const on = onOff(tool, sub);
      const s = await setConnectorPinSettings(ctx, ctx.actor, org.id, connector, sub === 'read-only' ? { readOnly: on } : { autoApproveFirstSync: on });
      out(`${s.connector}: read-only ${s.readOnly ? 'on' : 'off'}, first-sync auto-approval ${s.autoApproveFirstSync ? 'on' : 'off'}`);
      return;
    }
    default:
      throw new UsageError(TOOLS_USAGE);
  }
}
