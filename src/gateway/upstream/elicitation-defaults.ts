/**
 * SEP-1034: a form elicitation's requested schema may give its fields defaults, and the client applies them. An
 * accepted answer that leaves such a field out (the person changed nothing, or the agent does not know defaults)
 * goes back upstream with the default filled in. Only primitive defaults are applied (the schema of a form is flat:
 * strings, numbers, integers, booleans, enums); what the client did answer is never changed.
 */
export function applyElicitationDefaults(params: Record<string, unknown> | undefined, result: Record<string, unknown>): Record<string, unknown> {
  if (result.action !== 'accept') return result;
  const properties = (params?.requestedSchema as { properties?: unknown } | undefined)?.properties;
  if (typeof properties !== 'object' || properties === null) return result;
  const given = result.content;
  const content: Record<string, unknown> = typeof given === 'object' && given !== null && !Array.isArray(given) ? { ...(given as Record<string, unknown>) } : {};
  let changed = given === undefined;
  for (const [name, schema] of Object.entries(properties as Record<string, unknown>)) {
    if (Object.hasOwn(content, name) || typeof schema !== 'object' || schema === null) continue;
    const value = (schema as { default?: unknown }).default;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      content[name] = value;
      changed = true;
    }
  }
  return changed ? { ...result, content } : result;
}
