import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { GatehouseError } from '../errors.ts';
import { ORG_ROLES } from '../gateway/access/permissions.ts';
import { clearPolicySet, getPolicySet, listPolicyVersions, setPolicySet, testPolicy } from '../services/policy.ts';
import type { KeyRole } from '../store/types.ts';
import type { CliContext } from './context.ts';
import { out, table, UsageError } from './output.ts';

export const POLICY_USAGE = `gatehouse policy set --file POLICIES.cedar [--org SLUG]
gatehouse policy show [--version N] [--history] [--org SLUG] [--json]
gatehouse policy clear [--org SLUG]
gatehouse policy test --tool CONNECTOR/TOOL [--role member] [--user ID] [--args JSON] [--ip ADDR] [--file P.cedar] [--org SLUG]
  Cedar policies per organisation (schema: README "Policies (Cedar)"). set validates against the schema and saves a
  new version; from the next request every tool call, prompt and resource needs a permit (deny by default, forbid
  wins). clear removes the set: Cedar is no longer consulted. test shows what a set would decide, changing nothing.`;

export async function policyCommand(ctx: CliContext, sub: string, rest: string[]): Promise<void> {
  const { values } = parseArgs({
    args: rest,
    allowPositionals: false,
    options: {
      org: { type: 'string' },
      file: { type: 'string' },
      version: { type: 'string' },
      history: { type: 'boolean' },
      json: { type: 'boolean' },
      tool: { type: 'string' },
      role: { type: 'string' },
      user: { type: 'string' },
      args: { type: 'string' },
      ip: { type: 'string' },
    },
  });
  const org = await ctx.org(values.org);
  switch (sub) {
    case 'set': {
      if (values.file === undefined) throw new UsageError('policy set needs --file POLICIES.cedar');
      const saved = await setPolicySet(ctx, ctx.actor, org.id, readFileSync(values.file, 'utf8'));
      out(`Saved version ${String(saved.version)} of the policy set of ${org.slug}; it applies from the next request`);
      return;
    }
    case 'show': {
      if (values.history === true) {
        const versions = await listPolicyVersions(ctx, ctx.actor, org.id);
        if (values.json === true) out(JSON.stringify(versions.map(({ orgId: _o, ...v }) => v)));
        else table(versions.map((v) => ({ version: String(v.version), state: v.text === null ? 'cleared' : 'set', by: v.createdBy, at: v.createdAt })), ['version', 'state', 'by', 'at']);
        return;
      }
      const version = values.version === undefined ? undefined : Number(values.version);
      if (version !== undefined && !(Number.isInteger(version) && version > 0)) throw new UsageError('--version must be a positive integer');
      const r = await getPolicySet(ctx, ctx.actor, org.id, version);
      if (values.json === true) {
        out(JSON.stringify(r === undefined ? { active: false, version: null, text: null } : { active: r.text !== null, version: r.version, text: r.text, createdBy: r.createdBy, createdAt: r.createdAt }));
      } else if (r === undefined) out(version === undefined ? `${org.slug} has no policy set: Cedar is not consulted` : `No version ${String(version)}`);
      else if (r.text === null) out(`Version ${String(r.version)} (${r.createdAt}, ${r.createdBy}) cleared the policy set: Cedar is not consulted`);
      else out(`# version ${String(r.version)}, ${r.createdAt}, ${r.createdBy}\n${r.text}`);
      return;
    }
    case 'clear': {
      const cleared = await clearPolicySet(ctx, ctx.actor, org.id);
      out(cleared === undefined ? `${org.slug} had no policy set` : `Cleared the policy set of ${org.slug} (version ${String(cleared.version)}): Cedar is no longer consulted`);
      return;
    }
    case 'test': {
      const [connector, ...name] = (values.tool ?? '').split('/');
      if (connector === undefined || connector === '' || name.length === 0) throw new UsageError('policy test needs --tool CONNECTOR/TOOL');
      const role = values.role ?? 'member';
      if (!(ORG_ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${ORG_ROLES.join(', ')}`);
      let args: unknown;
      try {
        args = values.args === undefined ? undefined : JSON.parse(values.args);
      } catch {
        throw new UsageError('--args must be a JSON object');
      }
      if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) throw new UsageError('--args must be a JSON object');
      const v = await testPolicy(ctx, ctx.actor, org.id, {
        ...(values.file === undefined ? {} : { text: readFileSync(values.file, 'utf8') }),
        method: 'tools/call',
        kind: 'tool',
        connector,
        name: name.join('/'),
        role: role as KeyRole,
        userId: values.user ?? null,
        ...(args === undefined ? {} : { arguments: args as Record<string, unknown> }),
        clientIp: values.ip ?? null,
      });
      if (values.json === true) out(JSON.stringify(v));
      else out(`${v.decision}${v.determining.length > 0 ? ` (${v.determining.join(', ')})` : ''}${v.message === undefined ? '' : `: ${v.message}`}`);
      if (v.decision === 'error') throw new GatehouseError('policy_error', 'The policy set could not be evaluated');
      return;
    }
    default:
      throw new UsageError(POLICY_USAGE);
  }
}
