import { isLoopbackHost } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';

/**
 * DNS-rebinding protection. A page on any site can make a browser send requests to 127.0.0.1 under the site's own
 * name; the Host header gives it away. While the gateway listens on loopback only loopback names (and configured
 * ones) are accepted as Host, and a browser Origin must be loopback or configured.
 */
export function createOriginGuard(config: Pick<Config, 'host' | 'port' | 'allowedOrigins' | 'allowedHosts' | 'publicUrl'>) {
  const loopbackBind = isLoopbackHost(config.host);
  const publicUrl = config.publicUrl === undefined ? undefined : new URL(config.publicUrl);
  const hosts = new Set(config.allowedHosts.map((h) => h.toLowerCase()));
  if (publicUrl !== undefined) hosts.add(publicUrl.host.toLowerCase());
  const origins = new Set(config.allowedOrigins);
  if (publicUrl !== undefined) origins.add(publicUrl.origin);

  function hostname(hostHeader: string): string {
    const h = hostHeader.toLowerCase();
    if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
    const colon = h.indexOf(':');
    return colon === -1 ? h : h.slice(0, colon);
  }

  return {
    hostAllowed(hostHeader: string | undefined): boolean {
      if (hostHeader === undefined) return false;
      if (hosts.has(hostHeader.toLowerCase())) return true;
      if (!loopbackBind) return hosts.size === 0 || hosts.has(hostname(hostHeader));
      return isLoopbackHost(hostname(hostHeader)) || hosts.has(hostname(hostHeader));
    },
    originAllowed(origin: string | undefined): boolean {
      if (origin === undefined) return true;
      if (origins.has(origin)) return true;
      if (!loopbackBind) return false;
      try {
        const u = new URL(origin);
        return (u.protocol === 'http:' || u.protocol === 'https:') && isLoopbackHost(u.hostname);
      } catch {
        return false;
      }
    },
  };
}

export type OriginGuard = ReturnType<typeof createOriginGuard>;
