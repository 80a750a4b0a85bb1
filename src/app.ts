import { GatehouseError } from './errors.ts';
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { CookieAuthDeps } from './admin/cookie-auth.ts';
import { compileAllowlist } from './cidr.ts';
import { publicBaseOf } from './config/public-url.ts';
import type { Config } from './config/schema.ts';
import type { ApiRequest, ApiResponse, AuthRequest, AuthResponse } from './control-plane.ts';
import { builtOnFirstUse } from './first-use.ts';
import { createAuditLog, type AuditLog } from './gateway/audit/audit-log.ts';
import type { SiemDelivery } from './gateway/audit/sinks/delivery.ts';
import { configuredSinks, createSiemDelivery } from './gateway/audit/sinks/siem.ts';
import { createCheckpointer } from './gateway/audit/checkpoints.ts';
import { loadAuditSigner } from './gateway/audit/signing.ts';
import { pepperKey } from './gateway/authn/api-key-format.ts';
import { createAuthenticator } from './gateway/authn/authenticate.ts';
import { createTokenVerifier } from './gateway/authn/oauth-token.ts';
import { createResourceMetadata } from './gateway/authn/resource-metadata.ts';
import { Federation } from './gateway/federation.ts';
import { createClientIpResolver } from './gateway/listener/client-ip.ts';
import { createHttpServer, type GatewayServer } from './gateway/listener/http-server.ts';
import { loadTls } from './gateway/listener/tls.ts';
import { createMcpEndpoint } from './gateway/listener/mcp-endpoint.ts';
import { createOriginGuard } from './gateway/listener/origin.ts';
import { SessionRegistry } from './gateway/listener/sessions.ts';
import { createStatelessMode } from './gateway/listener/stateless.ts';
import { ListenerRegistry } from './gateway/listener/subscriptions.ts';
import { createNetworkRules } from './gateway/access/network-rules.ts';
import { createPolicySets } from './gateway/access/policy-cache.ts';
import { createGuardrailSettings } from './gateway/guardrails/settings.ts';
import { createPipeline } from './gateway/pipeline.ts';
import { createAddressStage } from './gateway/traffic/address-stage.ts';
import { createControlPlaneGate } from './gateway/traffic/control-plane-gate.ts';
import { createLimitStage } from './gateway/traffic/limit-stage.ts';
import { MemoryLimiterStore } from './gateway/traffic/limiter-store.ts';
import { createTrafficLimits } from './gateway/traffic/limits.ts';
import { createOrgLimits } from './gateway/traffic/org-limits.ts';
import { Quotas } from './gateway/traffic/quotas.ts';
import { createCredentialOpener, credentialOpenEvent } from './gateway/upstream/credentials.ts';
import { openOAuthValue } from './gateway/upstream/oauth/sealing.ts';
import { UserOAuth } from './gateway/upstream/oauth/user-tokens.ts';
import { createRefusalAudit } from './gateway/traffic/refusal-audit.ts';
import { purgeIdempotencyKeys } from './gateway/traffic/idempotency.ts';
import { startAuditRetention } from './services/audit-retention.ts';
import { createSessionBridges } from './gateway/session-bridge.ts';
import { createSessions } from './identity/browser-session.ts';
import { createUserSessionEnder } from './identity/user-sessions.ts';
import { createLogger } from './log.ts';
import { startHealthSnapshots } from './gateway/upstream/health-snapshot.ts';
import type { ServiceContext } from './services/context.ts';
import { describeSandbox, sandboxSettings } from './sandbox/sandbox.ts';
import { openStore } from './store/open-store.ts';
import type { AuditRecord, Store } from './store/types.ts';
import { createEgress, type Resolver } from './egress/egress.ts';
import { createUi } from './ui/assets.ts';
import { MasterKey } from './vault/master-key.ts';
import { createGatewayMetrics } from './telemetry/metrics.ts';
import { createMetricsAccess } from './telemetry/metrics-endpoint.ts';
import { SecretBox } from './vault/secret-box.ts';
import { createVault } from './vault/open-vault.ts';
import { sweepDueRotations } from './services/keys.ts';
import { resealLegacySecrets } from './services/vault.ts';
import { auditSigningKeyVault } from './vault/audit-signing-key.ts';

