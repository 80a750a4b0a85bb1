import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { CookieAuthDeps } from './admin/cookie-auth.ts';
import { publicBaseOf } from './config/public-url.ts';
import type { Config } from './config/schema.ts';
import type { ApiRequest, ApiResponse, AuthRequest, AuthResponse } from './control-plane.ts';
import { builtOnFirstUse } from './first-use.ts';
import { createAuditLog, type AuditLog } from './gateway/audit/audit-log.ts';
import { pepperKey } from './gateway/authn/api-key-format.ts';
import { createAuthenticator } from './gateway/authn/authenticate.ts';
import { createTokenVerifier } from './gateway/authn/oauth-token.ts';
import { createResourceMetadata } from './gateway/authn/resource-metadata.ts';
import { Federation } from './gateway/federation.ts';
import { createClientIpResolver } from './gateway/listener/client-ip.ts';
import { createHttpServer } from './gateway/listener/http-server.ts';
import { createMcpEndpoint } from './gateway/listener/mcp-endpoint.ts';
import { createOriginGuard } from './gateway/listener/origin.ts';
import { SessionRegistry } from './gateway/listener/sessions.ts';
import { createStatelessMode } from './gateway/listener/stateless.ts';
import { ListenerRegistry } from './gateway/listener/subscriptions.ts';
import { createNetworkRules } from './gateway/access/network-rules.ts';
import { createPolicySets } from './gateway/access/policy-cache.ts';
import { createPipeline } from './gateway/pipeline.ts';
import { createSessionBridges } from './gateway/session-bridge.ts';
import { createSessions } from './identity/browser-session.ts';
import { createUserSessionEnder } from './identity/user-sessions.ts';
import { createLogger } from './log.ts';
import type { ServiceContext } from './services/context.ts';
import { openStore } from './store/open-store.ts';
import type { Store } from './store/types.ts';
import { MasterKey } from './vault/master-key.ts';
import { SecretBox } from './vault/secret-box.ts';

export const VERSION = '0.1.0';

