// The official MCP conformance suite (@modelcontextprotocol/conformance, server scenarios) against the gateway.
//
// The project's conformance fixture is the upstream (stdio connector `conf`); a virtual server exposes its tools,
// prompts and resources under their own names at /servers/conformance/mcp, which is what the scenarios call. The
// suite sends no credentials, so it talks to a loopback proxy that adds a key restricted to that virtual server and
// passes Host and Origin through untouched (dns-rebinding-protection must meet the gateway's own check).
// Every scenario must pass: no expected-failures list. The same suite first runs against the fixture alone over
// Streamable HTTP (through the same proxy) as the baseline: a scenario that fails only through the gateway is the
// gateway's.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { operatorActor, type Actor, type ServiceContext } from '../../src/services/context.ts';
import { createKey, type NewKey } from '../../src/services/keys.ts';
import { startConformanceHttpServer, type ConformanceHttpServer } from '../fixtures/conformance-server.ts';
import { startForwardingProxy, type ForwardingProxy } from './conformance-proxy.ts';
import { addAndConnect, freePort, NODE, ROOT, startGateway, stop, type Gateway } from './harness.ts';

const CONFORMANCE_CLI = join(ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const CONFORMANCE_FIXTURE = join(ROOT, 'test/fixtures/conformance-server.ts');
const VIRTUAL_SERVER = 'conformance';
const ACTOR: Actor = operatorActor('conformance-test');
/** Bounds for each suite run (a clean run takes seconds); with set-up, the whole file stays under two minutes. */
const BASELINE_TIMEOUT_MS = { active: 20_000, pending: 12_000 };
const GATEWAY_TIMEOUT_MS = { active: 45_000, pending: 20_000 };

type Status = 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';
interface Check {
  readonly id: string;
  readonly status: Status;
  readonly description: string;
  readonly errorMessage?: string;
}
interface SuiteRun {
  readonly suite: string;
  /** The scenarios the CLI announced it would run, in order. */
  readonly scenarios: string[];
  readonly results: Map<string, Check[]>;
  readonly code: number | null;
  readonly timedOut: boolean;
  readonly output: string;
}

// The virtual-server service is being written alongside this test; it is loaded by URL so that the type check does
// not depend on it. Once it has landed this can become a static import.
interface VirtualServersModule {
  readonly createVirtualServer: (
    ctx: ServiceContext,
    actor: Actor,
    input: { orgId: string; name: string; tools: string[]; prompts: string[]; resources: string[]; unprefixed: boolean },
  ) => Promise<unknown>;
}

async function loadVirtualServers(): Promise<VirtualServersModule> {
  const url: string = new URL('../../src/services/virtual-servers.ts', import.meta.url).href;
  try {
    return (await import(url)) as VirtualServersModule;
  } catch (err) {
    throw new Error('src/services/virtual-servers.ts (createVirtualServer) is not available yet', { cause: err });
  }
}

const children = new Set<ChildProcess>();

/** Runs one suite of the conformance CLI as a child process on this Node, bounded by `timeoutMs`. */
function runSuite(url: string, suite: 'active' | 'pending', timeoutMs: number): Promise<SuiteRun> {
  const outDir = mkdtempSync(join(tmpdir(), `gatehouse-conformance-${suite}-`));
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [CONFORMANCE_CLI, 'server', '--url', url, '--suite', suite, '-o', outDir], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let output = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      const scenarios = [...output.matchAll(/^=== Running scenario: (\S+) ===$/gm)].map((m) => m[1] ?? '');
      const results = readResults(outDir);
      rmSync(outDir, { recursive: true, force: true });
      resolve({ suite, scenarios, results, code, timedOut, output });
    });
  });
}

/** `<out>/server-<scenario>-<timestamp>/checks.json` for every scenario that ran. */
function readResults(outDir: string): Map<string, Check[]> {
  const results = new Map<string, Check[]>();
  for (const dir of readdirSync(outDir)) {
    const m = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/.exec(dir);
    if (m?.[1] === undefined) continue;
    try {
      results.set(m[1], JSON.parse(readFileSync(join(outDir, dir, 'checks.json'), 'utf8')) as Check[]);
    } catch {
      // A scenario that died before writing its checks is reported as missing below.
    }
  }
  return results;
}

function count(checks: readonly Check[], status: Status): number {
  return checks.filter((c) => c.status === status).length;
}

/** A compact per-scenario table: passed / failed / warning checks. */
function table(target: string, run: SuiteRun): string {
  const width = Math.max(...run.scenarios.map((s) => s.length), 8);
  const lines = [`conformance ${run.suite} suite against the ${target}`, `  ${'scenario'.padEnd(width)}  pass fail warn`];
  for (const scenario of run.scenarios) {
    const checks = run.results.get(scenario);
    if (checks === undefined) {
      lines.push(`  ${scenario.padEnd(width)}  (no results)`);
      continue;
    }
    const cells = [count(checks, 'SUCCESS'), count(checks, 'FAILURE'), count(checks, 'WARNING')].map((n) => String(n).padStart(4));
    lines.push(`  ${scenario.padEnd(width)} ${cells.join(' ')}`);
  }
  return lines.join('\n');
}