export const VERSION = '0.1.0';
/** How often a server deletes expired idempotency keys. */
const IDEMPOTENCY_PURGE_MS = 60_000;
/** Audit retention runs hourly: it removes whole checkpointed segments, so finer timing would gain nothing. */
const AUDIT_RETENTION_MS = 3_600_000;
/** The dashboard's files, served as they are in the repository (TypeScript stripped of its types when first asked). */
const UI_DIR = fileURLToPath(new URL('../ui/', import.meta.url));
/** Beside Node's own compile cache (bin/compile-cache.js): what the dashboard's modules are once stripped. */
const UI_CACHE = fileURLToPath(new URL('../node_modules/.cache/gatehouse/ui/', import.meta.url));

/** The control-plane context: store, audit, keys. The CLI uses this alone; the server builds on it. */
export async function openServices(
  config: Config,
  log: Logger,
  resolver?: Resolver,
): Promise<ServiceContext & { log: Logger; csrfKey: KeyObject; onAuditAppended(fn: (record: AuditRecord) => void): void; close(): Promise<void> }> {
  const master = MasterKey.load(config);
  const store: Store = await openStore(config);
  const observers: ((record: AuditRecord) => void)[] = [];
  // The connector-secret key of before the vault: its v1 ciphertexts still open (and are resealed at start). It
  // also seals the audit signing key (vault/audit-signing-key.ts).
  const legacy = new SecretBox(master.derive('connector-secrets/v1'));
  const checkpoints = createCheckpointer({
    anchors: store.auditAnchors,
    signer: () => loadAuditSigner(store.auditAnchors, auditSigningKeyVault(legacy)),
    settings: { every: config.auditCheckpointEvery, intervalMs: config.auditCheckpointSeconds * 1000, anchorFile: config.auditAnchorFile },
    log,
  });
  const audit: AuditLog = createAuditLog({
    store,
    log,
    checkpoints,
    onAppended: (record) => {
      for (const fn of observers) fn(record);
    },
  });
  const vault = createVault(config, master, store.vault, legacy);
  return {
    store,
    audit,
    log,
    onAuditAppended: (fn) => {
      observers.push(fn);
    },
    pepper: pepperKey(master.derive('api-key-pepper/v1')),
    box: legacy,
    vault,
    egress: createEgress({ allowPlainHttp: config.allowPlainHttpUpstreams, allowCidrs: config.egressAllowCidrs }, resolver),
    production: config.env === 'production',
    siemSinks: configuredSinks(config),
    csrfKey: createSecretKey(master.derive('csrf-token/v1')),
    close: async () => {
      // The checkpoints still due are written while the store is open.
      await audit.close();
      await vault.close();
      await store.close();
    },
  };
}

export interface App {
  readonly services: ServiceContext;
  readonly federation: Federation;
  readonly sessions: SessionRegistry;
  /** SIEM streaming when a sink is configured: `status()` gives each sink's state and lag (records not yet accepted). */
  readonly siem: SiemDelivery | undefined;
  /** Listens and resolves with the bound URL of the MCP endpoint. */
  listen(): Promise<string>;
  /**
   * Reads GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY again (SIGHUP): false without TLS; throws, keeping the
   * certificate in service, when the files do not load.
   */
  reloadTls(): boolean;
  close(): Promise<void>;
}

export interface AppOptions {
  /** The clock of sign-in (session timeouts, lockouts, TOTP) and of idempotency keys' expiry: tests move it instead of waiting. */
  readonly now?: () => number;
  /** What host names resolve to for egress (tests; the system resolver otherwise). */
  readonly resolver?: Resolver;
}

