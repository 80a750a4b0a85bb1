/**
 * The output size cap: a result larger than the cap (bytes of its JSON) is refused, or truncated so that it fits:
 * text is cut, blocks past the cap are dropped, structuredContent is dropped when it does not fit, and the result
 * says so (a last text block for tools, `_meta['gatehouse/truncated']` for all).
 */
export const TRUNCATED_META = 'gatehouse/truncated';
const RESERVE = 512;

export function jsonBytes(value: unknown): number {
  // JSON.stringify(undefined) is undefined, whatever its declared type says.
  const text = JSON.stringify(value) as string | undefined;
  return text === undefined ? 0 : Buffer.byteLength(text, 'utf8');
}

function cutText(text: string, bytes: number): string {
  if (bytes <= 0) return '';
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= bytes) return text;
  // Decoding a cut buffer may end in a replacement character; drop it rather than send half a character.
  return buf.subarray(0, bytes).toString('utf8').replace(/\uFFFD$/, '');
}

function fitList(list: unknown[], budget: number, textOf: (item: unknown) => { get: () => string; with: (t: string) => unknown } | undefined): { items: unknown[]; used: number } {
  const items: unknown[] = [];
  let used = 0;
  for (const item of list) {
    const size = jsonBytes(item);
    if (used + size <= budget) {
      items.push(item);
      used += size;
      continue;
    }
    const t = textOf(item);
    if (t !== undefined) {
      const room = budget - used - (size - Buffer.byteLength(t.get(), 'utf8')) - 64;
      if (room > 0) {
        const cut = t.with(cutText(t.get(), room));
        items.push(cut);
        used += jsonBytes(cut);
      }
    }
    break;
  }
  return { items, used };
}

const textField =
  (field: string, inner?: string) =>
  (item: unknown): { get: () => string; with: (t: string) => unknown } | undefined => {
    const o = item as Record<string, unknown>;
    const h: unknown = inner === undefined ? o : o[inner];
    if (typeof h !== 'object' || h === null) return undefined;
    const holder = h as Record<string, unknown>;
    if (typeof holder[field] !== 'string') return undefined;
    const get = (): string => holder[field] as string;
    return { get, with: (t) => (inner === undefined ? { ...o, [field]: t } : { ...o, [inner]: { ...holder, [field]: t } }) };
  };

/** The result cut to the cap; `original` is its size before. */
export function truncateResult(method: string, result: Record<string, unknown>, cap: number, original: number): Record<string, unknown> {
  const budget = Math.max(0, cap - RESERVE);
  const meta = { ...(typeof result._meta === 'object' && result._meta !== null ? result._meta : {}), [TRUNCATED_META]: { originalBytes: original, capBytes: cap } };
  const notice = `[gatehouse: result truncated: ${String(original)} bytes of JSON, over the cap of ${String(cap)}]`;
  if (method === 'tools/call') {
    const { structuredContent, content, ...rest } = result;
    const fitted = fitList(Array.isArray(content) ? content : [], budget, textField('text'));
    const out: Record<string, unknown> = { ...rest, content: [...fitted.items, { type: 'text', text: notice }], _meta: meta };
    if (structuredContent !== undefined && fitted.used + jsonBytes(structuredContent) <= budget) out.structuredContent = structuredContent;
    return out;
  }
  if (method === 'resources/read') {
    const fitted = fitList(Array.isArray(result.contents) ? result.contents : [], budget, textField('text'));
    return { ...result, contents: fitted.items, _meta: meta };
  }
  const fitted = fitList(Array.isArray(result.messages) ? result.messages : [], budget, textField('text', 'content'));
  return { ...result, messages: fitted.items, _meta: meta };
}
