import { GatehouseError } from '../errors.ts';
import { isSecretFieldName } from '../gateway/audit/redact.ts';
import { CONNECTOR_NAME } from '../gateway/catalog/names.ts';
import { sealOAuthValue } from '../gateway/upstream/oauth/sealing.ts';
import { secretBinding } from '../gateway/upstream/transport.ts';
import { newId } from '../ids.ts';
import { checkStdioRequest } from '../sandbox/stdio-policy.ts';
import { DuplicateError, type ConnectorLimits, type ConnectorOAuth, type ConnectorRecord, type ConnectorTransport, type ConnectorValue } from '../store/types.ts';
import type { ConnectorHealthView } from '../gateway/upstream/health-snapshot.ts';
import { authorize, changeEvent, requireSameOrg, type Actor, type ServiceContext } from './context.ts';

/** A header or environment value as given by an operator, before sealing. */
export interface ValueInput {
  readonly name: string;
  readonly value: string;
  readonly secret: boolean;
}

/** OAuth client credentials for an upstream that wants access tokens; the secret is sealed, never shown again. */
export interface OAuthInput {
  /** client_credentials (the default): one token for the connector; user: each person connects their own account. */
  readonly mode?: ConnectorOAuth['mode'] | undefined;
  /** Required for client_credentials; in user mode, absent means a client ID metadata document or registration. */
  readonly clientId?: string | undefined;
  readonly clientSecret?: string | undefined;
  readonly scope?: string | undefined;
  readonly authMethod?: ConnectorOAuth['authMethod'];
  readonly issuer?: string | undefined;
  /** For private_key_jwt: a PKCS#8 PEM private key and its JWS algorithm (ES256 by default). */
  readonly privateKeyPem?: string | undefined;
  readonly signingAlg?: string | undefined;
}

type TransportInput =
  | {
      readonly type: 'http';
      readonly url: string;
      readonly headers: readonly ValueInput[];
      /** Non-public addresses allowed for this connector: the operator's alone (refused for anyone else). */
      readonly allowPrivateNetwork?: boolean | undefined;
      readonly oauth?: OAuthInput | undefined;
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

export type NewConnector = TransportInput & { readonly orgId: string; readonly name: string; readonly limits?: ConnectorLimits | undefined };

/** Each limit's allowed range: a value outside it is refused with a clear 400, never clamped. */
export const LIMIT_RANGES: { readonly [K in keyof Required<ConnectorLimits>]: readonly [min: number, max: number] } = {
  timeoutMs: [100, 3_600_000],
  maxCallMs: [100, 24 * 3_600_000],
  maxConcurrent: [1, 100_000],
  breakerFailures: [1, 1000],
  breakerOpenMs: [100, 3_600_000],
};

/** The limits to store: only those given, each a whole number in its range, and a timeout no longer than the maximum. */
export function checkLimits(limits: ConnectorLimits | undefined): ConnectorLimits | undefined {
  if (limits === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(limits) as [keyof ConnectorLimits, unknown][]) {
    const range = Object.hasOwn(LIMIT_RANGES, name) ? LIMIT_RANGES[name] : undefined;
    if (range === undefined) throw new GatehouseError('bad_request', `Unknown limit '${name.slice(0, 64)}'`);
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < range[0] || value > range[1]) {
      throw new GatehouseError('bad_request', `Limit ${name} must be a whole number from ${String(range[0])} to ${String(range[1])}`);
    }
    out[name] = value;
  }
  if (out.timeoutMs !== undefined && out.maxCallMs !== undefined && out.timeoutMs > out.maxCallMs) {
    throw new GatehouseError('bad_request', 'Limit timeoutMs cannot be longer than maxCallMs');
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

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
  /** Whether a client secret is held is shown, never the secret. */
  readonly oauth?: { mode: 'client_credentials' | 'user'; clientId: string; clientSecret: boolean; privateKey?: string; scope?: string; authMethod?: string; issuer?: string };
  /** Shown (and so audited) only when set. */
  readonly allowShell?: true;
  readonly allowUnsafeEnv?: true;
  readonly network?: true;
  /** The connector's own limits (unset ones take the gateway defaults). */
  readonly limits?: ConnectorLimits;
  /** How the running gateway sees it; absent when no gateway reports it. */
  readonly health?: ConnectorHealthView;
  readonly createdAt: string;
}

const NO_SUCH_CONNECTOR = 'No such connector';
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const SECRET_ENV_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE|CREDENTIAL|AUTH/i;
const FORBIDDEN_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'mcp-session-id', 'mcp-protocol-version']);

