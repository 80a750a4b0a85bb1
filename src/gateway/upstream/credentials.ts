import { GatehouseError } from '../../errors.ts';
import type { AuditEvent, ConnectorRecord, ConnectorValue } from '../../store/types.ts';
import { envelopeVersion } from '../../vault/envelope.ts';
import type { Vault } from '../../vault/vault.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { auditEvent } from '../audit/event.ts';
import type { UpstreamAuth } from './http-transport.ts';
import type { OAuthOpener } from './oauth/connector-auth.ts';
import { openOAuthValue } from './oauth/sealing.ts';

/** What a connection is made with: its values with secrets opened, and the opener of its OAuth values (on use). */
export interface OpenedCredentials {
  readonly values: Record<string, string>;
  readonly oauth: OAuthOpener;
  /** A connector with OAuth per user: the tokens of the person the connection is for (user-tokens.ts). */
  readonly userAuth?: UpstreamAuth | undefined;
}

/** Where a connector's secret value is bound: a ciphertext only opens in the row and field it was sealed for. */
export function secretBinding(orgId: string, connectorId: string, kind: 'header' | 'env', name: string): string {
  return `connector/${orgId}/${connectorId}/${kind}/${name}`;
}

/** On whose request a credential is opened: a session's key, or the gateway itself for an organisation's shared connection. */
export interface Requester {
  readonly keyId: string | null;
  readonly user: string;
  /**
   * A session's person, for a connector with OAuth per user: their id (their own tokens), null when the session's
   * key acts for no person (no tokens at all); absent for the connector's shared connection.
   */
  readonly userId?: string | null | undefined;
}

/**
 * The audit record of one opening of a credential for use, for openers outside this file (an OAuth token refreshed
 * for a connector): which credentials by name, which connector, for whom, and whether it opened. Never a value.
 */
export function credentialOpenEvent(f: {
  readonly orgId: string;
  readonly connector: string;
  readonly purpose: string;
  readonly requester: Requester;
  readonly credentials: readonly string[];
  readonly failed?: boolean;
}): AuditEvent {
  return auditEvent({
    orgId: f.orgId,
    actor: { keyId: f.requester.keyId, user: f.requester.user },
    action: 'vault.credential_open',
    connector: f.connector,
    target: f.purpose,
    decision: f.failed === true ? 'error' : 'allow',
    reason: f.failed === true ? 'credential_unavailable' : null,
    detail: { credentials: f.credentials },
  });
}

export interface CredentialOpener {
  /**
   * The connector's headers (HTTP) or environment (stdio), secret values opened, for a connection about to be made.
   * Audited: which credentials, of which connector, for whom; never a value. A value that does not open throws
   * `credential_unavailable` (audited too), and the connection is not made.
   */
  open(connector: ConnectorRecord, requester: Requester): Promise<OpenedCredentials>;
  /** The secret values alone, for the echo scrub to recognise (not a use: not audited). */
  secrets(connector: ConnectorRecord): Promise<string[]>;
}

function valuesOf(c: ConnectorRecord): { kind: 'header' | 'env'; values: readonly ConnectorValue[] } {
  return c.transport.type === 'http' ? { kind: 'header', values: c.transport.headers } : { kind: 'env', values: c.transport.env };
}

/**
 * The one place connector secrets are opened (the transport injects what this returns, the echo scrub looks for
 * it). Costs one AES-GCM decryption per secret value per connection opened; the data key comes from the vault's
 * cache (vault.ts).
 */
export function createCredentialOpener(deps: {
  readonly vault: Pick<Vault, 'open'>;
  readonly audit: AuditLog;
  /** Per-user upstream OAuth; a connector in `user` mode is not connected without it. */
  readonly userAuth?: (connector: ConnectorRecord, userId: string | null | undefined) => UpstreamAuth;
}): CredentialOpener {
  async function openAll(c: ConnectorRecord): Promise<{ values: Record<string, string>; opened: { kind: string; name: string; dataKey: number | 'legacy' }[] }> {
    const { kind, values } = valuesOf(c);
    const out: Record<string, string> = {};
    const opened: { kind: string; name: string; dataKey: number | 'legacy' }[] = [];
    for (const v of values) {
      if (!v.secret) {
        out[v.name] = v.value;
        continue;
      }
      try {
        out[v.name] = await deps.vault.open(c.orgId, v.ciphertext, secretBinding(c.orgId, c.id, kind, v.name));
      } catch (err) {
        throw new GatehouseError('credential_unavailable', `The credential '${v.name}' of connector '${c.name}' cannot be opened; the request was not sent`, {
          cause: err,
          data: { credential: v.name, kind },
        });
      }
      opened.push({ kind, name: v.name, dataKey: envelopeVersion(v.ciphertext) ?? 'legacy' });
    }
    return { values: out, opened };
  }

  return {
    async open(c, requester) {
      const base = { orgId: c.orgId, actor: { keyId: requester.keyId, user: requester.user }, action: 'vault.credential_open', connector: c.name, target: c.transport.type === 'http' ? 'http_headers' : 'stdio_env' };
      let result: Awaited<ReturnType<typeof openAll>>;
      try {
        result = await openAll(c);
      } catch (err) {
        const e = err as GatehouseError;
        await deps.audit.record(auditEvent({ ...base, decision: 'error', reason: 'credential_unavailable', detail: { credential: e.data?.credential ?? null } }));
        throw err;
      }
      if (result.opened.length > 0) await deps.audit.record(auditEvent({ ...base, decision: 'allow', detail: { credentials: result.opened } }));
      // An OAuth value is opened when a token is requested, each time audited like the connection's own.
      const oauth: OAuthOpener = async (field, ciphertext) => {
        const event = { orgId: c.orgId, connector: c.name, purpose: 'oauth_token_request', requester, credentials: [`oauth/${field}`] };
        let value: string;
        try {
          value = await openOAuthValue(deps.vault, c.orgId, c.id, field, ciphertext);
        } catch (err) {
          await deps.audit.record(credentialOpenEvent({ ...event, failed: true }));
          throw new GatehouseError('credential_unavailable', `The OAuth ${field.replace('_', ' ')} of connector '${c.name}' cannot be opened; no token was requested`, { cause: err });
        }
        await deps.audit.record(credentialOpenEvent(event));
        return value;
      };
      const t = c.transport;
      const userAuth = t.type === 'http' && t.oauth?.mode === 'user' ? deps.userAuth?.(c, requester.userId) : undefined;
      return { values: result.values, oauth, userAuth };
    },
    async secrets(c) {
      const { values } = valuesOf(c);
      const all = await openAll(c);
      const out = values.filter((v) => v.secret).map((v) => all.values[v.name] ?? '');
      const t = c.transport;
      if (t.type === 'http' && t.oauth !== undefined) {
        if (t.oauth.clientSecret !== undefined) out.push(await openOAuthValue(deps.vault, c.orgId, c.id, 'client_secret', t.oauth.clientSecret.ciphertext));
        if (t.oauth.privateKey !== undefined) out.push(await openOAuthValue(deps.vault, c.orgId, c.id, 'private_key', t.oauth.privateKey.ciphertext));
      }
      return out;
    },
  };
}
