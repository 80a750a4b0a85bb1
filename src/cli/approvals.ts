import { parseArgs } from 'node:util';
import { decideApproval, getApproval, listPendingApprovals, type ApprovalView } from '../services/approvals.ts';
import type { CliContext } from './context.ts';
import { out, table, UsageError } from './output.ts';

export const APPROVALS_USAGE = `gatehouse approvals list [--org SLUG] [--json]
gatehouse approvals show ID [--org SLUG] [--json]
gatehouse approvals approve ID [--org SLUG]
gatehouse approvals deny ID [--org SLUG]
  Tool calls waiting for a person (tools marked with gatehouse traffic approval). An approval lets the same key's next
  identical call (same tool, same arguments) run once; the client sends the call again after it.`;

function row(a: ApprovalView): Record<string, string> {
  return { id: a.id, state: a.state, tool: `${a.connector}/${a.tool}`, key: a.keyId, expires: a.expiresAt, arguments: a.argsPreview.slice(0, 80) };
}

export async function approvalsCommand(ctx: CliContext, sub: string, rest: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { org: { type: 'string' }, json: { type: 'boolean' } } });
  const org = await ctx.org(values.org);
  const json = values.json === true;
  const [id] = positionals;
  if (sub === 'list') {
    if (positionals.length > 0) throw new UsageError(APPROVALS_USAGE);
    const all = await listPendingApprovals(ctx, ctx.actor, org.id);
    if (json) out(JSON.stringify(all));
    else if (all.length === 0) out('No calls wait for approval.');
    else table(all.map(row), ['id', 'state', 'tool', 'key', 'expires', 'arguments']);
    return;
  }
  if (id === undefined || positionals.length !== 1) throw new UsageError(APPROVALS_USAGE);
  switch (sub) {
    case 'show': {
      const a = await getApproval(ctx, ctx.actor, org.id, id);
      if (json) out(JSON.stringify(a));
      else out(`${a.id}: ${a.state}, ${a.connector}/${a.tool} for key ${a.keyId}, until ${a.expiresAt}\n  arguments: ${a.argsPreview}`);
      return;
    }
    case 'approve':
    case 'deny': {
      const a = await decideApproval(ctx, ctx.actor, org.id, id, sub === 'approve' ? 'approved' : 'denied');
      out(`${a.id}: ${a.state} (${a.connector}/${a.tool}); ${sub === 'approve' ? 'the same call, sent again, runs once' : 'the call stays refused'}`);
      return;
    }
    default:
      throw new UsageError(APPROVALS_USAGE);
  }
}
