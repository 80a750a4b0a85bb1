import { decodedText, textFeatures, type Detector, type DetectorKind, type Span, type TextFeatures } from './detectors.ts';

/**
 * Finding personal data and secrets in text that tries to hide them: invisible characters are stripped before
 * matching (a zero-width space inside a key does not break it), base64, hex and URL-encoded tokens are decoded and
 * looked into, and the pieces of one message (adjacent content blocks) are matched as one text, so a number split
 * across two blocks is still one number. Spans found in the joined, stripped text are mapped back to each piece's
 * own text for redaction.
 */

/** Zero-width, bidirectional-control, soft-hyphen, word-joiner, variation-selector, BOM and tag characters. */
// The class lists invisible characters on purpose, combining ones (variation selectors, CGJ) among them.
/* eslint-disable no-misleading-character-class */
const INVISIBLE = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\u{E0000}-\u{E0FFF}]/u;
const INVISIBLE_ALL = new RegExp(INVISIBLE.source, 'gu');
/* eslint-enable no-misleading-character-class */

export interface Stripped {
  readonly clean: string;
  /** Clean index -> index in the original (one longer than the clean text); absent when nothing was stripped. */
  readonly map: readonly number[] | undefined;
}

export function stripInvisible(text: string): Stripped {
  if (!INVISIBLE.test(text)) return { clean: text, map: undefined };
  const map: number[] = [];
  let clean = '';
  let last = 0;
  INVISIBLE_ALL.lastIndex = 0;
  for (const m of text.matchAll(INVISIBLE_ALL)) {
    for (let i = last; i < m.index; i++) map.push(i);
    clean += text.slice(last, m.index);
    last = m.index + m[0].length;
  }
  for (let i = last; i < text.length; i++) map.push(i);
  clean += text.slice(last);
  map.push(text.length);
  return { clean, map };
}

