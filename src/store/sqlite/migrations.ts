/** SQLite schema, one entry per version. Applied in order inside a transaction; never edit a shipped entry. */
import { SQLITE_CORE } from './migrations-core.ts';
import { SQLITE_PROTECTIONS } from './migrations-protections.ts';
import { SQLITE_OPERATIONS } from './migrations-operations.ts';

/** One entry per version, split by era into the files above; the order of the slices is the order of versions. */
export const SQLITE_MIGRATIONS: readonly string[] = [...SQLITE_CORE, ...SQLITE_PROTECTIONS, ...SQLITE_OPERATIONS];
