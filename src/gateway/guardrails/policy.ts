import * as z from 'zod';

/**
 * What an organisation configures of its guardrails: one document with the organisation's policy, overrides per
 * connector and per tool (`connector/tool`, the upstream's own tool or prompt name), and deny rules. An override
 * replaces the fields it names; the rest come from the level above, and at the top from the defaults (input and
 * output schema checks on, PII and secret detection off, a 4 MiB output cap that truncates).
 */
const detection = z.strictObject({
  action: z.enum(['off', 'redact', 'block']),
  /** pre: arguments on their way to the upstream; post: what comes back; both. */
  direction: z.enum(['pre', 'post', 'both']).default('both'),
});

export const guardrailPolicySchema = z.strictObject({
  inputSchema: z.boolean().optional().describe("Validate tools/call arguments against the tool's inputSchema"),
  outputSchema: z.boolean().optional().describe("Validate structuredContent against the tool's outputSchema"),
  pii: detection.optional().describe('Emails, phone numbers, card numbers (Luhn), US SSNs, IBANs (mod-97)'),
  secrets: detection.optional().describe('Cloud and SaaS tokens, private keys, JWTs, Gatehouse keys, high-entropy strings'),
  outputCap: z
    .strictObject({ bytes: z.number().int().min(1024).max(256 * 1024 * 1024), action: z.enum(['truncate', 'refuse']) })
    .optional()
    .describe('Results larger than this many bytes of JSON are truncated or refused'),
});

const RULE_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const TARGET_KEY = /^[a-z0-9][a-z0-9_.-]{0,63}\/[^\s]{1,200}$/;

export const denyRuleSchema = z.strictObject({
  id: z.string().regex(RULE_ID, 'letters, digits, _ . - (at most 64)'),
  /** `connector/tool` glob, `*` matching any run of characters. */
  tool: z.string().min(1).max(200),
  /** JSON path into the arguments: `$`, `$.a.b`, `$.list[0]`, `$.list[*].sql`, `$..sql`. */
  path: z.string().min(1).max(200).default('$'),
  /** A JavaScript regular expression, matched against each value at the path (non-strings as JSON). */
  pattern: z.string().min(1).max(512),
  ignoreCase: z.boolean().default(false),
});

export const guardrailDocumentSchema = guardrailPolicySchema.extend({
  connectors: z.record(z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/), guardrailPolicySchema).default({}),
  tools: z.record(z.string().regex(TARGET_KEY, 'connector/tool'), guardrailPolicySchema).default({}),
  denyRules: z.array(denyRuleSchema).max(200).default([]),
});

export type GuardrailPolicy = z.output<typeof guardrailPolicySchema>;
export type DenyRule = z.output<typeof denyRuleSchema>;
export type GuardrailDocument = z.output<typeof guardrailDocumentSchema>;
export type Detection = z.output<typeof detection>;

export const DEFAULT_OUTPUT_CAP_BYTES = 4 * 1024 * 1024;

/** The policy that applies to one target, every field filled in. */
export interface EffectivePolicy {
  readonly inputSchema: boolean;
  readonly outputSchema: boolean;
  readonly pii: Detection;
  readonly secrets: Detection;
  readonly outputCap: { readonly bytes: number; readonly action: 'truncate' | 'refuse' };
}

export const DEFAULT_POLICY: EffectivePolicy = Object.freeze<EffectivePolicy>({
  inputSchema: true,
  outputSchema: true,
  pii: { action: 'off', direction: 'both' },
  secrets: { action: 'off', direction: 'both' },
  outputCap: { bytes: DEFAULT_OUTPUT_CAP_BYTES, action: 'truncate' },
});

export function emptyDocument(): GuardrailDocument {
  return { connectors: {}, tools: {}, denyRules: [] };
}

/** A stored document, parsed; a document that no longer parses throws (the caller fails closed). */
export function parseDocument(raw: unknown): GuardrailDocument {
  return guardrailDocumentSchema.parse(raw);
}

function over(base: EffectivePolicy, p: GuardrailPolicy | undefined): EffectivePolicy {
  if (p === undefined) return base;
  return {
    inputSchema: p.inputSchema ?? base.inputSchema,
    outputSchema: p.outputSchema ?? base.outputSchema,
    pii: p.pii ?? base.pii,
    secrets: p.secrets ?? base.secrets,
    outputCap: p.outputCap ?? base.outputCap,
  };
}

/** Defaults, then the organisation, then the connector, then the tool. */
export function effectivePolicy(doc: GuardrailDocument, connector: string, name: string | undefined): EffectivePolicy {
  const org = over(DEFAULT_POLICY, doc);
  const c = over(org, doc.connectors[connector]);
  return name === undefined ? c : over(c, doc.tools[`${connector}/${name}`]);
}

/** `*` matches any run of characters; everything else is literal. */
export function globMatcher(glob: string): (s: string) => boolean {
  const re = new RegExp(`^${glob.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's');
  return (s) => re.test(s);
}
