import { realpathSync } from 'node:fs';

/**
 * What a stdio connector's argv must not be: a shell or an interpreter told to run code given on the command line
 * (`sh -c`, `node -e`, `python -c`) or read from stdin (`sh`, `node`, `python` without a script: the gateway writes
 * clients' JSON-RPC messages there, so a shell reading stdin would run what a client wrote). Wrappers (`env`,
 * `busybox`, `nice`, `timeout`...) are looked through. This is a rule against mistakes and lazy one-liners, not a
 * wall: a copied shell under another name passes, which is why the process also runs in a sandbox.
 */
export interface CommandFinding {
  /** The program as the rule saw it (a basename). */
  readonly program: string;
  readonly why: string;
}

interface Interpreter {
  /** Long or exact options that take the program text. */
  readonly evalOptions: readonly string[];
  /** Short option letters that take the program text, also inside a cluster (`-ne`, `-uc`). */
  readonly evalLetters: string;
  /** Options whose value is the next argument (so it is not taken for the script). */
  readonly valueOptions: readonly string[];
  /** Options that name a program that is not code text (`python -m module`, `pwsh -File f`): the argv is fine. */
  readonly programOptions: readonly string[];
  /** Whether, without a script, the program reads its code from stdin (or a REPL does). */
  readonly stdinWithoutScript: boolean;
  /** Options are matched without regard to case and by prefix (PowerShell). */
  readonly loose?: true;
}

const POSIX_SHELL: Interpreter = {
  evalOptions: ['--command', '--init-command', '--rcfile', '--init-file'],
  evalLetters: 'c',
  valueOptions: ['-o', '+o', '-O', '+O'],
  programOptions: [],
  stdinWithoutScript: true,
};
const FISH: Interpreter = { ...POSIX_SHELL, evalLetters: 'cC' };
const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'mksh', 'pdksh', 'ash', 'hush', 'csh', 'tcsh', 'rbash', 'yash', 'posh', 'elvish', 'nu', 'xonsh']);

const INTERPRETERS: readonly (readonly [RegExp, Interpreter])[] = [
  [/^(node|nodejs|bun)$/, {
    evalOptions: ['--eval', '--print', '--interactive'],
    evalLetters: 'epi',
    valueOptions: ['-r', '--require', '--import', '--loader', '--experimental-loader', '-C', '--conditions', '--title', '--input-type', '--env-file', '--disable-warning', '--watch-path', '--inspect-port', '--redirect-warnings', '--stack-trace-limit'],
    programOptions: [],
    stdinWithoutScript: true,
  }],
  [/^(python|pypy)[\d.]*$/, { evalOptions: [], evalLetters: 'ci', valueOptions: ['-W', '-X', '-Q'], programOptions: ['-m'], stdinWithoutScript: true }],
  [/^perl[\d.]*$/, { evalOptions: [], evalLetters: 'eEi', valueOptions: ['-I', '-x'], programOptions: [], stdinWithoutScript: true }],
  [/^ruby[\d.]*$/, { evalOptions: [], evalLetters: 'e', valueOptions: ['-I', '-r', '-C', '-E'], programOptions: [], stdinWithoutScript: true }],
  [/^php[\d.]*$/, { evalOptions: [], evalLetters: 'raBRFE', valueOptions: ['-c', '-d', '-z'], programOptions: ['-f'], stdinWithoutScript: true }],
  [/^(lua|luajit)[\d.]*$/, { evalOptions: [], evalLetters: 'ei', valueOptions: ['-l'], programOptions: [], stdinWithoutScript: true }],
  [/^(awk|gawk|mawk|nawk)$/, { evalOptions: [], evalLetters: '', valueOptions: ['-F', '-v'], programOptions: ['-f', '--file'], stdinWithoutScript: true }],
  [/^(pwsh|powershell)$/, {
    evalOptions: ['-command', '-encodedcommand', '-commandwithargs', '-c', '-e', '-ec', '-enc', '-cwa'],
    evalLetters: '',
    valueOptions: ['-executionpolicy', '-workingdirectory', '-configurationname', '-outputformat', '-inputformat', '-windowstyle'],
    programOptions: ['-file', '-f'],
    stdinWithoutScript: true,
    loose: true,
  }],
];

/** Programs that run another program given in their arguments. */
const WRAPPERS = new Set(['env', 'busybox', 'nice', 'nohup', 'setsid', 'stdbuf', 'timeout', 'ionice', 'taskset', 'chrt', 'sudo', 'doas', 'time', 'exec', 'xargs', 'unbuffer', 'chroot', 'runuser', 'su']);

/** A program's name as the rule compares it: basename, lower case, without `.exe`. */
export function programName(command: string): string {
  const base = command.split(/[\\/]/).pop() ?? command;
  return base.toLowerCase().replace(/\.(exe|com)$/, '');
}

/** What the command resolves to on this host, when it is a path to a link (`/usr/local/bin/x -> /bin/bash`). */
function resolvedName(command: string): string | undefined {
  if (!command.includes('/')) return undefined;
  try {
    return programName(realpathSync(command));
  } catch {
    return undefined;
  }
}

