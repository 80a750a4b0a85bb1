import type { Egress } from '../egress/egress.ts';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { GatehouseError } from '../errors.ts';
import { newCorrelationId } from '../ids.ts';
import type { SandboxSettings } from '../sandbox/sandbox.ts';
import type { CredentialOpener } from './upstream/credentials.ts';
import { newAuditFacts, type Call, type Transport } from './call.ts';
import type { Federation } from './federation.ts';
import type { SessionBridge } from './listener/mcp-endpoint.ts';
import type { ClientFeatures, Session } from './listener/session.ts';
import type { Quotas } from './traffic/quotas.ts';
import { SessionUpstreams, type ClientSide } from './upstream/session-upstreams.ts';

export interface SessionBridgeDeps {
  readonly federation: Pick<Federation, 'connection' | 'view'>;
  readonly credentials: Pick<CredentialOpener, 'open'>;
  readonly egress: Egress;
  readonly sandbox: SandboxSettings;
  readonly log: Logger;
  /** Runs an upstream's requests to the client through the data path, in the server direction. */
  readonly pipeline: { run(call: Call): Promise<void> };
  readonly config: Pick<Config, 'upstreamTimeoutMs' | 'upstreamConnectTimeoutMs' | 'sessionUpstreamIdleSeconds'>;
  /** What each session's key holds open: its own upstream connections and their processes count. */
  readonly quotas: Quotas;
}

/**
 * Connects one MCP session to the upstreams. A session whose client can answer requests (sampling, elicitation,
 * roots), that set a log level or subscribed to a resource gets connections of its own, so that what an upstream
 * sends back reaches this client and no other; every other session shares the organisation's connections.
 */
