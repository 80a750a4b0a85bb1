import { GatehouseError } from '../errors.ts';
import { isSecretFieldName } from '../gateway/audit/redact.ts';
import { CONNECTOR_NAME } from '../gateway/catalog/names.ts';
import { secretBinding } from '../gateway/upstream/transport.ts';
import { newId } from '../ids.ts';
import { checkStdioRequest } from '../sandbox/stdio-policy.ts';
import { DuplicateError, type ConnectorRecord, type ConnectorTransport, type ConnectorValue } from '../store/types.ts';
import { authorize, changeEvent, requireSameOrg, type Actor, type ServiceContext } from './context.ts';

/** A header or environment value as given by an operator, before sealing. */
export interface ValueInput {
  readonly name: string;
  readonly value: string;
  readonly secret: boolean;
}

type TransportInput =
  | {
      readonly type: 'http';
      readonly url: string;
      readonly headers: readonly ValueInput[];
      /** Non-public addresses allowed for this connector: the operator's alone (refused for anyone else). */
      readonly allowPrivateNetwork?: boolean | undefined;
      /** Send the upstream the call's W3C trace context (traceparent) when tracing is on. */
      readonly propagateTraceContext?: boolean | undefined;
    }
  | ({ readonly type: 'stdio'; readonly command: string; readonly args: readonly string[]; readonly env: readonly ValueInput[]; readonly cwd?: string | undefined } & StdioFlags);
/** What the operator forces or declares for a stdio connector (CLI `--allow-shell`, `--allow-unsafe-env`, `--network`). */
export interface StdioFlags {
  readonly allowShell?: boolean | undefined;
  readonly allowUnsafeEnv?: boolean | undefined;
  readonly network?: boolean | undefined;
}

export type NewConnector = TransportInput & { readonly orgId: string; readonly name: string };

/** A connector as it may be shown: secret values are reduced to their name. */
export interface ConnectorView {
  readonly id: string;
  readonly name: string;
  readonly type: 'http' | 'stdio';
  readonly url?: string;
  readonly allowPrivateNetwork?: boolean;
  readonly propagateTraceContext?: boolean;
  readonly command?: string;
  readonly args?: readonly string[];
  readonly headers?: readonly { name: string; secret: boolean; value?: string }[];
  readonly env?: readonly { name: string; secret: boolean; value?: string }[];
  /** Shown (and so audited) only when set. */
  readonly allowShell?: true;
  readonly allowUnsafeEnv?: true;
  readonly network?: true;
  readonly createdAt: string;
}

const NO_SUCH_CONNECTOR = 'No such connector';
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const SECRET_ENV_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE|CREDENTIAL|AUTH/i;
const FORBIDDEN_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'mcp-session-id', 'mcp-protocol-version']);

export function viewConnector(c: ConnectorRecord): ConnectorView {
  const show = (v: ConnectorValue) => (v.secret ? { name: v.name, secret: true } : { name: v.name, secret: false, value: v.value });
  const t = c.transport;
  return t.type === 'http'
    ? {
        id: c.id,
        name: c.name,
        type: 'http',
        url: t.url,
        ...(t.allowPrivateNetwork === true ? { allowPrivateNetwork: true } : {}),
        ...(t.propagateTraceContext === true ? { propagateTraceContext: true } : {}),
        headers: t.headers.map(show),
        createdAt: c.createdAt,
      }
    : {
        id: c.id,
        name: c.name,
        type: 'stdio',
        command: t.command,
        args: t.args,
        env: t.env.map(show),
        ...(t.allowShell === true ? { allowShell: true as const } : {}),
        ...(t.allowUnsafeEnv === true ? { allowUnsafeEnv: true as const } : {}),
        ...(t.network === true ? { network: true as const } : {}),
        createdAt: c.createdAt,
      };
}

/**
 * The URL as egress parses it, its host resolved and every address checked (egress_refused, HTTP 400, otherwise).
 * Credentials in a URL would end up in logs and listings; egress refuses them (they belong in a secret header).
 */
