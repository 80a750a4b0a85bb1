import { GatehouseError } from '../../errors.ts';
import { auditArgs } from '../audit/redact.ts';
import { noteDetail, type Call } from '../call.ts';
import { scanContent, type Scanned } from './content-scan.ts';
import { PII_DETECTORS, SECRET_DETECTORS, type Detector, type DetectorKind } from './detectors.ts';
import { jsonBytes, truncateResult } from './output-cap.ts';
import type { Detection, EffectivePolicy } from './policy.ts';
import { SchemaChecks } from './schema-check.ts';
import type { CompiledGuardrails, GuardrailSettingsCache } from './settings.ts';

/**
 * Stages `guard-pre` and `guard-post`: ordered guardrails on what goes to a tool, prompt or resource and on what comes
 * back (the method table's `guarded` rows), as the organisation, connector and tool configured them. A guardrail
 * refuses with its own code; one that throws anything else, or runs past its time budget, refuses with
 * guardrail_error naming it (fail closed). Every finding goes into the audit record's `detail.guard` (rule, where,
 * action), never the matched text. Server-to-client requests (sampling, elicitation, roots) carry no tool target:
 * both stages let them pass, as they do a replayed idempotent answer (guarded when it was first given).
 */
export interface GuardContext {
  readonly call: Call;
  readonly method: Scanned;
  readonly connector: string;
  /** The upstream's own name of the tool or prompt; undefined for a resource. */
  readonly name: string | undefined;
  readonly policy: EffectivePolicy;
  readonly rules: CompiledGuardrails;
}

export interface Guardrail {
  readonly id: string;
  run(ctx: GuardContext): void | Promise<void>;
}

export interface GuardFinding {
  readonly stage: 'pre' | 'post';
  readonly rule: string;
  readonly where: string;
  readonly action: 'redact' | 'block' | 'truncate' | 'refuse';
  readonly encoding?: string;
}

interface GuardRecord {
  findings: GuardFinding[];
  more?: number;
}

const MAX_FINDINGS = 50;
const ALL_KINDS: ReadonlySet<DetectorKind> = new Set(['pii', 'secrets']);
/** The codes a guardrail refuses with itself; anything else it throws is a failure of the guardrail. */
const OWN_CODES = new Set(['arguments_invalid', 'guardrail_denied', 'output_invalid', 'output_too_large']);

function record(call: Call): GuardRecord {
  const existing = call.audit.detail?.guard as GuardRecord | undefined;
  if (existing !== undefined) return existing;
  const r: GuardRecord = { findings: [] };
  noteDetail(call, 'guard', r);
  return r;
}

export function noteFinding(call: Call, f: GuardFinding): void {
  const r = record(call);
  if (r.findings.length < MAX_FINDINGS) r.findings.push(f);
  else r.more = (r.more ?? 0) + 1;
}

function failed(id: string, cause: unknown, timedOut = false): GatehouseError {
  return new GatehouseError('guardrail_error', timedOut ? `Guardrail ${id} ran out of time; the call is refused` : `Guardrail ${id} failed; the call is refused`, {
    cause,
    data: { reason: id, guardrail: id },
  });
}

function translate(id: string, err: unknown): GatehouseError {
  return err instanceof GatehouseError && OWN_CODES.has(err.code) ? err : failed(id, err);
}

/** Runs guardrails in order, synchronously while they are; the first refusal ends the call. */
export function runGuardrails(list: readonly Guardrail[], ctx: GuardContext, timeoutMs: number): void | Promise<void> {
  for (let i = 0; i < list.length; i++) {
    const g = list[i] as Guardrail;
    const started = performance.now();
    let pending: void | Promise<void>;
    try {
      pending = g.run(ctx);
    } catch (err) {
      throw translate(g.id, err);
    }
    if (pending !== undefined) return finishAsync(g, pending, started, list.slice(i + 1), ctx, timeoutMs);
    // A synchronous check cannot be interrupted; one that took longer than its budget still refuses.
    if (performance.now() - started > timeoutMs) throw failed(g.id, new Error('over its time budget'), true);
  }
}

