import { GatehouseError } from '../errors.ts';
import type { CommittedField } from '../gateway/audit/chain.ts';
import { auditEvent, auditJson } from '../gateway/audit/event.ts';
import { checkpointLine, linkLine, matchesFilter, recordLine, redactedLine, tombstoneLine } from '../gateway/audit/export.ts';
import { loadAuditSigner, parsePublicKey } from '../gateway/audit/signing.ts';
import { verifyExport, type FileReport } from '../gateway/audit/file-verify.ts';
import type { KeyObject } from 'node:crypto';
import { verifyChain, type ChainReport, type VerifyOptions } from '../gateway/audit/verify.ts';
import { auditSigningKeyVault } from '../vault/audit-signing-key.ts';
import type { AuditFilter, AuditRecord } from '../store/types.ts';
import { authorize, changeEvent, requireSameOrg, type Actor, type ServiceContext } from './context.ts';

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

export interface ExportOptions {
  /** Fields to leave out, each replaced by its digest (export.ts PII_FIELDS by default when redacting). */
  readonly redact?: readonly CommittedField[] | undefined;
}

/**
 * The organisation's records as JSON lines, in seq order, with the signed checkpoints among them: a file that
 * verifies on its own with the public key (`gatehouse audit verify --file`). The chain's head is signed first, so the
 * export ends anchored. Unfiltered, every record is whole; filtered, the export runs from the first match to the head
 * and a record the filter leaves out is a link line (its place and content digest), so the matches still verify
 * as part of the signed chain. Redacted fields keep their digests. The export itself is then audited: who, from
 * where, which filters, how many records.
 */
export async function* exportAudit(
  ctx: Pick<ServiceContext, 'store' | 'audit'>,
  actor: Actor,
  orgId: string,
  q: AuditQuery = {},
  options: ExportOptions = {},
): AsyncGenerator<string> {
  requireSameOrg(actor, orgId, NO_SUCH_RECORD);
  await authorizeExport(ctx, actor, orgId);
  const filter = normalise(q, 1);
  const { afterSeq: _a, limit: _l, ...criteria } = filter;
  const filtered = Object.values(criteria).some((v: unknown) => v !== undefined);
  const redact = new Set(options.redact ?? []);
  let rows = 0;
  let outcome: 'allow' | 'error' = 'error';
  try {
    await ctx.audit.checkpoint(orgId);
    const first = filtered ? (await ctx.store.searchAudit(orgId, filter))[0] : undefined;
    if (!filtered) for (const t of await ctx.store.auditRetention.listTombstones(orgId)) yield tombstoneLine(t);
    if (!filtered || first !== undefined) {
      const checkpoints = await ctx.store.auditAnchors.listCheckpoints(orgId, Math.max((first?.seq ?? 1) - 1, 0));
      let cpAt = 0;
      let after = first === undefined ? 0 : first.seq - 1;
      for (;;) {
        const page = await ctx.store.listAudit(orgId, after, EXPORT_PAGE);
        for (const r of page) {
          if (!filtered || matchesFilter(r, criteria)) {
            rows++;
            yield redact.size === 0 ? recordLine(r) : redactedLine(r, redact);
          } else yield linkLine(r);
          for (let cp = checkpoints[cpAt]; cp !== undefined && cp.seq <= r.seq; cp = checkpoints[++cpAt]) {
            if (cp.seq === r.seq) yield checkpointLine(cp);
          }
        }
        const last = page.at(-1);
        if (last === undefined || page.length < EXPORT_PAGE) break;
        after = last.seq;
      }
    }
    outcome = 'allow';
  } finally {
    await ctx.audit.record(
      auditEvent({
        orgId,
        actor: { keyId: actor.keyId, user: actor.userId ?? (actor.via === 'operator' ? actor.name : null) },
        clientIp: actor.clientIp,
        action: 'audit.export',
        decision: outcome,
        reason: outcome === 'error' ? 'export_incomplete' : null,
        correlationId: actor.correlationId,
        args: auditJson({ filters: criteria, redact: [...redact], format: 'ndjson', rows }),
      }),
    );
  }
}

/**
 * Whole-chain export is a permission of its own: owners and admins by default, viewers only while their organisation
 * grants it (audit settings). Decided here, so the API and the CLI refuse alike; the refusal is audited by the caller.
 * exportAudit checks it when first read; a streaming route calls it first, before its answer's status is sent.
 */
export async function authorizeExport(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string): Promise<void> {
  authorize(actor, 'audit.export');
  if (actor.role !== 'viewer') return;
  const settings = await ctx.store.auditRetention.getAuditSettings(orgId);
  if (settings?.viewerExport !== true) {
    throw new GatehouseError('forbidden', 'Your role (viewer) does not allow audit.export unless an owner grants it to viewers (audit export-grant)');
  }
}

/** Verifies a chain from its first record; the operator may name any chain (the system chain too). */
export async function verifyAudit(ctx: Pick<ServiceContext, 'store'>, actor: Actor, chain: string, options: VerifyOptions = {}): Promise<ChainReport> {
  authorize(actor, 'audit.verify');
  requireSameOrg(actor, chain, NO_SUCH_RECORD);
  return verifyChain(ctx.store, chain, options);
}

/**
 * Verifies an uploaded export (NDJSON text) as `audit verify --file` does, with the public key given or else the
 * deployment's current one: ok, or the first bad record, its line and why. Only the text and the key are used; the
 * store is not read. Audited with the outcome.
 */
export async function verifyAuditExport(
  ctx: Pick<ServiceContext, 'store' | 'box' | 'audit'>,
  actor: Actor,
  orgId: string,
  text: string,
  publicKeyPem?: string,
): Promise<FileReport & { readonly keyId: string | null }> {
  authorize(actor, 'audit.verify');
  requireSameOrg(actor, orgId, NO_SUCH_RECORD);
  let key: KeyObject | undefined;
  let keyId: string | null = null;
  if (publicKeyPem === undefined) {
    const signer = await loadAuditSigner(ctx.store.auditAnchors, auditSigningKeyVault(ctx.box));
    key = parsePublicKey(signer.publicKeyPem);
    keyId = signer.keyId;
  } else key = parsePublicKey(publicKeyPem);
  if (key === undefined) throw new GatehouseError('bad_request', 'publicKey must be an Ed25519 public key (SPKI PEM, as GET /audit/public-key returns)');
  const report = await verifyExport(linesOf(text), key);
  await ctx.audit.record(
    changeEvent(orgId, actor, 'audit.verify_export', {}, {
      bytes: Buffer.byteLength(text), ok: report.ok, records: report.records, firstBreak: report.firstBreak?.seq ?? null, key: keyId ?? 'given',
    }),
  );
  return { ...report, keyId };
}

// eslint-disable-next-line @typescript-eslint/require-await -- verifyExport reads an async iterable of lines
async function* linesOf(text: string): AsyncGenerator<string> {
  yield* text.split('\n');
}

/** The public key that verifies checkpoints (SPKI PEM), created with the signing key on first use. */
export async function auditPublicKey(ctx: Pick<ServiceContext, 'store' | 'box'>, actor: Actor): Promise<{ keyId: string; publicKey: string }> {
  authorize(actor, 'audit.verify');
  const signer = await loadAuditSigner(ctx.store.auditAnchors, auditSigningKeyVault(ctx.box));
  return { keyId: signer.keyId, publicKey: signer.publicKeyPem };
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
