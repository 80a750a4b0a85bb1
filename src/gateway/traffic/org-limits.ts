import { compileAllowlist, type Allowlist } from '../../cidr.ts';
import { parseLimit, parseTier, type LimitSpec, type Tier } from '../../limit-spec.ts';
import type { Store } from '../../store/types.ts';
import type { QuotaSettings, TrafficSettings } from '../../store/traffic-types.ts';

/** An organisation's traffic settings, compiled for the data path. */
export interface CompiledTraffic {
  readonly org: LimitSpec | undefined;
  /** The organisation's own limit per client address. */
  readonly address: LimitSpec | undefined;
  readonly tools: readonly { readonly pattern: string; readonly spec: LimitSpec; readonly matches: (connector: string, tool: string) => boolean }[];
  readonly tiers: ReadonlyMap<string, Tier>;
  readonly deny: { readonly mcp: Allowlist | undefined; readonly api: Allowlist | undefined };
  /** Whether a call of the tool must be approved by a person first. */
  readonly needsApproval: (connector: string, tool: string) => boolean;
  /** The organisation's own quota ceilings (below the gateway's). */
  readonly quotas: QuotaSettings;
}

export interface OrgLimits {
  /** The organisation's compiled settings (undefined: it has none). `revision`: the access revision just read, if any. */
  of(orgId: string, revision?: number): Promise<CompiledTraffic | undefined>;
  /**
   * The settings as last loaded, without looking at the revision: for the quotas, which are checked where a resource
   * is opened (synchronously) - that request's limit stage has just brought them up to date.
   */
  peek(orgId: string): CompiledTraffic | undefined;
}

function part(pattern: string): (s: string) => boolean {
  if (pattern === '*') return () => true;
  if (pattern.endsWith('*')) {
    const prefix = pattern.slice(0, -1);
    return (s) => s.startsWith(prefix);
  }
  return (s) => s === pattern;
}

/** `connector/tool`, either part `*` or ending in `*`. */
export function toolMatcher(pattern: string): (connector: string, tool: string) => boolean {
  const slash = pattern.indexOf('/');
  const c = part(slash === -1 ? pattern : pattern.slice(0, slash));
  const t = part(slash === -1 ? '*' : pattern.slice(slash + 1));
  return (connector, tool) => c(connector) && t(tool);
}

export function compileTraffic(s: TrafficSettings): CompiledTraffic {
  const tiers = new Map<string, Tier>();
  for (const [keyId, tier] of Object.entries(s.keyTiers)) {
    const t = parseTier(tier);
    if (t !== undefined) tiers.set(keyId, t);
  }
  return {
    org: s.orgLimit === null ? undefined : parseLimit(s.orgLimit),
    address: s.addressLimit === null ? undefined : parseLimit(s.addressLimit),
    tools: s.toolLimits.flatMap((l) => {
      const spec = parseLimit(l.limit);
      return spec === undefined ? [] : [{ pattern: l.pattern, spec, matches: toolMatcher(l.pattern) }];
    }),
    tiers,
    deny: { mcp: s.deny.mcp.length === 0 ? undefined : compileAllowlist(s.deny.mcp), api: s.deny.api.length === 0 ? undefined : compileAllowlist(s.deny.api) },
    needsApproval: anyOf(s.approvals.map(toolMatcher)),
    quotas: s.quotas,
  };
}

function anyOf(matchers: readonly ((connector: string, tool: string) => boolean)[]): (connector: string, tool: string) => boolean {
  if (matchers.length === 0) return () => false;
  return (connector, tool) => matchers.some((m) => m(connector, tool));
}

/**
 * Every organisation's traffic settings, compiled, in memory: reloaded only when the access revision moved (the
 * settings table bumps it; authentication has usually read it for this request already), so a request costs one
 * map lookup. A store failure rejects: the caller refuses.
 */
export function createOrgLimits(store: Pick<Store, 'trafficSettings' | 'accessRevision'>): OrgLimits {
  let revision: number | undefined;
  let compiled = new Map<string, CompiledTraffic>();
  let loading: Promise<void> | undefined;

  async function load(seen: number): Promise<void> {
    const all = await store.trafficSettings.listAllTrafficSettings();
    compiled = new Map(all.map((s) => [s.orgId, compileTraffic(s)]));
    revision = Math.max(revision ?? seen, seen);
  }

  return {
    async of(orgId, known) {
      const current = known ?? (await store.accessRevision());
      while (revision === undefined || revision < current) {
        loading ??= load(current).finally(() => {
          loading = undefined;
        });
        await loading;
      }
      return compiled.get(orgId);
    },
    peek: (orgId) => compiled.get(orgId),
  };
}
