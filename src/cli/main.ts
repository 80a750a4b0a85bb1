import { GatehouseError } from '../errors.ts';
import { authorize } from '../services/context.ts';
import { AUDIT_USAGE, auditCommand, verifyExportFile } from './audit.ts';
import { cliAction } from './commands.ts';
import { CONNECT_USAGE, connectCommand } from './connect.ts';
import { DB_USAGE, dbCommand } from './db.ts';
import { CONNECTORS_USAGE, connectorsCommand } from './connectors.ts';
import { CONFIG_USAGE, configCommand } from './config-show.ts';
import { doctor, DOCTOR_USAGE } from './doctor.ts';
import { SUPPORT_BUNDLE_USAGE, supportBundleCommand } from './support-bundle.ts';
import { openCli, type CliContext } from './context.ts';
import { KEYS_USAGE, keysCommand } from './keys.ts';
import { MEMBERS_USAGE, membersCommand } from './members.ts';
import { ORGS_USAGE, orgsCommand } from './orgs.ts';
import { NETWORK_USAGE, networkCommand } from './network.ts';
import { TRAFFIC_USAGE, trafficCommand } from './traffic.ts';
import { APPROVALS_USAGE, approvalsCommand } from './approvals.ts';
import { GUARDRAILS_USAGE, guardrailsCommand } from './guardrails.ts';
import { TOOLS_USAGE, toolsCommand } from './tools.ts';
import { OAUTH_USAGE, oauthCommand } from './oauth.ts';
import { err, UsageError } from './output.ts';
import { POLICY_USAGE, policyCommand } from './policy.ts';
import { SCIM_USAGE, scimCommand } from './scim.ts';
import { serve } from './serve.ts';
import { SERVERS_USAGE, serversCommand } from './servers.ts';
import { orgSignInCommand, setPasswordCommand, SIGN_IN_USAGE } from './sign-in.ts';
import { VAULT_USAGE, vaultCommand } from './vault.ts';

const USAGE = `Usage: gatehouse <command>

gatehouse serve                 start the gateway (GATEHOUSE_HOST, GATEHOUSE_PORT, GATEHOUSE_DATA_DIR, GATEHOUSE_DATABASE_URL)
${DOCTOR_USAGE}
${CONFIG_USAGE}
${SUPPORT_BUNDLE_USAGE}
${DB_USAGE}
${ORGS_USAGE}
${MEMBERS_USAGE}
${SIGN_IN_USAGE}
${CONNECTORS_USAGE}
${SERVERS_USAGE}
${KEYS_USAGE}
${NETWORK_USAGE}
${TRAFFIC_USAGE}
${APPROVALS_USAGE}
${GUARDRAILS_USAGE}
${OAUTH_USAGE}
${POLICY_USAGE}
${CONNECT_USAGE}
${AUDIT_USAGE}
${SCIM_USAGE}
${TOOLS_USAGE}
${VAULT_USAGE}`;

type Handler = (ctx: CliContext, sub: string, rest: string[]) => Promise<void>;
/**
 * A group of subcommands (`keys create`), with `nested` a group of groups (`oauth issuers add`, whose `sub` is
 * `issuers add`), or with `single` a command that takes options directly (`connect`).
 */
type Group = { readonly handler: Handler; readonly usage: string; readonly single?: true; readonly nested?: true };

async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const [command, ...args] = argv;
  if (command === 'serve') return serve(env);
  // Local commands of the operator at the machine: they read the configuration and the host, and act in no organisation.
  // An export is verified with the public key alone: no database, no master key.
  if (command === 'audit' && args[0] === 'verify' && args.includes('--file')) return verifyExportFile(args.slice(1));
  if (command === 'db') return dbCommand(args);
  if (command === 'doctor') return doctor(env, args);
  if (command === 'config') {
    configCommand(env, args);
    return;
  }
  if (command === 'support-bundle') return supportBundleCommand(env, args);
  const handlers: Record<string, Group | undefined> = {
    orgs: { handler: (ctx, s, r) => (s === 'sign-in' ? orgSignInCommand(ctx, r, env) : orgsCommand(ctx, s, r)), usage: `${ORGS_USAGE}\n${SIGN_IN_USAGE}` },
    members: { handler: (ctx, s, r) => (s === 'set-password' ? setPasswordCommand(ctx, r, env) : membersCommand(ctx, s, r)), usage: `${MEMBERS_USAGE}\n${SIGN_IN_USAGE}` },
    connectors: { handler: (ctx, s, r) => connectorsCommand(ctx, s, r, env), usage: CONNECTORS_USAGE },
    servers: { handler: serversCommand, usage: SERVERS_USAGE },
    keys: { handler: keysCommand, usage: KEYS_USAGE },
    connect: { handler: (ctx, _s, r) => connectCommand(ctx, r), usage: CONNECT_USAGE, single: true },
    audit: { handler: auditCommand, usage: AUDIT_USAGE },
    scim: { handler: scimCommand, usage: SCIM_USAGE },
    network: { handler: networkCommand, usage: NETWORK_USAGE },
    traffic: { handler: trafficCommand, usage: TRAFFIC_USAGE },
    approvals: { handler: approvalsCommand, usage: APPROVALS_USAGE },
    guardrails: { handler: guardrailsCommand, usage: GUARDRAILS_USAGE },
    tools: { handler: toolsCommand, usage: TOOLS_USAGE },
    oauth: { handler: oauthCommand, usage: OAUTH_USAGE, nested: true },
    policy: { handler: policyCommand, usage: POLICY_USAGE },
    vault: { handler: vaultCommand, usage: VAULT_USAGE },
  };
  const group = command === undefined ? undefined : handlers[command];
  if (group === undefined || command === undefined) throw new UsageError(USAGE);
  const [sub, rest] =
    group.single === true ? [undefined, args] : group.nested === true ? [args.slice(0, 2).join(' ') || undefined, args.slice(2)] : [args[0], args.slice(1)];
  const action = cliAction(command, sub);
  if (action === undefined) throw new UsageError(group.usage);
  const ctx = await openCli(env);
  try {
    authorize(ctx.actor, action);
    await group.handler(ctx, sub ?? '', rest);
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
