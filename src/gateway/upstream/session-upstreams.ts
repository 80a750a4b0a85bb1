import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { ClientCapabilities, JSONRPCRequest, Notification } from '@modelcontextprotocol/sdk/types.js';
import { CancelledNotificationSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { SandboxSettings } from '../../sandbox/sandbox.ts';
import type { ConnectorRecord } from '../../store/types.ts';
import { redactValue } from '../audit/redact.ts';
import type { GatehouseError } from '../../errors.ts';
import { AnyResult, egressRefusalIn, type ForwardOptions, type Forwarder } from './connection.ts';
import { applyElicitationDefaults } from './elicitation-defaults.ts';
import { translateUpstreamError } from './errors.ts';
import type { Allowance, Egress } from '../../egress/egress.ts';
import type { OpenedCredentials } from './credentials.ts';
import { createUpstreamTransport, deferResponses } from './transport.ts';

/** What a session's upstream connections need of the session on the client side. */
export interface ClientSide {
  readonly capabilities: ClientCapabilities;
  /** Sends a request (sampling, elicitation, roots) to the session's client and resolves with its answer. */
  request(method: string, params: Record<string, unknown> | undefined, connector: string, signal: AbortSignal): Promise<Record<string, unknown>>;
  /** Delivers a notification from `connector`'s upstream to the client (already translated to the client's names). */
  notify(method: string, params: Record<string, unknown> | undefined, connector: string): void;
  /** The log level the client asked for, applied to every connection the session opens. */
  readonly logLevel: string | undefined;
  /**
   * A progress token of the session's own for an upstream's request to the client: the client's progress
   * notifications for it are handed to `forward`. Tokens of different upstreams could collide, so they are replaced.
   */
  progressToken(forward: (params: Record<string, unknown>) => void): { token: string; release(): void };
}

export interface SessionUpstreamDeps {
  /** The connector's values with its secrets opened for this session's connection (credentials.ts; audited there). */
  readonly credentials: (connector: ConnectorRecord) => Promise<OpenedCredentials>;
  readonly egress: Egress;
  readonly sandbox: SandboxSettings;
  readonly log: Logger;
  readonly requestTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly idleMs: number;
  /**
   * Holds one of the session's key's quota (traffic/quotas.ts) for as long as a connection is open: every connection
   * an `upstream`, a stdio one a `process` too. Throws, holding nothing, when the key or organisation is full.
   */
  readonly hold: (kind: 'upstream' | 'process') => () => void;
}

/** Requests an upstream may send to the client through the gateway, each allowed only if the client declared it. */
const CLIENT_REQUESTS: Readonly<Record<string, keyof ClientCapabilities>> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
};
const PROGRESS_SETTLE_MS = 10;
const CLIENT_NOTIFICATIONS = new Set(['notifications/message', 'notifications/resources/updated']);

/** One session's own client to one connector. */
class SessionUpstream implements Forwarder {
  readonly connector: ConnectorRecord;
  readonly client: Client;
  sandbox: string | undefined;
  lastUsed = Date.now();
  subscriptions = new Set<string>();
  closed = false;
  /** The upstream's requests to the client in flight, by the upstream's id, so its cancellations can end them. */
  readonly incoming = new Map<string | number, AbortController>();
  /** The allowance that admitted the address of the last socket opened (egress), for the call's audit record. */
  egressAllowance: Allowance | undefined;

  constructor(connector: ConnectorRecord, client: Client) {
    this.connector = connector;
    this.client = client;
  }

  async request(method: string, params: Record<string, unknown>, options: ForwardOptions, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    this.lastUsed = Date.now();
    try {
      return await this.client.request({ method, params }, AnyResult, {
        signal: options.signal,
        timeout: options.timeoutMs ?? timeoutMs,
        resetTimeoutOnProgress: true,
        ...(options.onProgress === undefined ? {} : { onprogress: options.onProgress }),
      });
    } catch (err) {
      throw translateUpstreamError(err, this.connector.name, options.signal);
    } finally {
      this.lastUsed = Date.now();
    }
  }
}

/**
 * The upstream connections that belong to one MCP session. An upstream's requests to its client (sampling,
 * elicitation, roots) and its log and resource-update notifications carry nothing on the wire that says which of
 * the gateway's clients they are for; a connection of the session's own is the only way to route them to the right
 * client and to no other. They are opened on first use, declare exactly the client features the session's client
 * declared, close after a while unused (unless a subscription holds them), and close with the session.
 */
