import { GatehouseError } from '../errors.ts';
import { definitionDiff } from '../gateway/catalog/definition-diff.ts';
import { visible, type DefinitionFinding } from '../gateway/catalog/definition-scan.ts';
import type { PinSettings, PinStatus, ToolClass, ToolPinRecord } from '../store/pinning-types.ts';
import type { ConnectorRecord } from '../store/types.ts';
import { authorize, changeEvent, requireSameOrg, type Actor, type ServiceContext } from './context.ts';

/**
 * Reviewing pinned tool definitions (gateway/catalog/tool-pins.ts): what changed, what the scan found, approve or
 * reject; classifying tools as reading for read-only connectors; and each connector's settings. Every change is
 * audited. The gateway picks changes up with its next connector poll (the pinning revision moved).
 */
export interface ToolPinView {
  readonly connector: string;
  readonly tool: string;
  readonly status: PinStatus;
  /** `new`: never approved; `changed`: differs from the approved definition; null when nothing is pending. */
  readonly change: 'new' | 'changed' | null;
  readonly approvedFingerprint: string | null;
  readonly pendingFingerprint: string | null;
  /** Scan findings on the pending definition: rule and place. */
  readonly findings: readonly DefinitionFinding[];
  readonly classification: ToolClass | null;
  /** The upstream's readOnlyHint, shown as a hint for classification: never trusted by the gateway. */
  readonly readOnlyHint: boolean | null;
  readonly reviewedBy: string | null;
  readonly updatedAt: string;
}

export interface ToolPinDetail extends ToolPinView {
  /** The definitions, hidden characters shown as `<U+200B>` (the fingerprints are of the definitions as served). */
  readonly approvedDefinition: unknown;
  readonly pendingDefinition: unknown;
  /** Approved (`-`) against pending (`+`), hidden characters shown as `<U+200B>`. */
  readonly diff: string | null;
}

export interface ConnectorPinSettingsView {
  readonly connector: string;
  readonly readOnly: boolean;
  /** Whether the tools of the connector's first sync are approved without review (clean definitions only). */
  readonly autoApproveFirstSync: boolean;
}

const NO_CONNECTOR = 'No such connector';
const NO_PIN = 'No such tool';

function parse(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}

function hint(pin: ToolPinRecord): boolean | null {
  const def = parse(pin.pendingDefinition ?? pin.approvedDefinition) as { annotations?: { readOnlyHint?: unknown } } | null;
  const h = def?.annotations?.readOnlyHint;
  return typeof h === 'boolean' ? h : null;
}

function view(pin: ToolPinRecord, connector: string): ToolPinView {
  return {
    connector,
    tool: visible(pin.tool),
    status: pin.status,
    change: pin.pendingFingerprint === null ? null : pin.approvedFingerprint === null ? 'new' : 'changed',
    approvedFingerprint: pin.approvedFingerprint,
    pendingFingerprint: pin.pendingFingerprint,
    findings: (parse(pin.findings) as DefinitionFinding[] | null) ?? [],
    classification: pin.classification,
    readOnlyHint: hint(pin),
    reviewedBy: pin.reviewedBy,
    updatedAt: pin.updatedAt,
  };
}

/** A definition as a reviewer reads it: every string with its hidden characters shown as `<U+200B>`. */
function visibleDeep(v: unknown): unknown {
  if (typeof v === 'string') return visible(v);
  if (Array.isArray(v)) return v.map(visibleDeep);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [visible(k), visibleDeep(x)]));
}

function detail(pin: ToolPinRecord, connector: string): ToolPinDetail {
  const approved = visibleDeep(parse(pin.approvedDefinition));
  const pending = visibleDeep(parse(pin.pendingDefinition));
  return { ...view(pin, connector), approvedDefinition: approved, pendingDefinition: pending, diff: pending === null ? null : definitionDiff(approved, pending) };
}

async function connectorOf(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string, name: string): Promise<ConnectorRecord> {
  requireSameOrg(actor, orgId, NO_CONNECTOR);
  const c = await ctx.store.getConnectorByName(orgId, name);
  if (c === undefined) throw new GatehouseError('not_found', NO_CONNECTOR);
  return c;
}

async function pinOf(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string, connector: string, tool: string): Promise<{ c: ConnectorRecord; pin: ToolPinRecord }> {
  const c = await connectorOf(ctx, actor, orgId, connector);
  const pin = await ctx.store.pinning.getToolPin(orgId, c.id, tool);
  if (pin === undefined) throw new GatehouseError('not_found', NO_PIN);
  return { c, pin };
}

/** The organisation's pinned tools, optionally of one connector or one status. */
export async function listToolPins(
  ctx: Pick<ServiceContext, 'store'>,
  actor: Actor,
  orgId: string,
  filter: { readonly connector?: string; readonly status?: PinStatus } = {},
): Promise<ToolPinView[]> {
  authorize(actor, 'tool_pin.read');
  requireSameOrg(actor, orgId, NO_CONNECTOR);
  const connectors = new Map((await ctx.store.listConnectors(orgId)).map((c) => [c.id, c.name]));
  const only = filter.connector === undefined ? undefined : (await connectorOf(ctx, actor, orgId, filter.connector)).id;
  return (await ctx.store.pinning.listToolPins(orgId))
    .filter((p) => (only === undefined || p.connectorId === only) && (filter.status === undefined || p.status === filter.status) && connectors.has(p.connectorId))
    .map((p) => view(p, connectors.get(p.connectorId) ?? ''))
    .sort((a, b) => (a.connector + '/' + a.tool < b.connector + '/' + b.tool ? -1 : 1));
}

