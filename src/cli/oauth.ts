import { parseArgs } from 'node:util';
import { addIssuer, DEFAULT_ALGORITHMS, listIssuers, removeIssuer } from '../services/oauth-issuers.ts';
import type { OAuthIssuerRecord } from '../store/types.ts';
import { mcpUrlOf } from './client-config.ts';
import type { CliContext } from './context.ts';
import { out, table, UsageError } from './output.ts';

export const OAUTH_USAGE = `gatehouse oauth issuers add ISSUER --map TOKEN_SCOPE=SCOPE[,SCOPE]... [--require-scope TOKEN_SCOPE]... [--audience URL]
                              [--alg ALG]... [--jwks-uri URL] [--server NAME]... [--require-at-jwt] [--org SLUG] [--json]
gatehouse oauth issuers list [--org SLUG] [--json]
gatehouse oauth issuers remove ISSUER|ID [--org SLUG]
  Agents may present access tokens (JWT) from a trusted issuer instead of an API key. --map grants Gatehouse scopes
  (*, <connector>, <connector>/<tool>) to a token scope value; --require-scope values must all be in every token
  (else 403 insufficient_scope). --audience defaults to the gateway's MCP URL; --alg to ${DEFAULT_ALGORITHMS.join(', ')};
  --jwks-uri to the one in the issuer's discovery metadata. An issuer belongs to one organisation.`;

/** `sub` is the two words after `oauth` (`issuers add`): the only group so far is the trusted issuers. */
export async function oauthCommand(ctx: CliContext, sub: string, rest: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      map: { type: 'string', multiple: true },
      'require-scope': { type: 'string', multiple: true },
      audience: { type: 'string' },
      alg: { type: 'string', multiple: true },
      'jwks-uri': { type: 'string' },
      server: { type: 'string', multiple: true },
      'require-at-jwt': { type: 'boolean' },
      org: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const org = await ctx.org(values.org);
  switch (sub) {
    case 'issuers add': {
      const issuer = positionals[0];
      if (issuer === undefined || positionals.length > 1) throw new UsageError('oauth issuers add needs one ISSUER URL');
      if (values.map === undefined) throw new UsageError('oauth issuers add needs at least one --map TOKEN_SCOPE=SCOPE');
      const record = await addIssuer(ctx, ctx.actor, {
        orgId: org.id,
        issuer,
        audience: values.audience ?? mcpUrlOf(ctx.config),
        algorithms: values.alg,
        jwksUri: values['jwks-uri'],
        scopeMap: parseMap(values.map),
        requiredScopes: values['require-scope'],
        servers: values.server,
        requireAtJwt: values['require-at-jwt'],
      });
      if (values.json === true) out(JSON.stringify(record));
      else {
        out(`Trusting access tokens from ${record.issuer} for ${org.slug} (${record.id})`);
        printIssuer(record);
      }
      return;
    }
    case 'issuers list': {
      const issuers = await listIssuers(ctx, ctx.actor, org.id);
      if (values.json === true) {
        out(JSON.stringify(issuers));
        return;
      }
      table(
        issuers.map((i) => ({
          id: i.id,
          issuer: i.issuer,
          audience: i.audience,
          algorithms: i.algorithms.join(' '),
          scopes: Object.entries(i.scopeMap).map(([k, v]) => `${k}=${v.join(',')}`).join(' '),
          required: i.requiredScopes.join(' ') || '-',
          servers: i.servers === null ? '*' : i.servers.join(' '),
        })),
        ['id', 'issuer', 'audience', 'algorithms', 'scopes', 'required', 'servers'],
      );
      return;
    }
    case 'issuers remove': {
      const which = positionals[0];
      if (which === undefined || positionals.length > 1) throw new UsageError('oauth issuers remove needs one ISSUER or ID');
      const removed = await removeIssuer(ctx, ctx.actor, org.id, which);
      out(`Removed issuer ${removed.issuer} (${removed.id}); its tokens are refused from now on`);
      return;
    }
    default:
      throw new UsageError(OAUTH_USAGE);
  }
}

/** `mcp:read=github,files/read_*` -> { 'mcp:read': ['github', 'files/read_*'] }; repeated token scopes add up. */
function parseMap(entries: readonly string[]): Record<string, string[]> {
  const map: Record<string, string[]> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0 || eq === entry.length - 1) throw new UsageError(`--map takes TOKEN_SCOPE=SCOPE[,SCOPE] (got '${entry}')`);
    const key = entry.slice(0, eq);
    map[key] = [...(Object.hasOwn(map, key) ? (map[key] ?? []) : []), ...entry.slice(eq + 1).split(',').filter(Boolean)];
  }
  return map;
}

function printIssuer(i: OAuthIssuerRecord): void {
  out(`  audience:        ${i.audience}`);
  out(`  algorithms:      ${i.algorithms.join(' ')}`);
  out(`  JWKS:            ${i.jwksUri}`);
  for (const [k, v] of Object.entries(i.scopeMap)) out(`  scope ${k} -> ${v.join(' ')}`);
  out(`  required scopes: ${i.requiredScopes.length === 0 ? '(none)' : i.requiredScopes.join(' ')}`);
  out(`  servers:         ${i.servers === null ? 'every endpoint' : i.servers.join(' ')}`);
  out(`  typ:             ${i.requireAtJwt ? 'at+jwt only' : 'at+jwt, JWT or none'}`);
}
