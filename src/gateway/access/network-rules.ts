import { compileAllowlist, type Allowlist } from '../../cidr.ts';
import type { NetworkPlane, Store } from '../../store/types.ts';

export interface NetworkRules {
  /** The organisation's compiled allowlist for the plane; undefined when it has none. Rejects when the store cannot tell. */
  allowlist(orgId: string, plane: NetworkPlane): Promise<Allowlist | undefined>;
}

/**
 * Every organisation's allowlists, compiled, in memory. Each request reads one counter (the store's revision, which
 * moves on any change by any process or replica) and reloads only when it moved, so a list set by the CLI or another
 * replica applies to the very next request, and a request otherwise costs no row, no JSON and no CIDR parsing.
 * A store failure rejects: the caller refuses (fail closed).
 */
export function createNetworkRules(store: Pick<Store, 'networkAllowlists'>): NetworkRules {
  const source = store.networkAllowlists;
  let revision: number | undefined;
  let lists = new Map<string, Allowlist>();
  let loading: Promise<void> | undefined;

  async function load(seen: number): Promise<void> {
    const all = await source.listAllNetworkAllowlists();
    lists = new Map(all.map((l) => [`${l.orgId}/${l.plane}`, compileAllowlist(l.cidrs)]));
    // What was loaded is at least as new as `seen`; a change in between moves the revision again and reloads.
    revision = seen;
  }

  return {
    async allowlist(orgId, plane) {
      const current = await source.networkAllowlistsRevision();
      // A load already under way may have started before this change: wait for it, then load again if it was older.
      while (revision === undefined || revision < current) {
        loading ??= load(current).finally(() => {
          loading = undefined;
        });
        await loading;
      }
      return lists.get(`${orgId}/${plane}`);
    },
  };
}
