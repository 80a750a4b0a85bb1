import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { GatehouseError } from '../errors.ts';
import { childEnvironment, isLoaderVariable } from './env-policy.ts';

/**
 * Where a stdio connector's process runs. With bubblewrap (`bwrap`) it gets a read-only view of the host's root,
 * a private /tmp, minimal /dev and /proc, its own PID, IPC and UTS namespaces, no network unless its connector
 * declares one, no capabilities, and the gateway's data directory and config file hidden. Inside, util-linux
 * `prlimit` (the first argv, so no shell is involved) sets the resource limits before it executes the command.
 */
export type SandboxMode = 'auto' | 'bwrap' | 'off';

export interface SandboxLimits {
  /** Address space per process, MiB (RLIMIT_AS); 0: none. Node reserves about 1.5 GiB at start. */
  readonly memoryMb: number;
  /** CPU seconds over the process's life (RLIMIT_CPU); 0: none. A process killed by it is restarted. */
  readonly cpuSeconds: number;
  /** Open files per process (RLIMIT_NOFILE). */
  readonly maxFiles: number;
}

export interface SandboxSettings {
  readonly mode: SandboxMode;
  readonly limits: SandboxLimits;
  /** Paths a child must not see (the data directory, the config file): an empty directory or file is put over them. */
  readonly hide: readonly string[];
}

/** What this host offers; found once per process. */
export interface SandboxSupport {
  readonly bwrap: string | undefined;
  readonly prlimit: string | undefined;
  /** bwrap is present and a trial sandbox ran. */
  readonly works: boolean;
  /** Why not, when it does not: for the start-up warning and `gatehouse doctor`. */
  readonly problem: string | undefined;
}

export interface StdioLaunch {
  readonly command: string;
  readonly args: readonly string[];
  /** The connector's declared variables, opened. */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string | undefined;
  /** The connector declared it needs the network. */
  readonly network: boolean;
}

export interface SpawnPlan {
  readonly file: string;
  readonly args: string[];
  readonly env: Record<string, string>;
  readonly cwd: string | undefined;
  /** What the child runs in, for the log and the audit detail. */
  readonly sandbox: 'bwrap' | 'none';
}

const TMP_BYTES = 256 * 1024 * 1024;
const PROBE_TIMEOUT_MS = 5000;
let detected: SandboxSupport | undefined;

function findProgram(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of [...path.split(delimiter), '/usr/bin', '/bin', '/usr/local/bin', '/usr/sbin']) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Looks for bwrap and prlimit and runs one trial sandbox, once; `refresh` looks again. */
export function detectSandbox(refresh = false): SandboxSupport {
  if (detected !== undefined && !refresh) return detected;
  const bwrap = process.platform === 'linux' ? findProgram('bwrap') : undefined;
  const prlimit = process.platform === 'linux' ? findProgram('prlimit') : undefined;
  let problem: string | undefined;
  if (bwrap === undefined) problem = process.platform === 'linux' ? 'bubblewrap (bwrap) is not installed' : `no sandbox on ${process.platform}`;
  else {
    const trial = spawnSync(bwrap, [...namespaceArgs(false), '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp', '--', prlimit ?? 'true', ...(prlimit === undefined ? [] : ['--version'])], {
      timeout: PROBE_TIMEOUT_MS,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      shell: false,
    });
    if (trial.error !== undefined) problem = `bwrap failed to run: ${trial.error.message}`;
    else if (trial.status !== 0) problem = `bwrap cannot create a sandbox here (user namespaces disabled?): ${trial.stderr.toString('utf8').trim().slice(0, 200)}`;
  }
  detected = Object.freeze({ bwrap, prlimit, works: problem === undefined, problem });
  return detected;
}

/** Whether a connector runs sandboxed under this mode on this host; `bwrap` without one refuses to start it. */
export function sandboxInUse(mode: SandboxMode, support: SandboxSupport): boolean {
  if (mode === 'off') return false;
  if (support.works) return true;
  if (mode === 'bwrap') throw new GatehouseError('sandbox_unavailable', `GATEHOUSE_STDIO_SANDBOX=bwrap but ${support.problem ?? 'no sandbox works here'}; the connector is not started`);
  return false;
}

function namespaceArgs(network: boolean): string[] {
  return [
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(network ? [] : ['--unshare-net']),
    '--hostname',
    'gatehouse-sandbox',
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
  ];
}

function limitArgs(limits: SandboxLimits): string[] {
  const out = [`--nofile=${String(limits.maxFiles)}`, '--core=0'];
  if (limits.memoryMb > 0) out.push(`--as=${String(limits.memoryMb * 1024 * 1024)}`);
  if (limits.cpuSeconds > 0) out.push(`--cpu=${String(limits.cpuSeconds)}`);
  return out;
}

