import { GatehouseError } from '../errors.ts';
import { verifyChain, type ChainReport } from '../gateway/audit/verify.ts';
import type { AuditFilter, AuditRecord } from '../store/types.ts';
import { authorize, requireSameOrg, type Actor, type ServiceContext } from './context.ts';

const NO_SUCH_RECORD = 'No such audit record';
const EXPORT_PAGE = 1000;

export type AuditQuery = Omit<AuditFilter, 'afterSeq' | 'limit'> & { readonly afterSeq?: number | undefined; readonly limit?: number | undefined };

function normalise(q: AuditQuery, limit: number): AuditFilter {
  const time = (t: string | undefined, what: string) => {
    if (t === undefined) return undefined;
    const ms = Date.parse(t);
    if (Number.isNaN(ms)) throw new GatehouseError('bad_request', `${what} must be an ISO date and time`);
    return new Date(ms).toISOString();
  };
  return { ...q, afterSeq: q.afterSeq ?? 0, limit, since: time(q.since, 'since'), until: time(q.until, 'until') };
}

/** One page of the organisation's chain, filtered; `nextAfter` continues it. */
export async function searchAudit(
  ctx: Pick<ServiceContext, 'store'>,
  actor: Actor,
  orgId: string,
  q: AuditQuery,
): Promise<{ records: AuditRecord[]; nextAfter: number | null }> {
  authorize(actor, 'audit.read');
  requireSameOrg(actor, orgId, NO_SUCH_RECORD);
  const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
  const records = await ctx.store.searchAudit(orgId, normalise(q, limit));
  return { records, nextAfter: records.length === limit ? (records.at(-1)?.seq ?? null) : null };
}

export async function getAuditRecord(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string, hash: string): Promise<AuditRecord> {
  authorize(actor, 'audit.read');
  requireSameOrg(actor, orgId, NO_SUCH_RECORD);
  const record = /^[0-9a-f]{64}$/.test(hash) ? await ctx.store.getAuditByHash(orgId, hash) : undefined;
  if (record === undefined) throw new GatehouseError('not_found', NO_SUCH_RECORD);
  return record;
}

/**
 * The organisation's records as JSON lines, in seq order. Unfiltered, it is the whole chain, which anyone can verify
 * again with the same hash rule; filtered, it is an extract.
 */
export async function* exportAudit(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string, q: AuditQuery = {}): AsyncGenerator<string> {
  authorize(actor, 'audit.export');
  requireSameOrg(actor, orgId, NO_SUCH_RECORD);
  let filter = normalise(q, EXPORT_PAGE);
  for (;;) {
    const page = await ctx.store.searchAudit(orgId, filter);
    for (const r of page) yield JSON.stringify(r) + '\n';
    const last = page.at(-1);
    if (last === undefined || page.length < EXPORT_PAGE) return;
    filter = { ...filter, afterSeq: last.seq };
  }
}

/** Verifies a chain from its first record; the operator may name any chain (the system chain too). */
export async function verifyAudit(ctx: Pick<ServiceContext, 'store'>, actor: Actor, chain: string): Promise<ChainReport> {
  authorize(actor, 'audit.verify');
  requireSameOrg(actor, chain, NO_SUCH_RECORD);
  return verifyChain(ctx.store, chain);
}

/** Every chain in the store: the operator's view. */
export async function listAuditChains(ctx: Pick<ServiceContext, 'store'>, actor: Actor): Promise<string[]> {
  authorize(actor, 'org.list_all');
  return ctx.store.listAuditChains();
}


export interface SinkChainPosition {
  readonly chain: string;
  /** The seq of the last record the sink accepted in this chain (0: none yet). */
  readonly cursor: number;
  readonly head: number;
  readonly lag: number;
  /** Unix milliseconds of the cursor's last move; null when it never moved. */
  readonly updatedAtMs: number | null;
}

export interface SinkPosition {
  readonly sink: string;
  /** False for a sink that has a cursor in the store but is no longer configured. */
  readonly configured: boolean;
  readonly lag: number;
  readonly chains: readonly SinkChainPosition[];
}

/** Where each SIEM sink stands in every chain, from the store (any process may be the one delivering). */
export async function siemPositions(ctx: Pick<ServiceContext, 'store'>, actor: Actor, configured: readonly string[]): Promise<SinkPosition[]> {
  authorize(actor, 'org.list_all');
  const cursors = await ctx.store.siem.listSiemCursors();
  const chains = await ctx.store.listAuditChains();
  const heads = new Map<string, number>();
  for (const chain of chains) heads.set(chain, await ctx.store.siem.auditHeadSeq(chain));
  const names = [...new Set([...configured, ...cursors.map((c) => c.sink)])];
  return names.map((sink) => {
    const own = new Map(cursors.filter((c) => c.sink === sink).map((c) => [c.chain, c]));
    const positions = [...new Set([...chains, ...own.keys()])].sort().map((chain) => {
      const c = own.get(chain);
      const cursor = c?.seq ?? 0;
      const head = heads.get(chain) ?? 0;
      return { chain, cursor, head, lag: Math.max(0, head - cursor), updatedAtMs: c?.updatedAtMs ?? null };
    });
    return { sink, configured: configured.includes(sink), lag: positions.reduce((n, p) => n + p.lag, 0), chains: positions };
  });
}
