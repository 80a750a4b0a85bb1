import { closeSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { arch, platform, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { VERSION } from '../app.ts';
import { loadConfig } from '../config/load.ts';
import { effectiveConfig } from './config-show.ts';
import { doctorReport, formatDoctor } from './doctor.ts';
import { out, UsageError } from './output.ts';
import { createRedactor } from './redact.ts';

export const SUPPORT_BUNDLE_USAGE = `gatehouse support-bundle [--out FILE] [--log FILE]... [--lines N]
  writes configuration (masked), versions, doctor output and the last N lines (default 2000) of each log file,
  every secret redacted, to FILE (default gatehouse-support-<time>.json, mode 0600)`;

/** Reads at most this much of the end of a log file: a bundle is for reading, not an archive. */
const TAIL_BYTES = 4 * 1024 * 1024;

/**
 * `gatehouse support-bundle`: what a maintainer needs to help, and no secret. Every string in it, the
 * configuration and doctor's output included, passes through the redactor on its way into the file (string by
 * string, so a log line holding JSON is redacted as the text it is and the bundle stays valid JSON).
 */
export async function supportBundleCommand(env: NodeJS.ProcessEnv, args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { out: { type: 'string' }, log: { type: 'string', multiple: true }, lines: { type: 'string' } },
  });
  const lines = values.lines === undefined ? 2000 : Number(values.lines);
  if (!Number.isInteger(lines) || lines < 1 || lines > 100_000) throw new UsageError('--lines must be 1 to 100000');
  const config = loadConfig(env);
  const redactor = createRedactor(config, env);
  const report = await doctorReport(config);
  const bundle = {
    generatedAt: new Date().toISOString(),
    versions: { gatehouse: VERSION, node: process.version, platform: platform(), release: release(), arch: arch(), dependencies: dependencyVersions() },
    environment: Object.keys(env)
      .filter((n) => n.startsWith('GATEHOUSE_'))
      .sort(),
    configuration: effectiveConfig(config, env),
    doctor: { report, text: formatDoctor(report) },
    logs: (values.log ?? []).map((file) => ({ file, lines: tail(file, lines) })),
  };
  const text = JSON.stringify(redactDeep(bundle, (s) => redactor.redact(s)), null, 2) + '\n';
  const file = values.out ?? `gatehouse-support-${bundle.generatedAt.replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
  out(`Wrote ${file} (${text.length} bytes; secrets redacted). Read it before you send it.`);
}

/** The last `n` lines of a file (from its last few megabytes), or why it could not be read. */
function tail(file: string, n: number): string[] {
  let fd: number | undefined;
  try {
    const size = statSync(file).size;
    const start = Math.max(0, size - TAIL_BYTES);
    const buffer = Buffer.alloc(size - start);
    fd = openSync(file, 'r');
    readSync(fd, buffer, 0, buffer.length, start);
    const all = buffer.toString('utf8').split('\n');
    if (start > 0) all.shift();
    if (all.at(-1) === '') all.pop();
    return all.slice(-n);
  } catch (err) {
    return [`(cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'})`];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function dependencyVersions(): Record<string, string> {
  const root = join(import.meta.dirname, '../..');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const versions: Record<string, string> = {};
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    try {
      versions[name] = (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      versions[name] = 'not installed';
    }
  }
  return versions;
}

function redactDeep(value: unknown, redact: (s: string) => string): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, redact)]));
  return value;
}
