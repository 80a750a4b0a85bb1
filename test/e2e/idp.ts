/**
 * A real OpenID Provider for the tests: `oidc-provider` on an ephemeral loopback port, with one confidential client.
 * Its login page signs in whoever the test named last (`idp.nextLogin`), with the `amr` the test chose, so a test can
 * play the person at the IdP without a form. Everything else (discovery, PKCE, codes, ID tokens, JWKS) is the library's.
 */
import { createServer, type Server } from 'node:http';
import Provider, { type Configuration } from 'oidc-provider';
import { freePort } from './harness.ts';

export interface IdpLogin {
  email: string;
  emailVerified: boolean;
  amr: string[];
}

export interface Idp {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  nextLogin: IdpLogin;
  close(): Promise<void>;
}

export async function startIdp(name: string, redirectUris: string[]): Promise<Idp> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${String(port)}`;
  const clientId = `gatehouse-${name}`;
  const clientSecret = `secret-of-${name}-${String(port)}-${Math.random().toString(36).slice(2)}`;
  const accounts = new Map<string, IdpLogin>();
  const idp: Idp = {
    issuer,
    clientId,
    clientSecret,
    nextLogin: { email: `someone@${name}.example`, emailVerified: true, amr: ['pwd'] },
    close: () => Promise.resolve(),
  };

  const configuration: Configuration = {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: redirectUris,
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    // amr rides in the ID token, as most IdPs send it (Okta, Entra ID, Keycloak).
    claims: { openid: ['sub', 'amr', 'auth_time'], email: ['email', 'email_verified'] },
    cookies: { keys: [`cookie-key-${name}`] },
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, sub) => {
      const login = accounts.get(sub);
      if (login === undefined) return undefined;
      return { accountId: sub, claims: () => ({ sub, email: login.email, email_verified: login.emailVerified }) };
    },
    // Consent is not what these tests are about: every sign-in is granted the scopes asked for.
    loadExistingGrant: async (ctx) => {
      const accountId = ctx.oidc.session?.accountId;
      const client = ctx.oidc.client;
      if (accountId === undefined || client === undefined) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  };
  const provider = new Provider(issuer, configuration);
  const handle = provider.callback();

  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith('/interaction/') === true) {
      const login = { ...idp.nextLogin };
      const sub = `sub-${login.email}`;
      accounts.set(sub, login);
      provider
        .interactionFinished(req, res, { login: { accountId: sub, amr: login.amr } }, { mergeWithLastSubmission: false })
        .catch(() => {
          res.statusCode = 500;
          res.end();
        });
      return;
    }
    void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  idp.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
      server.closeAllConnections();
    });
  return idp;
}
