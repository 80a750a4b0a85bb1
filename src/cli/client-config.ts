/**
 * Client configuration for the gateway's MCP endpoint. Two kinds:
 * - `clientConfig`: the `mcpServers` block with a real key, printed once, when that key is created.
 * - `clientSnippet`: what `gatehouse connect` prints for Claude Desktop, Cursor and VS Code. It never holds a key:
 *   each client reads the key from where the user keeps it (a VS Code password prompt, an environment variable).
 */

import { publicBaseOf } from '../config/public-url.ts';

export type ClientName = 'claude' | 'cursor' | 'vscode';
export const CLIENT_NAMES: readonly ClientName[] = ['claude', 'cursor', 'vscode'];

/** The environment variable Cursor interpolates into the Authorization header. */
export const KEY_ENV = 'GATEHOUSE_API_KEY';
/** The environment variable mcp-remote expands into the whole Authorization value (`Bearer …`). */
export const AUTH_HEADER_ENV = 'GATEHOUSE_AUTH_HEADER';
/** The VS Code input that prompts for the key (input ids are letters, digits and underscores). */
export const VSCODE_INPUT_ID = 'gatehouse_api_key';
/** Stands where the user pastes the key in Claude Desktop's file, which cannot read it from anywhere else. */
export const KEY_PLACEHOLDER = '<your Gatehouse API key>';

export interface ClientSnippet {
  readonly client: ClientName;
  readonly title: string;
  /** Where the client reads this file from. */
  readonly files: readonly string[];
  /** The JSON to merge into that file. */
  readonly config: Record<string, unknown>;
  /** What the user does besides pasting the JSON. */
  readonly notes: readonly string[];
}

/**
 * The `mcpServers` block for clients that take a remote server with headers, pointing at the gateway with the key
 * in an Authorization header. Printed once, when a key is created.
 */
export function clientConfig(mcpUrl: string, key: string, name = 'gatehouse'): string {
  return JSON.stringify({ mcpServers: { [name]: { type: 'http', url: mcpUrl, headers: { Authorization: `Bearer ${key}` } } } }, null, 2);
}

export function mcpUrlOf(config: { host: string; port: number; publicUrl?: string | undefined; tlsCert?: string | undefined }): string {
  return endpointOf(publicBaseOf(config));
}

/** `<base>/mcp` for the whole catalog, `<base>/servers/<name>/mcp` for a virtual server. */
export function endpointOf(base: string, server?: string): string {
  const root = base.endsWith('/') ? base : base + '/';
  return new URL(server === undefined ? 'mcp' : `servers/${encodeURIComponent(server)}/mcp`, root).toString();
}

/** The entry name in the client's file: camelCase, as VS Code asks, and valid in every client. */
export function entryNameOf(server?: string): string {
  if (server === undefined) return 'gatehouse';
  const words = server.split(/[^A-Za-z0-9]+/).filter((w) => w.length > 0);
  return 'gatehouse' + words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

export interface SnippetInput {
  readonly url: string;
  /** The entry name in the client's file. */
  readonly name: string;
}

export function clientSnippet(client: ClientName, input: SnippetInput): ClientSnippet {
  switch (client) {
    case 'claude':
      return claudeDesktop(input);
    case 'cursor':
      return cursor(input);
    case 'vscode':
      return vscode(input);
  }
}

/**
 * Claude Desktop starts local (stdio) servers from its file, so the `mcp-remote` bridge carries the connection to
 * the gateway. The header value comes from an environment variable without spaces in `args`, which Claude Desktop on
 * Windows does not quote; mcp-remote expands `${VAR}` in headers itself.
 */
function claudeDesktop({ url, name }: SnippetInput): ClientSnippet {
  const args = ['-y', 'mcp-remote', url, '--transport', 'http-only', '--header', `Authorization:\${${AUTH_HEADER_ENV}}`];
  const notes = [
    `Replace ${KEY_PLACEHOLDER} with the key (keep "Bearer "), then quit and reopen Claude Desktop.`,
    'The bridge runs with npx, so Node.js must be installed where Claude Desktop runs.',
  ];
  if (isPlainHttpRemote(url)) {
    args.push('--allow-http');
    notes.push('--allow-http is there because mcp-remote refuses plain HTTP to hosts other than localhost and 127.0.0.1.');
  }
  return {
    client: 'claude',
    title: 'Claude Desktop',
    files: ['~/Library/Application Support/Claude/claude_desktop_config.json (macOS)', '%APPDATA%\\Claude\\claude_desktop_config.json (Windows)'],
    config: { mcpServers: { [name]: { command: 'npx', args, env: { [AUTH_HEADER_ENV]: `Bearer ${KEY_PLACEHOLDER}` } } } },
    notes,
  };
}

function cursor({ url, name }: SnippetInput): ClientSnippet {
  return {
    client: 'cursor',
    title: 'Cursor',
    files: ['~/.cursor/mcp.json (every project)', '.cursor/mcp.json (one project)'],
    config: { mcpServers: { [name]: { url, headers: { Authorization: `Bearer \${env:${KEY_ENV}}` } } } },
    notes: [`Set ${KEY_ENV} to the key in the environment Cursor starts from, then reload Cursor.`],
  };
}

function vscode({ url, name }: SnippetInput): ClientSnippet {
  return {
    client: 'vscode',
    title: 'VS Code',
    files: ['.vscode/mcp.json (workspace)', 'mcp.json of your profile (command "MCP: Open User Configuration")'],
    config: {
      inputs: [{ type: 'promptString', id: VSCODE_INPUT_ID, description: 'Gatehouse API key', password: true }],
      servers: { [name]: { type: 'http', url, headers: { Authorization: `Bearer \${input:${VSCODE_INPUT_ID}}` } } },
    },
    notes: ['VS Code asks for the key when the server first starts and keeps it in its secret storage.'],
  };
}

/** Plain HTTP to a host other than localhost or 127.0.0.1: the key would cross a network in clear text. */
export function isPlainHttpRemote(url: string): boolean {
  const u = new URL(url);
  return u.protocol === 'http:' && u.hostname !== 'localhost' && u.hostname !== '127.0.0.1';
}
