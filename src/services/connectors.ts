import { GatehouseError } from '../errors.ts';
import { isSecretFieldName } from '../gateway/audit/redact.ts';
import { CONNECTOR_NAME } from '../gateway/catalog/names.ts';
import { secretBinding } from '../gateway/upstream/transport.ts';
import { newId } from '../ids.ts';
import { DuplicateError, type ConnectorRecord, type ConnectorTransport, type ConnectorValue } from '../store/types.ts';
import { changeEvent, type Actor, type ServiceContext } from './context.ts';

/** A header or environment value as given by an operator, before sealing. */
export interface ValueInput {
  readonly name: string;
  readonly value: string;
  readonly secret: boolean;
}

export type NewConnector =
  | { readonly orgId: string; readonly name: string; readonly type: 'http'; readonly url: string; readonly headers: readonly ValueInput[] }
  | {
      readonly orgId: string;
      readonly name: string;
      readonly type: 'stdio';
      readonly command: string;
      readonly args: readonly string[];
      readonly env: readonly ValueInput[];
      readonly cwd?: string | undefined;
    };

/** A connector as it may be shown: secret values are reduced to their name. */
export interface ConnectorView {
  readonly id: string;
  readonly name: string;
  readonly type: 'http' | 'stdio';
  readonly url?: string;
  readonly command?: string;
  readonly args?: readonly string[];
  readonly headers?: readonly { name: string; secret: boolean; value?: string }[];
  readonly env?: readonly { name: string; secret: boolean; value?: string }[];
  readonly createdAt: string;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const SECRET_ENV_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE|CREDENTIAL|AUTH/i;
const FORBIDDEN_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'mcp-session-id', 'mcp-protocol-version']);

export function viewConnector(c: ConnectorRecord): ConnectorView {
  const show = (v: ConnectorValue) => (v.secret ? { name: v.name, secret: true } : { name: v.name, secret: false, value: v.value });
  const t = c.transport;
  return t.type === 'http'
    ? { id: c.id, name: c.name, type: 'http', url: t.url, headers: t.headers.map(show), createdAt: c.createdAt }
    : { id: c.id, name: c.name, type: 'stdio', command: t.command, args: t.args, env: t.env.map(show), createdAt: c.createdAt };
}

function validateUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new GatehouseError('bad_request', 'Connector URL is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new GatehouseError('bad_request', 'Connector URL must be http:// or https://');
  // Credentials in a URL end up in logs and listings; they belong in a secret header.
  if (url.username !== '' || url.password !== '') throw new GatehouseError('bad_request', 'Put credentials in a secret header, not in the URL');
  return url.toString();
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

export async function addConnector(ctx: ServiceContext, actor: Actor, input: NewConnector): Promise<ConnectorView> {
  if (!CONNECTOR_NAME.test(input.name)) {
    throw new GatehouseError('bad_request', 'Connector name must be 1-32 lowercase letters, digits or inner hyphens (no underscores)');
  }
  const id = newId('con');
  let transport: ConnectorTransport;
  if (input.type === 'http') {
    transport = { type: 'http', url: validateUrl(input.url), headers: seal(ctx, input.orgId, id, 'header', input.headers) };
  } else {
    if (input.command.trim() === '') throw new GatehouseError('bad_request', 'A stdio connector needs a command');
    transport = { type: 'stdio', command: input.command, args: [...input.args], env: seal(ctx, input.orgId, id, 'env', input.env), cwd: input.cwd };
  }
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
  return view;
}

export async function listConnectors(ctx: Pick<ServiceContext, 'store'>, orgId: string): Promise<ConnectorView[]> {
  return (await ctx.store.listConnectors(orgId)).map(viewConnector);
}

export async function removeConnector(ctx: ServiceContext, actor: Actor, orgId: string, name: string): Promise<void> {
  const existing = await ctx.store.getConnectorByName(orgId, name);
  if (existing === undefined || !(await ctx.store.deleteConnector(orgId, existing.id))) {
    throw new GatehouseError('not_found', `No connector '${name}'`);
  }
  await ctx.audit.record(changeEvent(orgId, actor, 'connector.remove', { connector: name }, undefined));
}