/** Every problem of a run as `scenario: check STATUS: errorMessage`; `strict` also counts warnings. */
function problems(run: SuiteRun, strict: boolean): string[] {
  const out: string[] = [];
  if (run.timedOut) out.push(`the ${run.suite} suite did not finish in time`);
  if (run.scenarios.length === 0) out.push(`the ${run.suite} suite ran no scenarios:\n${run.output.slice(-2000)}`);
  for (const scenario of run.scenarios) {
    const checks = run.results.get(scenario);
    if (checks === undefined) {
      out.push(`${scenario}: no checks.json written`);
      continue;
    }
    for (const c of checks) {
      if (c.status === 'FAILURE' || (strict && c.status === 'WARNING')) {
        out.push(`${scenario}: ${c.id} ${c.status}: ${c.errorMessage ?? c.description}`);
      }
    }
  }
  return out;
}

/**
 * Logs both tables and fails on any problem. Active scenarios must be clean (warnings count: the fixture alone has
 * none); pending ones (json-schema-2020-12, server-sse-polling) must not fail, their SHOULD-level warnings are shown.
 */
function report(t: TestContext, target: string, active: SuiteRun, pending: SuiteRun): void {
  for (const run of [active, pending]) t.diagnostic(table(target, run));
  const found = [...problems(active, true), ...problems(pending, false)];
  if (found.length > 0) assert.fail(`${String(found.length)} conformance problem(s) (${target}):\n  ${found.join('\n  ')}`);
  assert.equal(active.code, 0, `the active suite exited with ${String(active.code)}`);
  assert.equal(pending.code, 0, `the pending suite exited with ${String(pending.code)}`);
}

describe('the conformance fixture on its own, through the same proxy (baseline for fixture and proxy)', () => {
  let fixture: ConformanceHttpServer | undefined;
  let proxy: ForwardingProxy | undefined;

  before(async () => {
    fixture = await startConformanceHttpServer();
    // The fixture ignores the Authorization header; the proxy is here so that it is proven transparent too.
    proxy = await startForwardingProxy({ target: new URL(fixture.url).origin, authorization: 'Bearer unused' });
  });

  after(async () => {
    await Promise.allSettled([...children].map((c) => stop(c)));
    await proxy?.close();
    await fixture?.close();
  });

  test('passes every scenario', { timeout: 35_000 }, async (t) => {
    assert.ok(proxy !== undefined);
    const url = `${proxy.origin}/mcp`;
    const active = await runSuite(url, 'active', BASELINE_TIMEOUT_MS.active);
    const pending = await runSuite(url, 'pending', BASELINE_TIMEOUT_MS.pending);
    report(t, 'fixture', active, pending);
  });
});

describe(`the gateway's virtual server /servers/${VIRTUAL_SERVER}/mcp, the fixture as a stdio connector`, () => {
  let gw: Gateway | undefined;
  let proxy: ForwardingProxy | undefined;
  let suiteUrl = '';

  before(async () => {
    const proxyPort = await freePort();
    // The suite reaches the gateway under the proxy's address; those are the Host values it must accept.
    // Each scenario opens a session of its own and never ends it (no DELETE), and many declare sampling or
    // elicitation, so each holds a stdio process of its own until it idles out: more than one key's default quota.
    gw = await startGateway({ GATEHOUSE_ALLOWED_HOSTS: `127.0.0.1:${proxyPort},localhost:${proxyPort}`, GATEHOUSE_MAX_PROCESSES_PER_KEY: '100' });
    await addAndConnect(gw, { name: 'conf', type: 'stdio', command: NODE, args: [CONFORMANCE_FIXTURE, '--stdio'], env: [] });
    const { createVirtualServer } = await loadVirtualServers();
    await createVirtualServer(gw.app.services, ACTOR, {
      orgId: gw.org.id,
      name: VIRTUAL_SERVER,
      tools: ['conf/*'],
      prompts: ['conf/*'],
      resources: ['conf'],
      unprefixed: true,
    });
    // `servers` restricts the key to the virtual server (typed loosely until NewKey carries it).
    const keyInput: NewKey & { readonly servers?: readonly string[] } = {
      orgId: gw.org.id,
      name: 'conformance',
      scopes: ['*'],
      role: 'member',
      servers: [VIRTUAL_SERVER],
    };
    const { key } = await createKey(gw.app.services, ACTOR, keyInput);
    proxy = await startForwardingProxy({ target: gw.url, authorization: `Bearer ${key}`, port: proxyPort });
    suiteUrl = `${proxy.origin}/servers/${VIRTUAL_SERVER}/mcp`;
  });

  after(async () => {
    await Promise.allSettled([...children].map((c) => stop(c)));
    await proxy?.close();
    await gw?.close();
  });

  test('passes every scenario through the gateway', { timeout: 70_000 }, async (t) => {
    const active = await runSuite(suiteUrl, 'active', GATEWAY_TIMEOUT_MS.active);
    const pending = await runSuite(suiteUrl, 'pending', GATEWAY_TIMEOUT_MS.pending);
    report(t, 'gateway', active, pending);
  });
});
