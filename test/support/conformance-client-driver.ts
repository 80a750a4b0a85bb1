/**
 * Drives the official conformance package's CLIENT scenarios (`conformance list --client`) with the gateway's upstream
 * side as the client under test. For one scenario:
 *
 *   1. the conformance CLI starts the scenario's server and runs conformance-client-command.ts as "the client",
 *      handing it the server's URL;
 *   2. that command passes the URL back here; a connector of the gateway is pointed at it (the scenario's `connector`
 *      hook may add what it needs, such as upstream OAuth settings) and the gateway connects to it;
 *   3. an agent (the official SDK client, with the capabilities the scenario asks for) connects to the gateway's /mcp
 *      and the scenario's `drive` makes the call(s) through the gateway;
 *   4. the command exits, the CLI stops the server and writes the scenario's checks, which are returned here.
 *
 * Adding a scenario is one entry in CLIENT_SCENARIOS. Nothing is expected to fail: callers assert every check.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type ClientCapabilities, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { addConnector, removeConnector, connectorIdByName } from '../../src/services/connectors.ts';
import { createKey } from '../../src/services/keys.ts';
import { addMember } from '../../src/services/members.ts';
import { operatorActor } from '../../src/services/context.ts';
import { addAndConnect, httpConnector, NODE, ROOT, type ConnectorInput, type Gateway } from '../e2e/harness.ts';

const CONFORMANCE_CLI = join(ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const COMMAND = join(ROOT, 'test/support/conformance-client-command.ts');

export type CheckStatus = 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';
export interface ConformanceCheck {
  readonly id: string;
  readonly name?: string;
  readonly status: CheckStatus;
  readonly description: string;
  readonly errorMessage?: string;
  readonly details?: unknown;
}

/** What a scenario's `drive` gets: an agent connected to the gateway, and the connector's tools in the agent's names. */
export interface Agent {
  readonly client: Client;
  /** The connector pointed at the scenario's server. */
  readonly connector: string;
  /** The scenario server's tool `name` as the gateway exposes it. */
  tool(name: string): string;
  /** Calls the scenario server's tool `name` through the gateway; a tool error fails the drive. */
  call(name: string, args?: Record<string, unknown>): Promise<unknown>;
  /** OAuth per user: the member opens the connect URL again (their browser, as at the start). */
  reconnect(): Promise<void>;
}

export interface ClientScenario {
  /** What the agent's client declares to the gateway (elicitation, sampling, roots...). */
  readonly capabilities?: ClientCapabilities;
  /** How the agent answers an elicitation the scenario's server sends through the gateway. */
  readonly elicit?: (params: Record<string, unknown>) => ElicitResult;
  /** The connector to point at the scenario's server; the default is a plain HTTP connector. */
  readonly connector?: (serverUrl: string, context: unknown, gw: Gateway) => ConnectorInput | Promise<ConnectorInput>;
  /** What the agent does through the gateway once the connector is up. */
  readonly drive: (agent: Agent) => Promise<unknown>;
  /**
   * OAuth per user: a member of the organisation connects their account first, the driver playing their browser
   * (the gateway's connect route, the scenario's auto-approving authorization endpoint, the gateway's callback),
   * and the agent then calls with that member's key.
   */
  readonly browser?: boolean;
  /**
   * The scenario expects the client to refuse (a wrong resource, a scope it cannot get): the connect or the call
   * must fail with the gateway's clean error, and the drive counts as done when it does.
   */
  readonly refuses?: RegExp;
}

/**
 * The client scenarios, one line each. `initialize` needs nothing but the gateway connecting; the others call the
 * scenario server's one tool. The elicitation agent accepts with an empty form, as a person who changes nothing:
 * the defaults of the requested schema must be applied on the way (SEP-1034).
 */