const BASE64_TOKEN = /[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9_-]{16,}={0,2}/g;
const HEX_TOKEN = /\b(?:[0-9a-fA-F]{2}){8,}\b/g;
// Each starts only where a token starts (the lookbehind): a long run without a match then costs its length, not its square.
const URL_TOKEN = /(?<![^\s"'<>])[^\s"'<>]*%[0-9A-Fa-f]{2}[^\s"'<>]*/g;
const MAX_DEPTH = 2;

function urlDecoded(token: string): string | undefined {
  try {
    return decodeURIComponent(token.replace(/\+/g, ' '));
  } catch {
    return decodedText(Buffer.from(token.replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1'));
  }
}

const DECODERS: readonly {
  readonly encoding: string;
  readonly token: RegExp;
  readonly needs: (text: string, f: TextFeatures) => boolean;
  readonly decode: (t: string) => string | undefined;
}[] = [
  { encoding: 'url', token: URL_TOKEN, needs: (t) => t.includes('%'), decode: urlDecoded },
  { encoding: 'hex', token: HEX_TOKEN, needs: (_t, f) => f.run >= 16, decode: (t) => decodedText(Buffer.from(t, 'hex')) },
  { encoding: 'base64', token: BASE64_TOKEN, needs: (_t, f) => f.run >= 16, decode: (t) => decodedText(Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64')) },
];

function overlaps(spans: readonly Span[], start: number, end: number): boolean {
  return spans.some((s) => s.start < end && start < s.end);
}

/**
 * Every span the detectors find in a (stripped) text, decoded tokens included; spans do not overlap. One pass over
 * the text first (textFeatures) lets each detector and decoder skip a text it cannot match: prose with short words
 * and few digits runs two or three expressions instead of twenty.
 */
export function detect(text: string, detectors: readonly Detector[], depth = 0): Span[] {
  const spans: Span[] = [];
  const f = textFeatures(text);
  for (const d of detectors) {
    if (d.needs !== undefined && !d.needs(text, f)) continue;
    d.pattern.lastIndex = 0;
    for (const m of text.matchAll(d.pattern)) {
      const start = m.index;
      const end = start + m[0].length;
      if (m[0].length === 0 || overlaps(spans, start, end)) continue;
      if (d.valid !== undefined && !d.valid(m[0])) continue;
      spans.push({ start, end, rule: d.id, kind: d.kind });
    }
  }
  if (depth < MAX_DEPTH) {
    for (const { encoding, token, needs, decode } of DECODERS) {
      if (!needs(text, f)) continue;
      token.lastIndex = 0;
      for (const m of text.matchAll(token)) {
        const start = m.index;
        const end = start + m[0].length;
        if (overlaps(spans, start, end)) continue;
        const decoded = decode(m[0]);
        if (decoded === undefined || decoded === m[0]) continue;
        const inner = detect(stripInvisible(decoded).clean, detectors, depth + 1)[0];
        if (inner !== undefined) spans.push({ start, end, rule: inner.rule, kind: inner.kind, encoding: inner.encoding ?? encoding });
      }
    }
  }
  return spans.sort((a, b) => a.start - b.start);
}

/** One string of a message: where it is (`content[2].text`, `arguments.query`) and its text. */
export interface Piece {
  readonly where: string;
  readonly text: string;
}

export interface TextFinding {
  readonly rule: string;
  readonly kind: DetectorKind;
  readonly where: string;
  readonly encoding?: string;
}

export interface ScanResult {
  readonly findings: readonly TextFinding[];
  /** Each piece's text with the redacted kinds replaced (same order as the pieces), when anything was redacted. */
  readonly redacted: readonly string[] | undefined;
}

export const redactionMark = (rule: string): string => `[REDACTED:${rule}]`;

/**
 * Scans pieces that are read as one text (adjacent blocks of one message). `redact` says which kinds are replaced
 * in the pieces; the findings of every kind are returned.
 */
export function scanPieces(pieces: readonly Piece[], detectors: readonly Detector[], redact: ReadonlySet<DetectorKind>): ScanResult {
  const stripped = pieces.map((p) => stripInvisible(p.text));
  const offsets: number[] = [];
  let joined = '';
  for (const s of stripped) {
    offsets.push(joined.length);
    joined += s.clean;
  }
  const spans = detect(joined, detectors);
  // Joined, a piece's neighbour can hide what the piece holds whole: a block ending in letters glued to a block of
  // base64 shifts the decoder's alignment, and a key glued to a word loses its word boundary. So with several
  // pieces, each is also read alone, and what it finds that the joined read did not is added.
  if (pieces.length > 1) {
    stripped.forEach((s, i) => {
      const from = offsets[i] ?? 0;
      for (const span of detect(s.clean, detectors)) {
        const start = span.start + from;
        const end = span.end + from;
        if (!overlaps(spans, start, end)) spans.push({ ...span, start, end });
      }
    });
    spans.sort((a, b) => a.start - b.start);
  }
  if (spans.length === 0) return { findings: [], redacted: undefined };
  const findings: TextFinding[] = [];
  for (const span of spans) {
    const covered = pieces.filter((_p, i) => {
      const from = offsets[i] ?? 0;
      const to = from + (stripped[i]?.clean.length ?? 0);
      return span.start < to && from < span.end;
    });
    const where = covered.map((p) => p.where).join('+');
    findings.push({ rule: span.rule, kind: span.kind, where, ...(span.encoding === undefined ? {} : { encoding: span.encoding }) });
  }
  const toRedact = spans.filter((s) => redact.has(s.kind));
  if (toRedact.length === 0) return { findings, redacted: undefined };
  const redacted = pieces.map((p, i) => {
    const s = stripped[i];
    const from = offsets[i] ?? 0;
    const length = s?.clean.length ?? 0;
    const original = (at: number): number => (s?.map === undefined ? at : (s.map[at] ?? p.text.length));
    let out = '';
    let cursor = 0;
    for (const span of toRedact) {
      const cs = Math.max(span.start, from) - from;
      const ce = Math.min(span.end, from + length) - from;
      if (ce <= 0 || cs >= length || ce <= cs) continue;
      const os = original(cs);
      const oe = ce === length ? p.text.length : original(ce);
      out += p.text.slice(cursor, os) + (span.start >= from ? redactionMark(span.rule) : '');
      cursor = oe;
    }
    return out + p.text.slice(cursor);
  });
  return { findings, redacted };
}
