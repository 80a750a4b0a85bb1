import type { Config } from '../config/schema.ts';
import { SqliteStore } from './sqlite/sqlite-store.ts';
import type { Store } from './types.ts';

/** Opens the configured store and brings its schema up to date. */
export async function openStore(config: Pick<Config, 'dataDir' | 'databaseUrl'>): Promise<Store> {
  let store: Store;
  if (config.databaseUrl !== undefined) {
    const { PostgresStore } = await import('./postgres/postgres-store.ts');
    store = new PostgresStore(config.databaseUrl.reveal());
  } else {
    store = SqliteStore.openInDataDir(config.dataDir);
  }
  await store.migrate();
  return store;
}
