import { createApp } from '../app.ts';
import { checkPosture, loadConfig } from '../config/load.ts';
import { createLogger } from '../log.ts';
import { bootstrap } from '../services/organisations.ts';
import { clientConfig } from './client-config.ts';
import { err, out } from './output.ts';

/** `gatehouse serve`: start the gateway, creating the default organisation and owner key on first start. */
export async function serve(env: NodeJS.ProcessEnv): Promise<void> {
  const config = loadConfig(env);
  const log = createLogger(config);
  const problems = checkPosture(config);
  if (config.env === 'production' && problems.length > 0) {
    for (const p of problems) err(`refusing to start: ${p}`);
    process.exitCode = 1;
    return;
  }
  for (const p of problems) log.warn(p);
  const app = await createApp(config, log);
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
}
