import safeRegex from 'safe-regex2';
import { globMatcher, type DenyRule } from './policy.ts';
import { stripInvisible } from './text-scan.ts';

/**
 * Deny rules: a `connector/tool` glob, a JSON path into the arguments and a regular expression. A call whose
 * arguments hold a matching value at the path is refused before the upstream sees it. Values are matched with
 * invisible characters stripped and URL-encoding undone, so neither hides a forbidden word.
 */
type Step = { readonly kind: 'name'; readonly name: string } | { readonly kind: 'index'; readonly index: number } | { readonly kind: 'any' } | { readonly kind: 'deep'; readonly name: string };

export interface CompiledDenyRule {
  readonly id: string;
  readonly applies: (target: string) => boolean;
  /** The places (`arguments.sql`) where the rule matched; empty when it did not. */
  readonly match: (args: unknown) => string[];
}

/** `$`, `.name`, `['name']`, `[0]`, `[*]`, `.*`, `..name`; undefined when the path is not one of these. */
export function parsePath(path: string): Step[] | undefined {
  if (!path.startsWith('$')) return undefined;
  const steps: Step[] = [];
  const re = /\.\.([A-Za-z_$][\w$-]*)|\.([A-Za-z_$][\w$-]*)|\.\*|\[(\d+)\]|\[\*\]|\['([^']*)'\]|\["([^"]*)"\]/y;
  let at = 1;
  while (at < path.length) {
    re.lastIndex = at;
    const m = re.exec(path);
    if (m === null) return undefined;
    if (m[1] !== undefined) steps.push({ kind: 'deep', name: m[1] });
    else if (m[2] !== undefined) steps.push({ kind: 'name', name: m[2] });
    else if (m[3] !== undefined) steps.push({ kind: 'index', index: Number(m[3]) });
    else if (m[4] !== undefined || m[5] !== undefined) steps.push({ kind: 'name', name: m[4] ?? m[5] ?? '' });
    else steps.push({ kind: 'any' });
    at = re.lastIndex;
  }
  return steps;
}

function children(v: unknown, where: string): [unknown, string][] {
  if (Array.isArray(v)) return v.map((x, i) => [x, `${where}[${String(i)}]`]);
  if (typeof v === 'object' && v !== null) return Object.entries(v).map(([k, x]) => [x, `${where}.${k}`]);
  return [];
}

function select(value: unknown, steps: readonly Step[]): [unknown, string][] {
  let current: [unknown, string][] = [[value, 'arguments']];
  for (const step of steps) {
    const next: [unknown, string][] = [];
    for (const [v, where] of current) {
      if (step.kind === 'any') next.push(...children(v, where));
      else if (step.kind === 'index') {
        if (Array.isArray(v) && step.index < v.length) next.push([v[step.index], `${where}[${String(step.index)}]`]);
      } else if (step.kind === 'name') {
        if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.hasOwn(v, step.name)) next.push([(v as Record<string, unknown>)[step.name], `${where}.${step.name}`]);
      } else {
        const stack: [unknown, string][] = [[v, where]];
        while (stack.length > 0) {
          const [x, w] = stack.pop() as [unknown, string];
          if (typeof x === 'object' && x !== null && !Array.isArray(x) && Object.hasOwn(x, step.name)) next.push([(x as Record<string, unknown>)[step.name], `${w}.${step.name}`]);
          stack.push(...children(x, w));
        }
      }
    }
    current = next;
  }
  return current;
}

function variants(text: string): string[] {
  const clean = stripInvisible(text).clean;
  if (!clean.includes('%')) return [clean];
  try {
    return [clean, decodeURIComponent(clean)];
  } catch {
    return [clean];
  }
}

/** Compiles a rule; throws when its path or pattern is not valid (the settings service refuses such a rule). */
export function compileDenyRule(rule: DenyRule): CompiledDenyRule {
  const steps = parsePath(rule.path);
  if (steps === undefined) throw new Error(`deny rule ${rule.id}: the path is not a supported JSON path`);
  const re = new RegExp(rule.pattern, rule.ignoreCase ? 'iu' : 'u');
  // The pattern runs on agents' arguments in the gateway's one thread: a pattern that can backtrack exponentially
  // would let one crafted argument stall every organisation's traffic. Repetition of a repeated part (star height
  // above 1, safe-regex2) and backreferences are refused; the rest of JavaScript's syntax is allowed.
  if (!safeRegex(re) || /\\(?:[1-9]|k<)/.test(rule.pattern)) {
    throw new Error(`deny rule ${rule.id}: the pattern could take exponential time on some inputs (a repeated group that itself repeats, or a backreference): write it without one`);
  }
  return {
    id: rule.id,
    applies: globMatcher(rule.tool),
    match(args) {
      const hits: string[] = [];
      for (const [v, where] of select(args ?? {}, steps)) {
        if (v === undefined) continue;
        const text = typeof v === 'string' ? v : JSON.stringify(v);
        if (variants(text).some((t) => re.test(t))) hits.push(where);
      }
      return hits;
    },
  };
}