export const CLIENT_SCENARIOS: Readonly<Record<string, ClientScenario>> = {
  initialize: { drive: () => Promise.resolve() },
  tools_call: { drive: (a) => a.call('add_numbers', { a: 2, b: 3 }) },
  'sse-retry': { drive: (a) => a.call('test_reconnection') },
  'elicitation-sep1034-client-defaults': {
    capabilities: { elicitation: {} },
    elicit: () => ({ action: 'accept', content: {} }),
    drive: (a) => a.call('test_client_elicitation_defaults'),
  },
  // Upstream OAuth (gateway/upstream/oauth): the connector holds the scenario's client credentials; the call only
  // succeeds with a token the scenario's authorization server issued.
  'auth/client-credentials-basic': {
    connector: (serverUrl, context) => oauthConnector(serverUrl, context),
    drive: (a) => a.call('test-tool'),
  },
  'auth/client-credentials-jwt': {
    connector: (serverUrl, context) => oauthConnector(serverUrl, context),
    drive: (a) => a.call('test-tool'),
  },
  // OAuth per user: a member connects through the (auto-approving) authorization server, then calls.
  'auth/metadata-default': perUser(),
  'auth/metadata-var1': perUser(),
  'auth/metadata-var2': perUser(),
  'auth/metadata-var3': perUser(),
  'auth/basic-cimd': perUser(),
  'auth/scope-from-www-authenticate': perUser(),
  'auth/scope-from-scopes-supported': perUser(),
  'auth/scope-omitted-when-undefined': perUser(),
  // The upstream asks for more scope at the call: the gateway refuses the call naming the connect URL, the member
  // connects again (the gateway asks for the union of the scopes), and the call goes through.
  'auth/scope-step-up': perUser({
    drive: async (a) => {
      await assert.rejects(a.call('test-tool'), (err: Error) => /-32065/.test(err.message) && /needs more of your authorization \(mcp:write\).*\/oauth\/connect/.test(err.message));
      await a.reconnect();
      return a.call('test-tool');
    },
  }),
  // The upstream refuses every token with a scope it already has: the gateway stops (no authorization loop) and
  // the call fails with the reason.
  'auth/scope-retry-limit': perUser({ refuses: /-32066: The upstream refuses the token even with the scope it asked for/ }),
  'auth/token-endpoint-auth-basic': perUser(),
  'auth/token-endpoint-auth-post': perUser(),
  'auth/token-endpoint-auth-none': perUser(),
  'auth/2025-03-26-oauth-metadata-backcompat': perUser(),
  'auth/2025-03-26-oauth-endpoint-fallback': perUser(),
  // The metadata names another resource than the server's: no token is ever asked for, the connect is refused.
  'auth/resource-mismatch': perUser({ refuses: /connect: HTTP 502 .*upstream_auth_failed.*names a different resource/ }),
  'auth/offline-access-scope': perUser(),
  'auth/offline-access-not-supported': perUser(),
  // The scenario's server offers no registration: the connector holds the client it was given beforehand.
  'auth/pre-registration': perUser({ connector: (url, context) => oauthConnector(url, context, 'user') }),
};

/** A connector in OAuth-per-user mode whose scenario's authorization server the member consents at. */
function perUser(more: Partial<ClientScenario> = {}): ClientScenario {
  return {
    connector: (url) => ({ name: 'oauth', type: 'http', url, headers: [], oauth: { mode: 'user' } }),
    browser: true,
    drive: (a) => a.call('test-tool'),
    ...more,
  };
}

function oauthConnector(url: string, context: unknown, mode: 'client_credentials' | 'user' = 'client_credentials'): ConnectorInput {
  const c = context as { client_id?: unknown; client_secret?: unknown; private_key_pem?: unknown; signing_algorithm?: unknown };
  if (typeof c.client_id !== 'string') throw new Error('the scenario gave no client_id');
  const clientSecret = typeof c.client_secret === 'string' ? c.client_secret : undefined;
  const privateKeyPem = typeof c.private_key_pem === 'string' ? c.private_key_pem : undefined;
  const signingAlg = typeof c.signing_algorithm === 'string' ? c.signing_algorithm : undefined;
  return { name: 'oauth', type: 'http', url, headers: [], oauth: { mode, clientId: c.client_id, clientSecret, privateKeyPem, signingAlg } };
}

export interface ScenarioRun {
  readonly scenario: string;
  readonly checks: ConformanceCheck[];
  /** The conformance CLI's exit code: 0 only when no check failed or warned and the client exited 0. */
  readonly code: number | null;
  readonly timedOut: boolean;
  /** What the driver itself saw go wrong (the connector, the agent's calls), if anything. */
  readonly driveError: string | undefined;
  readonly output: string;
}

