/**
 * The `mcpServers` block that Claude Desktop, Cursor and VS Code read, pointing at the gateway with the key in an
 * Authorization header. Printed once, when a key is created.
 */
export function clientConfig(mcpUrl: string, key: string, name = 'gatehouse'): string {
  return JSON.stringify({ mcpServers: { [name]: { type: 'http', url: mcpUrl, headers: { Authorization: `Bearer ${key}` } } } }, null, 2);
}

export function mcpUrlOf(config: { host: string; port: number; publicUrl?: string | undefined }): string {
  if (config.publicUrl !== undefined) return new URL('mcp', config.publicUrl.endsWith('/') ? config.publicUrl : config.publicUrl + '/').toString();
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host}:${config.port}/mcp`;
}
