import { GatehouseError, type ErrorCode } from '../../errors.ts';
import type { ConnectorLimits, ConnectorRecord } from '../../store/types.ts';
import { wasNotSent } from './errors.ts';

/** What bounds the calls to one connector: its own `limits` over the gateway-wide defaults. */
export interface ResilienceSettings {
  /** An answer (or a progress notification) must come within this long; each one restarts the wait. */
  readonly timeoutMs: number;
  /** No call lasts longer than this, however much progress it reports. */
  readonly maxCallMs: number;
  /** Calls in flight at once on this replica; the next one is refused at once (upstream_overloaded). */
  readonly maxConcurrent: number;
  /** Failures in a row that open the circuit. */
  readonly breakerFailures: number;
  /** How long an open circuit refuses calls before one probe is let through (half-open). */
  readonly breakerOpenMs: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** A connector's health as shown to operators: counts and error classes only, never an upstream's own text. */
export interface ConnectorHealth {
  readonly breaker: BreakerState;
  readonly inFlight: number;
  /** Failures in a row (what opens the circuit). */
  readonly consecutiveFailures: number;
  /** Failures in the last minute. */
  readonly recentFailures: number;
  readonly lastError: { readonly code: ErrorCode; readonly at: string } | null;
  /** When an open circuit lets its next probe through. */
  readonly retryAt: string | null;
}

/**
 * The failures that say something about the upstream; a refusal, a cancellation, a bad argument, or a call refused
 * because the connection is down (it fails fast already, and counting it would keep the circuit open after the
 * upstream came back) says nothing.
 */
const UPSTREAM_FAILURES: ReadonlySet<ErrorCode> = new Set(['upstream_unavailable', 'upstream_timeout', 'upstream_error', 'upstream_call_too_long']);
const RECENT_MS = 60_000;
const MAX_REMEMBERED = 64;

/**
 * One connector's circuit breaker and concurrency cap, and the counters its health is read from. In memory, per
 * replica: admitting a call is a few comparisons and an increment, settling it one more.
 */
export class ConnectorGuard {
  settings: ResilienceSettings;
  readonly #name: string;
  #inFlight = 0;
  #state: BreakerState = 'closed';
  #consecutive = 0;
  #openedAt = 0;
  #probing = false;
  readonly #failures: number[] = [];
  #lastError: { code: ErrorCode; at: number } | undefined;

  constructor(name: string, settings: ResilienceSettings) {
    this.#name = name;
    this.settings = settings;
  }

  /**
   * Lets a call through or refuses it: an open circuit refuses until `breakerOpenMs` passed, then admits one probe
   * (half-open) and refuses the rest until the probe settles; past the cap the call is refused. Returns the
   * function that settles the call, to be called exactly once with how it ended.
   */
  admit(now = Date.now()): (failure?: GatehouseError) => void {
    if (this.#state === 'open') {
      if (now - this.#openedAt < this.settings.breakerOpenMs) throw this.#open(now);
      this.#state = 'half-open';
      this.#probing = false;
    }
    if (this.#state === 'half-open' && this.#probing) throw this.#open(now);
    if (this.#inFlight >= this.settings.maxConcurrent) {
      throw new GatehouseError('upstream_overloaded', `Connector '${this.#name}' is at its limit of ${String(this.settings.maxConcurrent)} concurrent calls`, {
        data: { limit: this.settings.maxConcurrent },
      });
    }
    const probe = this.#state === 'half-open';
    if (probe) this.#probing = true;
    this.#inFlight++;
    let settled = false;
    return (failure) => {
      if (settled) return;
      settled = true;
      this.#inFlight--;
      this.#settle(probe, failure);
    };
  }

  #open(now: number): GatehouseError {
    const retryMs = Math.max(0, this.#openedAt + this.settings.breakerOpenMs - now);
    return new GatehouseError('circuit_open', `Connector '${this.#name}' is failing; calls are refused for now`, { data: { retryAfterMs: retryMs } });
  }

  #settle(probe: boolean, failure: GatehouseError | undefined): void {
    const now = Date.now();
    if (failure === undefined || !UPSTREAM_FAILURES.has(failure.code) || wasNotSent(failure)) {
      // A call that ended for a reason of its own (cancelled, refused arguments) proves nothing either way,
      // unless it was the probe: then the next call probes again.
      if (failure !== undefined) {
        if (probe) this.#probing = false;
        return;
      }
      this.#consecutive = 0;
      if (probe || this.#state === 'half-open') {
        this.#state = 'closed';
        this.#probing = false;
      }
      return;
    }
    this.#consecutive++;
    this.#lastError = { code: failure.code, at: now };
    this.#failures.push(now);
    if (this.#failures.length > MAX_REMEMBERED) this.#failures.shift();
    if (probe || this.#state === 'half-open' || (this.#state === 'closed' && this.#consecutive >= this.settings.breakerFailures)) {
      this.#state = 'open';
      this.#openedAt = now;
      this.#probing = false;
    }
  }

  health(now = Date.now()): ConnectorHealth {
    // An open circuit whose time is up shows as half-open: the next call is the probe.
    const state = this.#state === 'open' && now - this.#openedAt >= this.settings.breakerOpenMs ? 'half-open' : this.#state;
    return {
      breaker: state,
      inFlight: this.#inFlight,
      consecutiveFailures: this.#consecutive,
      recentFailures: this.#failures.filter((t) => now - t < RECENT_MS).length,
      lastError: this.#lastError === undefined ? null : { code: this.#lastError.code, at: new Date(this.#lastError.at).toISOString() },
      retryAt: this.#state === 'open' ? new Date(this.#openedAt + this.settings.breakerOpenMs).toISOString() : null,
    };
  }
}

/** The guards of every connector this replica calls, by connector id; settings follow the connector's record. */
export class Resilience {
  readonly #defaults: ResilienceSettings;
  readonly #guards = new Map<string, { guard: ConnectorGuard; updatedAt: string }>();

  constructor(defaults: ResilienceSettings) {
    this.#defaults = defaults;
  }

  settingsOf(limits: ConnectorLimits | undefined): ResilienceSettings {
    return { ...this.#defaults, ...limits };
  }

  /** The connector's guard; a changed record brings its new settings and keeps the counters. */
  guard(connector: ConnectorRecord): ConnectorGuard {
    const entry = this.#guards.get(connector.id);
    if (entry === undefined) {
      const guard = new ConnectorGuard(connector.name, this.settingsOf(connector.transport.limits));
      this.#guards.set(connector.id, { guard, updatedAt: connector.updatedAt });
      return guard;
    }
    if (entry.updatedAt !== connector.updatedAt) {
      entry.guard.settings = this.settingsOf(connector.transport.limits);
      entry.updatedAt = connector.updatedAt;
    }
    return entry.guard;
  }

  health(connectorId: string): ConnectorHealth | undefined {
    return this.#guards.get(connectorId)?.guard.health();
  }

  /** Drops the guards of connectors that are gone. */
  retain(ids: ReadonlySet<string>): void {
    for (const id of this.#guards.keys()) if (!ids.has(id)) this.#guards.delete(id);
  }

  /** Every guard's health, by connector id (for the snapshot the CLI reads). */
  snapshot(): Record<string, ConnectorHealth> {
    return Object.fromEntries([...this.#guards].map(([id, e]) => [id, e.guard.health()]));
  }
}
