/**
 * A stdio child's environment is an allowlist: a few basics taken from the gateway's own environment, and the
 * variables its connector declares. Nothing else of the gateway's environment (GATEHOUSE_MASTER_KEY, database
 * URLs, cloud credentials) reaches a child. Declared variables that change how a program loads code (the dynamic
 * loader, Node, Python, Perl, Ruby, shells, the JVM, glibc) are refused when the connector is created, unless the
 * operator forces them.
 */

/** Taken from the gateway's environment when set (and not declared by the connector). */
const INHERITED = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TZ', 'TERM'];
const INHERITED_PREFIX = 'LC_';

/** Harmless members of families that are otherwise refused. */
const SAFE_EXCEPTIONS = new Set(['NODE_ENV', 'NODE_NO_WARNINGS', 'PYTHONUNBUFFERED', 'PYTHONIOENCODING', 'PYTHONDONTWRITEBYTECODE', 'PYTHONUTF8']);

const UNSAFE: readonly (readonly [RegExp, string])[] = [
  [/^LD_/, 'the dynamic loader loads code from it'],
  [/^DYLD_/, 'the dynamic loader loads code from it'],
  [/^NODE_/, 'Node loads code or changes its trust from it'],
  [/^PYTHON/, 'Python loads code from it'],
  [/^PERL/, 'Perl loads code from it'],
  [/^(RUBYOPT|RUBYLIB|RUBY_|GEM_)/, 'Ruby loads code from it'],
  [/^(BASH_ENV|ENV|BASH_FUNC_.*|SHELLOPTS|BASHOPTS|PS4|PROMPT_COMMAND|IFS|CDPATH|ZDOTDIR)$/, 'a shell runs code from it'],
  [/^(JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS|CLASSPATH)$/, 'the JVM loads code from it'],
  [/^(GCONV_PATH|GETCONF_DIR|HOSTALIASES|LOCPATH|MALLOC_TRACE|NIS_PATH|NLSPATH|RESOLV_HOST_CONF|RES_OPTIONS)$/, 'glibc loads files from it'],
  [/^(GIT_SSH|GIT_SSH_COMMAND|GIT_EXEC_PATH|GIT_ASKPASS|SSH_ASKPASS|EDITOR|VISUAL|PAGER)$/, 'tools run a command from it'],
  [/^GATEHOUSE_/, 'it is the gateway\'s own configuration'],
];

/** Why a declared variable must not be set unless forced, or undefined when it may. */
export function unsafeEnvReason(name: string): string | undefined {
  // Names are compared in upper case: Windows ignores case, and a rule must not be passed by writing ld_preload.
  const upper = name.toUpperCase();
  if (SAFE_EXCEPTIONS.has(upper)) return undefined;
  for (const [pattern, why] of UNSAFE) if (pattern.test(upper)) return why;
  return undefined;
}

/** The first declared name that is refused, with why. */
export function findUnsafeEnv(names: Iterable<string>): { name: string; why: string } | undefined {
  for (const name of names) {
    const why = unsafeEnvReason(name);
    if (why !== undefined) return { name, why };
  }
  return undefined;
}

/** Variables the dynamic loader reads before any sandbox could stop it: they are given inside the sandbox only. */
export function isLoaderVariable(name: string): boolean {
  return /^(LD_|DYLD_)/i.test(name);
}

/** The child's whole environment: the inherited basics, then the connector's own (which win). */
export function childEnvironment(declared: Readonly<Record<string, string>>, parent: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined || value.startsWith('()')) continue;
    if (INHERITED.includes(name) || name.startsWith(INHERITED_PREFIX)) env[name] = value;
  }
  return { ...env, ...declared };
}
