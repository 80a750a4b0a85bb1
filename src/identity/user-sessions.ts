import type { SessionRegistry } from '../gateway/listener/sessions.ts';
import type { ListenerRegistry } from '../gateway/listener/subscriptions.ts';
import type { Store } from '../store/types.ts';

export interface UserSessionsDeps {
  readonly store: Pick<Store, 'listApiKeys' | 'signIn'>;
  readonly sessions: Pick<SessionRegistry, 'endOfKeys'>;
  readonly listeners: Pick<ListenerRegistry, 'dropKeys'>;
  /** Sign-in's clock (injectable), which stamps when the browser sessions ended. */
  readonly now: () => number;
}

/**
 * Ends everything a person has open in one organisation, at once: their browser sessions there (the next request
 * with the cookie is refused), and the MCP sessions and 2026-07-28 listen streams opened with any of their keys in
 * it. SCIM calls this when the identity provider deactivates or deletes the person, after revoking their keys: the
 * next MCP request with one would be refused anyway, but open streams would otherwise last until the reaper's round.
 * Sessions on other replicas end at their next request (cookie, key) or their reaper's round (streams).
 */
export function createUserSessionEnder(deps: UserSessionsDeps): (orgId: string, userId: string) => Promise<void> {
  return async (orgId, userId) => {
    await deps.store.signIn.endUserSessions(userId, orgId, new Date(deps.now()).toISOString());
    const keys = new Set((await deps.store.listApiKeys(orgId)).filter((k) => k.userId === userId).map((k) => k.id));
    if (keys.size === 0) return;
    deps.sessions.endOfKeys(orgId, keys);
    deps.listeners.dropKeys(orgId, keys);
  };
}
