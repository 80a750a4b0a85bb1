import type { NetworkAllowlist, NetworkPlane } from '../store/types.ts';
import { authorize, changeEvent, requireSameOrg, type Actor, type ServiceContext } from './context.ts';
import { requireCidrs } from './keys.ts';

/**
 * Per-organisation IP allowlists, one per plane: `mcp` (the MCP endpoints, enforced by the gateway after
 * authentication) and `api` (the dashboard and admin API, enforced there through `isAllowed`). No list means no
 * restriction; a list always holds at least one range, except when its ranges were removed one by one, in which
 * case nothing is allowed until it is cleared (a rule never opens up by accident).
 */
export const PLANES: readonly NetworkPlane[] = ['mcp', 'api'];

const NO_SUCH_ORG = 'No such organisation';

/** The plane's list as the actor may read it (undefined: no restriction). */
export async function getAllowlist(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string, plane: NetworkPlane): Promise<NetworkAllowlist | undefined> {
  authorize(actor, 'network.read');
  requireSameOrg(actor, orgId, NO_SUCH_ORG);
  return ctx.store.networkAllowlists.getNetworkAllowlist(orgId, plane);
}

function mayChange(actor: Actor, orgId: string): void {
  authorize(actor, 'network.update');
  requireSameOrg(actor, orgId, NO_SUCH_ORG);
}

/** Replaces the plane's list with exactly these ranges (at least one); null lifts the restriction. */
export async function setAllowlist(
  ctx: ServiceContext,
  actor: Actor,
  orgId: string,
  plane: NetworkPlane,
  cidrs: readonly string[] | null,
): Promise<NetworkAllowlist | undefined> {
  mayChange(actor, orgId);
  if (cidrs === null) {
    await clearAllowlist(ctx, actor, orgId, plane);
    return undefined;
  }
  const list: NetworkAllowlist = { orgId, plane, cidrs: requireCidrs(cidrs, 'Give at least one CIDR (or null to lift the restriction)'), updatedAt: new Date().toISOString() };
  await ctx.store.networkAllowlists.setNetworkAllowlist(list);
  await ctx.audit.record(changeEvent(orgId, actor, 'network.set', { name: plane }, { cidrs: list.cidrs }));
  return list;
}

/** Adds ranges to the plane's list, creating it (and so restricting the plane) if there was none. */
export async function allowNetworks(ctx: ServiceContext, actor: Actor, orgId: string, plane: NetworkPlane, cidrs: readonly string[]): Promise<NetworkAllowlist> {
  mayChange(actor, orgId);
  const added = requireCidrs(cidrs, 'Give at least one CIDR');
  const existing = await ctx.store.networkAllowlists.getNetworkAllowlist(orgId, plane);
  const list: NetworkAllowlist = { orgId, plane, cidrs: [...new Set([...(existing?.cidrs ?? []), ...added])], updatedAt: new Date().toISOString() };
  await ctx.store.networkAllowlists.setNetworkAllowlist(list);
  await ctx.audit.record(changeEvent(orgId, actor, 'network.allow', { name: plane }, { added, cidrs: list.cidrs }));
  return list;
}

/** Removes ranges from the plane's list; the list stays (possibly empty: nothing allowed) until cleared. */
export async function removeNetworks(ctx: ServiceContext, actor: Actor, orgId: string, plane: NetworkPlane, cidrs: readonly string[]): Promise<NetworkAllowlist | undefined> {
  mayChange(actor, orgId);
  const removed = new Set(requireCidrs(cidrs, 'Give at least one CIDR'));
  const existing = await ctx.store.networkAllowlists.getNetworkAllowlist(orgId, plane);
  if (existing === undefined) return undefined;
  const list: NetworkAllowlist = { orgId, plane, cidrs: existing.cidrs.filter((c) => !removed.has(c)), updatedAt: new Date().toISOString() };
  await ctx.store.networkAllowlists.setNetworkAllowlist(list);
  await ctx.audit.record(changeEvent(orgId, actor, 'network.remove', { name: plane }, { removed: [...removed], cidrs: list.cidrs }));
  return list;
}

/** Lifts the plane's restriction; returns false when there was none. */
export async function clearAllowlist(ctx: ServiceContext, actor: Actor, orgId: string, plane: NetworkPlane): Promise<boolean> {
  mayChange(actor, orgId);
  const cleared = await ctx.store.networkAllowlists.deleteNetworkAllowlist(orgId, plane);
  if (cleared) await ctx.audit.record(changeEvent(orgId, actor, 'network.clear', { name: plane }, undefined));
  return cleared;
}
