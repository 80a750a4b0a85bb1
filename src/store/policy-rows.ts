import type { PolicySetRecord } from './policy-types.ts';
import type { Row } from './rows.ts';

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : JSON.stringify(v));

/** policy_sets rows of both dialects (created_at is TEXT in SQLite, TIMESTAMPTZ in PostgreSQL). */
export function toPolicySet(r: Row): PolicySetRecord {
  return {
    orgId: str(r.org_id),
    version: Number(r.version),
    text: r.text === null || r.text === undefined ? null : str(r.text),
    createdBy: str(r.created_by),
    createdAt: r.created_at instanceof Date ? r.created_at.toISOString() : str(r.created_at),
  };
}
