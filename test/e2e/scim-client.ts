/** A tiny SCIM client for the e2e tests: what an identity provider sends, over HTTP, to a real gateway. */
import type { Gateway } from './harness.ts';

export interface ScimAnswer {
  readonly status: number;
  readonly body: Record<string, unknown> & { Resources?: Record<string, unknown>[]; scimType?: string; detail?: string; id?: string };
  readonly text: string;
  readonly headers: Headers;
}

export const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

export function scimBase(gw: Gateway): string {
  return gw.url.replace(/\/mcp$/, '/scim/v2');
}

export async function scim(gw: Gateway, token: string | undefined, method: string, path: string, body?: unknown): Promise<ScimAnswer> {
  const headers: Record<string, string> = { accept: 'application/scim+json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/scim+json';
  const res = await fetch(scimBase(gw) + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: ScimAnswer['body'];
  try {
    parsed = text === '' ? {} : (JSON.parse(text) as ScimAnswer['body']);
  } catch {
    parsed = {};
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

export function newUser(userName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemas: [USER_URN],
    userName,
    name: { givenName: userName.split('@')[0], familyName: 'Example' },
    emails: [{ value: userName, type: 'work', primary: true }],
    active: true,
    ...extra,
  };
}

export function patch(...operations: Record<string, unknown>[]): Record<string, unknown> {
  return { schemas: [PATCH_URN], Operations: operations };
}
