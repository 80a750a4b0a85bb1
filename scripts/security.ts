/**
 * `npm run security`: the checks that run on every change besides the tests (.ci/run runs it after them).
 *
 *   node scripts/security.ts [audit] [secrets]          both when neither is named
 *     --audit-report FILE   evaluate this saved `npm audit --json` output instead of asking the registry
 *     --root DIR            scan DIR for secrets instead of the repository
 *
 * audit    `npm audit --json` over the installed tree: a high or critical advisory fails unless .ci/audit-allowlist.json
 *          accepts it (reason, expiry). When the audit endpoint cannot be reached or answers no report the check
 *          FAILS (exit 3): it never passes unverified. GATEHOUSE_AUDIT_UNREACHABLE=warn turns that one case into a
 *          loud warning, for a machine that is known to have no access to the endpoint.
 * secrets  secretlint (recommended preset, .secretlintrc.json) over every file git tracks or would add; the fixtures
 *          that hold fake credentials on purpose are listed, with why, in .secretlintignore.
 *
 * Exit codes: 0 clean, 1 a finding, 2 a usage or configuration error, 3 the audit could not run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { evaluateAudit, parseAllowlist } from './audit-policy.ts';

const ROOT = resolve(import.meta.dirname, '..');
const { values, positionals } = parseArgs({
  options: { 'audit-report': { type: 'string' }, root: { type: 'string' } },
  allowPositionals: true,
  strict: true,
});
const checks = positionals.length === 0 ? ['audit', 'secrets'] : positionals;
for (const c of checks) {
  if (c !== 'audit' && c !== 'secrets') {
    console.error(`security: unknown check "${c}" (audit, secrets)`);
    process.exit(2);
  }
}

function audit(): number {
  let allowlist;
  try {
    allowlist = parseAllowlist(readFileSync(join(ROOT, '.ci/audit-allowlist.json'), 'utf8'));
  } catch (err) {
    console.error(`security audit: .ci/audit-allowlist.json: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
  let text: string;
  const reportFile = values['audit-report'];
  if (reportFile !== undefined) text = readFileSync(reportFile, 'utf8');
  else {
    const npm = process.env.npm_execpath;
    const run = npm !== undefined && npm.endsWith('.js')
      ? spawnSync(process.execPath, [npm, 'audit', '--json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 })
      : spawnSync('npm', ['audit', '--json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
    text = run.stdout;
  }
  let report: unknown;
  try {
    report = JSON.parse(text);
  } catch {
    report = undefined;
  }
  const outcome = evaluateAudit(report, allowlist, new Date().toISOString().slice(0, 10));
  if (outcome.kind === 'unavailable') {
    const banner = `DEPENDENCY AUDIT NOT RUN: ${outcome.why}`;
    if (process.env.GATEHOUSE_AUDIT_UNREACHABLE === 'warn') {
      console.error(`security audit: WARNING ${banner}; accepted by GATEHOUSE_AUDIT_UNREACHABLE=warn`);
      return 0;
    }
    console.error(`security audit: FAILED ${banner}. A check that cannot run does not pass; see README "Security checks".`);
    return 3;
  }
  for (const a of outcome.accepted) console.log(`security audit: accepted by the allowlist: ${a.advisory} ${a.package} (${a.severity})`);
  for (const e of outcome.stale) console.log(`security audit: allowlist entry ${e.advisory} ${e.package} matches nothing any more; remove it`);
  for (const e of outcome.expired) console.error(`security audit: allowlist entry ${e.advisory} ${e.package} expired on ${e.expires}; review it again`);
  for (const a of outcome.failing) console.error(`security audit: ${a.severity} ${a.advisory} in ${a.package}: ${a.title}`);
  const bad = outcome.failing.length + outcome.expired.length;
  console.log(`security audit: ${String(outcome.total)} high or critical advisories, ${String(outcome.accepted.length)} accepted, ${String(bad)} failing`);
  return bad === 0 ? 0 : 1;
}

function secrets(): number {
  const root = values.root === undefined ? ROOT : resolve(values.root);
  const rc = join(ROOT, '.secretlintrc.json');
  // secretlint reads the ignore file's patterns against the working directory only when given a relative path.
  const ignore = relative(root, join(ROOT, '.secretlintignore'));
  // Every file git tracks or would add (dotfiles too); a tree without git is scanned as a whole.
  const git = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const files = git.status === 0 ? git.stdout.split('\0').filter((f) => f !== '' && existsSync(join(root, f))) : ['**/*'];
  if (files.length === 0) {
    console.log('security secrets: no files');
    return 0;
  }
  const bin = join(ROOT, 'node_modules/secretlint/bin/secretlint.js');
  const run = spawnSync(process.execPath, [bin, '--secretlintrc', rc, '--secretlintignore', ignore, '--maskSecrets', ...files], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
  process.stdout.write(run.stdout);
  process.stderr.write(run.stderr);
  if (run.status === 0) console.log(`security secrets: ${String(files.length)} files, no secret found`);
  else if (run.status === 1) console.error('security secrets: FAILED: a secret is committed (fake credentials for tests go in .secretlintignore, with why)');
  else console.error(`security secrets: FAILED: secretlint could not run (exit ${String(run.status)})`);
  return run.status === 0 ? 0 : run.status === 1 ? 1 : 2;
}

let worst = 0;
for (const c of checks) worst = Math.max(worst, c === 'audit' ? audit() : secrets());
process.exit(worst);
