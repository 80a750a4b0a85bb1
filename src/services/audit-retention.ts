import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { GatehouseError } from '../errors.ts';
import { ChainVerifier } from '../gateway/audit/chain.ts';
import { checkpointSignedBy, loadAuditSigner, parsePublicKey } from '../gateway/audit/signing.ts';
import { chainStart } from '../gateway/audit/tombstones.ts';
import type { AuditSettings } from '../store/audit-retention-types.ts';
import { auditSigningKeyVault } from '../vault/audit-signing-key.ts';
import { authorize, changeEvent, operatorActor, requireSameOrg, type Actor, type ServiceContext } from './context.ts';

const NOT_FOUND = 'No such organisation';
const DAY_MS = 86_400_000;
const PAGE = 1000;
/** Ten years: a longer limit is no limit, and days beyond it are a typo more often than a policy. */
const MAX_RETENTION_DAYS = 3650;

function defaults(orgId: string): AuditSettings {
  return { orgId, retentionDays: null, viewerExport: false, updatedAt: new Date(0).toISOString() };
}

function actorName(actor: Actor): string {
  return actor.userId ?? actor.name;
}

/** The organisation's audit settings; an organisation that never set them keeps every record and lets no viewer export. */
export async function getAuditSettings(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string): Promise<AuditSettings> {
  authorize(actor, 'audit.settings.read');
  requireSameOrg(actor, orgId, NOT_FOUND);
  return (await ctx.store.auditRetention.getAuditSettings(orgId)) ?? defaults(orgId);
}

/** `90d`, `90` or `off`: the retention as days, or null for none. */
export function parseRetention(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (t === 'off') return null;
  const m = /^(\d{1,5})d?$/.exec(t);
  const days = m === null ? Number.NaN : Number(m[1]);
  if (!Number.isInteger(days) || days < 1 || days > MAX_RETENTION_DAYS) {
    throw new GatehouseError('bad_request', `retention must be off or a number of days from 1 to ${MAX_RETENTION_DAYS} (e.g. 90d)`);
  }
  return days;
}

/** Changes retention or the viewers' export grant; audited with the old and new values. */
export async function updateAuditSettings(
  ctx: Pick<ServiceContext, 'store' | 'audit'>,
  actor: Actor,
  orgId: string,
  patch: { readonly retentionDays?: number | null; readonly viewerExport?: boolean },
): Promise<AuditSettings> {
  authorize(actor, 'audit.settings.update');
  requireSameOrg(actor, orgId, NOT_FOUND);
  const org = await ctx.store.getOrganisation(orgId);
  if (org === undefined || org.deletedAt !== null) throw new GatehouseError('not_found', NOT_FOUND);
  if (patch.retentionDays !== undefined && patch.retentionDays !== null) {
    if (!Number.isInteger(patch.retentionDays) || patch.retentionDays < 1 || patch.retentionDays > MAX_RETENTION_DAYS) {
      throw new GatehouseError('bad_request', `retentionDays must be null or an integer from 1 to ${MAX_RETENTION_DAYS}`);
    }
  }
  const before = (await ctx.store.auditRetention.getAuditSettings(orgId)) ?? defaults(orgId);
  const after: AuditSettings = {
    orgId,
    retentionDays: patch.retentionDays === undefined ? before.retentionDays : patch.retentionDays,
    viewerExport: patch.viewerExport ?? before.viewerExport,
    updatedAt: new Date().toISOString(),
  };
  await ctx.store.auditRetention.setAuditSettings(after);
  const changes: Record<string, unknown> = {};
  if (after.retentionDays !== before.retentionDays) changes.retentionDays = { from: before.retentionDays, to: after.retentionDays };
  if (after.viewerExport !== before.viewerExport) changes.viewerExport = { from: before.viewerExport, to: after.viewerExport };
  await ctx.audit.record(changeEvent(orgId, actor, 'audit.settings.update', { name: orgId }, changes));
  return after;
}

export interface PruneResult {
  readonly orgId: string;
  readonly dryRun: boolean;
  /** Records removed (or, for a dry run, that would be). */
  readonly removed: number;
  /** The range removed; null when nothing could be. */
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  /** Why nothing was removed, when nothing was. */
  readonly note: string | null;
}

/**
 * Removes the organisation's records older than its retention, whole segments at a time: up to the newest signed
 * checkpoint before the first record still young, never the chain head nor anything after the last checkpoint.
 * The segment is verified first (a broken one is kept as evidence and refused); a signed tombstone replaces it, so
 * verification starts there. The store (and on PostgreSQL the database function) checks the cut again.
 * Audited when it removes something or a person asked.
 */
export async function pruneAudit(
  ctx: Pick<ServiceContext, 'store' | 'audit' | 'box' | 'siemSinks'>,
  actor: Actor,
  orgId: string,
  options: { readonly dryRun?: boolean; readonly now?: number } = {},
): Promise<PruneResult> {
  authorize(actor, 'audit.prune');
  requireSameOrg(actor, orgId, NOT_FOUND);
  const dryRun = options.dryRun === true;
  const result = await planAndPrune(ctx, actor, orgId, dryRun, options.now ?? Date.now());
  if (result.removed > 0 || actor.via !== 'operator' || !actor.name.startsWith('system:')) {
    await ctx.audit.record(
      changeEvent(orgId, actor, 'audit.prune', { name: orgId }, { dryRun, removed: result.removed, firstSeq: result.firstSeq, lastSeq: result.lastSeq }),
    );
  }
  return result;
}

