/**
 * Looks through what a model will read of a tool (title, description, and every description and title inside its
 * schemas) for text written to steer the model rather than to describe the tool, and for characters a reviewer
 * cannot see. A finding names the rule and the place, never the matched text; a definition with findings is never
 * approved without a person looking at it.
 */
export interface DefinitionFinding {
  readonly rule: string;
  /** Where: `description`, `title`, `inputSchema.properties.city.description`, ... */
  readonly place: string;
}

const INSTRUCTION_RULES: readonly { readonly rule: string; readonly pattern: RegExp }[] = [
  { rule: 'ignore-instructions', pattern: /\b(?:ignore|disregard|forget|override)\b[^.\n]{0,40}\b(?:previous|prior|above|earlier|all|system|other)\b[^.\n]{0,20}\b(?:instructions?|prompts?|rules?|messages?|directives?)\b/i },
  { rule: 'hidden-tag', pattern: /<\s*\/?\s*(?:important|system|instructions?|secret|hidden|admin)\b[^>]*>/i },
  { rule: 'conceal-from-user', pattern: /\b(?:do not|don't|never|without)\b[^.\n]{0,30}\b(?:tell|telling|inform|informing|mention|mentioning|show|showing|reveal|revealing|alert|alerting|notify|notifying)\b[^.\n]{0,20}\b(?:the )?user\b/i },
  { rule: 'role-override', pattern: /\b(?:you are now|act as|from now on you|new instructions|system prompt)\b/i },
  { rule: 'before-using', pattern: /\b(?:before|prior to) (?:using|calling|running) (?:this|any|the) tool\b[^.\n]{0,60}\b(?:read|send|call|include|pass|upload)\b/i },
  { rule: 'sensitive-files', pattern: /(?:~\/\.ssh|id_rsa|\.aws\/credentials|\.env\b|\/etc\/passwd|\.npmrc|\.netrc|private[ _-]?key)/i },
  { rule: 'exfiltration', pattern: /\b(?:send|post|upload|forward|exfiltrate|leak|transmit)\b[^.\n]{0,60}\b(?:to|into)\b[^.\n]{0,20}(?:https?:\/\/|webhook|endpoint|server|email)/i },
  { rule: 'secret-harvest', pattern: /\b(?:include|pass|put|add|append)\b[^.\n]{0,40}\b(?:api[ _-]?keys?|passwords?|tokens?|credentials?|secrets?|conversation history|chat history)\b/i },
];

/** Zero-width and invisible formatting characters, bidi controls, and Unicode tag characters. */
const HIDDEN = /[\u00AD\u180E\u200B-\u200F\u2028\u2029\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\u{E0000}-\u{E007F}]/u;
const HIDDEN_ALL = new RegExp(HIDDEN.source, 'gu');

/** Every finding in a tool definition's readable text. */
export function scanDefinition(definition: Readonly<Record<string, unknown>>): DefinitionFinding[] {
  const findings: DefinitionFinding[] = [];
  const seen = new Set<string>();
  const add = (rule: string, place: string): void => {
    const key = `${rule} ${place}`;
    if (seen.has(key)) return;
    seen.add(key);
    findings.push({ rule, place });
  };
  const scanText = (text: string, place: string): void => {
    if (HIDDEN.test(text)) add('hidden-characters', place);
    // Hidden characters can split a phrase so that it reads as one to the model but not to a pattern.
    const plain = text.replace(HIDDEN_ALL, '');
    for (const { rule, pattern } of INSTRUCTION_RULES) if (pattern.test(plain)) add(rule, place);
  };
  if (typeof definition.name === 'string' && HIDDEN.test(definition.name)) add('hidden-characters', 'name');
  for (const field of ['title', 'description'] as const) {
    const v = definition[field];
    if (typeof v === 'string') scanText(v, field);
  }
  for (const field of ['inputSchema', 'outputSchema', 'annotations'] as const) walk(definition[field], field, scanText);
  return findings;
}

/** Every string of a schema (descriptions, titles, enum values, defaults, property names) with its path. */
function walk(value: unknown, place: string, visit: (text: string, place: string) => void, depth = 0): void {
  if (depth > 32) return;
  if (typeof value === 'string') {
    visit(value, place);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      walk(v, `${place}[${i}]`, visit, depth + 1);
    });
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (HIDDEN.test(k)) visit(k, `${place}.${visible(k)}`);
    walk(v, `${place}.${visible(k)}`, visit, depth + 1);
  }
}

/** The text with every hidden character shown as `<U+200B>`, so a reviewer sees what the model would read. */
export function visible(text: string): string {
  return text.replace(HIDDEN_ALL, (c) => `<U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}>`);
}
