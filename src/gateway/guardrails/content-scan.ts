import { decodedText, type Detector, type DetectorKind } from './detectors.ts';
import { scanPieces, type TextFinding } from './text-scan.ts';

/**
 * Where the text of a message is: arguments (every string, each on its own), tool results (adjacent text blocks
 * read as one, embedded resources, structuredContent, error results alike), resource contents (text, and blobs
 * that decode to text) and prompt messages. A slot knows its place and how to write a redacted text back.
 */
interface Slot {
  readonly where: string;
  readonly text: string;
  set(text: string): void;
}

type Groups = Slot[][];

const MAX_DEPTH = 64;

function walkStrings(value: unknown, where: string, out: Groups, depth = 0): void {
  if (depth > MAX_DEPTH) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      if (typeof v === 'string') out.push([{ where: `${where}[${String(i)}]`, text: v, set: (t) => (value[i] = t) }]);
      else walkStrings(v, `${where}[${String(i)}]`, out, depth + 1);
    });
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const o = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'string') out.push([{ where: `${where}.${k}`, text: v, set: (t) => (o[k] = t) }]);
    else walkStrings(v, `${where}.${k}`, out, depth + 1);
  }
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** A resource's text, or its blob when that decodes to text (re-encoded when redacted). */
function resourceSlot(r: Record<string, unknown>, where: string): Slot | undefined {
  if (typeof r.text === 'string') return { where: `${where}.text`, text: r.text, set: (t) => (r.text = t) };
  if (typeof r.blob !== 'string') return undefined;
  const text = decodedText(Buffer.from(r.blob, 'base64'));
  return text === undefined ? undefined : { where: `${where}.blob`, text, set: (t) => (r.blob = Buffer.from(t, 'utf8').toString('base64')) };
}

/** Blocks of a content list: adjacent text blocks form one group; a resource block is a group of its own. */
function blocks(list: unknown[], where: (i: number) => string, out: Groups, contentOf: (item: unknown) => unknown = (x) => x): void {
  let run: Slot[] = [];
  const close = (): void => {
    if (run.length > 0) out.push(run);
    run = [];
  };
  list.forEach((item, i) => {
    const b = asRecord(contentOf(item));
    if (b === undefined) {
      close();
      return;
    }
    if (b.type === 'text' && typeof b.text === 'string') {
      run.push({ where: `${where(i)}.text`, text: b.text, set: (t) => (b.text = t) });
      return;
    }
    close();
    const r = asRecord(b.resource);
    const slot = b.type === 'resource' && r !== undefined ? resourceSlot(r, `${where(i)}.resource`) : undefined;
    if (slot !== undefined) out.push([slot]);
  });
  close();
}

/** `params`: an upstream's request to the client (sampling, elicitation), every string of it. */
export type Scanned = 'arguments' | 'params' | 'tools/call' | 'resources/read' | 'prompts/get';

function collect(what: Scanned, value: unknown): Groups {
  const out: Groups = [];
  const v = asRecord(value);
  if (what === 'arguments' || what === 'params') {
    walkStrings(value, what, out);
    return out;
  }
  if (v === undefined) return out;
  if (what === 'tools/call') {
    if (Array.isArray(v.content)) blocks(v.content, (i) => `content[${String(i)}]`, out);
    if (typeof v.structuredContent === 'string') out.push([{ where: 'structuredContent', text: v.structuredContent, set: (t) => (v.structuredContent = t) }]);
    else walkStrings(v.structuredContent, 'structuredContent', out);
  } else if (what === 'resources/read') {
    if (Array.isArray(v.contents)) {
      let run: Slot[] = [];
      v.contents.forEach((c, i) => {
        const r = asRecord(c);
        const slot = r === undefined ? undefined : resourceSlot(r, `contents[${String(i)}]`);
        if (slot !== undefined && r !== undefined && typeof r.text === 'string') run.push(slot);
        else {
          if (run.length > 0) out.push(run);
          run = [];
          if (slot !== undefined) out.push([slot]);
        }
      });
      if (run.length > 0) out.push(run);
    }
  } else {
    if (typeof v.description === 'string') out.push([{ where: 'description', text: v.description, set: (t) => (v.description = t) }]);
    if (Array.isArray(v.messages)) blocks(v.messages, (i) => `messages[${String(i)}].content`, out, (m) => asRecord(m)?.content);
  }
  return out;
}

export interface ContentScan {
  readonly findings: readonly TextFinding[];
  /** The value with the redacted kinds replaced (a copy), when anything was redacted. */
  readonly redacted: unknown;
}

/** Scans a message's text; the original is never changed, a redacted copy is returned when needed. */
export function scanContent(what: Scanned, value: unknown, detectors: readonly Detector[], redact: ReadonlySet<DetectorKind>): ContentScan {
  const groups = collect(what, value);
  const findings: TextFinding[] = [];
  const rewritten: (readonly string[] | undefined)[] = [];
  let changed = false;
  for (const g of groups) {
    const r = scanPieces(g, detectors, redact);
    findings.push(...r.findings);
    rewritten.push(r.redacted);
    if (r.redacted !== undefined) changed = true;
  }
  if (!changed) return { findings, redacted: undefined };
  const copy = structuredClone(value);
  collect(what, copy).forEach((g, i) => {
    const texts = rewritten[i];
    if (texts !== undefined) {
      g.forEach((slot, j) => {
        slot.set(texts[j] ?? slot.text);
      });
    }
  });
  return { findings, redacted: copy };
}