export function viewConnector(c: ConnectorRecord, health?: ConnectorHealthView): ConnectorView {
  const extra = { ...(c.transport.limits === undefined ? {} : { limits: c.transport.limits }), ...(health === undefined ? {} : { health }) };
  return { ...viewTransport(c), ...extra };
}

function viewTransport(c: ConnectorRecord): ConnectorView {
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
        ...(t.oauth === undefined ? {} : { oauth: viewOAuth(t.oauth) }),
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

function viewOAuth(o: ConnectorOAuth): NonNullable<ConnectorView['oauth']> {
  return {
    mode: o.mode,
    clientId: o.clientId,
    clientSecret: o.clientSecret !== undefined,
    ...(o.privateKey === undefined ? {} : { privateKey: o.privateKey.alg }),
    ...(o.scope === undefined ? {} : { scope: o.scope }),
    ...(o.authMethod === undefined ? {} : { authMethod: o.authMethod }),
    ...(o.issuer === undefined ? {} : { issuer: o.issuer }),
  };
}

const SIGNING_ALGS = new Set(['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA']);
const CLIENT_ID = /^[\x21-\x7e]{1,512}$/;
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/;

/** Checks and seals OAuth client settings; a public client (`none`) has no secret, any other needs one. */
async function sealOAuth(ctx: ServiceContext, orgId: string, id: string, o: OAuthInput): Promise<ConnectorOAuth> {
  if (o.issuer !== undefined) ctx.egress.parse(o.issuer);
  const mode = o.mode ?? 'client_credentials';
  const clientId = o.clientId ?? '';
  if (!(mode === 'user' && clientId === '') && !CLIENT_ID.test(clientId)) throw new GatehouseError('bad_request', 'OAuth client id must be 1-512 visible characters');
  if (mode === 'user' && (o.privateKeyPem !== undefined || o.authMethod === 'private_key_jwt')) throw new GatehouseError('bad_request', 'OAuth per user takes a client secret or none, not a private key');
  if (mode === 'user' && clientId === '' && (o.clientSecret !== undefined || o.authMethod !== undefined)) throw new GatehouseError('bad_request', 'A client secret or auth method needs the client id it belongs to');
  if (o.scope !== undefined && (o.scope.length > 1024 || !SCOPE.test(o.scope))) throw new GatehouseError('bad_request', 'OAuth scope must be space-separated scope tokens (RFC 6749 §3.3)');
  const secret = o.clientSecret === undefined || o.clientSecret === '' ? undefined : o.clientSecret;
  if (secret !== undefined && secret.length > 4096) throw new GatehouseError('bad_request', 'OAuth client secret is too long');
  if (o.authMethod === 'none' && secret !== undefined) throw new GatehouseError('bad_request', 'A public OAuth client (auth method none) has no client secret');
  if ((o.authMethod === 'client_secret_basic' || o.authMethod === 'client_secret_post') && secret === undefined) {
    throw new GatehouseError('bad_request', `OAuth auth method ${o.authMethod} needs a client secret`);
  }
  const pem = o.privateKeyPem === undefined || o.privateKeyPem === '' ? undefined : o.privateKeyPem;
  const alg = o.signingAlg ?? 'ES256';
  if (pem !== undefined && (pem.length > 16_384 || !pem.includes('-----BEGIN PRIVATE KEY-----'))) throw new GatehouseError('bad_request', 'OAuth private key must be a PKCS#8 PEM key');
  if (!SIGNING_ALGS.has(alg)) throw new GatehouseError('bad_request', `OAuth signing algorithm must be one of ${[...SIGNING_ALGS].join(', ')}`);
  if ((o.authMethod === 'private_key_jwt' && pem === undefined) || (pem !== undefined && o.authMethod !== undefined && o.authMethod !== 'private_key_jwt')) {
    throw new GatehouseError('bad_request', 'OAuth auth method private_key_jwt needs a private key, and a private key needs private_key_jwt');
  }
  return {
    mode,
    clientId,
    ...(secret === undefined ? {} : { clientSecret: { ciphertext: await sealOAuthValue(ctx.vault, orgId, id, 'client_secret', secret) } }),
    ...(pem === undefined ? {} : { privateKey: { ciphertext: await sealOAuthValue(ctx.vault, orgId, id, 'private_key', pem), alg } }),
    ...(o.scope === undefined ? {} : { scope: o.scope }),
    ...(o.authMethod === undefined ? {} : { authMethod: o.authMethod }),
    ...(o.issuer === undefined ? {} : { issuer: o.issuer }),
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

async function seal(ctx: ServiceContext, orgId: string, id: string, kind: 'header' | 'env', values: readonly ValueInput[]): Promise<ConnectorValue[]> {
  const seen = new Set<string>();
  const out: ConnectorValue[] = [];
  for (const v of values) {
    const valid = kind === 'header' ? HEADER_NAME.test(v.name) && !FORBIDDEN_HEADERS.has(v.name.toLowerCase()) : ENV_NAME.test(v.name);
    if (!valid) throw new GatehouseError('bad_request', `Invalid ${kind} name '${v.name.slice(0, 64)}'`);
    const key = kind === 'header' ? v.name.toLowerCase() : v.name;
    if (seen.has(key)) throw new GatehouseError('bad_request', `Duplicate ${kind} '${v.name}'`);
    seen.add(key);
    // Secure by default: a value under a credential-looking name is sealed even if not marked secret.
    const secret = v.secret || isSecretFieldName(v.name) || (kind === 'env' && SECRET_ENV_NAME.test(v.name));
    out.push(
      secret
        ? { name: v.name, secret: true as const, ciphertext: await ctx.vault.seal(orgId, v.value, secretBinding(orgId, id, kind, v.name)) }
        : { name: v.name, secret: false as const, value: v.value },
    );
  }
  return out;
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
    const headers = await seal(ctx, orgId, id, 'header', input.headers);
    const oauth = input.oauth === undefined ? undefined : await sealOAuth(ctx, orgId, id, input.oauth);
    const propagate = input.propagateTraceContext === true ? { propagateTraceContext: true } : {};
    return { transport: { type: 'http', url, headers, ...(allowPrivateNetwork ? { allowPrivateNetwork } : {}), ...(oauth === undefined ? {} : { oauth }), ...propagate }, allowances };
  }
  if (input.command.trim() === '') throw new GatehouseError('bad_request', 'A stdio connector needs a command');
  checkStdioRequest({ ...input, envNames: input.env.map((v) => v.name) });
  return { transport: { type: 'stdio', command: input.command, args: [...input.args], env: await seal(ctx, orgId, id, 'env', input.env), cwd: input.cwd, ...stdioFlags(input) }, allowances: [] };
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
  const limits = checkLimits(input.limits);
  const transport: ConnectorTransport = limits === undefined ? built.transport : { ...built.transport, limits };
  const allowances = built.allowances;
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

export async function listConnectors(ctx: Pick<ServiceContext, 'store' | 'connectorHealth'>, actor: Actor, orgId: string): Promise<ConnectorView[]> {
  authorize(actor, 'connector.read');
  requireSameOrg(actor, orgId, NO_SUCH_CONNECTOR);
  return (await ctx.store.listConnectors(orgId)).map((c) => viewConnector(c, ctx.connectorHealth?.(c.id)));
}

async function requireConnector(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string, id: string): Promise<ConnectorRecord> {
  requireSameOrg(actor, orgId, NO_SUCH_CONNECTOR);
  const c = await ctx.store.getConnector(orgId, id);
  if (c === undefined) throw new GatehouseError('not_found', NO_SUCH_CONNECTOR);
  return c;
}

export async function getConnector(ctx: Pick<ServiceContext, 'store' | 'connectorHealth'>, actor: Actor, orgId: string, id: string): Promise<ConnectorView> {
  authorize(actor, 'connector.read');
  const c = await requireConnector(ctx, actor, orgId, id);
  return viewConnector(c, ctx.connectorHealth?.(c.id));
}

/** What a change may set. Headers or environment, when given, replace the whole list: secrets are write-only. */
export interface ConnectorChange {
  readonly name?: string | undefined;
  readonly url?: string | undefined;
  readonly headers?: readonly ValueInput[] | undefined;
  /** The operator's alone; a URL changed by anyone else drops the allowance (it was granted for the old one). */
  readonly allowPrivateNetwork?: boolean | undefined;
  /** Replaces the OAuth settings (the secret must be given again); null removes them. */
  readonly oauth?: OAuthInput | null | undefined;
  readonly propagateTraceContext?: boolean | undefined;
  readonly command?: string | undefined;
  readonly args?: readonly string[] | undefined;
  readonly env?: readonly ValueInput[] | undefined;
  readonly cwd?: string | undefined;
  readonly allowShell?: boolean | undefined;
  readonly allowUnsafeEnv?: boolean | undefined;
  readonly network?: boolean | undefined;
  /** Replaces the connector's limits; null clears them (the gateway defaults apply). */
  readonly limits?: ConnectorLimits | null | undefined;
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
  const httpFields = change.url !== undefined || change.headers !== undefined || change.allowPrivateNetwork !== undefined || change.oauth !== undefined || change.propagateTraceContext !== undefined;
  if (t.type === 'stdio' || stdioFields) authorize(actor, 'connector.manage_stdio');
  if ((t.type === 'http' && stdioFields) || (t.type === 'stdio' && httpFields)) {
    throw new GatehouseError('bad_request', `This connector is of type ${t.type}; its type cannot be changed`);
  }
  if (change.name !== undefined) checkConnectorName(change.name);
  let transport: ConnectorTransport;
  let allowances: string[] = [];
  if (t.type === 'http') {
    if (change.allowPrivateNetwork === true) requireOperatorForPrivateNetwork(actor, true);
    // The client secret goes to whatever authorization server the upstream names: a new URL needs it given again.
    if (change.url !== undefined && change.url !== t.url && t.oauth !== undefined && change.oauth === undefined) {
      throw new GatehouseError('bad_request', 'Changing the URL of a connector that uses OAuth needs its OAuth settings again');
    }
    const allowPrivateNetwork =
      change.allowPrivateNetwork ?? (t.allowPrivateNetwork === true && (change.url === undefined || actor.via === 'operator'));
    const checked = change.url === undefined && allowPrivateNetwork === (t.allowPrivateNetwork === true) ? undefined : await validateUrl(ctx, change.url ?? t.url, allowPrivateNetwork);
    allowances = checked?.allowances ?? [];
    transport = {
      type: 'http',
      url: checked?.url ?? t.url,
      headers: change.headers === undefined ? t.headers : await seal(ctx, orgId, id, 'header', change.headers),
      ...(allowPrivateNetwork ? { allowPrivateNetwork } : {}),
      ...((change.propagateTraceContext ?? t.propagateTraceContext) === true ? { propagateTraceContext: true } : {}),
    };
    const oauth = change.oauth === undefined ? t.oauth : change.oauth === null ? undefined : await sealOAuth(ctx, orgId, id, change.oauth);
    if (oauth !== undefined) transport = { ...transport, oauth };
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
      env: change.env === undefined ? t.env : await seal(ctx, orgId, id, 'env', change.env),
      cwd: change.cwd ?? t.cwd,
      ...flags,
    };
  }
  const limits = change.limits === undefined ? t.limits : change.limits === null ? undefined : checkLimits(change.limits);
  if (limits !== undefined) transport = { ...transport, limits };
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
