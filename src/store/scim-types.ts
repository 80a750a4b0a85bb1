import type { KeyRole } from './types.ts';

/**
 * What SCIM provisioning keeps per organisation: one bearer token (as a keyed hash), the IdP group -> role mappings,
 * and the users and groups the identity provider pushed. A SCIM user is a global user (by email) seen through one
 * organisation: its SCIM id is the user id, and its row exists only in the organisations that provisioned it.
 */
export interface ScimTokenRecord {
  readonly id: string;
  readonly orgId: string;
  /** HMAC-SHA-256 of the token under the server's pepper; the token itself is never stored. */
  readonly tokenHash: string;
  readonly displayPrefix: string;
  readonly createdBy: string;
  readonly createdAt: string;
}

/** An IdP group (by displayName or externalId) and the role its members get. */
export interface ScimRoleMapping {
  readonly idpGroup: string;
  readonly role: KeyRole;
}

export interface ScimUserRecord {
  readonly orgId: string;
  readonly userId: string;
  readonly userName: string;
  readonly externalId: string | null;
  readonly active: boolean;
  /** The SCIM resource as the IdP last wrote it (JSON, without id, meta or password). */
  readonly resource: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface ScimGroupRecord {
  readonly id: string;
  readonly orgId: string;
  readonly displayName: string;
  readonly externalId: string | null;
  /** User ids of the organisation's SCIM users. */
  readonly members: readonly string[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Every method is scoped by organisation, except the token lookup by the hash a caller presented. */
export interface ScimStore {
  /** Stores the organisation's token, replacing any previous one (which stops working at once). */
  putToken(token: ScimTokenRecord): Promise<void>;
  getToken(orgId: string): Promise<ScimTokenRecord | undefined>;
  findTokenByHash(tokenHash: string): Promise<ScimTokenRecord | undefined>;
  deleteToken(orgId: string): Promise<boolean>;

  getRoleMappings(orgId: string): Promise<ScimRoleMapping[]>;
  /** Replaces all of the organisation's mappings at once. */
  setRoleMappings(orgId: string, mappings: readonly ScimRoleMapping[]): Promise<void>;

  /** DuplicateError when the user, or its userName (ignoring case), is already provisioned in the organisation. */
  insertUser(user: ScimUserRecord): Promise<void>;
  getUser(orgId: string, userId: string): Promise<ScimUserRecord | undefined>;
  listUsers(orgId: string): Promise<ScimUserRecord[]>;
  updateUser(user: ScimUserRecord): Promise<boolean>;
  /** Removes the user and its group memberships in the organisation. */
  deleteUser(orgId: string, userId: string): Promise<boolean>;

  /** DuplicateError when the displayName is taken in the organisation. */
  insertGroup(group: ScimGroupRecord): Promise<void>;
  getGroup(orgId: string, id: string): Promise<ScimGroupRecord | undefined>;
  listGroups(orgId: string): Promise<ScimGroupRecord[]>;
  /** Replaces displayName, externalId, members and updatedAt. */
  updateGroup(group: ScimGroupRecord): Promise<boolean>;
  deleteGroup(orgId: string, id: string): Promise<boolean>;
  groupsOfUser(orgId: string, userId: string): Promise<ScimGroupRecord[]>;
}
