import type { OAuthIssuerRecord, OAuthIssuerStore } from '../../store/types.ts';

/** RFC 9728: where protected resource metadata is served; the resource's path follows it. */
export const METADATA_PREFIX = '/.well-known/oauth-protected-resource';

export interface ResourceMetadataDeps {
  readonly issuers: Pick<OAuthIssuerStore, 'listAllOAuthIssuers'>;
  /** The organisation a slug names, for the `?org=` hint. */
  readonly orgIdOf: (slug: string) => Promise<string | undefined>;
  /** The base URL clients reach the gateway at (ending in `/`): the public URL, else the bound host and port. */
  readonly base: () => string;
}

/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728) for the MCP endpoints, as the MCP authorization specification asks
 * of a resource server. The resource of `/mcp` is described at `/.well-known/oauth-protected-resource/mcp` (and, for
 * clients that look only there, at the bare well-known path); a virtual server's at `.../servers/{name}/mcp`.
 *
 * A request for metadata is unauthenticated, so it names no organisation: `authorization_servers` lists every
 * organisation's issuers that may be used on that endpoint (issuer URLs are public: each IdP publishes its own
 * discovery document). `?org=SLUG` narrows the list to one organisation's; an unknown slug gets an empty list,
 * as does an organisation without issuers.
 */
export function createResourceMetadata(deps: ResourceMetadataDeps) {
  function resource(server: string | null): string {
    return new URL(server === null ? 'mcp' : `servers/${encodeURIComponent(server)}/mcp`, deps.base()).toString();
  }

  return {
    resource,

    /** The metadata URL for an endpoint's resource: the well-known prefix between the host and the resource's path. */
    metadataUrl(server: string | null): string {
      const r = new URL(resource(server));
      return `${r.origin}${METADATA_PREFIX}${r.pathname}`;
    },

    /** Which endpoint a metadata path describes: null for `/mcp`, a name for a virtual server, undefined for neither. */
    endpointOf(path: string): { server: string | null } | undefined {
      if (!path.startsWith(METADATA_PREFIX)) return undefined;
      let rest = path.slice(METADATA_PREFIX.length);
      const basePath = new URL(deps.base()).pathname.replace(/\/$/, '');
      if (basePath !== '' && rest.startsWith(basePath + '/')) rest = rest.slice(basePath.length);
      if (rest === '' || rest === '/' || rest === '/mcp') return { server: null };
      const m = /^\/servers\/([a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?)\/mcp$/.exec(rest);
      return m?.[1] === undefined ? undefined : { server: m[1] };
    },

    async document(server: string | null, orgHint: string | undefined): Promise<Record<string, unknown>> {
      let issuers: OAuthIssuerRecord[] = await deps.issuers.listAllOAuthIssuers();
      if (orgHint !== undefined) {
        const orgId = await deps.orgIdOf(orgHint);
        issuers = issuers.filter((i) => i.orgId === orgId);
      }
      issuers = issuers.filter((i) => i.servers === null || (server !== null && i.servers.includes(server)));
      const scopes = new Set(issuers.flatMap((i) => [...Object.keys(i.scopeMap), ...i.requiredScopes]));
      return {
        resource: resource(server),
        authorization_servers: [...new Set(issuers.map((i) => i.issuer))].sort(),
        scopes_supported: [...scopes].sort(),
        bearer_methods_supported: ['header'],
        resource_name: server === null ? 'Gatehouse' : `Gatehouse: ${server}`,
      };
    },
  };
}

export type ResourceMetadata = ReturnType<typeof createResourceMetadata>;
