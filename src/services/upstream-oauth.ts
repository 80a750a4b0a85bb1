import { GatehouseError } from '../errors.ts';
import type { ConnectorRecord } from '../store/types.ts';
import { authorize, changeEvent, requireSameOrg, type Actor, type ServiceContext } from './context.ts';

/**
 * A person's own connection to a connector's upstream (OAuth per user, gateway/upstream/oauth/user-tokens.ts):
 * starting it (the authorization URL their browser is sent to), its state, and ending it (the tokens revoked where
 * the authorization server allows, and deleted). Always the caller's own: nobody connects or disconnects another.
 */
const NO_SUCH_CONNECTOR = 'No such connector';

async function perUserConnector(ctx: ServiceContext, actor: Actor, orgId: string, id: string): Promise<{ connector: ConnectorRecord; userId: string }> {
  authorize(actor, 'connector.oauth_connect');
  requireSameOrg(actor, orgId, NO_SUCH_CONNECTOR);
  const connector = await ctx.store.getConnector(orgId, id);
  if (connector === undefined) throw new GatehouseError('not_found', NO_SUCH_CONNECTOR);
  const t = connector.transport;
  if (t.type !== 'http' || t.oauth?.mode !== 'user') throw new GatehouseError('bad_request', `Connector '${connector.name}' does not use OAuth per user`);
  if (actor.userId === null) throw new GatehouseError('bad_request', 'Only a person connects their own account: sign in, or use a key that acts for you');
  return { connector, userId: actor.userId };
}

function engineOf(ctx: ServiceContext): NonNullable<ServiceContext['upstreamOAuth']> {
  if (ctx.upstreamOAuth === undefined) throw new GatehouseError('conflict', 'OAuth per user is served by the running gateway only');
  return ctx.upstreamOAuth;
}

/**
 * The authorization URL (PKCE S256, resource indicator, single-use state) for the caller's browser, and the value
 * that browser must hold (a cookie) when it comes back to the callback.
 */
export async function startUpstreamConnect(ctx: ServiceContext, actor: Actor, orgId: string, id: string): Promise<{ authorizationUrl: string; expiresAt: string; browser: string }> {
  const { connector, userId } = await perUserConnector(ctx, actor, orgId, id);
  const started = await engineOf(ctx).start(connector, userId, { keyId: actor.keyId, user: userId });
  await ctx.audit.record(changeEvent(orgId, actor, 'connector.oauth_connect', { connector: connector.name, name: connector.id }, undefined));
  return started;
}

/** Whether the caller holds tokens for the connector, with the granted scope and expiry (never a token). */
export async function upstreamConnection(ctx: ServiceContext, actor: Actor, orgId: string, id: string): Promise<{ connected: boolean; scope: string | null; expiresAt: string | null }> {
  const { connector, userId } = await perUserConnector(ctx, actor, orgId, id);
  const row = await ctx.store.upstreamTokens.getUpstreamToken(orgId, userId, connector.id);
  return { connected: row !== undefined, scope: row?.scope ?? null, expiresAt: row?.expiresAt ?? null };
}

/** The caller's tokens for the connector: revoked at the authorization server (RFC 7009) where it offers it, deleted. */
export async function disconnectUpstream(ctx: ServiceContext, actor: Actor, orgId: string, id: string): Promise<{ removed: boolean; revoked: boolean }> {
  const { connector, userId } = await perUserConnector(ctx, actor, orgId, id);
  const result = await engineOf(ctx).disconnect(connector, userId);
  await ctx.audit.record(changeEvent(orgId, actor, 'connector.oauth_disconnect', { connector: connector.name, name: connector.id }, result));
  return result;
}

/**
 * A person leaves (SCIM deactivation or deletion, removal from the organisation): every upstream token they hold in
 * the organisation is revoked and deleted. Where the running gateway is not at hand (the CLI) the rows are deleted
 * without telling the servers.
 */
export async function endUpstreamTokens(ctx: ServiceContext, actor: Actor, orgId: string, userId: string, via: 'scim' | 'member.remove'): Promise<void> {
  const rows = await ctx.store.upstreamTokens.listUpstreamTokensOfUser(orgId, userId);
  if (rows.length === 0) return;
  if (ctx.upstreamOAuth !== undefined) await ctx.upstreamOAuth.disconnectUser(orgId, userId);
  else for (const r of rows) await ctx.store.upstreamTokens.deleteUpstreamToken(orgId, userId, r.connectorId);
  await ctx.audit.record(changeEvent(orgId, actor, 'connector.oauth_disconnect', { name: userId }, { via, connectors: rows.length }));
}
