import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { GatehouseError } from '../errors.ts';
import { initRolesSql } from '../store/postgres/roles.ts';
import { err, out, UsageError } from './output.ts';

export const DB_USAGE = `gatehouse db init-roles --admin-url URL [--migrator NAME] [--app NAME] [--schema NAME] [--sql]
                       (PostgreSQL: a migrator that owns the schema, an application role that cannot change audit records)`;

/**
 * `db init-roles`: run once by a database administrator. Creates both roles with fresh passwords and prints the two
 * URLs to configure (shown once); `--sql` prints the statements instead, without passwords, for review or a DBA.
 */
export async function dbCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'init-roles') throw new UsageError(DB_USAGE);
  const { values } = parseArgs({
    args: rest,
    options: {
      'admin-url': { type: 'string' }, migrator: { type: 'string', default: 'gatehouse_migrator' }, app: { type: 'string', default: 'gatehouse_app' },
      schema: { type: 'string', default: 'gatehouse' }, sql: { type: 'boolean' },
    },
  });
  const adminUrl = values['admin-url'];
  if (adminUrl === undefined) throw new UsageError(DB_USAGE);
  let url: URL;
  try {
    url = new URL(adminUrl);
  } catch {
    throw new UsageError('--admin-url must be a postgres:// URL');
  }
  const database = decodeURIComponent(url.pathname.slice(1)) || 'postgres';
  const names = { migrator: values.migrator, app: values.app, schema: values.schema, database };
  if (values.sql === true) {
    for (const s of initRolesSql(names)) out(`${s};`);
    out(`-- then set passwords: ALTER ROLE ${values.migrator} PASSWORD '...'; ALTER ROLE ${values.app} PASSWORD '...';`);
    return;
  }
  const migratorPassword = randomBytes(24).toString('base64url');
  const appPassword = randomBytes(24).toString('base64url');
  const client = new pg.Client({ connectionString: adminUrl });
  try {
    await client.connect();
    await client.query('BEGIN');
    for (const s of initRolesSql({ ...names, migratorPassword, appPassword })) await client.query(s);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    // The driver's message names the failing object (an existing role, a missing privilege), never a password.
    throw new GatehouseError('store_unavailable', `Cannot create the roles: ${e instanceof Error ? e.message.replace(/PASSWORD '[^']*'/g, "PASSWORD '…'") : String(e)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
  const as = (role: string, password: string) => {
    const u = new URL(adminUrl);
    u.username = role;
    u.password = password;
    return u.toString();
  };
  err(`Created roles ${values.migrator} (owns schema ${values.schema}) and ${values.app}. Passwords are shown once:`);
  out(`GATEHOUSE_DATABASE_MIGRATOR_URL=${as(values.migrator, migratorPassword)}`);
  out(`GATEHOUSE_DATABASE_URL=${as(values.app, appPassword)}`);
}
