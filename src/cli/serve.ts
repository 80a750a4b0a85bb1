import { createApp } from '../app.ts';
import { loadConfig } from '../config/load.ts';
import { describeCheck, postureChecks, type PostureCheck } from '../config/posture.ts';
import { storePostureChecks } from '../services/posture.ts';
import { createLogger } from '../log.ts';
import { bootstrap } from '../services/organisations.ts';
import { clientConfig } from './client-config.ts';
import { err, out } from './output.ts';

/** `gatehouse serve`: start the gateway, creating the default organisation and owner key on first start. */
export async function serve(env: NodeJS.ProcessEnv): Promise<void> {
  const config = loadConfig(env);
  const log = createLogger(config);
  if (refused(config.env === 'production', postureChecks(config), log)) return;
  const app = await createApp(config, log);
  // What the store holds (organisations' OIDC secrets) is checked before listening too, once the key opens it.
  if (refused(config.env === 'production', await storePostureChecks(app.services, config.env === 'production'), log)) {
    await app.close();
    return;
  }
  const { ownerKey } = await bootstrap(app.services);
  const boundUrl = await app.listen();
  const mcpUrl = config.publicUrl === undefined ? boundUrl : new URL('mcp', config.publicUrl.replace(/\/?$/, '/')).toString();
  log.info({ url: mcpUrl, store: app.services.store.dialect }, 'gatehouse listening');
  if (ownerKey !== undefined) {
    out('');
    out('Gatehouse is running. This is the first start: a default organisation and its owner key were created.');
    out('');
    out(`  MCP endpoint:  ${mcpUrl}`);
    out(`  Owner API key: ${ownerKey}`);
    out('');
    out('  The key is shown this once and cannot be recovered; store it now.');
    out('  Client configuration (Claude Desktop, Cursor, VS Code):');
    out('');
    out(clientConfig(mcpUrl, ownerKey).replace(/^/gm, '    '));
    out('');
    out('  Add an upstream MCP server:  npm run gatehouse -- connectors add <name> --url <url>  (or --command <cmd>)');
    out('');
  }
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  process.on('SIGHUP', () => {
    try {
      if (app.reloadTls()) log.info('TLS certificate and key reloaded');
    } catch (e) {
      log.error({ err: e }, 'TLS reload refused: the certificate in service stays');
    }
  });
}

/** Production refuses to start on a failed check, naming the setting; anything not a pass is logged otherwise. */
function refused(production: boolean, checks: readonly PostureCheck[], log: ReturnType<typeof createLogger>): boolean {
  const fails = checks.filter((c) => c.status === 'fail');
  if (production && fails.length > 0) {
    for (const c of fails) err(`refusing to start: ${describeCheck(c)}`);
    process.exitCode = 1;
    return true;
  }
  for (const c of checks) if (c.status !== 'pass') log.warn(describeCheck(c));
  return false;
}