export interface RunOptions {
  /** The CLI's own bound on the client command (default 30 s). */
  readonly clientTimeoutMs?: number;
  /** The bound on the whole run, CLI included (default: the client's plus 15 s). */
  readonly timeoutMs?: number;
}

let sequence = 0;

/** Runs one client scenario through `gw` and returns its checks. Everything it started is stopped when it returns. */
export async function runClientScenario(gw: Gateway, scenario: string, options: RunOptions = {}): Promise<ScenarioRun> {
  const spec = CLIENT_SCENARIOS[scenario];
  if (spec === undefined) throw new Error(`no driver entry for client scenario '${scenario}'`);
  const clientTimeoutMs = options.clientTimeoutMs ?? 30_000;
  const connector = `cc${String(process.pid % 10_000)}-${String(++sequence)}`;
  let driveError: string | undefined;
  const state = { added: false };

  const coordinator = createServer((req, res) => {
    void (async () => {
      let ok = false;
      try {
        const { serverUrl, context } = JSON.parse(await readBody(req)) as { serverUrl: string; context: unknown };
        const input = spec.connector === undefined ? httpConnector(connector, serverUrl) : { ...(await spec.connector(serverUrl, context, gw)), name: connector };
        let key = gw.ownerKey;
        if (spec.browser === true) {
          await addConnector(gw.app.services, operatorActor('conformance-client'), { ...input, orgId: gw.org.id });
          state.added = true;
          await gw.app.federation.sync();
          key = (await member(gw)).key;
          await connectAccount(gw, connector, key);
          await gw.app.federation.settled();
        } else {
          await addAndConnect(gw, input);
          state.added = true;
        }
        await drive(gw, spec, connector, key, () => connectAccount(gw, connector, key));
        if (spec.refuses !== undefined) throw new Error('the gateway went through where the scenario expects the client to refuse');
        ok = true;
      } catch (err) {
        driveError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        if (spec.refuses !== undefined) {
          ok = spec.refuses.test(driveError);
          driveError = ok ? undefined : `expected a refusal matching ${String(spec.refuses)}, got ${driveError}`;
        }
      }
      // The client is done before the command exits: the scenario's server waits for its connections to end.
      await removeIfAdded().catch((err: unknown) => (driveError ??= `removing the connector: ${String(err)}`));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ok ? { ok } : { ok, error: driveError }));
    })();
  });
  await new Promise<void>((resolve) => coordinator.listen(0, '127.0.0.1', resolve));
  const address = coordinator.address();
  const driverUrl = `http://127.0.0.1:${String(typeof address === 'object' && address !== null ? address.port : 0)}/`;
  const outDir = mkdtempSync(join(tmpdir(), 'gatehouse-conformance-client-'));
  try {
    const { code, timedOut, output } = await runCli(
      [CONFORMANCE_CLI, 'client', '--command', `${NODE} ${COMMAND}`, '--scenario', scenario, '--timeout', String(clientTimeoutMs), '-o', outDir],
      { GATEHOUSE_CONFORMANCE_DRIVER: driverUrl },
      options.timeoutMs ?? clientTimeoutMs + 15_000,
    );
    return { scenario, checks: readChecks(outDir), code, timedOut, driveError, output };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
    coordinator.closeAllConnections();
    await new Promise((resolve) => coordinator.close(resolve));
    await removeIfAdded();
  }

  async function removeIfAdded(): Promise<void> {
    if (!state.added) return;
    state.added = false;
    await removeConnector(gw.app.services, operatorActor('conformance-client'), gw.org.id, await connectorIdByName(gw.app.services, gw.org.id, connector));
    await gw.app.federation.sync();
  }
}

/** The agent's part: an SDK client on the gateway's /mcp, with the scenario's capabilities, runs `drive`. */
async function drive(gw: Gateway, spec: ClientScenario, connector: string, key: string, reconnect: () => Promise<void>): Promise<void> {
  const client = new Client({ name: 'conformance-agent', version: '1.0.0' }, { capabilities: spec.capabilities ?? {} });
  const elicit = spec.elicit;
  if (elicit !== undefined) client.setRequestHandler(ElicitRequestSchema, (request) => elicit(request.params as Record<string, unknown>));
  const transport = new StreamableHTTPClientTransport(new URL(gw.url), { requestInit: { headers: { Authorization: `Bearer ${key}` } } });
  await client.connect(transport);
  const tool = (name: string) => `${connector}__${name}`;
  try {
    await spec.drive({
      client,
      connector,
      tool,
      call: async (name, args = {}) => {
        const result = await client.callTool({ name: tool(name), arguments: args });
        if (result.isError === true) throw new Error(`tool ${name} answered an error: ${JSON.stringify(result.content)}`);
        return result;
      },
      reconnect,
    });
  } finally {
    // Ending the session closes the session's own upstream connections (elicitation) with it.
    await transport.terminateSession().catch(() => undefined);
    await client.close();
  }
}

