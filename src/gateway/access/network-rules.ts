import { compileAllowlist, type Allowlist } from '../../cidr.ts';
import type { NetworkPlane, Store } from '../../store/types.ts';

export interface NetworkRules {
  /**
   * The organisation's compiled allowlist for the plane; undefined when it has none. `revision` is the store's access
   * revision when the caller has just read it (authentication does). Rejects when the store cannot tell.
   */
  allowlist(orgId: string, plane: NetworkPlane, revision?: number): Promise<Allowlist | undefined>;
}

/**
 * Every organisation's allowlists, compiled, in memory. A request reads one counter (the store's access revision,
 * which moves on any change by any process or replica; authentication has usually read it already) and the lists
 * are reloaded only when it moved, so a list set by the CLI or another replica applies to the very next request, and
 * a request otherwise costs no row, no JSON and no CIDR parsing. A store failure rejects: the caller refuses.
 */
export function createNetworkRules(store: Pick<Store, 'networkAllowlists' | 'accessRevision'>): NetworkRules {
  let revision: number | undefined;
  let lists = new Map<string, Allowlist>();
  let loading: Promise<void> | undefined;

  async function load(seen: number): Promise<void> {
    const all = await store.networkAllowlists.listAllNetworkAllowlists();
    lists = new Map(all.map((l) => [`${l.orgId}/${l.plane}`, compileAllowlist(l.cidrs)]));
    // What was loaded is at least as new as `seen`; a change in between moves the revision again and reloads.
    revision = Math.max(revision ?? seen, seen);
  }

  return {
    async allowlist(orgId, plane, known) {
      const current = known ?? (await store.accessRevision());
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
