import type { Row } from './rows.ts';
import type { ScimGroupRecord, ScimTokenRecord, ScimUserRecord } from './scim-types.ts';

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : JSON.stringify(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : str(v));
const time = (v: unknown): string => (v instanceof Date ? v.toISOString() : str(v));

export function toScimToken(r: Row): ScimTokenRecord {
  return {
    id: str(r.id),
    orgId: str(r.org_id),
    tokenHash: str(r.token_hash),
    displayPrefix: str(r.display_prefix),
    createdBy: str(r.created_by),
    createdAt: time(r.created_at),
  };
}

export function toScimUser(r: Row): ScimUserRecord {
  return {
    orgId: str(r.org_id),
    userId: str(r.user_id),
    userName: str(r.user_name),
    externalId: strOrNull(r.external_id),
    // SQLite has no boolean: 0/1.
    active: r.active === true || r.active === 1 || r.active === 1n,
    // Re-serialised: PostgreSQL's JSONB gives back its own spacing and key order.
    resource: JSON.stringify(JSON.parse(str(r.resource))),
    createdAt: time(r.created_at),
    updatedAt: time(r.updated_at),
  };
}

/** Groups come back one row per member (LEFT JOIN, member null for an empty group), in group order. */
export function toScimGroups(rows: readonly Row[]): ScimGroupRecord[] {
  const groups = new Map<string, ScimGroupRecord & { members: string[] }>();
  for (const r of rows) {
    const id = str(r.id);
    let g = groups.get(id);
    if (g === undefined) {
      g = {
        id,
        orgId: str(r.org_id),
        displayName: str(r.display_name),
        externalId: strOrNull(r.external_id),
        members: [],
        createdAt: time(r.created_at),
        updatedAt: time(r.updated_at),
      };
      groups.set(id, g);
    }
    if (r.member_id !== null && r.member_id !== undefined) g.members.push(str(r.member_id));
  }
  return [...groups.values()];
}

/** Groups with their members: the one query both dialects run, with the dialect's placeholders. */
export function scimGroupQuery(where: string): string {
  return `SELECT g.id, g.org_id, g.display_name, g.external_id, g.created_at, g.updated_at, m.user_id AS member_id
    FROM scim_groups g LEFT JOIN scim_group_members m ON m.group_id = g.id WHERE ${where}
    ORDER BY g.created_at, g.id, m.user_id`;
}

/** userName is unique within an organisation regardless of case (RFC 7643: caseExact false). */
export function userNameKey(userName: string): string {
  return userName.toLowerCase();
}
