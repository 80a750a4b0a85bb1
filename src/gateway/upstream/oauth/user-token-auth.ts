import { GatehouseError } from '../../../errors.ts';
import type { ConnectorRecord } from '../../../store/types.ts';
import type { Requester } from '../credentials.ts';
import type { UpstreamAuth } from '../http-transport.ts';
import { parseBearerChallenge, unionScopes } from './challenge.ts';
import { authFailed } from './discovery.ts';
import type { UserOAuth } from './user-tokens.ts';

function required(engine: UserOAuth, connector: ConnectorRecord, why: string): GatehouseError {
  const connect = engine.connectUrl(connector);
  return new GatehouseError('upstream_auth_required', `Connector '${connector.name}' ${why}: connect your account by opening ${connect} in a browser signed in to the gateway`, { data: { connector: connector.name, connect } });
}

/**
 * One connection's use of a person's tokens. A session's connection carries its user's; the shared connection (the
 * connector's listing) the latest person's. No token: no Authorization header, and a 401 is answered with
 * `upstream_auth_required` naming the connect route.
 */
export class UserTokenAuth implements UpstreamAuth {
  readonly #engine: UserOAuth;
  readonly #connector: ConnectorRecord;
  readonly #shared: boolean;
  #userId: string | undefined;
  #loaded = false;
  #refreshedFor: string | undefined;

  readonly #nobody: boolean;

  constructor(engine: UserOAuth, connector: ConnectorRecord, who: { userId: string } | { shared: true } | { nobody: true }) {
    this.#engine = engine;
    this.#connector = connector;
    this.#userId = 'userId' in who ? who.userId : undefined;
    this.#shared = 'shared' in who;
    this.#nobody = 'nobody' in who;
  }

  get #requester(): Requester {
    return { keyId: null, user: this.#shared ? 'system:connection' : (this.#userId ?? 'system:connection') };
  }

  header(): string | undefined {
    if (this.#userId === undefined) return undefined;
    const h = this.#engine.cached(this.#connector, this.#userId);
    if (h === undefined || (h.expiresAt !== undefined && this.#engine.now() >= h.expiresAt)) return undefined;
    return `Bearer ${h.access}`;
  }

  prepare(): Promise<void> | undefined {
    if (!this.#loaded) return this.#load();
    const user = this.#userId;
    if (user === undefined) return undefined;
    const h = this.#engine.cached(this.#connector, user);
    if (h?.expiresAt === undefined || h.refresh === undefined) return undefined;
    const left = h.expiresAt - this.#engine.now();
    // Refreshed a little before it expires: a tenth of an hour-long token's life, at most a minute.
    if (left > 60_000) return undefined;
    return this.#engine.refresh(this.#connector, user, this.#requester).then(() => undefined);
  }

  async #load(): Promise<void> {
    // A key that acts for no person borrows nobody's tokens: its session goes without, and is refused at a 401.
    if (this.#nobody) {
      this.#loaded = true;
      return;
    }
    if (this.#userId === undefined) this.#userId = await this.#engine.latestUser(this.#connector);
    if (this.#userId === undefined) return;
    await this.#engine.held(this.#connector, this.#userId, this.#requester);
    this.#loaded = true;
  }

  async challenge(status: number, wwwAuthenticate: string | undefined): Promise<boolean> {
    const c = parseBearerChallenge(wwwAuthenticate);
    this.#engine.noteChallenge(this.#connector, c);
    if (status === 403 && c?.error !== 'insufficient_scope') return false;
    const user = this.#userId;
    if (this.#nobody) throw required(this.#engine, this.#connector, 'uses each person\'s own account, and this key acts for no person; use a key that acts for you');
    if (user === undefined) throw required(this.#engine, this.#connector, this.#shared ? 'needs a member to connect their account first' : 'needs your own authorization');
    const held = this.#engine.cached(this.#connector, user);
    if (status === 403) {
      const granted = new Set((held?.scope ?? '').split(' '));
      const missing = (c?.scope ?? '').split(' ').filter((s) => s !== '' && !granted.has(s));
      // A scope the token already has cannot be asked for again: that is the end, not a loop (retry limit).
      if (missing.length === 0) throw authFailed('The upstream refuses the token even with the scope it asked for');
      if (!this.#shared) this.#engine.wantScope(this.#connector, user, unionScopes(held?.scope, c?.scope) ?? '');
      throw required(this.#engine, this.#connector, `needs more of your authorization (${missing.join(' ')})`);
    }
    // Another connect (or replica) may have stored a newer token; else the refresh token, once per access token.
    const stored = await this.#engine.held(this.#connector, user, this.#requester, true).catch(() => undefined);
    if (stored !== undefined && stored.access !== held?.access) return true;
    if (stored?.refresh !== undefined && this.#refreshedFor !== stored.access) {
      this.#refreshedFor = stored.access;
      if ((await this.#engine.refresh(this.#connector, user, this.#requester)) !== undefined) return true;
    }
    throw required(this.#engine, this.#connector, stored === undefined ? 'needs your own authorization' : 'needs your authorization again');
  }
}