async function finishAsync(g: Guardrail, pending: Promise<void>, started: number, rest: readonly Guardrail[], ctx: GuardContext, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(failed(g.id, new Error('timed out'), true));
    }, Math.max(0, timeoutMs - (performance.now() - started)));
  });
  try {
    await Promise.race([pending, timeout]);
  } catch (err) {
    throw err instanceof GatehouseError && err.code === 'guardrail_error' ? err : translate(g.id, err);
  } finally {
    clearTimeout(timer);
  }
  await runGuardrails(rest, ctx, timeoutMs);
}

function active(d: Detection, stage: 'pre' | 'post'): boolean {
  return d.action !== 'off' && (d.direction === 'both' || d.direction === stage);
}

/** PII and secrets: redact (the value reaches no one) or block (the call is refused), as configured per kind. */
function detection(stage: 'pre' | 'post'): Guardrail {
  return {
    id: `detect.${stage}`,
    run(ctx) {
      const { policy, call } = ctx;
      const pii = active(policy.pii, stage);
      const secrets = active(policy.secrets, stage);
      if (!pii && !secrets) return;
      const detectors: Detector[] = [...(secrets ? SECRET_DETECTORS : []), ...(pii ? PII_DETECTORS : [])];
      const redact = new Set<DetectorKind>();
      if (pii && policy.pii.action === 'redact') redact.add('pii');
      if (secrets && policy.secrets.action === 'redact') redact.add('secrets');
      const args = call.upstreamParams?.arguments;
      const value = stage === 'pre' ? args : call.result;
      if (value === undefined || (stage === 'pre' && ctx.method === 'resources/read')) return;
      // Every kind found is replaced in the copy, blocked ones too: the audit record's arguments must not keep them.
      const scan = scanContent(stage === 'pre' ? 'arguments' : ctx.method, value, detectors, ALL_KINDS);
      if (scan.findings.length === 0) return;
      if (stage === 'pre') call.audit.args = auditArgs(scan.redacted);
      const blocked = scan.findings.filter((f) => !redact.has(f.kind));
      for (const f of scan.findings) {
        noteFinding(call, { stage, rule: f.rule, where: f.where, action: redact.has(f.kind) ? 'redact' : 'block', ...(f.encoding === undefined ? {} : { encoding: f.encoding }) });
      }
      const first = blocked[0];
      if (first !== undefined) {
        const rules = [...new Set(blocked.map((f) => f.rule))].join(', ');
        throw new GatehouseError('guardrail_denied', `Refused by a guardrail: ${rules} found in ${stage === 'pre' ? 'the arguments' : 'the result'} (${first.where})`, {
          data: { reason: first.rule },
        });
      }
      if (stage === 'pre') call.upstreamParams = { ...call.upstreamParams, arguments: scan.redacted };
      else call.result = scan.redacted;
    },
  };
}

function inputSchema(schemas: SchemaChecks): Guardrail {
  return {
    id: 'schema.input',
    run(ctx) {
      const target = ctx.call.target;
      if (ctx.method !== 'tools/call' || !ctx.policy.inputSchema || target?.kind !== 'tool') return;
      const schema = target.entry.item.inputSchema;
      if (schema === undefined) return;
      const errors = schemas.check(schema)(ctx.call.upstreamParams?.arguments ?? {});
      if (errors === undefined) return;
      noteFinding(ctx.call, { stage: 'pre', rule: 'schema.input', where: 'arguments', action: 'refuse' });
      throw new GatehouseError('arguments_invalid', `Invalid arguments for tool ${ctx.call.audit.name ?? target.original}: ${errors.join('; ')}`, {
        data: { reason: 'schema.input', errors },
      });
    },
  };
}

const denyRules: Guardrail = {
  id: 'deny',
  run(ctx) {
    if (ctx.name === undefined || ctx.rules.denyRules.length === 0) return;
    const target = `${ctx.connector}/${ctx.name}`;
    for (const rule of ctx.rules.denyRules) {
      if (!rule.applies(target)) continue;
      const hits = rule.match(ctx.call.upstreamParams?.arguments);
      const where = hits[0];
      if (where === undefined) continue;
      noteFinding(ctx.call, { stage: 'pre', rule: `deny.${rule.id}`, where, action: 'block' });
      throw new GatehouseError('guardrail_denied', `Refused by deny rule ${rule.id} (${where})`, { data: { reason: `deny.${rule.id}` } });
    }
  },
};

