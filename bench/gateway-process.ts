/**
 * The gateway under benchmark, as its own process so its CPU time and RSS are its own. Started by bench/run.ts:
 *
 *   node [--expose-gc] bench/gateway-process.ts --http-url <fixture url> [--log-level warn] [--stdio-fixture <path>] [--protections]
 *
 * Starts the real app on a temporary data directory and an ephemeral loopback port, adds an HTTP connector `fx`
 * and a stdio connector `fxs` (both the project's fixture), creates a key scoped to `fx/echo` and `fxs/echo` and
 * prints one JSON line `{"url","key"}` on stdout once both connectors are connected. With `--protections` every traffic
 * protection is switched on as bench/protections.ts says. Logs go to stderr.
 * Each stdin line `stats` (or `stats gc`, collecting garbage first) is answered with one JSON line of resource
 * usage. Closing stdin, SIGTERM or SIGINT shuts the gateway down and removes the data directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createApp, type App } from '../src/app.ts';
import { loadConfig } from '../src/config/load.ts';
import { createLogger } from '../src/log.ts';
import { addConnector } from '../src/services/connectors.ts';
import { operatorActor } from '../src/services/context.ts';
import { createKey } from '../src/services/keys.ts';
import { bootstrap } from '../src/services/organisations.ts';
import { enableProtections, limitEnv } from './protections.ts';

export interface GatewayStats {
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  readonly rss: number;
  readonly heapUsed: number;
  /** V8 heap committed (used or not), and memory held outside it (Buffers and other native allocations). */
  readonly heapTotal: number;
  readonly external: number;
  /** process.resourceUsage().maxRSS: the peak resident set so far, in KB. */
  readonly peakRss: number;
  readonly sessions: number;
}

const DEFAULT_FIXTURE = resolve(import.meta.dirname, '../test/fixtures/fixture-server.ts');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'http-url': { type: 'string' },
      'log-level': { type: 'string', default: 'warn' },
      'stdio-fixture': { type: 'string', default: DEFAULT_FIXTURE },
      protections: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const httpUrl = values['http-url'];
  if (httpUrl === undefined) throw new Error('--http-url is required');

  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const config = loadConfig({
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_HOST: '127.0.0.1',
    GATEHOUSE_PORT: '0',
    GATEHOUSE_LOG_LEVEL: values['log-level'],
    // The idle-session phase opens hundreds of sessions on one key: lift the per-key cap above it.
    GATEHOUSE_MAX_SESSIONS_PER_KEY: '100000',
    ...limitEnv(values.protections),
    // The bench's upstream listens on plain http on loopback: the operator's egress allowances for it.
    GATEHOUSE_ALLOW_PLAIN_HTTP_UPSTREAMS: 'true',
    GATEHOUSE_EGRESS_ALLOW_CIDRS: '127.0.0.0/8,::1/128',
  });
  // The same asynchronous sonic-boom pino uses by default on stdout, on stderr: stdout is the control channel.
  const app: App = await createApp(config, createLogger(config, pino.destination({ dest: 2, sync: false })));
  let closing: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    closing ??= app
      .close()
      .catch((err: unknown) => {
        process.stderr.write(`bench gateway: close failed: ${String(err)}\n`);
      })
      .finally(() => {
        rmSync(dataDir, { recursive: true, force: true });
      });
    return closing;
  };
  const exit = (): void => {
    void shutdown().then(() => process.exit(0));
  };
  process.on('SIGTERM', exit);
  process.on('SIGINT', exit);

  try {
    const { org } = await bootstrap(app.services);
    const actor = operatorActor('bench');
    await addConnector(app.services, actor, { orgId: org.id, name: 'fx', type: 'http', url: httpUrl, headers: [] });
    await addConnector(app.services, actor, {
      orgId: org.id,
      name: 'fxs',
      type: 'stdio',
      command: process.execPath,
      args: [values['stdio-fixture'], '--stdio'],
      env: [],
    });
    const { key, record: keyRecord } = await createKey(app.services, actor, { orgId: org.id, name: 'bench', scopes: ['fx/echo', 'fxs/echo'] });
    if (values.protections) await enableProtections(app, { orgId: org.id, keyId: keyRecord.id, actor });
    const url = await app.listen();
    await app.federation.settled();
    for (const name of ['fx', 'fxs']) {
      const state = app.federation.connection(org.id, name)?.state;
      if (state !== 'ready') throw new Error(`connector ${name} is ${state ?? 'missing'}`);
    }
    process.stdout.write(`${JSON.stringify({ url, key })}\n`);
  } catch (err) {
    await shutdown();
    throw err;
  }

  const lines = createInterface({ input: process.stdin });
  // Answers go out in the order the questions came, even when a collection makes one of them wait.
  let answered = Promise.resolve();
  lines.on('line', (line) => {
    const [command, option] = line.trim().split(/\s+/);
    if (command !== 'stats') return;
    answered = answered.then(async () => {
      if (option === 'gc') await collectGarbage();
      report();
    });
  });
  lines.on('close', exit);

  function report(): void {
    const usage = process.resourceUsage();
    const memory = process.memoryUsage();
    const stats: GatewayStats = {
      cpuUserUs: usage.userCPUTime,
      cpuSystemUs: usage.systemCPUTime,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      heapTotal: memory.heapTotal,
      external: memory.external,
      peakRss: usage.maxRSS,
      sessions: app.sessions.size,
    };
    process.stdout.write(`${JSON.stringify(stats)}\n`);
  }
}

/** Two full collections with a pause between, so objects freed by finalizers of the first are gone by the second. */
async function collectGarbage(): Promise<void> {
  globalThis.gc?.();
  await new Promise((r) => setTimeout(r, 100));
  globalThis.gc?.();
}

main().catch((err: unknown) => {
  process.stderr.write(`bench gateway: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
