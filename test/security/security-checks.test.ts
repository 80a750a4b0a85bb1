// npm run security: the dependency audit's verdicts (including an endpoint that gives no report, which must not
// pass) and the secret scan, run as the real script over saved audit reports and over a tree with a planted secret.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { evaluateAudit, parseAllowlist, type AllowEntry } from '../../scripts/audit-policy.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const SCRIPT = join(ROOT, 'scripts/security.ts');
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'gatehouse-security-'));
  dirs.push(d);
  return d;
}

/** An `npm audit --json` report (npm 7+, auditReportVersion 2) with the given advisories. */
function report(advisories: { pkg: string; ghsa: string; severity: string }[]): unknown {
  const vulnerabilities: Record<string, unknown> = {};
  for (const a of advisories) {
    vulnerabilities[a.pkg] = {
      name: a.pkg,
      severity: a.severity,
      isDirect: false,
      via: [{ source: 1, name: a.pkg, dependency: a.pkg, title: `Something bad in ${a.pkg}`, url: `https://github.com/advisories/${a.ghsa}`, severity: a.severity, range: '<9.9.9' }],
      effects: ['through-it'],
      range: '<9.9.9',
      nodes: [`node_modules/${a.pkg}`],
      fixAvailable: true,
    };
    vulnerabilities['through-it'] = { name: 'through-it', severity: a.severity, via: [a.pkg], effects: [], range: '*', nodes: [], fixAvailable: true };
  }
  return { auditReportVersion: 2, vulnerabilities, metadata: { vulnerabilities: { total: advisories.length } } };
}

function run(args: string[], env: Record<string, string> = {}): { code: number; out: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 90_000 });
  return { code: r.status ?? -1, out: r.stdout + r.stderr };
}

const HIGH = { pkg: 'left-pad', ghsa: 'GHSA-2222-3333-4444', severity: 'high' };
const entry = (expires: string): AllowEntry => ({ advisory: HIGH.ghsa, package: HIGH.pkg, reason: 'not reachable from Gatehouse', expires });

describe('security: the dependency audit', () => {
  test('a high or critical advisory fails; moderate and low do not; the path it comes through is not counted twice', () => {
    const o = evaluateAudit(report([HIGH, { pkg: 'x', ghsa: 'GHSA-5555-6666-7777', severity: 'critical' }, { pkg: 'm', ghsa: 'GHSA-8888-9999-cccc', severity: 'moderate' }]), [], '2026-12-07');
    assert.ok(o.kind === 'report');
    assert.deepEqual(o.failing.map((a) => a.advisory).sort(), ['GHSA-2222-3333-4444', 'GHSA-5555-6666-7777']);
  });

  test('the allowlist accepts an advisory until its expiry; an expired entry fails; one that matches nothing is stale', () => {
    const accepted = evaluateAudit(report([HIGH]), [entry('2026-12-31')], '2026-12-07');
    assert.ok(accepted.kind === 'report' && accepted.failing.length === 0 && accepted.accepted.length === 1);
    const expired = evaluateAudit(report([HIGH]), [entry('2026-12-01')], '2026-12-07');
    assert.ok(expired.kind === 'report' && expired.failing.length === 1 && expired.expired.length === 1);
    const stale = evaluateAudit(report([]), [entry('2026-12-31')], '2026-12-07');
    assert.ok(stale.kind === 'report' && stale.stale.length === 1 && stale.failing.length === 0);
    const otherPackage = evaluateAudit(report([HIGH]), [{ ...entry('2026-12-31'), package: 'right-pad' }], '2026-12-07');
    assert.ok(otherPackage.kind === 'report' && otherPackage.failing.length === 1, 'an entry accepts its advisory in its package only');
  });

  test('an allowlist entry without a reason, expiry or GHSA id is refused', () => {
    assert.throws(() => parseAllowlist(JSON.stringify({ entries: [{ advisory: HIGH.ghsa, package: 'p', expires: '2027-01-01' }] })), /reason/);
    assert.throws(() => parseAllowlist(JSON.stringify({ entries: [{ ...entry('soon') }] })), /expires/);
    assert.throws(() => parseAllowlist(JSON.stringify({ entries: [{ ...entry('2027-01-01'), advisory: 'CVE-2024-1' }] })), /GHSA/);
    assert.throws(() => parseAllowlist('[]'), /entries/);
    assert.equal(parseAllowlist(JSON.stringify({ entries: [entry('2027-01-01')] })).length, 1);
  });

  test('an answer that is no report (endpoint refused, offline, garbage) is unavailable, never a pass', () => {
    for (const answer of [{ message: '405 Method Not Allowed', statusCode: 405, error: { summary: '' } }, { error: { code: 'ENOTFOUND' } }, {}, null, 'text']) {
      assert.equal(evaluateAudit(answer, [], '2026-12-07').kind, 'unavailable', JSON.stringify(answer));
    }
  });

  test('the script: 0 on a clean report, 1 on a high advisory, 3 when the endpoint gave no report (0 only when told to warn)', () => {
    const dir = tempDir();
    const write = (name: string, value: unknown): string => {
      const path = join(dir, name);
      writeFileSync(path, JSON.stringify(value));
      return path;
    };
    const clean = run(['audit', '--audit-report', write('clean.json', report([]))]);
    assert.equal(clean.code, 0, clean.out);
    const high = run(['audit', '--audit-report', write('high.json', report([HIGH]))]);
    assert.equal(high.code, 1, high.out);
    assert.match(high.out, /high GHSA-2222-3333-4444 in left-pad/);
    const down = write('down.json', { message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk', statusCode: 405, error: { summary: '' } });
    const refused = run(['audit', '--audit-report', down]);
    assert.equal(refused.code, 3, refused.out);
    assert.match(refused.out, /DEPENDENCY AUDIT NOT RUN/);
    const warned = run(['audit', '--audit-report', down], { GATEHOUSE_AUDIT_UNREACHABLE: 'warn' });
    assert.equal(warned.code, 0, warned.out);
    assert.match(warned.out, /WARNING DEPENDENCY AUDIT NOT RUN/);
    const empty = run(['audit', '--audit-report', write('empty.json', '')]);
    assert.equal(empty.code, 3, 'no JSON at all is no report either');
  });
});

describe('security: the secret scan', () => {
  test('the repository as committed is clean (its fake credentials are the reviewed ones in .secretlintignore)', () => {
    const r = run(['secrets']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /no secret found/);
  });

  test('a credential in a file git would add fails the scan, named by file and rule, its value masked', () => {
    const dir = tempDir();
    assert.equal(spawnSync('git', ['init', '-q', dir]).status, 0);
    // Built at run time so this file holds no credential of its own.
    const token = ['ghp', 'Zq8mR2xV7tK4pL9wN3bH6cJ1dF5gS0yA2eU7'].join('_');
    writeFileSync(join(dir, 'settings.ts'), `export const githubToken = '${token}';\n`);
    writeFileSync(join(dir, 'clean.ts'), 'export const nothing = 1;\n');
    const r = run(['secrets', '--root', dir]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /settings\.ts/);
    assert.match(r.out, /GitHub/i);
    assert.equal(r.out.includes(token), false, 'the finding masks the value');
  });
});