/** The control-plane context: store, audit, keys. The CLI uses this alone; the server builds on it. */
export async function openServices(config: Config, log: Logger): Promise<ServiceContext & { log: Logger; csrfKey: KeyObject; close(): Promise<void> }> {
  const master = MasterKey.load(config);
  const store: Store = await openStore(config);
  const audit: AuditLog = createAuditLog({ store, log });
  return {
    store,
    audit,
    log,
    pepper: pepperKey(master.derive('api-key-pepper/v1')),
    box: new SecretBox(master.derive('connector-secrets/v1')),
    csrfKey: createSecretKey(master.derive('csrf-token/v1')),
    close: () => store.close(),
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

export interface AppOptions {
  /** The clock of sign-in (session timeouts, lockouts, TOTP): tests move it instead of waiting. */
  readonly now?: () => number;
}

/** The composition root: builds everything once, wires it, and disposes of it in reverse order. */
export async function createApp(config: Config, log: Logger = createLogger(config), options: AppOptions = {}): Promise<App> {
  const services = await openServices(config, log);
  const now = options.now ?? Date.now;
  const { store, audit, pepper, box } = services;
  const sessions = new SessionRegistry({ maxPerKey: config.maxSessionsPerKey });
  const listeners = new ListenerRegistry({ maxPerKey: config.maxSessionsPerKey, serverVersion: VERSION });
  const federation = new Federation({
    store,
    box,
    log,
    config,
    onListChanged: (orgId, kinds) => {
      for (const s of sessions.ofOrg(orgId)) {
        for (const kind of kinds) s.deliver({ jsonrpc: '2.0', method: `notifications/${kind}/list_changed` });
      }
      listeners.notify(orgId, kinds);
    },
  });
  // The resource URL tokens are issued for: the public URL, else the bound address (known once listening).
  let base = publicBaseOf(config);
  const metadata = createResourceMetadata({
    issuers: store.oauthIssuers,
    orgIdOf: async (slug) => (await store.getOrganisationBySlug(slug))?.id,
    base: () => base,
  });
  const verifyToken = createTokenVerifier({
    issuers: store.oauthIssuers,
    resourceFor: metadata.resource,
    onJwksError: (issuer, err) => {
      log.warn({ issuer, err: err instanceof Error ? err.message : String(err) }, 'cannot fetch the key set of an OAuth issuer');
    },
  });
  const authenticate = createAuthenticator({ store, pepper, verifyToken });
  const networkRules = createNetworkRules(store);
  const networkAllowed = async (orgId: string, ip: string | null) => (await networkRules.allowlist(orgId, 'api'))?.allows(ip) ?? true;
  const pipeline = createPipeline({
    authenticate,
    metadataUrl: (server) => metadata.metadataUrl(server),
    networkRules,
    policies: createPolicySets(store),
    federation,
    audit,
    log,
    serverVersion: VERSION,
  });
  const bridges = createSessionBridges({ federation, box, log, pipeline, config });
  const handleMcp = createMcpEndpoint({
    config,
    pipeline,
    sessions,
    bridge: bridges.bridge,
    stateless: createStatelessMode({ listeners, serverVersion: VERSION }),
  });
  const guard = createOriginGuard(config);
  const browserSessions = createSessions({ store, now });
  const cookieAuth: CookieAuthDeps = {
    sessions: browserSessions,
    csrfKey: services.csrfKey,
    originAllowed: (o) => guard.originAllowed(o),
    networkAllowed,
  };
  // The admin API takes API keys and browser sessions, never OAuth access tokens: those are issued for the MCP
  // endpoints (their audience), and an agent's token must not administer the organisation.
  const handleApi = builtOnFirstUse<ApiRequest, ApiResponse>('The admin API', async () => {
    const { createAdminApi } = await import('./admin/api.ts');
    return createAdminApi({
      services,
      authenticate: createAuthenticator({ store, pepper }),
      cookieAuth,
      networkRules,
      config,
      log,
      version: VERSION,
    }).handle;
  });
  const handleAuth = builtOnFirstUse<AuthRequest, AuthResponse>('Sign-in', async () => {
    const [{ createAuthApi }, { hashPassword }] = await Promise.all([import('./admin/auth-api.ts'), import('./identity/password-hash.ts')]);
    return createAuthApi({
      // Unknown accounts are checked against this, so refusing them costs one Argon2id verification like any other.
      env: { services, sessions: browserSessions, now, dummyHash: await hashPassword(randomBytes(16).toString('base64')), oidcConfigs: new Map() },
      cookieAuth,
      log,
    });
  });
  const endUserSessions = createUserSessionEnder({ store, sessions, listeners, now });
  const handleScim = builtOnFirstUse<ApiRequest, ApiResponse>('The SCIM endpoint', async () => {
    const { createScimEndpoint } = await import('./admin/scim/endpoint.ts');
    return createScimEndpoint({
      ctx: { ...services, endUserSessions },
      config,
      log,
      networkAllowed,
    });
  });
  const server: Server = createHttpServer({
    config,
    log,
    guard,
    clientIp: createClientIpResolver(config.trustedProxies),
    metadata,
    handleMcp,
    handleApi,
    handleAuth,
    handleScim,
    ready: async () => {
      await store.connectorsRevision();
      return true;
    },
  });

  let reaper: NodeJS.Timeout | undefined;
  return {
    services,
    federation,
    sessions,
    async listen() {
      await federation.start();
      const isKeyActive = async (orgId: string, keyId: string) => {
        // A token's sessions live while its issuer stays configured; each request re-verifies the token itself.
        if (keyId.startsWith('oauth:')) return (await store.oauthIssuers.listOAuthIssuers(orgId)).some((i) => keyId.startsWith(`oauth:${i.id}:`));
        const key = await store.getApiKey(orgId, keyId);
        return key !== undefined && key.revokedAt === null && (key.expiresAt === null || Date.parse(key.expiresAt) > Date.now());
      };
      sessions.startReaper(config.sessionIdleSeconds * 1000, 5000, isKeyActive);
      listeners.startReaper(5000, isKeyActive);
      reaper = setInterval(() => void bridges.closeIdle(Date.now()), 5000);
      reaper.unref();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const { port } = server.address() as AddressInfo;
      if (config.publicUrl === undefined) base = publicBaseOf({ ...config, port });
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      return `http://${host}:${port}/mcp`;
    },
    async close() {
      clearInterval(reaper);
      sessions.closeAll();
      listeners.closeAll();
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