/** One pinned tool with both definitions and the diff between them. */
export async function getToolPin(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string, connector: string, tool: string): Promise<ToolPinDetail> {
  authorize(actor, 'tool_pin.read');
  const { c, pin } = await pinOf(ctx, actor, orgId, connector, tool);
  return detail(pin, c.name);
}

/**
 * Approves the pending definition, which the gateway then serves. With `fingerprint`, only that definition: a change
 * that arrived after the reviewer looked is not approved by mistake.
 */
export async function approveToolPin(ctx: ServiceContext, actor: Actor, orgId: string, connector: string, tool: string, fingerprint?: string): Promise<ToolPinDetail> {
  authorize(actor, 'tool_pin.review');
  const { c, pin } = await pinOf(ctx, actor, orgId, connector, tool);
  if (pin.pendingFingerprint === null || pin.pendingDefinition === null) throw new GatehouseError('conflict', 'Nothing is pending for this tool');
  if (fingerprint !== undefined && fingerprint !== pin.pendingFingerprint) throw new GatehouseError('conflict', 'The pending definition is not the one you reviewed');
  const next: ToolPinRecord = {
    ...pin, status: 'approved', approvedFingerprint: pin.pendingFingerprint, approvedDefinition: pin.pendingDefinition, pendingFingerprint: null,
    pendingDefinition: null, findings: null, reviewedBy: actor.name, updatedAt: new Date().toISOString(),
  };
  await ctx.store.pinning.putToolPin(next);
  await ctx.audit.record(changeEvent(orgId, actor, 'tool.approve', { connector: c.name, name: tool }, {
    fingerprint: next.approvedFingerprint, previous: pin.approvedFingerprint, findings: (parse(pin.findings) as unknown[] | null)?.length ?? 0,
  }));
  return detail(next, c.name);
}

/** Rejects the pending definition: the tool stays withheld until its upstream serves an approved or a new definition. */
export async function rejectToolPin(ctx: ServiceContext, actor: Actor, orgId: string, connector: string, tool: string): Promise<ToolPinDetail> {
  authorize(actor, 'tool_pin.review');
  const { c, pin } = await pinOf(ctx, actor, orgId, connector, tool);
  if (pin.pendingFingerprint === null) throw new GatehouseError('conflict', 'Nothing is pending for this tool');
  const next: ToolPinRecord = { ...pin, status: 'rejected', reviewedBy: actor.name, updatedAt: new Date().toISOString() };
  await ctx.store.pinning.putToolPin(next);
  await ctx.audit.record(changeEvent(orgId, actor, 'tool.reject', { connector: c.name, name: tool }, { fingerprint: pin.pendingFingerprint }));
  return detail(next, c.name);
}

/** Classifies a tool as reading (served on a read-only connector) or writing; null removes the classification. */
export async function classifyTool(ctx: ServiceContext, actor: Actor, orgId: string, connector: string, tool: string, classification: ToolClass | null): Promise<ToolPinView> {
  authorize(actor, 'tool_pin.review');
  const { c, pin } = await pinOf(ctx, actor, orgId, connector, tool);
  const next: ToolPinRecord = { ...pin, classification, reviewedBy: actor.name, updatedAt: new Date().toISOString() };
  await ctx.store.pinning.putToolPin(next);
  await ctx.audit.record(changeEvent(orgId, actor, 'tool.classify', { connector: c.name, name: tool }, { classification }));
  return view(next, c.name);
}

export async function getConnectorPinSettings(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string, connector: string): Promise<ConnectorPinSettingsView> {
  authorize(actor, 'connector.read');
  const c = await connectorOf(ctx, actor, orgId, connector);
  return settingsView(c.name, await ctx.store.pinning.getPinSettings(orgId, c.id), await ctx.store.pinning.getPinSettings(orgId, '*'));
}

/** Marks a connector read-only (or not) and sets whether its first sync is approved without review. */
export async function setConnectorPinSettings(
  ctx: ServiceContext,
  actor: Actor,
  orgId: string,
  connector: string,
  change: { readonly readOnly?: boolean; readonly autoApproveFirstSync?: boolean },
): Promise<ConnectorPinSettingsView> {
  authorize(actor, 'connector.update');
  const c = await connectorOf(ctx, actor, orgId, connector);
  const existing = await ctx.store.pinning.getPinSettings(orgId, c.id);
  const next: PinSettings = {
    orgId, connectorId: c.id, readOnly: change.readOnly ?? existing?.readOnly ?? false,
    autoApproveFirstSync: change.autoApproveFirstSync ?? existing?.autoApproveFirstSync ?? null, updatedAt: new Date().toISOString(),
  };
  await ctx.store.pinning.putPinSettings(next);
  await ctx.audit.record(changeEvent(orgId, actor, 'connector.pinning', { connector: c.name }, change));
  return settingsView(c.name, next, await ctx.store.pinning.getPinSettings(orgId, '*'));
}

function settingsView(connector: string, s: PinSettings | undefined, orgDefault: PinSettings | undefined): ConnectorPinSettingsView {
  return { connector, readOnly: s?.readOnly ?? false, autoApproveFirstSync: s?.autoApproveFirstSync ?? orgDefault?.autoApproveFirstSync ?? true };
}
