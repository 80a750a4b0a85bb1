import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { getGuardrails, setConnectorGuardrails, setDenyRule, setGuardrails, setToolGuardrails, type GuardrailsView } from '../services/guardrails.ts';
import type { CliContext } from './context.ts';
import { out, UsageError } from './output.ts';

export const GUARDRAILS_USAGE = `gatehouse guardrails show [--org SLUG]
gatehouse guardrails set --file FILE [--org SLUG]
gatehouse guardrails connector CONNECTOR POLICY_JSON|off [--org SLUG]
gatehouse guardrails tool CONNECTOR/TOOL POLICY_JSON|off [--org SLUG]
gatehouse guardrails deny-rule ID (--tool GLOB --pattern REGEX [--path JSONPATH] [--ignore-case] | off) [--org SLUG]
  Guardrails per organisation. show prints the document as JSON; set replaces it with a FILE's JSON. A POLICY is
  {"inputSchema":true,"outputSchema":true,"pii":{"action":"off|redact|block","direction":"pre|post|both"},
  "secrets":{...},"outputCap":{"bytes":4194304,"action":"truncate|refuse"}}, any field left out inherited. A deny
  rule refuses calls of the tools GLOB matches (connector/tool, * any run) whose arguments at JSONPATH ($, $.a.b,
  $.list[*], $..name; default $) match REGEX. Every change applies to the next request.`;

function show(v: GuardrailsView): void {
  out(JSON.stringify({ document: v.document, updatedAt: v.updatedAt }, null, 2));
}

function policyArg(text: string): unknown {
  if (text === 'off') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError('POLICY_JSON must be JSON (or off)');
  }
}

export async function guardrailsCommand(ctx: CliContext, sub: string, rest: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      org: { type: 'string' },
      file: { type: 'string' },
      tool: { type: 'string' },
      path: { type: 'string' },
      pattern: { type: 'string' },
      'ignore-case': { type: 'boolean' },
    },
  });
  const org = await ctx.org(values.org);
  const [a, b] = positionals;
  switch (sub) {
    case 'show':
      if (positionals.length > 0) throw new UsageError(GUARDRAILS_USAGE);
      show(await getGuardrails(ctx, ctx.actor, org.id));
      return;
    case 'set': {
      if (values.file === undefined || positionals.length > 0) throw new UsageError('guardrails set needs --file FILE');
      let document: unknown;
      try {
        document = JSON.parse(readFileSync(values.file, 'utf8')) as unknown;
      } catch {
        throw new UsageError('guardrails set: the file must hold a JSON document');
      }
      show(await setGuardrails(ctx, ctx.actor, org.id, document));
      return;
    }
    case 'connector':
      if (a === undefined || b === undefined || positionals.length !== 2) throw new UsageError('guardrails connector needs CONNECTOR and POLICY_JSON or off');
      show(await setConnectorGuardrails(ctx, ctx.actor, org.id, a, policyArg(b)));
      return;
    case 'tool': {
      const slash = a?.indexOf('/') ?? -1;
      if (a === undefined || b === undefined || positionals.length !== 2 || slash <= 0) throw new UsageError('guardrails tool needs CONNECTOR/TOOL and POLICY_JSON or off');
      show(await setToolGuardrails(ctx, ctx.actor, org.id, a.slice(0, slash), a.slice(slash + 1), policyArg(b)));
      return;
    }
    case 'deny-rule': {
      if (a === undefined || positionals.length > 2) throw new UsageError('guardrails deny-rule needs ID');
      if (b === 'off') {
        show(await setDenyRule(ctx, ctx.actor, org.id, a, null));
        return;
      }
      if (b !== undefined || values.tool === undefined || values.pattern === undefined) throw new UsageError('guardrails deny-rule needs --tool GLOB and --pattern REGEX (or off)');
      show(
        await setDenyRule(ctx, ctx.actor, org.id, a, {
          tool: values.tool,
          pattern: values.pattern,
          ...(values.path === undefined ? {} : { path: values.path }),
          ignoreCase: values['ignore-case'] === true,
        }),
      );
      return;
    }
    default:
      throw new UsageError(GUARDRAILS_USAGE);
  }
}
