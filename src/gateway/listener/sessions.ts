import { randomBytes } from 'node:crypto';
import type { Principal } from '../authn/authenticate.ts';
import type { SseStream } from './sse.ts';

export interface Session {
  readonly id: string;
  readonly orgId: string;
  readonly keyId: string;
  readonly protocolVersion: string;
  lastSeen: number;
  /** The GET stream for server-initiated messages, when the client has one open. */
  stream: SseStream | undefined;
  /** Requests in flight, by JSON-RPC id, so a notifications/cancelled can abort them. */
  readonly inflight: Map<string | number, AbortController>;
}

/**
 * Open MCP sessions of this replica. A session id is 256 random bits and belongs to the key that created it: any
 * other key presenting it is told the session does not exist.
 */
export class SessionRegistry {
  readonly #sessions = new Map<string, Session>();
  #reaper: NodeJS.Timeout | undefined;

  create(principal: Principal, protocolVersion: string): Session {
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      orgId: principal.orgId,
      keyId: principal.keyId,
      protocolVersion,
      lastSeen: Date.now(),
      stream: undefined,
      inflight: new Map(),
    };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The session if it exists and belongs to this key; undefined otherwise (both answer 404). */
  find(id: string, principal: Principal): { session?: Session; mismatch: boolean } {
    const session = this.#sessions.get(id);
    if (session === undefined) return { mismatch: false };
    if (session.keyId !== principal.keyId || session.orgId !== principal.orgId) return { mismatch: true };
    session.lastSeen = Date.now();
    return { session, mismatch: false };
  }

  end(id: string): boolean {
    const session = this.#sessions.get(id);
    if (session === undefined) return false;
    this.#sessions.delete(id);
    session.stream?.end();
    for (const c of session.inflight.values()) c.abort();
    return true;
  }

  *ofOrg(orgId: string): Iterable<Session> {
    for (const s of this.#sessions.values()) if (s.orgId === orgId) yield s;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /**
   * Periodically ends sessions idle longer than `idleMs`, and sessions whose key is no longer active (revoked or
   * expired while a stream was open: without this a GET stream would outlive its key).
   */
  startReaper(idleMs: number, intervalMs: number, isKeyActive: (orgId: string, keyId: string) => Promise<boolean>): void {
    this.#reaper = setInterval(() => {
      void this.#reap(idleMs, isKeyActive);
    }, intervalMs);
    this.#reaper.unref();
  }

  async #reap(idleMs: number, isKeyActive: (orgId: string, keyId: string) => Promise<boolean>): Promise<void> {
    const now = Date.now();
    const verdicts = new Map<string, Promise<boolean>>();
    for (const s of [...this.#sessions.values()]) {
      if (now - s.lastSeen > idleMs && s.inflight.size === 0) {
        this.end(s.id);
        continue;
      }
      if (s.stream === undefined) continue;
      let verdict = verdicts.get(s.keyId);
      if (verdict === undefined) {
        verdict = isKeyActive(s.orgId, s.keyId).catch(() => false);
        verdicts.set(s.keyId, verdict);
      }
      if (!(await verdict)) this.end(s.id);
    }
  }

  closeAll(): void {
    clearInterval(this.#reaper);
    for (const id of [...this.#sessions.keys()]) this.end(id);
  }
}