async function validateUrl(ctx: Pick<ServiceContext, 'egress'>, text: string, allowPrivateNetwork: boolean): Promise<{ url: string; allowances: string[] }> {
  const { url, addresses } = await ctx.egress.check(text, { allowPrivateNetwork });
  const allowances = [...new Set(addresses.flatMap((a) => (a.allowance === undefined ? [] : [a.allowance])))];
  return { url: url.toString(), allowances };
}

function requireOperatorForPrivateNetwork(actor: Actor, wanted: boolean | undefined): boolean {
  if (wanted !== true) return false;
  if (actor.via !== 'operator') throw new GatehouseError('forbidden', 'Only the operator (CLI: connectors add --allow-private-network) may let a connector reach private addresses');
  return true;
}

function seal(ctx: ServiceContext, orgId: string, id: string, kind: 'header' | 'env', values: readonly ValueInput[]): ConnectorValue[] {
  const seen = new Set<string>();
  return values.map((v) => {
    const valid = kind === 'header' ? HEADER_NAME.test(v.name) && !FORBIDDEN_HEADERS.has(v.name.toLowerCase()) : ENV_NAME.test(v.name);
    if (!valid) throw new GatehouseError('bad_request', `Invalid ${kind} name '${v.name.slice(0, 64)}'`);
    const key = kind === 'header' ? v.name.toLowerCase() : v.name;
    if (seen.has(key)) throw new GatehouseError('bad_request', `Duplicate ${kind} '${v.name}'`);
    seen.add(key);
    // Secure by default: a value under a credential-looking name is sealed even if not marked secret.
    const secret = v.secret || isSecretFieldName(v.name) || (kind === 'env' && SECRET_ENV_NAME.test(v.name));
    return secret
      ? { name: v.name, secret: true as const, ciphertext: ctx.box.seal(v.value, secretBinding(orgId, id, kind, v.name)) }
      : { name: v.name, secret: false as const, value: v.value };
  });
}

function checkConnectorName(name: string): void {
  if (!CONNECTOR_NAME.test(name)) {
    throw new GatehouseError('bad_request', 'Connector name must be 1-32 lowercase letters, digits or inner hyphens (no underscores)');
  }
}

async function buildTransport(ctx: ServiceContext, actor: Actor, orgId: string, id: string, input: TransportInput): Promise<{ transport: ConnectorTransport; allowances: string[] }> {
  if (input.type === 'http') {
    const allowPrivateNetwork = requireOperatorForPrivateNetwork(actor, input.allowPrivateNetwork);
    const { url, allowances } = await validateUrl(ctx, input.url, allowPrivateNetwork);
    const headers = seal(ctx, orgId, id, 'header', input.headers);
    const propagate = input.propagateTraceContext === true ? { propagateTraceContext: true } : {};
    return { transport: { type: 'http', url, headers, ...(allowPrivateNetwork ? { allowPrivateNetwork } : {}), ...propagate }, allowances };
  }
  if (input.command.trim() === '') throw new GatehouseError('bad_request', 'A stdio connector needs a command');
  checkStdioRequest({ ...input, envNames: input.env.map((v) => v.name) });
  return { transport: { type: 'stdio', command: input.command, args: [...input.args], env: seal(ctx, orgId, id, 'env', input.env), cwd: input.cwd, ...stdioFlags(input) }, allowances: [] };
}

/** Only flags that are set are stored: a connector without them is the safe default. */
function stdioFlags(f: StdioFlags): StdioFlags {
  return {
    ...(f.allowShell === true ? { allowShell: true } : {}),
    ...(f.allowUnsafeEnv === true ? { allowUnsafeEnv: true } : {}),
    ...(f.network === true ? { network: true } : {}),
  };
}

/** A refused stdio connector is a decision too: it is audited as a denial, naming what was refused. */
async function auditRefusal(ctx: ServiceContext, actor: Actor, orgId: string, action: string, name: string, err: unknown): Promise<void> {
  if (!(err instanceof GatehouseError) || err.code !== 'stdio_refused') return;
  const event = changeEvent(orgId, actor, action, { connector: name }, undefined);
  await ctx.audit.record({ ...event, decision: 'deny', reason: 'stdio_refused', detail: JSON.stringify(err.data ?? {}) });
}