export class SessionUpstreams {
  readonly #deps: SessionUpstreamDeps;
  readonly #side: ClientSide;
  readonly #open = new Map<string, Promise<SessionUpstream>>();

  constructor(deps: SessionUpstreamDeps, side: ClientSide) {
    this.#deps = deps;
    this.#side = side;
  }

  /** The session's connection to `connector`, opened (or reopened after a change of the connector) as needed. */
  async get(connector: ConnectorRecord): Promise<Forwarder> {
    const timeout = this.#deps.requestTimeoutMs;
    const up = await this.#connection(connector);
    return { request: (method, params, options) => up.request(method, params, options, timeout) };
  }

  async #connection(connector: ConnectorRecord): Promise<SessionUpstream> {
    const existing = this.#open.get(connector.name);
    if (existing !== undefined) {
      const up = await existing.catch(() => undefined);
      if (up !== undefined && !up.closed && up.connector.updatedAt === connector.updatedAt) return up;
      if (this.#open.get(connector.name) === existing) this.#open.delete(connector.name);
      if (up !== undefined && !up.closed) void this.#close(up);
    }
    const opening = this.#connect(connector);
    this.#open.set(connector.name, opening);
    opening.catch(() => {
      if (this.#open.get(connector.name) === opening) this.#open.delete(connector.name);
    });
    return opening;
  }

  async #connect(connector: ConnectorRecord): Promise<SessionUpstream> {
    const releases = [this.#deps.hold('upstream')];
    const release = (): void => {
      for (const r of releases) r();
    };
    let allowance: Allowance | undefined;
    let created: ReturnType<typeof createUpstreamTransport>;
    try {
      if (connector.transport.type === 'stdio') releases.push(this.#deps.hold('process'));
      const opened = await this.#deps.credentials(connector);
      created = createUpstreamTransport(connector, opened, this.#deps.egress, this.#deps.sandbox, (pinned) => {
        allowance = pinned.allowance;
        up.egressAllowance = allowance;
      });
    } catch (err) {
      release();
      throw err;
    }
    const { transport, stdio } = created;
    const client = new Client({ name: 'gatehouse', version: '0.1.0' }, { capabilities: this.#side.capabilities });
    const up = new SessionUpstream(connector, client);
    up.egressAllowance = allowance;
    up.sandbox = stdio?.plan.sandbox;
    stdio?.stderr.on('data', (chunk: Buffer) => {
      this.#deps.log.debug({ connector: connector.name, stderr: redactValue(chunk.toString('utf8').slice(0, 2000)) }, 'upstream stderr');
    });
    client.onclose = () => {
      up.closed = true;
      release();
    };
    // The transport reports a socket egress refused here; the client itself only sees the connection close.
    let refusal: GatehouseError | undefined;
    client.onerror = (err) => {
      refusal ??= egressRefusalIn(err);
    };
    client.fallbackRequestHandler = async (request: JSONRPCRequest, extra) => {
      const controller = new AbortController();
      up.incoming.set(request.id, controller);
      extra.signal.addEventListener(
        'abort',
        () => {
          controller.abort();
        },
        { once: true },
      );
      try {
        return await this.#toClient(client, connector.name, request, controller.signal);
      } finally {
        up.incoming.delete(request.id);
      }
    };
    // The SDK's own handler ignores a cancellation of request id 0, the first request on every connection
    // (typescript-sdk#2283); this one ends the request whatever its id.
    client.setNotificationHandler(CancelledNotificationSchema, (n) => {
      up.incoming.get(n.params.requestId ?? '')?.abort();
    });
    client.fallbackNotificationHandler = (n: Notification) => {
      if (CLIENT_NOTIFICATIONS.has(n.method)) this.#side.notify(n.method, n.params, connector.name);
      return Promise.resolve();
    };
    try {
      await client.connect(transport, { timeout: this.#deps.connectTimeoutMs });
    } catch (err) {
      await client.close().catch(() => undefined);
      release();
      throw egressRefusalIn(err) ?? refusal ?? translateUpstreamError(err, connector.name);
    }
    deferResponses(transport);
    const level = this.#side.logLevel;
    if (level !== undefined && client.getServerCapabilities()?.logging !== undefined) {
      await up.request('logging/setLevel', { level }, {}, this.#deps.requestTimeoutMs).catch(() => undefined);
    }
    this.#deps.log.debug({ connector: connector.name }, 'session upstream connected');
    return up;
  }

  async #toClient(client: Client, connector: string, request: JSONRPCRequest, signal: AbortSignal): Promise<Record<string, unknown>> {
    const feature = CLIENT_REQUESTS[request.method];
    if (feature === undefined || this.#side.capabilities[feature] === undefined) {
      throw new McpError(-32601, 'Method not found');
    }
    const meta = request.params?._meta;
    const original = meta === undefined ? undefined : (meta as { progressToken?: unknown }).progressToken;
    // Progress is forwarded in order, and all of it before the answer: over HTTP each is its own upstream request,
    // and an answer sent alongside could overtake them.
    let forwarded: Promise<void> = Promise.resolve();
    const progress = { sent: false };
    const route =
      typeof original === 'string' || typeof original === 'number'
        ? this.#side.progressToken((p) => {
            progress.sent = true;
            forwarded = forwarded
              .then(() => client.notification({ method: 'notifications/progress', params: { ...p, progressToken: original } }))
              .catch(() => undefined);
          })
        : undefined;
    const params = route === undefined ? request.params : { ...request.params, _meta: { ...(meta as object), progressToken: route.token } };
    try {
      const answer = await this.#side.request(request.method, params, connector, signal);
      return request.method === 'elicitation/create' ? applyElicitationDefaults(request.params, answer) : answer;
    } catch (err) {
      throw toUpstreamError(err);
    } finally {
      route?.release();
      if (progress.sent) {
        await forwarded;
        // An SDK upstream handles a progress notification a microtask after a response read in the same chunk and
        // then drops it (typescript-sdk#2580): leave the last one a moment to be read on its own.
        await new Promise((resolve) => setTimeout(resolve, PROGRESS_SETTLE_MS));
      }
    }
  }

  /** Sends `method` to every open connection whose server supports it (logging/setLevel, roots list_changed). */
  async broadcast(method: string, params: Record<string, unknown> | undefined, serverCapability?: 'logging'): Promise<void> {
    const ups = await Promise.all([...this.#open.values()].map((p) => p.catch(() => undefined)));
    await Promise.all(
      ups.map(async (up) => {
        if (up === undefined || up.closed) return;
        if (serverCapability !== undefined && up.client.getServerCapabilities()?.[serverCapability] === undefined) return;
        if (method.startsWith('notifications/')) await up.client.notification({ method, ...(params === undefined ? {} : { params }) }).catch(() => undefined);
        else await up.request(method, params ?? {}, {}, this.#deps.requestTimeoutMs).catch(() => undefined);
      }),
    );
  }

  /** Records (or drops) a resource subscription, which keeps the connection open while it lasts. */
  async track(connector: string, uri: string, subscribed: boolean): Promise<void> {
    const up = await this.#open.get(connector)?.catch(() => undefined);
    if (up === undefined) return;
    if (subscribed) up.subscriptions.add(uri);
    else up.subscriptions.delete(uri);
  }

  /** Closes connections unused for the idle time that hold no subscription. */
  async closeIdle(now: number): Promise<void> {
    for (const [name, p] of [...this.#open]) {
      const up = await p.catch(() => undefined);
      if (up === undefined) continue;
      if (up.closed || (up.subscriptions.size === 0 && now - up.lastUsed > this.#deps.idleMs)) {
        if (this.#open.get(name) === p) this.#open.delete(name);
        await this.#close(up);
      }
    }
  }

  get size(): number {
    return this.#open.size;
  }

  async closeAll(): Promise<void> {
    const all = [...this.#open.values()];
    this.#open.clear();
    await Promise.all(all.map(async (p) => this.#close(await p.catch(() => undefined))));
  }

  async #close(up: SessionUpstream | undefined): Promise<void> {
    if (up === undefined) return;
    up.closed = true;
    await up.client.close().catch(() => undefined);
  }
}

/** The error an upstream sees when the client refused or failed its request. */
export function toUpstreamError(err: unknown): McpError {
  if (err instanceof McpError) return err;
  const e = err as { error?: { code?: unknown; message?: unknown; data?: unknown } };
  if (typeof e.error?.code === 'number' && typeof e.error.message === 'string') return new McpError(e.error.code, e.error.message, e.error.data);
  return new McpError(-32603, err instanceof Error ? err.message : 'Client request failed');
}