/**
 * The argv and environment to spawn (always without a shell). Loader variables (LD_*, DYLD_*), which only a forced
 * connector has, are set inside the sandbox by bwrap, so they never reach bwrap itself.
 */
export function planSpawn(launch: StdioLaunch, settings: SandboxSettings, support: SandboxSupport = detectSandbox()): SpawnPlan {
  const env = childEnvironment(launch.env);
  const cwd = launch.cwd === undefined ? undefined : resolve(launch.cwd);
  const limited = support.prlimit === undefined ? [launch.command, ...launch.args] : [support.prlimit, ...limitArgs(settings.limits), '--', launch.command, ...launch.args];
  if (!sandboxInUse(settings.mode, support) || support.bwrap === undefined) {
    const [file = launch.command, ...args] = limited;
    return { file, args, env, cwd, sandbox: 'none' };
  }
  const outer: Record<string, string> = {};
  const inner: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (isLoaderVariable(name)) inner.push('--setenv', name, value);
    else outer[name] = value;
  }
  // The private /tmp would also hide what the connector runs when that lives under /tmp (a checkout there): the
  // top directory under /tmp of the command, an absolute argument or the working directory is bound back, read-only.
  const kept = new Set<string>();
  for (const p of [launch.command, ...launch.args, ...(cwd === undefined ? [] : [cwd])]) {
    if (!p.startsWith('/tmp/')) continue;
    const top = resolve(p).split('/').slice(0, 3).join('/');
    if (top.length > '/tmp/'.length && existsSync(top)) kept.add(top);
  }
  const within = (abs: string): boolean => [...kept].some((k) => abs === k || abs.startsWith(`${k}/`));
  const hidden: string[] = [];
  for (const path of settings.hide) {
    const abs = resolve(path);
    // Under /tmp the private tmpfs already hides it, unless it is inside a directory bound back.
    if (!existsSync(abs) || abs === '/' || abs === '/tmp' || (abs.startsWith('/tmp/') && !within(abs))) continue;
    hidden.push(...(isDirectory(abs) ? ['--tmpfs', abs] : ['--ro-bind', '/dev/null', abs]));
  }
  const bound = [...kept].flatMap((k) => ['--ro-bind', k, k]);
  const args = [
    ...namespaceArgs(launch.network),
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    '--proc', '/proc',
    '--size', String(TMP_BYTES), '--tmpfs', '/tmp',
    ...bound,
    ...hidden,
    ...inner,
    ...(cwd === undefined ? [] : ['--chdir', cwd]),
    '--',
    ...limited,
  ];
  return { file: support.bwrap, args, env: outer, cwd, sandbox: 'bwrap' };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The settings of this gateway: its config, with its data directory and config file hidden from children. */
export function sandboxSettings(
  config: { readonly stdioSandbox: SandboxMode; readonly stdioMemoryMb: number; readonly stdioCpuSeconds: number; readonly stdioMaxFiles: number; readonly dataDir: string },
  configFile: string | undefined = process.env.GATEHOUSE_CONFIG,
): SandboxSettings {
  return Object.freeze({
    mode: config.stdioSandbox,
    limits: Object.freeze({ memoryMb: config.stdioMemoryMb, cpuSeconds: config.stdioCpuSeconds, maxFiles: config.stdioMaxFiles }),
    hide: Object.freeze([config.dataDir, ...(configFile === undefined || configFile === '' ? [] : [configFile])]),
  });
}

/** One line on what stdio connectors run in, for the start-up log and `gatehouse doctor`; `ok` false is a warning. */
export function describeSandbox(mode: SandboxMode, support: SandboxSupport = detectSandbox()): { ok: boolean; message: string } {
  if (mode === 'off') return { ok: false, message: 'stdio connectors run without a sandbox (GATEHOUSE_STDIO_SANDBOX=off)' };
  if (support.works) {
    const limits = support.prlimit === undefined ? 'no resource limits (prlimit not found)' : 'resource limits by prlimit';
    return { ok: support.prlimit !== undefined, message: `stdio connectors run in bubblewrap (${support.bwrap ?? 'bwrap'}), ${limits}` };
  }
  return mode === 'bwrap'
    ? { ok: false, message: `GATEHOUSE_STDIO_SANDBOX=bwrap but ${support.problem ?? 'no sandbox works'}: stdio connectors will not start` }
    : { ok: false, message: `stdio connectors run WITHOUT a sandbox: ${support.problem ?? 'none available'} (install bubblewrap)` };
}
