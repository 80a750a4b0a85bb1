import { GatehouseError } from '../errors.ts';
import { authorize } from '../services/context.ts';
import { AUDIT_USAGE, auditCommand } from './audit.ts';
import { cliAction } from './commands.ts';
import { CONNECTORS_USAGE, connectorsCommand } from './connectors.ts';
import { openCli, type CliContext } from './context.ts';
import { KEYS_USAGE, keysCommand } from './keys.ts';
import { MEMBERS_USAGE, membersCommand } from './members.ts';
import { ORGS_USAGE, orgsCommand } from './orgs.ts';
import { SCIM_USAGE, scimCommand } from './scim.ts';
import { err, UsageError } from './output.ts';
import { serve } from './serve.ts';

const USAGE = `Usage: gatehouse <command>

gatehouse serve                 start the gateway (GATEHOUSE_HOST, GATEHOUSE_PORT, GATEHOUSE_DATA_DIR, GATEHOUSE_DATABASE_URL)
${ORGS_USAGE}
${MEMBERS_USAGE}
${CONNECTORS_USAGE}
${KEYS_USAGE}
${AUDIT_USAGE}
${SCIM_USAGE}`;

type Handler = (ctx: CliContext, sub: string, rest: string[]) => Promise<void>;

async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const [command, sub, ...rest] = argv;
  if (command === 'serve') return serve(env);
  const handlers: Record<string, { handler: Handler; usage: string } | undefined> = {
    orgs: { handler: orgsCommand, usage: ORGS_USAGE },
    members: { handler: membersCommand, usage: MEMBERS_USAGE },
    connectors: { handler: (ctx, s, r) => connectorsCommand(ctx, s, r, env), usage: CONNECTORS_USAGE },
    keys: { handler: keysCommand, usage: KEYS_USAGE },
    audit: { handler: auditCommand, usage: AUDIT_USAGE },
    scim: { handler: scimCommand, usage: SCIM_USAGE },
  };
  const group = command === undefined ? undefined : handlers[command];
  if (group === undefined || command === undefined) throw new UsageError(USAGE);
  const action = cliAction(command, sub);
  if (action === undefined || sub === undefined) throw new UsageError(group.usage);
  const ctx = await openCli(env);
  try {
    authorize(ctx.actor, action);
    await group.handler(ctx, sub, rest);
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
