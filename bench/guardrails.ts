/**
 * The guard stages' own cost per call: `guard-pre` and `guard-post` on a typical tools/call (the fixture's `add`
 * tool: a two-number draft-07 inputSchema, an outputSchema, a small text + structuredContent result), in process, no
 * network and no store (the settings cache is warm, as on the data path). Three settings: the defaults (schema checks
 * and the output cap), PII and secret redaction in both directions on a clean result, and the same on a result with
 * a card number and a key in it. It reports µs per call (pre + post); nothing asserts anything about time.
 *
 *   node bench/guardrails.ts [--calls N]
 */
import { parseArgs } from 'node:util';
import { newAuditFacts, type Call } from '../src/gateway/call.ts';
import { parseDocument } from '../src/gateway/guardrails/policy.ts';
import { compileGuardrails } from '../src/gateway/guardrails/settings.ts';
import { createGuardStages } from '../src/gateway/guardrails/stages.ts';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '200000' } } });
const calls = Number(values.calls);

const tool = {
  name: 'fx__add',
  inputSchema: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'], additionalProperties: false },
  outputSchema: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { sum: { type: 'number' } }, required: ['sum'], additionalProperties: false },
};

function makeCall(result: unknown): Call {
  return {
    direction: 'client',
    request: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'fx__add', arguments: { a: 1, b: 2 } } },
    spec: { target: 'tool', answer: 'upstream', guarded: true },
    principal: { orgId: 'org' },
    accessRevision: 1,
    target: { kind: 'tool', connector: 'fx', original: 'add', entry: { connector: 'fx', original: 'add', item: tool } },
    upstreamParams: { name: 'add', arguments: { a: 1, b: 2 } },
    result,
    audit: newAuditFacts('mcp.tools/call'),
  } as unknown as Call;
}

function measure(label: string, document: unknown, result: unknown): void {
  const rules = compileGuardrails(parseDocument(document));
  const { pre, post } = createGuardStages({ timeoutMs: 1000, settings: { of: () => rules } });
  const run = (): void => {
    const call = makeCall(result);
    if (pre(call) !== undefined || post(call) !== undefined) throw new Error('the built-in stages are synchronous with a warm cache');
  };
  for (let i = 0; i < 20_000; i++) run();
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) run();
  const ns = Number(process.hrtime.bigint() - started) / calls;
  process.stdout.write(`${label.padEnd(46)} ${(ns / 1000).toFixed(2)} µs per call (pre + post)\n`);
}

const small = { content: [{ type: 'text', text: '3' }], structuredContent: { sum: 3 } };
const leaky = { content: [{ type: 'text', text: 'card 4111 1111 1111 1111, key AKIAIOSFODNN7EXAMPLE' }], structuredContent: { sum: 3 } };
const both = { action: 'redact', direction: 'both' };
measure('defaults (schemas, output cap)', {}, small);
measure('no checks at all (every guardrail off)', { inputSchema: false, outputSchema: false }, small);
measure('+ PII and secrets redaction, clean result', { pii: both, secrets: both }, small);
measure('+ PII and secrets redaction, result with two', { pii: both, secrets: both }, leaky);
