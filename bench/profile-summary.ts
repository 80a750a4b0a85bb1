/**
 * Summarises a V8 .cpuprofile (from `npm run bench -- --profile`, written to .bench/profiles): the functions with
 * the most self time, and the share of time per package or source folder.
 *
 *   node bench/profile-summary.ts <file.cpuprofile> [top N] [function name: print its heaviest call stacks]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly children?: readonly number[];
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function where(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? url);
  }
  const src = url.indexOf('/src/');
  if (src !== -1) return url.slice(src + 1, url.lastIndexOf('/'));
  if (url.startsWith('node:')) return url;
  return url === '' ? '(native/vm)' : url;
}

const [file, topArg, stacksOf] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: node bench/profile-summary.ts <file.cpuprofile> [top N] [function name]');
  process.exit(2);
}
const top = Number(topArg ?? '30');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
const groups = new Map<string, number>();
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const node = byId.get(profile.samples[i]!);
  const dt = profile.timeDeltas[i] ?? 0;
  if (node === undefined) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const short = url.replace(/^.*node_modules\//, '').replace(/^.*\/work\/main\//, '');
  const key = `${functionName || '(anonymous)'}  ${short}${url === '' ? '' : `:${lineNumber + 1}`}`;
  self.set(key, (self.get(key) ?? 0) + dt);
  const group = functionName === '(idle)' || functionName === '(program)' || functionName === '(garbage collector)' ? functionName : where(url);
  groups.set(group, (groups.get(group) ?? 0) + dt);
  total += dt;
}
const pct = (us: number): string => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
const ms = (us: number): string => `${(us / 1000).toFixed(0).padStart(7)} ms`;
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
console.log('\nSelf time by package / folder');
for (const [g, us] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`${ms(us)} ${pct(us)}  ${g}`);
console.log(`\nTop ${top} functions by self time`);
for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(us)} ${pct(us)}  ${k}`);

if (stacksOf !== undefined) {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const frame = (n: ProfileNode): string =>
    `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^.*\/work\/main\//, '')}:${n.callFrame.lineNumber + 1}`;
  const stacks = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    let node = byId.get(profile.samples[i]!);
    if (node?.callFrame.functionName !== stacksOf) continue;
    const path: string[] = [];
    for (let depth = 0; node !== undefined && depth < 14; depth++) {
      path.push(frame(node));
      const up = parent.get(node.id);
      node = up === undefined ? undefined : byId.get(up);
    }
    const key = path.join('\n    <- ');
    stacks.set(key, (stacks.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  console.log(`\nHeaviest stacks of ${stacksOf}`);
  for (const [k, us] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 5)) console.log(`${ms(us)} ${pct(us)}  ${k}\n`);
}
