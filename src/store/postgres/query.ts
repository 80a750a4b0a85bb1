import { DatabaseError, type PoolClient, type QueryResult } from 'pg';
import { GatehouseError } from '../../errors.ts';
import { DuplicateError } from '../types.ts';
import type { Row } from '../rows.ts';

export type Queryable = Pick<PoolClient, 'query'>;

const UNIQUE_VIOLATION = '23505';

export async function query(on: Queryable, text: string, values: readonly unknown[] = []): Promise<QueryResult<Row>> {
  try {
    return await on.query<Row>(text, [...values]);
  } catch (err) {
    throw translate(err);
  }
}

/** Unique violations become DuplicateError; anything else is a store failure. The driver's error stays as `cause`. */
export function translate(err: unknown): Error {
  if (err instanceof DatabaseError && err.code === UNIQUE_VIOLATION) return new DuplicateError('already exists', { cause: err });
  return new GatehouseError('store_unavailable', 'the database request failed', { cause: err });
}
