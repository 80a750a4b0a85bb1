/**
 * A real OAuth authorization server for the OAuth resource-server tests (idp.ts is the OpenID Provider people sign in
 * with): oidc-provider on a loopback port, issuing JWT access tokens
 * (RFC 9068) for resource indicators (RFC 8707) to clients using client_credentials. The test holds the signing keys,
 * so it can also sign the tokens a real IdP never would (wrong claims, other algorithms, tampered).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import Provider from 'oidc-provider';

export interface Idp {
  readonly issuer: string;
  /** The IdP's signing keys: ES256 (what it signs with) and RS256, both in its published JWKS. */
  readonly keys: { readonly es256: CryptoKey; readonly rs256: CryptoKey; readonly rsaPublicPem: string };
  /** An access token for `resource` with these scopes, from the token endpoint as any client would get one. */
  token(scope: string, resource: string): Promise<string>;
  close(): Promise<void>;
}

export const IDP_SCOPES = ['mcp', 'mcp:tools', 'mcp:all', 'mcp:other'];
const CLIENT_SECRET = 'test-client-secret-not-a-real-one';

export async function startIdp(clientId: string): Promise<Idp> {
  const es = await generateKeyPair('ES256', { extractable: true });
  const rs = await generateKeyPair('RS256', { extractable: true });
  const jwk = async (key: CryptoKey, kid: string, alg: string): Promise<JWK> => ({ ...(await exportJWK(key)), kid, alg, use: 'sig' });
  const http: Server = createServer();
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${String((http.address() as AddressInfo).port)}`;
  const provider = new Provider(issuer, {
    jwks: { keys: [await jwk(es.privateKey, 'es-1', 'ES256'), await jwk(rs.privateKey, 'rs-1', 'RS256')] },
    clients: [
      { client_id: clientId, client_secret: CLIENT_SECRET, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], scope: IDP_SCOPES.join(' ') },
    ],
    scopes: IDP_SCOPES,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resourceIndicator) => ({
          scope: IDP_SCOPES.join(' '),
          audience: resourceIndicator,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 300,
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
  });
  const handle = provider.callback();
  http.on('request', (req, res) => {
    void handle(req, res);
  });
  const rsaPublicPem = (await import('node:crypto')).KeyObject.from(rs.publicKey).export({ type: 'spki', format: 'pem' }).toString();
  return {
    issuer,
    keys: { es256: es.privateKey, rs256: rs.privateKey, rsaPublicPem },
    async token(scope, resource) {
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${clientId}:${CLIENT_SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource }),
      });
      const body = (await res.json()) as { access_token?: string; error?: string };
      if (body.access_token === undefined) throw new Error(`the IdP refused a token: ${body.error ?? String(res.status)}`);
      return body.access_token;
    },
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => {
          resolve();
        });
        http.closeAllConnections();
      }),
  };
}
