import type { Egress, EgressOptions } from '../../../egress/egress.ts';
import type { ConnectorOAuth, ConnectorRecord } from '../../../store/types.ts';
import type { UpstreamAuth } from '../http-transport.ts';
import { ClientCredentialsAuth, type OnTokenIssued } from './client-credentials.ts';
import { egressFetcher } from './discovery.ts';

/**
 * One token holder per connector version and gateway: the shared connection and every session's own connection
 * to the same connector use the same token, so a token is fetched once, not once per session. Keyed by the egress
 * of the app (one per gateway), so two gateways in one process (the tests) never share a token.
 */
const holders = new WeakMap<Egress, Map<string, { version: string; auth: UpstreamAuth }>>();

/** Opens one of the connector's sealed OAuth values when a token is requested (never before, never kept). */
export type OAuthOpener = (field: 'client_secret' | 'private_key', ciphertext: string) => Promise<string>;

export function upstreamAuthFor(
  connector: ConnectorRecord,
  oauth: ConnectorOAuth,
  url: URL,
  open: OAuthOpener,
  egress: Egress,
  options: EgressOptions,
  onIssued?: OnTokenIssued,
): UpstreamAuth {
  let byConnector = holders.get(egress);
  if (byConnector === undefined) {
    byConnector = new Map();
    holders.set(egress, byConnector);
  }
  const key = `${connector.orgId}/${connector.id}`;
  const held = byConnector.get(key);
  // A changed connector (new URL, client or secret) starts over: its old token was for the old settings.
  if (held !== undefined && held.version === connector.updatedAt) return held.auth;
  const secret = oauth.clientSecret;
  const privateKey = oauth.privateKey;
  const auth = new ClientCredentialsAuth(
    url,
    {
      clientId: oauth.clientId,
      clientSecret: secret === undefined ? undefined : () => open('client_secret', secret.ciphertext),
      privateKey: privateKey === undefined ? undefined : { alg: privateKey.alg, pem: () => open('private_key', privateKey.ciphertext) },
      scope: oauth.scope,
      authMethod: oauth.authMethod,
      issuer: oauth.issuer,
    },
    // Every URL the upstream's metadata names is an egress destination, held to the connector's own allowance.
    egressFetcher(egress, options),
    onIssued,
  );
  byConnector.set(key, { version: connector.updatedAt, auth });
  return auth;
}
