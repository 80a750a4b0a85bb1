/**
 * The base URL clients reach the gateway at (always ending in `/`): the public URL, else host and port (https when
 * the gateway terminates TLS itself).
 */
export function publicBaseOf(config: { host: string; port: number; publicUrl?: string | undefined; tlsCert?: string | undefined }): string {
  if (config.publicUrl !== undefined) return config.publicUrl.endsWith('/') ? config.publicUrl : config.publicUrl + '/';
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
  return `${config.tlsCert === undefined ? 'http' : 'https'}://${host}:${config.port}/`;
}
