import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createAdminApi } from './admin/api.ts';
import { createScimEndpoint } from './admin/scim/endpoint.ts';
import type { Config } from './config/schema.ts';
import { createAuditLog, type AuditLog } from './gateway/audit/audit-log.ts';
import { pepperKey } from './gateway/authn/api-key-format.ts';
import { createAuthenticator } from './gateway/authn/authenticate.ts';
import { Federation } from './gateway/federation.ts';
import { createHttpServer } from './gateway/listener/http-server.ts';
import { createMcpEndpoint } from './gateway/listener/mcp-endpoint.ts';
import { createOriginGuard } from './gateway/listener/origin.ts';
import { SessionRegistry } from './gateway/listener/sessions.ts';
import { createPipeline } from './gateway/pipeline.ts';
import { createLogger } from './log.ts';
import type { ServiceContext } from './services/context.ts';
import { openStore } from './store/open-store.ts';
import type { Store } from './store/types.ts';
import { MasterKey } from './vault/master-key.ts';
import { SecretBox } from './vault/secret-box.ts';

export const VERSION = '0.1.0';

/** The control-plane context: store, audit, keys. The CLI uses this alone; the server builds on it. */
export async function openServices(config: Config, log: Logger): Promise<ServiceContext & { log: Logger; close(): Promise<void> }> {
  const master = MasterKey.load(config);
  const store: Store = await openStore(config);
  const audit: AuditLog = createAuditLog({ store, log });
  return {
    store,
    audit,
    log,
    pepper: pepperKey(master.derive('api-key-pepper/v1')),
    box: new SecretBox(master.derive('connector-secrets/v1')),
    close: () => store.close(),
  };
}

/**
 * Ends a person's sessions in an organisation at once: the MCP sessions opened with their keys (their keys are
 * already revoked, so the next request would be refused anyway; this also closes open streams). Browser sessions,
 * when they exist, end here too.
 */
function endSessionsOf(sessions: SessionRegistry, store: Store) {
  return async (orgId: string, userId: string): Promise<void> => {
    const keys = new Set((await store.listApiKeys(orgId)).filter((k) => k.userId === userId).map((k) => k.id));
    for (const s of [...sessions.ofOrg(orgId)]) if (keys.has(s.keyId)) sessions.end(s.id);
  };
}

export interface App {
  readonly services: ServiceContext;
  readonly federation: Federation;
  readonly sessions: SessionRegistry;
  /** Listens and resolves with the bound URL of the MCP endpoint. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** The composition root: builds everything once, wires it, and disposes of it in reverse order. */
export async function createApp(config: Config, log: Logger = createLogger(config)): Promise<App> {
  const services = await openServices(config, log);
  const { store, audit, pepper, box } = services;
  const sessions = new SessionRegistry();
  const federation = new Federation({
    store,
    box,
    log,
    config,
    onListChanged: (orgId, kinds) => {
      for (const s of sessions.ofOrg(orgId)) {
        for (const kind of kinds) s.stream?.send({ jsonrpc: '2.0', method: `notifications/${kind}/list_changed` });
      }
    },
  });
  const authenticate = createAuthenticator({ store, pepper });
  const pipeline = createPipeline({ federation, audit, log, serverVersion: VERSION });
  const handleMcp = createMcpEndpoint({ config, authenticate, pipeline, sessions, audit, log });
  const adminApi = createAdminApi({ services, authenticate, config, log, version: VERSION });
  const handleScim = createScimEndpoint({ ctx: { ...services, endUserSessions: endSessionsOf(sessions, store) }, config, log });
  const server: Server = createHttpServer({
    config,
    log,
    guard: createOriginGuard(config),
    handleMcp,
    handleApi: adminApi.handle,
    handleScim,
    ready: async () => {
      await store.connectorsRevision();
      return true;
    },
  });

  return {
    services,
    federation,
    sessions,
    async listen() {
      await federation.start();
      sessions.startReaper(config.sessionIdleSeconds * 1000, 5000, async (orgId, keyId) => {
        const key = await store.getApiKey(orgId, keyId);
        return key !== undefined && key.revokedAt === null && (key.expiresAt === null || Date.parse(key.expiresAt) > Date.now());
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const { port } = server.address() as AddressInfo;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      return `http://${host}:${port}/mcp`;
    },
    async close() {
      sessions.closeAll();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
      await federation.close();
      await services.close();
    },
  };
}
