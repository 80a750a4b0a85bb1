import { GatehouseError } from '../errors.ts';
import { AUDIT_USAGE, auditCommand } from './audit.ts';
import { CONNECT_USAGE, connectCommand } from './connect.ts';
import { CONNECTORS_USAGE, connectorsCommand } from './connectors.ts';
import { openCli } from './context.ts';
import { KEYS_USAGE, keysCommand } from './keys.ts';
import { NETWORK_USAGE, networkCommand } from './network.ts';
import { OAUTH_USAGE, oauthCommand } from './oauth.ts';
import { err, UsageError } from './output.ts';
import { serve } from './serve.ts';
import { SERVERS_USAGE, serversCommand } from './servers.ts';

const USAGE = `Usage: gatehouse <command>

gatehouse serve                 start the gateway (GATEHOUSE_HOST, GATEHOUSE_PORT, GATEHOUSE_DATA_DIR, GATEHOUSE_DATABASE_URL)
${CONNECTORS_USAGE}
${SERVERS_USAGE}
${KEYS_USAGE}
${NETWORK_USAGE}
${OAUTH_USAGE}
${CONNECT_USAGE}
${AUDIT_USAGE}`;

async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'serve') return serve(env);
  const handlers: Record<string, ((ctx: Awaited<ReturnType<typeof openCli>>) => Promise<void>) | undefined> = {
    connectors: (ctx) => connectorsCommand(ctx, rest, env),
    servers: (ctx) => serversCommand(ctx, rest),
    keys: (ctx) => keysCommand(ctx, rest),
    network: (ctx) => networkCommand(ctx, rest),
    oauth: (ctx) => oauthCommand(ctx, rest),
    connect: (ctx) => connectCommand(ctx, rest),
    audit: (ctx) => auditCommand(ctx, rest),
  };
  const handler = command === undefined ? undefined : handlers[command];
  if (handler === undefined) throw new UsageError(USAGE);
  const ctx = await openCli(env);
  try {
    await handler(ctx);
  } finally {
    await ctx.close();
  }
}

run(process.argv.slice(2), process.env).catch((e: unknown) => {
  if (e instanceof UsageError) {
    err(e.message);
    process.exitCode = 2;
  } else if (e instanceof GatehouseError) {
    err(`gatehouse: ${e.message}`);
    process.exitCode = 1;
  } else if (e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS') === true) {
    err(`gatehouse: ${e.message}`);
    process.exitCode = 2;
  } else {
    err(`gatehouse: unexpected failure: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  }
});