/** A member of the gateway's organisation with a key that acts for them (one per run: each connects afresh). */
async function member(gw: Gateway): Promise<{ userId: string; key: string }> {
  const email = `conformance-${String(process.pid)}-${String(++people)}@example.com`;
  const m = await addMember(gw.app.services, operatorActor('conformance-client'), gw.org.id, { email, role: 'member' });
  const { key } = await createKey(gw.app.services, operatorActor('conformance-client'), { orgId: gw.org.id, name: `${email}-key`, role: 'member', scopes: ['*'], userId: m.userId });
  return { userId: m.userId, key };
}
let people = 0;

/**
 * The member's browser: the gateway's connect route redirects to the authorization server, whose authorization
 * endpoint (auto-approving in these scenarios) redirects to the gateway's callback, which must answer 200.
 */
export async function connectAccount(gw: Gateway, connector: string, key: string): Promise<void> {
  const base = new URL(gw.url).origin;
  const id = await connectorIdByName(gw.app.services, gw.org.id, connector);
  const start = await fetch(`${base}/api/v1/connectors/${id}/oauth/connect`, { headers: { authorization: `Bearer ${key}` }, redirect: 'manual' });
  const toServer = start.headers.get('location');
  if (start.status !== 302 || toServer === null) throw new Error(`connect: HTTP ${String(start.status)} ${await start.text()}`);
  await start.body?.cancel();
  // The browser keeps the cookie that binds the connect to it, and brings it back to the callback.
  const cookie = start.headers.getSetCookie().map((c) => c.split(';')[0] ?? '').join('; ');
  const authorize = await fetch(toServer, { redirect: 'manual' });
  const back = authorize.headers.get('location');
  await authorize.body?.cancel();
  if (authorize.status < 300 || authorize.status > 399 || back === null) throw new Error(`authorization endpoint: HTTP ${String(authorize.status)}`);
  if (!back.startsWith(`${base}/auth/upstream/callback`)) throw new Error(`the authorization server sent the browser elsewhere: ${back}`);
  const done = await fetch(back, { redirect: 'manual', headers: { cookie } });
  const text = await done.text();
  if (done.status !== 200) throw new Error(`callback: HTTP ${String(done.status)} ${text}`);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      resolve(body);
    });
    req.on('error', reject);
  });
}

function runCli(args: string[], env: Record<string, string>, timeoutMs: number): Promise<{ code: number | null; timedOut: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, args, { env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
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
      resolve({ code, timedOut, output });
    });
  });
}

/** The one `checks.json` the CLI wrote under `dir` (`<scenario>-<timestamp>/`, nested for `auth/...` names). */
function readChecks(dir: string): ConformanceCheck[] {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (entry === 'checks.json') return JSON.parse(readFileSync(path, 'utf8')) as ConformanceCheck[];
    if (statSync(path).isDirectory()) {
      const found = readChecks(path);
      if (found.length > 0) return found;
    }
  }
  return [];
}

/** Every check that is not a pass (or information) as `id STATUS: message`, plus what else went wrong in the run. */
export function problemsOf(run: ScenarioRun): string[] {
  const out: string[] = [];
  if (run.timedOut) out.push('the conformance CLI did not finish in time');
  if (run.checks.length === 0) out.push('no checks were written');
  if (run.driveError !== undefined) out.push(`driver: ${run.driveError}`);
  for (const c of run.checks) {
    if (c.status !== 'SUCCESS' && c.status !== 'INFO') out.push(`${c.id} ${c.status}: ${c.errorMessage ?? c.description}`);
  }
  if (out.length === 0 && run.code !== 0) out.push(`the conformance CLI exited with ${String(run.code)}`);
  return out;
}
