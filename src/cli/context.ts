import { userInfo } from 'node:os';
import { openServices } from '../app.ts';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { createLogger } from '../log.ts';
import { readHealthSnapshot } from '../gateway/upstream/health-snapshot.ts';
import { operatorActor, type Actor, type ServiceContext } from '../services/context.ts';
import { bootstrap, DEFAULT_ORG_SLUG, requireOrganisation } from '../services/organisations.ts';
import { clientConfig, mcpUrlOf } from './client-config.ts';
import { out } from './output.ts';
import type { Organisation } from '../store/types.ts';

export interface CliContext extends ServiceContext {
  readonly config: Config;
  readonly actor: Actor;
  org(slug: string | undefined): Promise<Organisation>;
  close(): Promise<void>;
}

/** Opens the same store and keys the server uses, so a change made here is seen by a running server. */
export async function openCli(env: NodeJS.ProcessEnv): Promise<CliContext> {
  const config = loadConfig(env);
  // Commands print their own results; only warnings and worse from the services reach stderr.
  const log = createLogger({ logLevel: 'warn' }, process.stderr);
  const services = await openServices(config, log);
  // The CLI may be the first thing run against an empty data directory: it sets up what `serve` would.
  const { ownerKey } = await bootstrap(services);
  if (ownerKey !== undefined) {
    out(`First use: created the default organisation. Owner API key (shown once, store it now):\n\n  ${ownerKey}\n`);
    out(clientConfig(mcpUrlOf(config), ownerKey) + '\n');
  }
  return {
    ...services,
    // The CLI has no counters of its own: it shows what the gateway serving this data directory last reported.
    connectorHealth: (id) => readHealthSnapshot(config.dataDir)?.[id],
    config,
    actor: operatorActor(`cli:${safeUser()}`),
    org: (slug) => requireOrganisation(services, slug ?? DEFAULT_ORG_SLUG),
  };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
