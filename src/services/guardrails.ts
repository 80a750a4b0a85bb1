import type * as z from 'zod';
import { GatehouseError } from '../errors.ts';
import { compileDenyRule } from '../gateway/guardrails/deny-rules.ts';
import {
  denyRuleSchema,
  emptyDocument,
  guardrailDocumentSchema,
  guardrailPolicySchema,
  parseDocument,
  type DenyRule,
  type GuardrailDocument,
  type GuardrailPolicy,
} from '../gateway/guardrails/policy.ts';
import { authorize, changeEvent, requireSameOrg, type Actor, type ServiceContext } from './context.ts';

/**
 * An organisation's guardrails: its policy (schema checks, PII and secret detection, output cap), overrides per
 * connector and per `connector/tool`, and deny rules. Every document is validated whole before it is saved (a deny
 * rule whose path or pattern does not compile is refused with 400), applies from the next request (the table bumps
 * the access revision) and every change is audited (what changed, not the patterns' matches).
 */
const NO_SUCH_ORG = 'No such organisation';

export interface GuardrailsView {
  readonly document: GuardrailDocument;
  readonly updatedAt: string | null;
}

function issues(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length === 0 ? '(document)' : i.path.join('.')}: ${i.message}`)
    .join('; ');
}

/** Validates a whole document (shape, and that every deny rule compiles); bad_request with the reasons otherwise. */
export function validateDocument(raw: unknown): GuardrailDocument {
  const parsed = guardrailDocumentSchema.safeParse(raw);
  if (!parsed.success) throw new GatehouseError('bad_request', `Invalid guardrail settings: ${issues(parsed.error)}`);
  for (const rule of parsed.data.denyRules) {
    try {
      compileDenyRule(rule);
    } catch (err) {
      throw new GatehouseError('bad_request', `Invalid deny rule ${rule.id}: ${err instanceof Error ? err.message : 'does not compile'}`);
    }
  }
  const ids = new Set<string>();
  for (const rule of parsed.data.denyRules) {
    if (ids.has(rule.id)) throw new GatehouseError('bad_request', `Two deny rules have the id ${rule.id}`);
    ids.add(rule.id);
  }
  return parsed.data;
}

async function current(ctx: Pick<ServiceContext, 'store'>, orgId: string): Promise<GuardrailsView> {
  const stored = await ctx.store.guardrailSettings.getGuardrailSettings(orgId);
  if (stored === undefined) return { document: emptyDocument(), updatedAt: null };
  try {
    return { document: parseDocument(stored.document), updatedAt: stored.updatedAt };
  } catch {
    // Shown as stored so that an admin can see and replace it; the data path refuses calls until then.
    return { document: stored.document as GuardrailDocument, updatedAt: stored.updatedAt };
  }
}

export async function getGuardrails(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string): Promise<GuardrailsView> {
  authorize(actor, 'guardrails.read');
  requireSameOrg(actor, orgId, NO_SUCH_ORG);
  return current(ctx, orgId);
}

async function change(
  ctx: ServiceContext,
  actor: Actor,
  orgId: string,
  action: string,
  target: { connector?: string; name?: string },
  edit: (d: GuardrailDocument) => unknown,
  args: unknown,
): Promise<GuardrailsView> {
  authorize(actor, 'guardrails.update');
  requireSameOrg(actor, orgId, NO_SUCH_ORG);
  const before = await current(ctx, orgId);
  const document = validateDocument(edit(before.document));
  const updatedAt = new Date().toISOString();
  await ctx.store.guardrailSettings.setGuardrailSettings({ orgId, document, updatedAt });
  await ctx.audit.record(changeEvent(orgId, actor, action, target, args));
  return { document, updatedAt };
}

/** Replaces the whole document. */
export function setGuardrails(ctx: ServiceContext, actor: Actor, orgId: string, document: unknown): Promise<GuardrailsView> {
  return change(ctx, actor, orgId, 'guardrails.set', { name: 'organisation' }, () => document, { document: 'replaced' });
}

function policyOf(raw: unknown): GuardrailPolicy {
  const parsed = guardrailPolicySchema.safeParse(raw);
  if (!parsed.success) throw new GatehouseError('bad_request', `Invalid guardrail policy: ${issues(parsed.error)}`);
  return parsed.data;
}

/** Sets (null: removes) the override of one connector. */
export function setConnectorGuardrails(ctx: ServiceContext, actor: Actor, orgId: string, connector: string, policy: unknown): Promise<GuardrailsView> {
  const p = policy === null ? null : policyOf(policy);
  return change(
    ctx,
    actor,
    orgId,
    'guardrails.connector',
    { connector },
    (d) => {
      const { [connector]: _old, ...rest } = d.connectors;
      return { ...d, connectors: p === null ? rest : { ...rest, [connector]: p } };
    },
    { policy: p },
  );
}

/** Sets (null: removes) the override of one tool or prompt, by the connector's name and the upstream's own name. */
export function setToolGuardrails(ctx: ServiceContext, actor: Actor, orgId: string, connector: string, tool: string, policy: unknown): Promise<GuardrailsView> {
  const p = policy === null ? null : policyOf(policy);
  const key = `${connector}/${tool}`;
  return change(
    ctx,
    actor,
    orgId,
    'guardrails.tool',
    { connector, name: tool },
    (d) => {
      const { [key]: _old, ...rest } = d.tools;
      return { ...d, tools: p === null ? rest : { ...rest, [key]: p } };
    },
    { policy: p },
  );
}

/** Adds or replaces (null: removes) the deny rule with this id. */
export function setDenyRule(ctx: ServiceContext, actor: Actor, orgId: string, id: string, rule: Omit<z.input<typeof denyRuleSchema>, 'id'> | null): Promise<GuardrailsView> {
  let parsed: DenyRule | null = null;
  if (rule !== null) {
    const r = denyRuleSchema.safeParse({ ...rule, id });
    if (!r.success) throw new GatehouseError('bad_request', `Invalid deny rule: ${issues(r.error)}`);
    parsed = r.data;
  }
  return change(
    ctx,
    actor,
    orgId,
    'guardrails.deny_rule',
    { name: id },
    (d) => {
      const others = d.denyRules.filter((x) => x.id !== id);
      if (parsed === null && others.length === d.denyRules.length) throw new GatehouseError('not_found', 'No such deny rule');
      return { ...d, denyRules: parsed === null ? others : [...others, parsed] };
    },
    parsed === null ? { removed: true } : { tool: parsed.tool, path: parsed.path },
  );
}
