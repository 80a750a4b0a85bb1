import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * What the gateway counts for Prometheus (`/metrics`, telemetry/metrics-endpoint.ts). Every label has a bounded set
 * of values and none carries a secret: methods come from the pipeline's method table (anything else is `other`),
 * decisions are the audit record's three, connectors are the names in the organisations' catalogs (the first
 * MAX_CONNECTOR_LABELS seen; later ones are `other`), limits are the limiter's own names. No key id, no tool
 * argument, no URL.
 *
 * The data path pays one map lookup and one increment per call: label children are bound once per combination and
 * kept, so prom-client's own label hashing runs only the first time a combination is seen.
 */
export interface GatewayMetrics {
  readonly registry: Registry;
  /** One finished call of the pipeline (every member of a batch is its own). */
  call(method: string, decision: 'allow' | 'deny' | 'error', connector: string | null, seconds: number): void;
  /** A refusal by a rate limit or a quota, whatever plane it happened on. */
  refused(limit: string): void;
  /** One audit write: how long the append took (the lag between a decision and its durable record), and whether it failed. */
  auditWrite(seconds: number, ok: boolean): void;
  /**
   * Where upstream health is read at scrape time: one entry per live connection. The resilience work adds its
   * breaker state here (`breaker`), which becomes `gatehouse_upstream_breaker_open`.
   */
  upstreamHealth(source: () => Iterable<UpstreamHealth>): void;
}

export interface UpstreamHealth {
  readonly orgId: string;
  readonly connector: string;
  /** The connection's state: connecting, ready, down, closed. */
  readonly state: string;
  /** A circuit breaker's state, when one guards the connection (absent until the resilience work provides it). */
  readonly breaker?: 'closed' | 'open' | 'half-open' | undefined;
}

export const MAX_CONNECTOR_LABELS = 256;
/** Above this many connections the per-connection gauge stops growing (the per-state totals stay exact). */
export const MAX_UPSTREAM_SERIES = 1000;
const UPSTREAM_STATES = ['connecting', 'ready', 'down', 'closed'] as const;
const LIMITS = new Set(['address', 'auth', 'key', 'org', 'tool', 'quota', 'sessions']);
const DECISIONS = new Set(['allow', 'deny', 'error']);
/** Seconds; from a cached answer (sub-millisecond) to an upstream's long tool call. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const AUDIT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

interface Bound {
  inc(): void;
  observe(v: number): void;
}

export function createGatewayMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gatehouse_' });
  const requests = new Counter({
    name: 'gatehouse_requests_total',
    help: 'Requests the data path finished, by JSON-RPC method, audit decision and connector',
    labelNames: ['method', 'decision', 'connector'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'gatehouse_request_duration_seconds',
    help: 'Time from the request arriving to its audit record, by JSON-RPC method and audit decision',
    labelNames: ['method', 'decision'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'gatehouse_limit_refusals_total',
    help: 'Requests refused by a rate limit or a quota, by limit',
    labelNames: ['limit'] as const,
    registers: [registry],
  });
  const auditLatency = new Histogram({
    name: 'gatehouse_audit_write_seconds',
    help: 'Time an audit record took to be appended to its chain (the lag between a decision and its durable record)',
    buckets: AUDIT_BUCKETS,
    registers: [registry],
  });
  const auditFailures = new Counter({ name: 'gatehouse_audit_write_failures_total', help: 'Audit appends that failed (each failed its request)', registers: [registry] });
  let health: (() => Iterable<UpstreamHealth>) | undefined;
  new Gauge({
    name: 'gatehouse_upstream_connections',
    help: 'Shared upstream connections, by state',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const counts = new Map<string, number>(UPSTREAM_STATES.map((s) => [s, 0]));
      for (const h of health?.() ?? []) counts.set(stateLabel(h.state), (counts.get(stateLabel(h.state)) ?? 0) + 1);
      this.reset();
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'gatehouse_upstream_up',
    help: 'Whether a shared upstream connection is ready (1) or not (0), by organisation id and connector',
    labelNames: ['org', 'connector'] as const,
    registers: [registry],
    collect() {
      this.reset();
      let n = 0;
      for (const h of health?.() ?? []) {
        if (++n > MAX_UPSTREAM_SERIES) break;
        this.set({ org: h.orgId, connector: h.connector }, h.state === 'ready' ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'gatehouse_upstream_breaker_open',
    help: 'Whether the circuit breaker of a shared upstream connection is open (1), half-open (0.5) or closed (0)',
    labelNames: ['org', 'connector'] as const,
    registers: [registry],
    collect() {
      this.reset();
      let n = 0;
      for (const h of health?.() ?? []) {
        if (h.breaker === undefined) continue;
        if (++n > MAX_UPSTREAM_SERIES) break;
        this.set({ org: h.orgId, connector: h.connector }, h.breaker === 'open' ? 1 : h.breaker === 'half-open' ? 0.5 : 0);
      }
    },
  });

  const connectors = new Set<string>();
  const bound = new Map<string, Bound>();
  const limited = new Map<string, { inc(): void }>();

  function connectorLabel(c: string | null): string {
    if (c === null) return 'none';
    if (connectors.has(c)) return c;
    if (connectors.size >= MAX_CONNECTOR_LABELS) return 'other';
    connectors.add(c);
    return c;
  }

  function bind(method: string, decision: string, connector: string): Bound {
    const counter = requests.labels(method, decision, connector);
    const histogram = latency.labels(method, decision);
    return {
      inc: () => {
        counter.inc();
      },
      observe: (v) => {
        histogram.observe(v);
      },
    };
  }

  return {
    registry,
    call(method, decision, connector, seconds) {
      const c = connectorLabel(connector);
      const d = DECISIONS.has(decision) ? decision : 'error';
      const key = `${method}\u0000${d}\u0000${c}`;
      let b = bound.get(key);
      if (b === undefined) {
        b = bind(method, d, c);
        bound.set(key, b);
      }
      b.inc();
      b.observe(seconds);
    },
    refused(limit) {
      const name = LIMITS.has(limit) ? limit : 'other';
      let child = limited.get(name);
      if (child === undefined) {
        child = refusals.labels(name);
        limited.set(name, child);
      }
      child.inc();
    },
    auditWrite(seconds, ok) {
      auditLatency.observe(seconds);
      if (!ok) auditFailures.inc();
    },
    upstreamHealth(source) {
      health = source;
    },
  };
}

function stateLabel(state: string): string {
  return (UPSTREAM_STATES as readonly string[]).includes(state) ? state : 'closed';
}
