import { readFileSync } from 'node:fs';
import { loadConfig, SETTING_ENV } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { Secret } from '../config/secret.ts';
import { out, UsageError } from './output.ts';

export const CONFIG_USAGE = 'gatehouse config show [--json]  the effective configuration (environment, config file, defaults), secrets masked';

export interface ShownSetting {
  readonly setting: string;
  readonly env: string | null;
  readonly value: unknown;
  readonly source: 'environment' | 'config file' | 'default';
}

const MASK = '********';

/**
 * The effective configuration, one row per setting, with where each value came from. A secret shows only that it
 * is set; a database URL keeps its host and database but not its password.
 */
export function effectiveConfig(config: Config, env: NodeJS.ProcessEnv): ShownSetting[] {
  const fromFile = fileKeys(env.GATEHOUSE_CONFIG);
  return (Object.keys(config) as (keyof Config)[]).sort().map((key) => {
    const name = SETTING_ENV[key];
    const source = name !== undefined && (env[name] ?? '') !== '' ? 'environment' : fromFile.has(key) ? 'config file' : 'default';
    return { setting: key, env: name ?? null, value: masked(key, config[key]), source };
  });
}

function masked(key: keyof Config, value: unknown): unknown {
  if (!(value instanceof Secret)) return value;
  if (key !== 'databaseUrl') return MASK;
  try {
    const url = new URL(value.reveal());
    if (url.password !== '') url.password = MASK;
    url.search = url.search === '' ? '' : `?${MASK}`;
    return url.toString();
  } catch {
    return MASK;
  }
}

function fileKeys(path: string | undefined): Set<string> {
  if (path === undefined || path === '') return new Set();
  try {
    return new Set(Object.keys(JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>));
  } catch {
    return new Set();
  }
}

/** `gatehouse config show`: the effective configuration, secrets masked. */
export function configCommand(env: NodeJS.ProcessEnv, args: readonly string[]): void {
  const [sub, ...rest] = args;
  if (sub !== 'show') throw new UsageError(CONFIG_USAGE);
  const rows = effectiveConfig(loadConfig(env), env);
  if (rest.includes('--json')) {
    out(JSON.stringify(Object.fromEntries(rows.map((r) => [r.setting, r.value]))));
    return;
  }
  const width = Math.max(...rows.map((r) => (r.env ?? r.setting).length));
  for (const r of rows) out(`${(r.env ?? r.setting).padEnd(width)}  ${JSON.stringify(r.value ?? null)}  (${r.source})`);
}