function outputSchema(schemas: SchemaChecks): Guardrail {
  return {
    id: 'schema.output',
    run(ctx) {
      const target = ctx.call.target;
      if (ctx.method !== 'tools/call' || !ctx.policy.outputSchema || target?.kind !== 'tool') return;
      const schema = (target.entry.item as { outputSchema?: unknown }).outputSchema;
      const result = ctx.call.result as Record<string, unknown> | undefined;
      if (schema === undefined || result === undefined || result.isError === true) return;
      const errors = result.structuredContent === undefined ? ['/ structuredContent is missing'] : schemas.check(schema)(result.structuredContent);
      if (errors === undefined) return;
      noteFinding(ctx.call, { stage: 'post', rule: 'schema.output', where: 'structuredContent', action: 'refuse' });
      throw new GatehouseError('output_invalid', `Tool ${ctx.call.audit.name ?? target.original} answered against its outputSchema: ${errors.join('; ')}`, {
        data: { reason: 'schema.output', errors },
      });
    },
  };
}

const outputCap: Guardrail = {
  id: 'output.cap',
  run(ctx) {
    const result = ctx.call.result;
    if (typeof result !== 'object' || result === null) return;
    const { bytes: cap, action } = ctx.policy.outputCap;
    const size = jsonBytes(result);
    if (size <= cap) return;
    noteFinding(ctx.call, { stage: 'post', rule: 'output.cap', where: 'result', action: action === 'refuse' ? 'refuse' : 'truncate' });
    if (action === 'refuse') {
      throw new GatehouseError('output_too_large', `The result (${String(size)} bytes) is over the output cap of ${String(cap)} bytes`, { data: { reason: 'output.cap', bytes: size, cap } });
    }
    ctx.call.result = truncateResult(ctx.method, result as Record<string, unknown>, cap, size);
  },
};

export interface GuardStagesDeps {
  readonly settings: GuardrailSettingsCache;
  /** A guardrail's time budget; one that takes longer refuses the call. */
  readonly timeoutMs: number;
  readonly schemas?: SchemaChecks;
  /** Guardrails run after the built-in ones (the stage lists are otherwise fixed). */
  readonly extra?: { readonly pre?: readonly Guardrail[]; readonly post?: readonly Guardrail[] };
}

export function createGuardStages(deps: GuardStagesDeps) {
  const schemas = deps.schemas ?? new SchemaChecks();
  // Order matters: a refusal by schema or rule is cheaper than a scan; the output is checked against its schema as
  // the upstream sent it, then capped (so a huge result is never scanned whole), then scanned.
  const pre: readonly Guardrail[] = [inputSchema(schemas), denyRules, detection('pre'), ...(deps.extra?.pre ?? [])];
  const post: readonly Guardrail[] = [outputSchema(schemas), outputCap, detection('post'), ...(deps.extra?.post ?? [])];

  function stage(list: readonly Guardrail[]) {
    const run = (call: Call, method: Scanned, rules: CompiledGuardrails): void | Promise<void> => {
      if (rules.broken !== undefined) throw failed('settings', rules.broken);
      const target = call.target;
      if (target === undefined) return;
      const name = target.kind === 'resource' ? undefined : target.original;
      return runGuardrails(list, { call, method, connector: target.connector, name, policy: rules.policy(target.connector, name), rules }, deps.timeoutMs);
    };
    return (call: Call): void | Promise<void> => {
      const method = call.request?.method;
      if (call.direction !== 'client' || call.spec?.guarded !== true || call.local !== undefined || call.principal === undefined || call.target === undefined) return;
      if (method !== 'tools/call' && method !== 'resources/read' && method !== 'prompts/get') return;
      let rules: CompiledGuardrails | Promise<CompiledGuardrails>;
      try {
        rules = deps.settings.of(call.principal.orgId, call.accessRevision);
      } catch (err) {
        throw failed('settings', err);
      }
      if (rules instanceof Promise) {
        return rules.then(
          (r) => run(call, method, r),
          (err: unknown) => {
            throw err instanceof GatehouseError ? err : failed('settings', err);
          },
        );
      }
      return run(call, method, rules);
    };
  }

  return { pre: stage(pre), post: stage(post) };
}
