import { createHash } from 'node:crypto';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';

/**
 * What of a tool is pinned: everything a model reads or relies on. A change to any of these fields after approval is
 * a change an admin must review (a "rug pull": a tool that was approved as harmless and then redefines itself).
 */
export const PINNED_FIELDS = ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'] as const;

export type PinnedDefinition = Partial<Record<(typeof PINNED_FIELDS)[number], unknown>>;

/** The pinned fields of a tool as listed by its upstream (absent fields stay absent). */
export function pinnedDefinition(tool: Tool): PinnedDefinition {
  const out: PinnedDefinition = {};
  const source = tool as unknown as Record<string, unknown>;
  for (const field of PINNED_FIELDS) {
    if (source[field] !== undefined) out[field] = source[field];
  }
  return out;
}

/** JSON with object keys sorted at every depth, so equal definitions give equal text whatever the upstream's key order. */
export function canonicalJson(value: unknown, indent?: number): string {
  return JSON.stringify(sortKeys(value), null, indent);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) {
    if (o[k] !== undefined) sorted[k] = sortKeys(o[k]);
  }
  return sorted;
}

/** SHA-256 (hex) of the definition's canonical JSON. */
export function fingerprint(definition: PinnedDefinition): string {
  return createHash('sha256').update(canonicalJson(definition), 'utf8').digest('hex');
}