export async function addConnector(ctx: ServiceContext, actor: Actor, input: NewConnector): Promise<ConnectorView> {
  authorize(actor, 'connector.create');
  if (input.type === 'stdio') authorize(actor, 'connector.manage_stdio');
  requireSameOrg(actor, input.orgId, NO_SUCH_CONNECTOR);
  checkConnectorName(input.name);
  const id = newId('con');
  let built: { transport: ConnectorTransport; allowances: string[] };
  try {
    built = await buildTransport(ctx, actor, input.orgId, id, input);
  } catch (err) {
    await auditRefusal(ctx, actor, input.orgId, 'connector.add', input.name, err);
    throw err;
  }
  const { transport, allowances } = built;
  const now = new Date().toISOString();
  const record: ConnectorRecord = { id, orgId: input.orgId, name: input.name, transport, createdAt: now, updatedAt: now };
  try {
    await ctx.store.insertConnector(record);
  } catch (err) {
    if (err instanceof DuplicateError) throw new GatehouseError('conflict', `A connector named '${input.name}' already exists`);
    throw err;
  }
  const view = viewConnector(record);
  await ctx.audit.record(changeEvent(input.orgId, actor, 'connector.add', { connector: input.name }, view));
  await auditAllowances(ctx, actor, input.orgId, input.name, allowances);
  return view;
}

export async function listConnectors(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string): Promise<ConnectorView[]> {
  authorize(actor, 'connector.read');
  requireSameOrg(actor, orgId, NO_SUCH_CONNECTOR);
  return (await ctx.store.listConnectors(orgId)).map(viewConnector);
}

async function requireConnector(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string, id: string): Promise<ConnectorRecord> {
  requireSameOrg(actor, orgId, NO_SUCH_CONNECTOR);
  const c = await ctx.store.getConnector(orgId, id);
  if (c === undefined) throw new GatehouseError('not_found', NO_SUCH_CONNECTOR);
  return c;
}

export async function getConnector(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string, id: string): Promise<ConnectorView> {
  authorize(actor, 'connector.read');
  return viewConnector(await requireConnector(ctx, actor, orgId, id));
}

/** What a change may set. Headers or environment, when given, replace the whole list: secrets are write-only. */
export interface ConnectorChange {
  readonly name?: string | undefined;
  readonly url?: string | undefined;
  readonly headers?: readonly ValueInput[] | undefined;
  /** The operator's alone; a URL changed by anyone else drops the allowance (it was granted for the old one). */
  readonly allowPrivateNetwork?: boolean | undefined;
  readonly propagateTraceContext?: boolean | undefined;
  readonly command?: string | undefined;
  readonly args?: readonly string[] | undefined;
  readonly env?: readonly ValueInput[] | undefined;
  readonly cwd?: string | undefined;
  readonly allowShell?: boolean | undefined;
  readonly allowUnsafeEnv?: boolean | undefined;
  readonly network?: boolean | undefined;
}

