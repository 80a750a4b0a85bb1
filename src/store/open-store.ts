import type { Config } from '../config/schema.ts';
import { SqliteStore } from './sqlite/sqlite-store.ts';
import type { Store } from './types.ts';

/** Opens the configured store and brings its schema up to date. */
export async function openStore(config: Pick<Config, 'dataDir' | 'databaseUrl' | 'databaseMigratorUrl'>): Promise<Store> {
  let store: Store;
  if (config.databaseUrl !== undefined) {
    const { PostgresStore } = await import('./postgres/postgres-store.ts');
    const url = config.databaseUrl.reveal();
    if (config.databaseMigratorUrl !== undefined) {
      // Split roles: the migrator brings the schema up to date and grants; the gateway then runs as the application
      // role, which cannot change the schema or any audit record.
      const { roleOfUrl } = await import('./postgres/roles.ts');
      const migrator = new PostgresStore(config.databaseMigratorUrl.reveal(), { poolSize: 1, applicationRole: roleOfUrl(url) });
      try {
        await migrator.migrate();
      } finally {
        await migrator.close();
      }
      return new PostgresStore(url);
    }
    store = new PostgresStore(url);
  } else {
    store = SqliteStore.openInDataDir(config.dataDir);
  }
  await store.migrate();
  return store;
}
