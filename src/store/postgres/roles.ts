import { GatehouseError } from '../../errors.ts';
import { query, type Queryable } from './query.ts';

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Tables the application role reads and may only append to (append-only triggers refuse the rest even to their owner). */
const APPEND_ONLY = ['audit_checkpoints', 'audit_signing_keys'] as const;
/**
 * Tables the application role may only read: audit records are written by audit_append() and removed by audit_prune()
 * (which also writes the tombstones), the schema by the migrator.
 */
const READ_ONLY = ['audit_events', 'audit_tombstones', 'schema_migrations'] as const;

export function checkRoleName(name: string, what: string): string {
  if (!ROLE_NAME.test(name)) throw new GatehouseError('config_invalid', `the ${what} role name must match [a-z_][a-z0-9_]{0,62}`);
  return name;
}

/**
 * What `gatehouse db init-roles` runs as a database administrator: a migrator role that owns the schema, and an
 * application role that can reach it but create nothing in it. Passwords are optional (trust or certificate setups).
 */
export function initRolesSql(o: { migrator: string; app: string; schema: string; database: string; migratorPassword?: string; appPassword?: string }): string[] {
  const migrator = checkRoleName(o.migrator, 'migrator');
  const app = checkRoleName(o.app, 'application');
  const schema = checkRoleName(o.schema, 'schema');
  if (migrator === app) throw new GatehouseError('config_invalid', 'the migrator and application roles must differ');
  const password = (p: string | undefined) => (p === undefined ? '' : ` PASSWORD ${literal(p)}`);
  return [
    `CREATE ROLE ${migrator} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS${password(o.migratorPassword)}`,
    `CREATE ROLE ${app} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS${password(o.appPassword)}`,
    `GRANT CONNECT ON DATABASE ${ident(o.database)} TO ${migrator}, ${app}`,
    `CREATE SCHEMA IF NOT EXISTS ${schema} AUTHORIZATION ${migrator}`,
    `REVOKE ALL ON SCHEMA ${schema} FROM PUBLIC`,
    `GRANT USAGE ON SCHEMA ${schema} TO ${app}`,
    // Both roles find the schema without anything in their URLs.
    `ALTER ROLE ${migrator} SET search_path = ${schema}`,
    `ALTER ROLE ${app} SET search_path = ${schema}`,
  ];
}

/**
 * Run by the migrator after every migration, so tables added later are covered too: the application role gets DML
 * on application tables, reads and appends on the audit tables, and nothing that could change an audit record. It
 * appends records only through audit_append(), which runs as its owner and links each record itself.
 */
export async function grantApplicationRole(c: Queryable, schema: string, app: string): Promise<void> {
  const role = checkRoleName(app, 'application');
  const s = ident(schema);
  await query(c, `GRANT USAGE ON SCHEMA ${s} TO ${role}`);
  await query(c, `REVOKE CREATE ON SCHEMA ${s} FROM ${role}`);
  await query(c, `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${role}`);
  await query(c, `REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ${[...READ_ONLY, ...APPEND_ONLY].map((t) => `${s}.${t}`).join(', ')} FROM ${role}`);
  await query(c, `GRANT INSERT ON ${APPEND_ONLY.map((t) => `${s}.${t}`).join(', ')} TO ${role}`);
  await query(c, `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${role}`);
  await query(c, `GRANT EXECUTE ON FUNCTION ${s}.audit_append(TEXT, TIMESTAMPTZ, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, DOUBLE PRECISION, TEXT, TEXT, TEXT, TEXT, TEXT) TO ${role}`);
  await query(c, `GRANT EXECUTE ON FUNCTION ${s}.audit_append_batch(TEXT, TIMESTAMPTZ[], TEXT[], TEXT[], TEXT[], TEXT[], TEXT[], TEXT[], TEXT[], TEXT[], DOUBLE PRECISION[], TEXT[], TEXT[], TEXT[], TEXT[], TEXT[]) TO ${role}`);
  await query(c, `GRANT EXECUTE ON FUNCTION ${s}.audit_prune(TEXT, BIGINT, BIGINT, TEXT, BIGINT, TIMESTAMPTZ, TEXT, TEXT, TEXT) TO ${role}`);
}

/** The user name of a postgres:// URL: the application role the migrator grants to. */
export function roleOfUrl(url: string): string {
  let user: string;
  try {
    user = decodeURIComponent(new URL(url).username);
  } catch (err) {
    throw new GatehouseError('config_invalid', 'GATEHOUSE_DATABASE_URL is not a valid URL', { cause: err });
  }
  if (user === '') throw new GatehouseError('config_invalid', 'with GATEHOUSE_DATABASE_MIGRATOR_URL set, GATEHOUSE_DATABASE_URL must name the application role');
  return checkRoleName(user, 'application');
}

function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
