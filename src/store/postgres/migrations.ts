/**
 * PostgreSQL schema, one entry per version. Each is applied in its own transaction under an advisory lock; never edit
 * a shipped entry. Tables and columns mirror the SQLite schema so rows.ts maps both. Times are TIMESTAMPTZ (read back
 * as Date, written from ISO strings); JSON documents are JSONB, read back as text so both dialects parse alike.
 */
import { POSTGRES_CORE } from './migrations-core.ts';
import { POSTGRES_PROTECTIONS } from './migrations-protections.ts';
import { POSTGRES_OPERATIONS } from './migrations-operations.ts';

/** One entry per version, split by era into the files above; the order of the slices is the order of versions. */
export const POSTGRES_MIGRATIONS: readonly string[] = [...POSTGRES_CORE, ...POSTGRES_PROTECTIONS, ...POSTGRES_OPERATIONS];
