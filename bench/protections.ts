/**
 * What "every traffic protection on" means for the benchmark's second gateway (bench/gateway-process.ts
 * --protections): each protection of the data path switched on the way an operator would, with settings that never
 * refuse the benchmark's own calls (limits far above its rate, a policy that permits them), so what is measured is
 * what each check costs on a call it lets through:
 *
 *   rate limits   per address and per key (config), the organisation's limit, a tool limit on both echo tools
 *   Cedar         a policy set of six policies (role and connector, client network, a forbid on another tool, an argument
 *                 condition, hours), evaluated on every call
 *   guardrails    PII and secret scanning of arguments and results (redact) and a deny rule, on top of the
 *                 defaults both gateways run (input and output schema validation, the output cap)
 *
 * The plain gateway runs with the rate limits off (`off` in config), so the two differ by exactly these.
 */
import type { App } from '../src/app.ts';
import type { Actor } from '../src/services/context.ts';
import { setGuardrails } from '../src/services/guardrails.ts';
import { setPolicySet } from '../src/services/policy.ts';
import { setKeyTier, setOrgLimit, setToolLimit } from '../src/services/traffic.ts';

export interface ProtectionTarget {
  readonly orgId: string;
  readonly keyId: string;
  readonly actor: Actor;
}

/** Rate limits in config, for the environment of each gateway: off in the plain one, high in the protected one. */
export function limitEnv(protections: boolean): Record<string, string> {
  return protections
    ? { GATEHOUSE_RATE_LIMIT_ADDRESS: '1000000/s,burst=100000', GATEHOUSE_RATE_LIMIT_AUTH: '10/s,burst=30', GATEHOUSE_RATE_LIMIT_KEY: '1000000/s,burst=100000' }
    : { GATEHOUSE_RATE_LIMIT_ADDRESS: 'off', GATEHOUSE_RATE_LIMIT_KEY: 'off' };
}

const POLICIES = `
@id("members-use-fx") permit(principal in Gatehouse::Role::"member", action, resource in Gatehouse::Connector::"fx");
@id("members-use-fxs") permit(principal in Gatehouse::Role::"member", action, resource in Gatehouse::Connector::"fxs");
@id("from-loopback") forbid(principal, action, resource) unless { context has clientIp && context.clientIp.isInRange(ip("127.0.0.0/8")) };
@id("no-fail") forbid(principal, action, resource == Gatehouse::Tool::"fx/fail");
@id("no-secrets-in-echo") forbid(principal, action == Gatehouse::Action::"tools/call", resource)
  when { context.arguments.hasTag("text") && context.arguments.getTag("text") like "*BEGIN PRIVATE KEY*" };
@id("office-hours-only-for-viewers") forbid(principal in Gatehouse::Role::"viewer", action, resource) unless { context.hourUtc >= 8 && context.hourUtc < 18 };
`;

export async function enableProtections(app: App, t: ProtectionTarget): Promise<void> {
  const ctx = app.services;
  await setOrgLimit(ctx, t.actor, t.orgId, '1000000/s,burst=100000');
  await setToolLimit(ctx, t.actor, t.orgId, 'fx/echo', '1000000/s,burst=100000');
  await setToolLimit(ctx, t.actor, t.orgId, 'fxs/echo', '1000000/s,burst=100000');
  await setKeyTier(ctx, t.actor, t.orgId, t.keyId, '1000000');
  await setPolicySet(ctx, t.actor, t.orgId, POLICIES);
  await setGuardrails(ctx, t.actor, t.orgId, {
    pii: { action: 'redact', direction: 'both' },
    secrets: { action: 'redact', direction: 'both' },
    denyRules: [{ id: 'no-drop', tool: '*/echo', path: '$.text', pattern: 'drop\\s+table', ignoreCase: true }],
  });
}