/** Finds why this argv must not run unless forced, or undefined when it may. */
export function checkCommand(command: string, args: readonly string[]): CommandFinding | undefined {
  const names = [programName(command), resolvedName(command)].filter((n): n is string => n !== undefined && n !== 'busybox');
  // A busybox link named after an applet runs that applet; `busybox sh` names it as the first argument.
  const busybox = programName(command) === 'busybox' || resolvedName(command) === 'busybox';
  if (busybox) return args.length === 0 ? undefined : checkCommand(args[0] ?? '', args.slice(1));
  for (const name of names) {
    const found = checkProgram(name, args);
    if (found !== undefined) return found;
  }
  return undefined;
}

function checkProgram(name: string, args: readonly string[]): CommandFinding | undefined {
  if (name === 'cmd') {
    const flag = args.find((a) => /^\/[ckr]$/i.test(a) || /^\/[ckr]\s/i.test(a));
    return flag === undefined ? { program: name, why: 'cmd reads commands from stdin' } : { program: name, why: `cmd ${flag} runs a command line` };
  }
  if (WRAPPERS.has(name)) return checkWrapped(name, args);
  if (SHELLS.has(name)) return checkInterpreter(name, POSIX_SHELL, args);
  if (name === 'fish') return checkInterpreter(name, FISH, args);
  for (const [pattern, spec] of INTERPRETERS) if (pattern.test(name)) return checkInterpreter(name, spec, args);
  if (name === 'deno' && (args[0] === 'eval' || args[0] === 'repl' || args.length === 0)) return { program: name, why: `deno ${args[0] ?? ''} runs code not in a file` };
  if ((name === 'npx' || name === 'npm') && args.some((a) => a === '-c' || a === '--call' || a.startsWith('--call='))) return { program: name, why: `${name} -c runs a shell command line` };
  return undefined;
}

/** A wrapper's own options are many and differ: the first argument that is itself a program the rule knows is checked. */
function checkWrapped(name: string, args: readonly string[]): CommandFinding | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (name === 'env' && (a === '-S' || a.startsWith('--split-string') || /^-[^-]*S/.test(a))) return { program: name, why: 'env -S splits a command line from a string' };
    const candidate = programName(a);
    if (WRAPPERS.has(candidate) || SHELLS.has(candidate) || candidate === 'fish' || candidate === 'cmd' || candidate === 'deno' || candidate === 'npx' || candidate === 'npm' || INTERPRETERS.some(([p]) => p.test(candidate))) {
      return checkCommand(a, args.slice(i + 1));
    }
  }
  return undefined;
}

function checkInterpreter(name: string, spec: Interpreter, args: readonly string[]): CommandFinding | undefined {
  const matches = (arg: string, option: string) => {
    if (spec.loose !== true) return arg.split('=')[0] === option;
    // PowerShell takes any unambiguous prefix of a parameter, in any case, after - or /.
    const a = arg.toLowerCase().replace(/^\//, '-').split(':')[0] ?? '';
    return a === option || (a.length >= 3 && option.startsWith(a));
  };
  const evalFinding = (what: string): CommandFinding => ({ program: name, why: `${name} ${what} runs code given on the command line` });
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '--') return scriptAt(name, spec, args[i + 1]);
    if (spec.evalOptions.some((o) => matches(a, o))) return evalFinding(a.split('=')[0] ?? a);
    if (spec.programOptions.some((o) => matches(a, o))) return undefined;
    // `--import data:...`, `-r data:` and `--import=data:` load a module written in the argument.
    if (/=data:/i.test(a)) return evalFinding(`${a.split('=')[0] ?? a}=data:`);
    if (spec.valueOptions.some((o) => matches(a, o))) {
      if (/^data:/i.test(args[i + 1] ?? '')) return evalFinding(`${a} data:`);
      if (!a.includes('=')) i++;
      continue;
    }
    if (a === '-') return { program: name, why: `${name} - reads its program from stdin` };
    if (/^-[A-Za-z]/.test(a) && spec.loose !== true) {
      const cluster = clusterFinding(spec, a);
      if (cluster === 'eval') return evalFinding(a);
      if (cluster === 'stdin') return { program: name, why: `${name} ${a} reads commands from stdin` };
      if (cluster === 'value-next') i++;
      continue;
    }
    if (a.startsWith('-') || a.startsWith('+')) continue;
    // Windows PowerShell (unlike pwsh) takes a bare argument for -Command.
    return name === 'powershell' ? evalFinding(a.slice(0, 32)) : undefined;
  }
  return spec.stdinWithoutScript ? { program: name, why: `${name} without a script reads its program from stdin, where clients' messages arrive` } : undefined;
}

/** A cluster of short options (`-uc`, `-Wignore`, `-eo pipefail`): a letter that takes a value ends it. */
function clusterFinding(spec: Interpreter, arg: string): 'eval' | 'stdin' | 'value-next' | 'none' {
  const letters = arg.startsWith('--') ? '' : arg.slice(1);
  for (let j = 0; j < letters.length; j++) {
    const l = letters[j] ?? '';
    if (spec.evalLetters.includes(l)) return 'eval';
    if (spec === POSIX_SHELL && l === 's') return 'stdin';
    if (spec.valueOptions.includes(`-${l}`) || spec.programOptions.includes(`-${l}`)) {
      if (spec.programOptions.includes(`-${l}`)) return 'none';
      return j === letters.length - 1 ? 'value-next' : 'none';
    }
  }
  return 'none';
}

function scriptAt(name: string, spec: Interpreter, next: string | undefined): CommandFinding | undefined {
  if (next === undefined || next === '-') return spec.stdinWithoutScript ? { program: name, why: `${name} without a script reads its program from stdin, where clients' messages arrive` } : undefined;
  return undefined;
}