async function planAndPrune(ctx: Pick<ServiceContext, 'store' | 'audit' | 'box' | 'siemSinks'>, actor: Actor, orgId: string, dryRun: boolean, now: number): Promise<PruneResult> {
  const nothing = (note: string): PruneResult => ({ orgId, dryRun, removed: 0, firstSeq: null, lastSeq: null, note });
  const { store } = ctx;
  const settings = await store.auditRetention.getAuditSettings(orgId);
  if (settings?.retentionDays === null || settings?.retentionDays === undefined) return nothing('retention is off');
  const head = await store.auditAnchors.head(orgId);
  if (head === undefined) return nothing('the chain is empty');
  const cutoff = new Date(now - settings.retentionDays * DAY_MS).toISOString();
  const keys = new Map<string, KeyObject>();
  for (const k of await store.auditAnchors.listSigningKeys()) {
    const key = parsePublicKey(k.publicKey);
    if (key !== undefined) keys.set(k.id, key);
  }
  const { start, firstBreak } = chainStart(orgId, await store.auditRetention.listTombstones(orgId), (id) => keys.get(id));
  if (firstBreak !== undefined) throw new GatehouseError('audit_chain_broken', `Not pruning: ${firstBreak.reason}`);
  const from = start?.seq ?? 0;
  const young = (await store.auditRetention.firstSeqSince(orgId, cutoff)) ?? head.seq + 1;
  // The head stays (the next record links to it); nothing young, nothing not covered by a checkpoint goes, and
  // nothing a configured SIEM sink has not delivered yet (a sink that is down catches up on what is still here).
  const sinks = new Set(ctx.siemSinks ?? []);
  const delivered = (await store.siem.listSiemCursors()).filter((c) => sinks.has(c.sink) && c.chain === orgId);
  const undelivered = [...sinks].some((s) => !delivered.some((c) => c.sink === s));
  const sinkLimit = undelivered ? 0 : Math.min(...delivered.map((c) => c.seq));
  const limit = Math.min(young - 1, head.seq - 1, sinkLimit);
  const cut = (await store.auditAnchors.listCheckpoints(orgId, from))
    .filter((cp) => cp.seq <= limit)
    .reverse()
    .find((cp) => {
      const key = keys.get(cp.keyId);
      return key !== undefined && checkpointSignedBy(cp, key);
    });
  if (cut === undefined) {
    return nothing(sinkLimit < young - 1 ? 'a SIEM sink has not delivered the old records yet' : 'no signed checkpoint closes a segment older than the retention');
  }
  const verifier = new ChainVerifier(start);
  for (let after = from; after < cut.seq && !verifier.broken; ) {
    const page = await store.listAudit(orgId, after, Math.min(PAGE, cut.seq - after));
    if (page.length === 0) break;
    for (const r of page) verifier.push(r);
    after = page.at(-1)?.seq ?? cut.seq;
  }
  const walked = verifier.result();
  if (walked.firstBreak !== undefined) throw new GatehouseError('audit_chain_broken', `Not pruning: ${walked.firstBreak.reason}`);
  if (verifier.lastSeq !== cut.seq || walked.headHash !== cut.hash) {
    throw new GatehouseError('audit_chain_broken', `Not pruning: record ${cut.seq} does not match its signed checkpoint`);
  }
  const range = { firstSeq: from + 1, lastSeq: cut.seq };
  const count = cut.seq - from;
  if (dryRun) return { orgId, dryRun, removed: count, ...range, note: null };
  const signer = await loadAuditSigner(store.auditAnchors, auditSigningKeyVault(ctx.box));
  const tombstone = signer.signTombstone({ orgId, ...range, headHash: cut.hash, count, ts: new Date(now).toISOString(), actor: actorName(actor) });
  const removed = await store.auditRetention.prune(tombstone);
  return { orgId, dryRun, removed, ...range, note: null };
}

/** What the periodic job does: prune every organisation with a retention limit, as `system:retention`. */
export async function pruneAllAudit(ctx: Pick<ServiceContext, 'store' | 'audit' | 'box' | 'siemSinks'>, actor: Actor, now = Date.now()): Promise<PruneResult[]> {
  authorize(actor, 'audit.prune');
  const results: PruneResult[] = [];
  for (const s of await ctx.store.auditRetention.listRetentionSettings()) {
    const org = await ctx.store.getOrganisation(s.orgId);
    if (org === undefined) continue;
    results.push(await pruneAudit(ctx, actor, s.orgId, { now }));
  }
  return results;
}

/**
 * The periodic retention job: every `everyMs` (and once soon after start), prunes as `system:retention`. A failure
 * is logged and tried again next time; nothing is removed that the checks above refuse. Returns its stop function.
 */
export function startAuditRetention(ctx: Pick<ServiceContext, 'store' | 'audit' | 'box' | 'siemSinks'>, log: Logger, everyMs: number): () => void {
  const actor = operatorActor('system:retention');
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      for (const r of await pruneAllAudit(ctx, actor)) if (r.removed > 0) log.info({ chain: r.orgId, removed: r.removed, throughSeq: r.lastSeq }, 'audit retention removed records');
    } catch (err) {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'audit retention failed; it runs again later');
    } finally {
      running = false;
    }
  };
  const first = setTimeout(() => void run(), Math.min(everyMs, 60_000));
  const timer = setInterval(() => void run(), everyMs);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
