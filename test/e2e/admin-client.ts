/**
 * Helpers for driving the admin API of a real gateway over HTTP: a tiny fetch client, and organisations populated
 * with one member (and key) per role, made the way an operator would, through the services.
 */
import { operatorActor } from '../../src/services/context.ts';
import { createKey } from '../../src/services/keys.ts';
import { addMember } from '../../src/services/members.ts';
import { createOrganisation } from '../../src/services/organisations.ts';
import type { KeyRole } from '../../src/store/types.ts';
import type { Gateway } from './harness.ts';

export const ROLE_NAMES: readonly KeyRole[] = ['owner', 'admin', 'member', 'viewer'];

export interface ApiAnswer {
  readonly status: number;
  readonly text: string;
  readonly body: unknown;
  readonly headers: Headers;
}

export function apiBase(gw: Gateway): string {
  return gw.url.replace(/\/mcp$/, '/api/v1');
}

export async function api(gw: Gateway, key: string | undefined, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  const headers: Record<string, string> = {};
  if (key !== undefined) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(apiBase(gw) + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, text, body: parsed, headers: res.headers };
}

export interface TestOrg {
  readonly id: string;
  readonly slug: string;
  /** The bootstrap-style owner key of the organisation, acting for no user. */
  readonly ownerKey: string;
  /** Per role: a member holding it, and a key with that role acting for them. */
  readonly people: Record<KeyRole, { userId: string; email: string; key: string; keyId: string }>;
}

export async function makeOrg(gw: Gateway, slug: string): Promise<TestOrg> {
  const operator = operatorActor('test');
  const { org, ownerKey } = await createOrganisation(gw.app.services, operator, { slug, name: `Org ${slug}` });
  const people = {} as Record<KeyRole, { userId: string; email: string; key: string; keyId: string }>;
  for (const role of ROLE_NAMES) {
    const email = `${role}@${slug}.example`;
    const member = await addMember(gw.app.services, operator, org.id, { email, role });
    const { key, record } = await createKey(gw.app.services, operator, { orgId: org.id, name: `${role}-key`, role, scopes: ['*'], userId: member.userId });
    people[role] = { userId: member.userId, email, key, keyId: record.id };
  }
  return { id: org.id, slug, ownerKey, people };
}
