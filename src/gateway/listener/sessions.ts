import type { Principal } from '../principal.ts';
import { Quotas, UNLIMITED, type Release } from '../traffic/quotas.ts';
import { Session, type ClientFeatures } from './session.ts';

export { Session } from './session.ts';

/**
 * Open MCP sessions of this replica. A session id is 256 random bits and belongs to the key and endpoint that
 * created it: any other key (or the same key on another endpoint) presenting it is told the session does not exist.
 */
export class SessionRegistry {
  readonly #sessions = new Map<string, Session>();
  /** What each open session holds of its key's and organisation's session quota. */
  readonly #held = new Map<string, Release>();
  readonly #quotas: Quotas;
  #reaper: NodeJS.Timeout | undefined;

  constructor(quotas: Quotas = new Quotas(UNLIMITED)) {
    this.#quotas = quotas;
  }

  /** Opens a session; a key or organisation holding as many as it may is refused (too_many_sessions, 429). */
  create(principal: Principal, protocolVersion: string, server: string | null, client: ClientFeatures): Session {
    const release = this.#quotas.acquire('session', principal.orgId, principal.keyId);
    const session = new Session({ orgId: principal.orgId, keyId: principal.keyId, userId: principal.userId, server, protocolVersion, client });
    this.#sessions.set(session.id, session);
    this.#held.set(session.id, release);
    return session;
  }

  /** The session if it exists and belongs to this key and endpoint; undefined otherwise (both answer 404). */
  find(id: string, principal: Principal, server: string | null): { session?: Session; mismatch: boolean } {
    const session = this.#sessions.get(id);
    if (session === undefined) return { mismatch: false };
    if (session.keyId !== principal.keyId || session.orgId !== principal.orgId || session.server !== server) return { mismatch: true };
    session.lastSeen = Date.now();
    return { session, mismatch: false };
  }

  end(id: string): boolean {
    const session = this.#sessions.get(id);
    if (session === undefined) return false;
    this.#sessions.delete(id);
    this.#held.get(id)?.();
    this.#held.delete(id);
    session.end();
    return true;
  }

  /** Ends every session of the organisation opened with one of `keyIds`; returns how many. */
  endOfKeys(orgId: string, keyIds: ReadonlySet<string>): number {
    let ended = 0;
    for (const s of [...this.#sessions.values()]) if (s.orgId === orgId && keyIds.has(s.keyId) && this.end(s.id)) ended++;
    return ended;
  }

  *ofOrg(orgId: string): Iterable<Session> {
    for (const s of this.#sessions.values()) if (s.orgId === orgId) yield s;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /**
   * Periodically ends sessions idle longer than `idleMs` (no request and no connected stream), and sessions whose
   * key is no longer active (revoked or expired while a stream was open: without this a GET stream would outlive
   * its key).
   */
  startReaper(idleMs: number, intervalMs: number, isKeyActive: (orgId: string, keyId: string) => Promise<boolean>): void {
    this.#reaper = setInterval(() => {
      void this.reap(idleMs, isKeyActive);
    }, intervalMs);
    this.#reaper.unref();
  }

  async reap(idleMs: number, isKeyActive: (orgId: string, keyId: string) => Promise<boolean>): Promise<void> {
    const now = Date.now();
    const verdicts = new Map<string, Promise<boolean>>();
    for (const s of [...this.#sessions.values()]) {
      s.streams.prune(now);
      const connected = s.standalone?.attached === true;
      if (connected) s.lastSeen = now;
      if (now - s.lastSeen > idleMs && s.inflight.size === 0) {
        this.end(s.id);
        continue;
      }
      if (!connected && s.inflight.size === 0) continue;
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
