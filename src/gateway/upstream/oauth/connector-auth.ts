import type { Egress, EgressOptions } from '../../../egress/egress.ts';
import type { ConnectorOAuth, ConnectorRecord } from '../../../store/types.ts';
import type { SecretBox } from '../../../vault/secret-box.ts';
import type { UpstreamAuth } from '../http-transport.ts';
import { ClientCredentialsAuth, type OnTokenIssued } from './client-credentials.ts';
import { egressFetcher } from './discovery.ts';
import { openOAuthValue } from './sealing.ts';

/**
 * One token holder per connector version and gateway: the shared connection and every session's own connection
 * to the same connector use the same token, so a token is fetched once, not once per session. Keyed by the egress
 * of the app (one per gateway), so two gateways in one process (the tests) never share a token.
 */
const holders = new WeakMap<Egress, Map<string, { version: string; auth: UpstreamAuth }>>();

export function upstreamAuthFor(
  connector: ConnectorRecord,
  oauth: ConnectorOAuth,
  url: URL,
  box: SecretBox,
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
  const auth = new ClientCredentialsAuth(
    url,
    {
      clientId: oauth.clientId,
      clientSecret: secret === undefined ? undefined : () => openOAuthValue(box, connector.orgId, connector.id, 'client_secret', secret.ciphertext),
      privateKey:
        oauth.privateKey === undefined
          ? undefined
          : { alg: oauth.privateKey.alg, pem: () => openOAuthValue(box, connector.orgId, connector.id, 'private_key', (oauth.privateKey as { ciphertext: string }).ciphertext) },
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
