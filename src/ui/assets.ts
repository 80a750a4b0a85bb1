import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { stripTypeScriptTypes } from 'node:module';
import { PERMISSIONS } from '../gateway/access/permissions.ts';

/** What the listener sends for a dashboard path: the file's bytes, its type and the dashboard's own headers. */
export interface UiAsset {
  readonly body: Buffer;
  readonly contentType: string;
}

export type UiResponse =
  | { readonly status: 200; readonly asset: UiAsset; readonly headers: Readonly<Record<string, string>> }
  | { readonly status: 301; readonly location: string; readonly headers: Readonly<Record<string, string>> }
  | { readonly status: 404 | 405; readonly headers: Readonly<Record<string, string>> };

/**
 * The dashboard's policy: its own scripts and styles only (no inline code, no eval, nothing from elsewhere), requests
 * to this origin only, never framed. Trusted Types with no policy at all make every HTML sink (innerHTML and the
 * like) throw, so a string from an upstream can only ever become text.
 */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

const UI_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': UI_CSP,
  'cross-origin-opener-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
});

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ts': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * The browser's modules: TypeScript with types only, so stripping them (no transform) leaves the JavaScript. What was
 * stripped is kept in `cacheDir` under the hash of its source, so later starts load no TypeScript stripper (it holds
 * memory for the life of the process); where the folder cannot be written the dashboard is stripped at each start.
 */
async function compile(path: string, source: Buffer, cacheDir: string | undefined): Promise<Buffer> {
  if (!path.endsWith('.ts')) return source;
  const cached = cacheDir === undefined ? undefined : join(cacheDir, `${createHash('sha256').update(source).digest('hex')}.js`);
  if (cached !== undefined) {
    const hit = await readFile(cached).catch(() => undefined);
    if (hit !== undefined) return hit;
  }
  const js = Buffer.from(stripTypeScriptTypes(source.toString('utf8'), { mode: 'strip' }), 'utf8');
  if (cached !== undefined) {
    const partial = `${cached}.${String(process.pid)}.tmp`;
    await mkdir(cacheDir as string, { recursive: true })
      .then(() => writeFile(partial, js))
      .then(() => rename(partial, cached))
      .catch(() => undefined);
  }
  return js;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/**
 * The dashboard, read and compiled once when first asked for, then served from memory: no file is opened per request,
 * so no request path ever reaches the file system. Only the listed types under `dir` exist; everything else is 404.
 */
export function createUi(dir: string, cacheDir?: string): (method: string, path: string) => Promise<UiResponse> {
  let assets: Promise<Map<string, UiAsset>> | undefined;

  async function load(): Promise<Map<string, UiAsset>> {
    const map = new Map<string, UiAsset>();
    for (const file of await filesUnder(dir)) {
      const type = TYPES[extname(file)];
      const rel = relative(dir, file).split(sep).join('/');
      if (type === undefined || rel.endsWith('.test.ts') || rel.startsWith('tsconfig')) continue;
      map.set(`/ui/${rel}`, { body: await compile(rel, await readFile(file), cacheDir), contentType: type });
    }
    const index = map.get('/ui/index.html');
    if (index === undefined) throw new Error(`The dashboard has no index.html in ${dir}`);
    map.set('/ui/', index);
    // The permission table itself, so the pages show only what the API would allow (and the API still decides).
    map.set('/ui/permissions.json', { body: Buffer.from(JSON.stringify(PERMISSIONS)), contentType: 'application/json' });
    return map;
  }

  return async function serve(method: string, path: string): Promise<UiResponse> {
    if (path === '/' || path === '/ui') return { status: 301, location: '/ui/', headers: UI_HEADERS };
    if (method !== 'GET' && method !== 'HEAD') return { status: 405, headers: { ...UI_HEADERS, allow: 'GET, HEAD' } };
    assets ??= load().catch((err: unknown) => {
      assets = undefined;
      throw err;
    });
    const asset = (await assets).get(path);
    if (asset === undefined) return { status: 404, headers: UI_HEADERS };
    return { status: 200, asset, headers: UI_HEADERS };
  };
}