export async function updateConnector(ctx: ServiceContext, actor: Actor, orgId: string, id: string, change: ConnectorChange): Promise<ConnectorView> {
  authorize(actor, 'connector.update');
  const existing = await requireConnector(ctx, actor, orgId, id);
  const t = existing.transport;
  const stdioFields =
    change.command !== undefined ||
    change.args !== undefined ||
    change.env !== undefined ||
    change.cwd !== undefined ||
    change.allowShell !== undefined ||
    change.allowUnsafeEnv !== undefined ||
    change.network !== undefined;
  const httpFields = change.url !== undefined || change.headers !== undefined || change.allowPrivateNetwork !== undefined || change.propagateTraceContext !== undefined;
  if (t.type === 'stdio' || stdioFields) authorize(actor, 'connector.manage_stdio');
  if ((t.type === 'http' && stdioFields) || (t.type === 'stdio' && httpFields)) {
    throw new GatehouseError('bad_request', `This connector is of type ${t.type}; its type cannot be changed`);
  }
  if (change.name !== undefined) checkConnectorName(change.name);
  let transport: ConnectorTransport;
  let allowances: string[] = [];
  if (t.type === 'http') {
    if (change.allowPrivateNetwork === true) requireOperatorForPrivateNetwork(actor, true);
    const allowPrivateNetwork =
      change.allowPrivateNetwork ?? (t.allowPrivateNetwork === true && (change.url === undefined || actor.via === 'operator'));
    const checked = change.url === undefined && allowPrivateNetwork === (t.allowPrivateNetwork === true) ? undefined : await validateUrl(ctx, change.url ?? t.url, allowPrivateNetwork);
    allowances = checked?.allowances ?? [];
    transport = {
      type: 'http',
      url: checked?.url ?? t.url,
      headers: change.headers === undefined ? t.headers : seal(ctx, orgId, id, 'header', change.headers),
      ...(allowPrivateNetwork ? { allowPrivateNetwork } : {}),
      ...((change.propagateTraceContext ?? t.propagateTraceContext) === true ? { propagateTraceContext: true } : {}),
    };
  } else {
    if (change.command?.trim() === '') throw new GatehouseError('bad_request', 'A stdio connector needs a command');
    const flags = stdioFlags({
      allowShell: change.allowShell ?? t.allowShell,
      allowUnsafeEnv: change.allowUnsafeEnv ?? t.allowUnsafeEnv,
      network: change.network ?? t.network,
    });
    const command = change.command ?? t.command;
    const args = change.args === undefined ? t.args : [...change.args];
    try {
      checkStdioRequest({ command, args, envNames: (change.env ?? t.env).map((v) => v.name), ...flags });
    } catch (err) {
      await auditRefusal(ctx, actor, orgId, 'connector.update', existing.name, err);
      throw err;
    }
    transport = {
      type: 'stdio',
      command,
      args,
      env: change.env === undefined ? t.env : seal(ctx, orgId, id, 'env', change.env),
      cwd: change.cwd ?? t.cwd,
      ...flags,
    };
  }
  const record: ConnectorRecord = { ...existing, name: change.name ?? existing.name, transport, updatedAt: new Date().toISOString() };
  try {
    if (!(await ctx.store.updateConnector(record))) throw new GatehouseError('not_found', NO_SUCH_CONNECTOR);
  } catch (err) {
    if (err instanceof DuplicateError) throw new GatehouseError('conflict', `A connector named '${record.name}' already exists`);
    throw err;
  }
  const view = viewConnector(record);
  await ctx.audit.record(changeEvent(orgId, actor, 'connector.update', { connector: record.name }, view));
  await auditAllowances(ctx, actor, orgId, record.name, allowances);
  return view;
}

/** A connector stored with a non-public destination gets a record of its own naming the allowance that admitted it. */
async function auditAllowances(ctx: ServiceContext, actor: Actor, orgId: string, connector: string, allowances: readonly string[]): Promise<void> {
  if (allowances.length === 0) return;
  await ctx.audit.record(changeEvent(orgId, actor, 'connector.egress_allowance', { connector }, { allowances }));
}

export async function removeConnector(ctx: ServiceContext, actor: Actor, orgId: string, id: string): Promise<void> {
  authorize(actor, 'connector.delete');
  const existing = await requireConnector(ctx, actor, orgId, id);
  if (!(await ctx.store.deleteConnector(orgId, existing.id))) throw new GatehouseError('not_found', NO_SUCH_CONNECTOR);
  await ctx.audit.record(changeEvent(orgId, actor, 'connector.remove', { connector: existing.name }, undefined));
}

/** The CLI names connectors rather than numbering them. */
export async function connectorIdByName(ctx: Pick<ServiceContext, 'store'>, orgId: string, name: string): Promise<string> {
  const existing = await ctx.store.getConnectorByName(orgId, name);
  if (existing === undefined) throw new GatehouseError('not_found', `No connector '${name}'`);
  return existing.id;
}