/** The composition root: builds everything once, wires it, and disposes of it in reverse order. */
export async function createApp(config: Config, log: Logger = createLogger(config), options: AppOptions = {}): Promise<App> {
  // Certificate files that do not load refuse the start before anything is opened.
  const tls = loadTls(config);
  // Traces only when a collector is configured (the exporter's code is not even loaded otherwise); its URL is checked
  // by egress before anything is opened, so a refused one stops the start cleanly.
  const tracing =
    config.otlpEndpoint === undefined
      ? undefined
      : (await import('./telemetry/tracing.ts')).createTracing(config, createEgress({ allowPlainHttp: config.allowPlainHttpUpstreams, allowCidrs: config.egressAllowCidrs }, options.resolver), VERSION);
  const services = await openServices(config, log, options.resolver);
  const now = options.now ?? Date.now;
  const { store, audit, pepper, box, egress } = services;
  const siem = createSiemDelivery({ config, egress, store, log });
  if (siem !== undefined) {
    services.onAuditAppended((record) => {
      siem.appended(record);
    });
  }
  // Upstream OAuth per user: each person's own tokens for connectors in `user` mode (gateway/upstream/oauth).
  const userOAuth = new UserOAuth({
    store,
    vault: services.vault,
    egress,
    audit,
    base: () => base,
    clientMetadataUrl: config.upstreamOAuthClientMetadataUrl,
    openSecret: async (connector, ciphertext) => {
      const event = { orgId: connector.orgId, connector: connector.name, purpose: 'oauth_token_request', requester: { keyId: null, user: 'system:connection' }, credentials: ['oauth/client_secret'] };
      try {
        const value = await openOAuthValue(services.vault, connector.orgId, connector.id, 'client_secret', ciphertext);
        await audit.record(credentialOpenEvent(event));
        return value;
      } catch (err) {
        await audit.record(credentialOpenEvent({ ...event, failed: true }));
        throw new GatehouseError('credential_unavailable', `The OAuth client secret of connector '${connector.name}' cannot be opened`, { cause: err });
      }
    },
    connector: (orgId, id) => store.getConnector(orgId, id),
    onConnected: (connector) => {
      void federation.retryNow(connector.id);
    },
  });
  services.upstreamOAuth = userOAuth;
  const credentials = createCredentialOpener({ vault: services.vault, audit, userAuth: (c, userId) => userOAuth.authFor(c, userId) });
  const quotas = new Quotas({
    perKey: { session: config.maxSessionsPerKey, stream: config.maxStreamsPerKey, upstream: config.maxSessionUpstreamsPerKey, process: config.maxProcessesPerKey },
    perOrg: { session: config.maxSessionsPerOrg, stream: config.maxStreamsPerOrg, upstream: config.maxSessionUpstreamsPerOrg, process: config.maxProcessesPerOrg },
    // An organisation's own, lower ceilings, from its traffic settings (loaded below, read only at request time).
  }, (orgId) => orgLimits.peek(orgId)?.quotas);
  const sessions = new SessionRegistry(quotas);
  const listeners = new ListenerRegistry({ quotas, serverVersion: VERSION });
  const sandbox = sandboxSettings(config);
  const federation = new Federation({
    store,
    credentials,
    egress,
    sandbox,
    log,
    config,
    onListChanged: (orgId, kinds) => {
      for (const s of sessions.ofOrg(orgId)) {
        for (const kind of kinds) s.deliver({ jsonrpc: '2.0', method: `notifications/${kind}/list_changed` });
      }
      listeners.notify(orgId, kinds);
    },
  });
  // The control plane shows each connector's health as this replica sees it.
  const served: ServiceContext = { ...services, connectorHealth: (id) => federation.health(id) };
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
    fetch: egress.fetch,
    onJwksError: (issuer, err) => {
      log.warn({ issuer, err: err instanceof Error ? err.message : String(err) }, 'cannot fetch the key set of an OAuth issuer');
    },
  });
  const authenticate = createAuthenticator({ store, pepper, verifyToken });
  const networkRules = createNetworkRules(store);
  // Traffic: one limiter store for every limit (memory now; a Redis one plugs in here), the organisations' settings
  // cached by access revision, and a refusal audit that keeps a flood of refusals to one record per window.
  const limits = createTrafficLimits(new MemoryLimiterStore(), config);
  const orgLimits = createOrgLimits(store);
  const refusals = createRefusalAudit({
    audit,
    windowMs: config.rateLimitAuditWindowMs,
    onError: (err) => {
      log.error({ err }, 'cannot write an aggregated rate-limit audit record');
    },
  });
  const gatewayDeny = config.denyCidrs.length === 0 ? undefined : compileAllowlist(config.denyCidrs);
  const orgDeny = async (orgId: string, plane: 'mcp' | 'api', revision?: number) => (await orgLimits.of(orgId, revision))?.deny[plane];
  const networkAllowed = async (orgId: string, ip: string | null) =>
    (await orgDeny(orgId, 'api'))?.allows(ip) !== true && ((await networkRules.allowlist(orgId, 'api'))?.allows(ip) ?? true);
  const idempotency = {
    store: store.idempotency,
    box,
    retentionMs: config.idempotencyRetentionSeconds * 1000,
    // A claim lives as long as its call may: the upstream's timeout, and a minute for the rest of the path.
    pendingMs: config.upstreamTimeoutMs + 60_000,
    log,
    now,
  };
  // Counted only when someone may read them: with no token and no network rule /metrics is refused to everyone.
  const metrics = config.metricsToken === undefined && config.metricsAllowCidrs.length === 0 ? undefined : createGatewayMetrics();
  metrics?.upstreamHealth(() => federation.connectionStates());
  const pipeline = createPipeline({
    metrics,
    tracing,
    authenticate,
    metadataUrl: (server) => metadata.metadataUrl(server),
    networkRules,
    policies: createPolicySets(store),
    federation,
    pins: federation.pins,
    audit,
    log,
    serverVersion: VERSION,
    traffic: {
      address: createAddressStage({ limits, gatewayDeny, refusals, now: Date.now }),
      limit: createLimitStage({ limits, orgLimits, refusals, now: Date.now }),
      authenticationFailed: (call) => limits.authenticationFailed(call.clientIp, Date.now()),
      orgDeny: (orgId, revision) => orgDeny(orgId, 'mcp', revision),
    },
    idempotency,
    approval: { orgLimits, approvals: store.approvals, ttlMs: config.approvalTtlSeconds * 1000, now: Date.now },
    scrub: { connector: (orgId, name) => federation.connection(orgId, name)?.connector, secrets: (c) => credentials.secrets(c), liveTokens: (c, userId) => userOAuth.liveTokens(c, userId) },
    guardrails: { settings: createGuardrailSettings(store), timeoutMs: config.guardrailTimeoutMs },
  });
  const bridges = createSessionBridges({ federation, credentials, egress, sandbox, log, pipeline, config, quotas });
  const handleMcp = createMcpEndpoint({
    config,
    pipeline,
    sessions,
    quotas,
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
    const [{ createAdminApi }, { createAdminIdempotency }] = await Promise.all([import('./admin/api.ts'), import('./admin/idempotency.ts')]);
    return createAdminApi({
      idempotent: createAdminIdempotency(idempotency),
      services: { ...services, ...served },
      authenticate: createAuthenticator({ store, pepper }),
      cookieAuth,
      networkRules,
      orgDeny: (orgId) => orgDeny(orgId, 'api'),
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
  const server: GatewayServer = createHttpServer({
    config,
    tls,
    log,
    guard,
    clientIp: createClientIpResolver(config.trustedProxies),
    metadata,
    handleMcp,
    handleApi,
    handleAuth,
    handleScim,
    handleUi: createUi(UI_DIR, UI_CACHE),
    controlPlane: createControlPlaneGate({ limits, gatewayDeny, refusals, audit, now: Date.now }),
    ...(metrics === undefined
      ? {}
      : {
          metrics: {
            admit: createMetricsAccess(config),
            render: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
            refused: (limit: string) => {
              metrics.refused(limit);
            },
          },
        }),
    ready: async () => {
      await store.connectorsRevision();
      return true;
    },
  });

  let reaper: NodeJS.Timeout | undefined;
  let refusalFlush: NodeJS.Timeout | undefined;
  let purger: NodeJS.Timeout | undefined;
  let stopRetention: (() => void) | undefined;
  let rotationSweeper: NodeJS.Timeout | undefined;
  let rotationSweep: Promise<void> | undefined;
  let stopHealthSnapshots: (() => void) | undefined;
  return {
    services: served,
    federation,
    sessions,
    siem,
    reloadTls() {
      if (tls === undefined || !('setSecureContext' in server)) return false;
      tls.reload(server);
      return true;
    },
    async listen() {
      const stdio = describeSandbox(sandbox.mode);
      if (stdio.ok) log.info({ sandbox: sandbox.mode }, stdio.message);
      else log.warn({ sandbox: sandbox.mode }, stdio.message);
      // Secrets sealed before the vault are resealed under their organisation's data key; until then they still open.
      await resealLegacySecrets(services).then(
        (n) => {
          if (n > 0) log.info({ resealed: n }, 'connector secrets resealed under their organisation data keys');
        },
        (err: unknown) => {
          log.warn({ err: err instanceof Error ? err.message : String(err) }, 'cannot reseal connector secrets yet; they stay readable as they are');
        },
      );
      await federation.start();
      stopHealthSnapshots = startHealthSnapshots(config.dataDir, () => federation.healthAll(), log);
      const isKeyActive = async (orgId: string, keyId: string) => {
        // A token's sessions live while its issuer stays configured; each request re-verifies the token itself.
        if (keyId.startsWith('oauth:')) return (await store.oauthIssuers.listOAuthIssuers(orgId)).some((i) => keyId.startsWith(`oauth:${i.id}:`));
        const key = await store.getApiKey(orgId, keyId);
        const at = Date.now();
        return (
          key !== undefined && key.revokedAt === null && (key.expiresAt === null || Date.parse(key.expiresAt) > at) && (key.retiresAt === null || Date.parse(key.retiresAt) > at)
        );
      };
      sessions.startReaper(config.sessionIdleSeconds * 1000, 5000, isKeyActive);
      listeners.startReaper(5000, isKeyActive);
      reaper = setInterval(() => void bridges.closeIdle(Date.now()), 5000);
      reaper.unref();
      refusalFlush = setInterval(() => void refusals.flush(Date.now()), Math.min(5000, Math.max(50, config.rateLimitAuditWindowMs / 2)));
      refusalFlush.unref();
      purger = setInterval(() => void purgeIdempotencyKeys(store.idempotency, now(), log), IDEMPOTENCY_PURGE_MS);
      purger.unref();
      stopRetention = startAuditRetention(services, log, AUDIT_RETENTION_MS);
      // Keys due for rotation are audited once per due period, whichever replica (or listing) finds them first.
      const rotationCheck = () => {
        if (rotationSweep !== undefined) return;
        rotationSweep = sweepDueRotations(services, now())
          .then(
            () => undefined,
            (err: unknown) => {
              log.warn({ err: err instanceof Error ? err.message : String(err) }, 'cannot check API keys for due rotations');
            },
          )
          .finally(() => {
            rotationSweep = undefined;
          });
      };
      rotationCheck();
      rotationSweeper = setInterval(rotationCheck, config.keyRotationCheckSeconds * 1000);
      rotationSweeper.unref();
      siem?.start();
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
      return `${tls === undefined ? 'http' : 'https'}://${host}:${port}/mcp`;
    },
    async close() {
      stopHealthSnapshots?.();
      clearInterval(reaper);
      clearInterval(refusalFlush);
      clearInterval(purger);
      stopRetention?.();
      clearInterval(rotationSweeper);
      await rotationSweep;
      sessions.closeAll();
      listeners.closeAll();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
      await federation.close();
      // What a flood suppressed is still counted in the log before the store closes.
      await refusals.flush(Date.now(), true).catch((err: unknown) => {
        log.error({ err }, 'cannot write an aggregated rate-limit audit record');
      });
      // What was not delivered stays behind the sinks' cursors in the store; the next start sends it.
      await siem?.close();
      await tracing?.shutdown().catch((err: unknown) => {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'cannot flush the last traces');
      });
      await services.close();
    },
  };
}
