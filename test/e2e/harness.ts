/**
 * End-to-end harness: a real gateway (the app the CLI serves) on an ephemeral loopback port with its own data
 * directory, real upstream servers, and the official SDK client. Everything started here is stopped by `close()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { createApp, type App, type AppOptions } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log.ts';
import { addConnector, type NewConnector, type ValueInput } from '../../src/services/connectors.ts';
import { operatorActor } from '../../src/services/context.ts';
import { bootstrap } from '../../src/services/organisations.ts';
import type { Organisation } from '../../src/store/types.ts';
import { hostPidOf, type ProcessIdentity } from '../fixtures/sandbox-tools.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const NODE = process.execPath;
export const FIXTURE = join(ROOT, 'test/fixtures/fixture-server.ts');
export const EVERYTHING = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
export const CLI = join(ROOT, 'src/cli/main.ts');

/** A connector as the tests describe it: the gateway's default organisation is filled in. */
export type ConnectorInput = NewConnector extends infer T ? (T extends unknown ? Omit<T, 'orgId'> : never) : never;

export interface Gateway {
  readonly url: string;
  readonly dataDir: string;
  /** The environment a CLI process needs to reach this gateway's store. */
  readonly env: Record<string, string>;
  readonly app: App;
  readonly org: Organisation;
  readonly ownerKey: string;
  /** Every log line the gateway wrote, as text. */
  readonly logs: string[];
  close(): Promise<void>;
}

/** The operator allowances for upstreams on loopback over plain http, as tests and the bench need them. */
export const LOOPBACK_EGRESS: Readonly<Record<string, string>> = {
  GATEHOUSE_ALLOW_PLAIN_HTTP_UPSTREAMS: 'true',
  GATEHOUSE_EGRESS_ALLOW_CIDRS: '127.0.0.0/8,::1/128',
};

export async function startGateway(extraEnv: Record<string, string> = {}, options: AppOptions = {}): Promise<Gateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-'));
  const env: Record<string, string> = {
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_HOST: '127.0.0.1',
    GATEHOUSE_PORT: '0',
    GATEHOUSE_LOG_LEVEL: 'debug',
    GATEHOUSE_CONNECTOR_POLL_MS: '100',
    GATEHOUSE_UPSTREAM_TIMEOUT_MS: '15000',
    // The suites send hundreds of requests a second from 127.0.0.1; the address and /auth limits are the traffic
    // suite's to test (it sets its own), everywhere else they would only measure how fast the suite runs.
    GATEHOUSE_RATE_LIMIT_ADDRESS: 'off',
    GATEHOUSE_RATE_LIMIT_AUTH: 'off',
    // The fixtures, the upstreams and the test IdPs listen on plain http on loopback: an operator's allowance,
    // never the default (egress refuses both otherwise; the egress suite tests that).
    ...LOOPBACK_EGRESS,
    ...extraEnv,
  };
  const config = loadConfig(env);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const app = await createApp(config, createLogger(config, sink), options);
  const { org, ownerKey } = await bootstrap(app.services);
  if (ownerKey === undefined) throw new Error('expected a fresh data directory');
  const url = await app.listen();
  return { url, dataDir, env: { ...env, GATEHOUSE_PORT: new URL(url).port }, app, org, ownerKey, logs, close: () => app.close() };
}

/** Adds a connector through the service layer and waits until the gateway has connected to it. */
export async function addAndConnect(gw: Gateway, input: ConnectorInput, orgId = gw.org.id): Promise<void> {
  await addConnector(gw.app.services, operatorActor('test'), { ...input, orgId });
  await gw.app.federation.sync();
  await gw.app.federation.settled();
}

export function stdioFixture(name: string, env: ValueInput[] = [], args: string[] = []): ConnectorInput {
  return { name, type: 'stdio', command: NODE, args: [FIXTURE, '--stdio', ...args], env };
}

export function stdioEverything(name: string): ConnectorInput {
  return { name, type: 'stdio', command: NODE, args: [EVERYTHING, 'stdio'], env: [] };
}

export function httpConnector(name: string, url: string, headers: ValueInput[] = []): ConnectorInput {
  return { name, type: 'http', url, headers };
}

/**
 * The host pid of the fixture process that answered its `pid` tool with `result`. In a sandbox the text is the pid
 * in the process's own PID namespace; the identity it also reports finds it on the host.
 */
export function hostPidOfPidResult(result: unknown): number {
  const identity = (result as { structuredContent?: { identity?: ProcessIdentity } }).structuredContent?.identity;
  const pid = identity === undefined ? undefined : hostPidOf(identity);
  if (pid === undefined) throw new Error(`cannot find the host process of ${JSON.stringify(identity ?? null)}`);
  return pid;
}

/** An SDK client connected to the gateway with a key. */
export async function connect(url: string, key: string, name = 'e2e-client', headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { ...headers, Authorization: `Bearer ${key}` } } }));
  return client;
}

/** Runs the real CLI as a separate process against the gateway's store. */
export function runCli(gw: Pick<Gateway, 'env'>, args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(NODE, [CLI, ...args], { env: { ...process.env, ...gw.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolvePromise({ code: code ?? -1, stdout, stderr });
    });
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => {
        resolvePromise(port);
      });
    });
    srv.on('error', reject);
  });
}

export interface UpstreamProcess {
  readonly url: string;
  readonly child: ChildProcess;
  close(): Promise<void>;
}

/** Starts `@modelcontextprotocol/server-everything` over Streamable HTTP on a free loopback port. */
export async function startEverythingHttp(): Promise<UpstreamProcess> {
  const port = await freePort();
  const child = spawn(NODE, [EVERYTHING, 'streamableHttp'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  await waitForOutput(child, 'stderr', /listening on port/i);
  return { url: `http://127.0.0.1:${port}/mcp`, child, close: () => stop(child) };
}

/** Starts the project's fixture over Streamable HTTP as its own process (so a test can kill it). */
export async function startFixtureHttpProcess(env: Record<string, string> = {}): Promise<UpstreamProcess> {
  const child = spawn(NODE, [FIXTURE, '--http', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const line = await waitForOutput(child, 'stdout', /^LISTENING (\S+)/m);
  return { url: line[1] ?? '', child, close: () => stop(child) };
}

function waitForOutput(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolvePromise, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`upstream did not start: ${text.slice(0, 500)}`));
    }, 15_000);
    child[stream]?.on('data', (d: Buffer) => {
      text += d.toString();
      const m = pattern.exec(text);
      if (m !== null) {
        clearTimeout(timer);
        resolvePromise(m);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`upstream exited with ${code ?? 'signal'}: ${text.slice(0, 500)}`));
    });
  });
}

export function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolvePromise) => {
    child.once('exit', () => {
      resolvePromise();
    });
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A raw POST to the MCP endpoint, for what the SDK client will not send (bad headers, batches, foreign sessions). */
export async function rawPost(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The text of a tool result's content blocks, joined. */
export function resultText(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? '').join('');
}

/** The JSON-RPC error a call ends in; fails when it succeeds or fails otherwise. */
export async function rpcError(p: Promise<unknown>): Promise<McpError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof McpError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}