export function createSessionBridges(deps: SessionBridgeDeps) {
  const live = new Set<SessionUpstreams>();

  function bridge(session: Session): SessionBridge {
    let logLevel: string | undefined;
    let progressTokens = 0;
    let subscribed = false;
    const side: ClientSide = {
      capabilities: upstreamCapabilities(session.client),
      get logLevel() {
        return logLevel;
      },
      request: (method, params, connector, signal) => askClient(session, method, params, connector, signal),
      progressToken: (forward) => {
        const token = `gatehouse-progress-${String(++progressTokens)}`;
        session.clientProgress.set(token, forward);
        return { token, release: () => session.clientProgress.delete(token) };
      },
      notify: (method, params, connector) => {
        session.deliver({ jsonrpc: '2.0', method, ...(params === undefined ? {} : { params: translate(session, method, params, connector) }) }, connector);
      },
    };
    let own: SessionUpstreams | undefined;
    const upstreams = (): SessionUpstreams => {
      if (own === undefined) {
        own = new SessionUpstreams(
          {
            // A session's own connection is opened on its key's request.
            credentials: (connector) => deps.credentials.open(connector, { keyId: session.keyId, user: `system:session-upstream`, userId: session.userId }),
            egress: deps.egress,
            sandbox: deps.sandbox,
            log: deps.log,
            requestTimeoutMs: deps.config.upstreamTimeoutMs,
            connectTimeoutMs: deps.config.upstreamConnectTimeoutMs,
            idleMs: deps.config.sessionUpstreamIdleSeconds * 1000,
            hold: (kind) => deps.quotas.acquire(kind, session.orgId, session.keyId),
          },
          side,
        );
        live.add(own);
      }
      return own;
    };
    const sharedOf = (connector: string) => deps.federation.connection(session.orgId, connector);

    return {
      async upstream(connector) {
        const shared = sharedOf(connector);
        if (shared === undefined) return undefined;
        // OAuth per user: every call goes on the session's own connection, with its person's tokens.
        const t = shared.connector.transport;
        if (t.type === 'http' && t.oauth?.mode === 'user') return upstreams().get(shared.connector);
        // A connector that is down fails fast on the shared connection rather than making each session wait out a
        // connect timeout of its own.
        if (shared.state !== 'ready' || (!session.answersRequests && logLevel === undefined && !subscribed)) return shared;
        return upstreams().get(shared.connector);
      },
      async setLogLevel(level) {
        logLevel = level;
        await own?.broadcast('logging/setLevel', { level }, 'logging');
      },
      async subscribe(connector, uri, on) {
        const shared = sharedOf(connector);
        if (shared === undefined) return;
        if (on) subscribed = true;
        const up = await upstreams().get(shared.connector);
        await up.request(on ? 'resources/subscribe' : 'resources/unsubscribe', { uri }, {});
        await upstreams().track(connector, uri, on);
      },
      rootsChanged() {
        void own?.broadcast('notifications/roots/list_changed', undefined);
      },
      ...(session.client.elicitation === undefined
        ? {}
        : { elicit: (params: Record<string, unknown>, connector: string, signal: AbortSignal) => session.request('elicitation/create', params, connector, signal) }),
      async close() {
        if (own === undefined) return;
        live.delete(own);
        await own.closeAll();
      },
    };
  }

  /**
   * An upstream's request to the client (sampling, elicitation, roots) is a call of the pipeline in the server
   * direction: it gets its own audit record, and the stages that apply both ways (limits, guardrails) see it.
   */
  async function askClient(
    session: Session,
    method: string,
    params: Record<string, unknown> | undefined,
    connector: string,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    // The client's own answer (an error it chose, a cancellation) goes back to the upstream as it is.
    let clientFailure: Error | undefined;
    const call: Call = {
      direction: 'server',
      correlationId: newCorrelationId(),
      clientIp: null,
      started: performance.now(),
      server: session.server,
      authorization: undefined,
      requestLine: method,
      transport: NO_TRANSPORT,
      signal,
      request: { jsonrpc: '2.0', id: 0, method, ...(params === undefined ? {} : { params }) },
      audit: { ...newAuditFacts(`mcp.client.${method}`), orgId: session.orgId, actor: { keyId: session.keyId, user: null }, connector },
      ask: async () => {
        try {
          // The params as the stages left them (the echo scrub may have replaced a credential in them).
          return await session.request(method, call.request?.params ?? params, connector, signal);
        } catch (err) {
          clientFailure = err instanceof Error ? err : new Error(String(err));
          if (err instanceof GatehouseError) throw err;
          throw new GatehouseError('client_error', 'The client answered with an error', { cause: err });
        }
      },
    };
    await deps.pipeline.run(call);
    if (clientFailure !== undefined) throw clientFailure;
    if (call.failure !== undefined) throw call.failure;
    return call.result as Record<string, unknown>;
  }

  /** Resource URIs in notifications are given in the form the session's client knows them by. */
  function translate(session: Session, method: string, params: Record<string, unknown>, connector: string): Record<string, unknown> {
    if (method !== 'notifications/resources/updated' || typeof params.uri !== 'string') return params;
    const view = deps.federation.view(session.orgId, session.server);
    return view === undefined ? params : { ...params, uri: view.exposeUri(connector, params.uri) };
  }

  return {
    bridge,
    /** Closes sessions' own connections that sat unused (called by the session reaper's clock). */
    async closeIdle(now: number): Promise<void> {
      for (const u of live) await u.closeIdle(now);
    },
    get openConnections(): number {
      let n = 0;
      for (const u of live) n += u.size;
      return n;
    },
  };
}

/** Server-direction calls are answered to the upstream by their caller, not by a transport. */
const NO_TRANSPORT: Transport = { receive: () => undefined, respond: () => undefined };

/** The client features the gateway declares to upstreams on a session's behalf: exactly what its client declared. */
function upstreamCapabilities(client: ClientFeatures): ClientCapabilities {
  return {
    ...(client.sampling === undefined ? {} : { sampling: client.sampling }),
    ...(client.elicitation === undefined ? {} : { elicitation: client.elicitation }),
    ...(client.roots === undefined ? {} : { roots: { listChanged: true } }),
  };
}
