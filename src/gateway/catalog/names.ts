import { createHash } from 'node:crypto';

/** Connector names: lowercase letters, digits and single hyphens. No underscore, so `__` always ends the prefix. */
export const CONNECTOR_NAME = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
export const SEPARATOR = '__';
const MAX_NAME = 128;
const VALID_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const INVALID_CHARS = /[^A-Za-z0-9_.-]/g;
const HASH_LENGTH = 8;

/**
 * The name a client sees for an upstream tool or prompt: `<connector>__<name>`. When that breaks the
 * specification's name rules (characters, 128-character limit), invalid characters become `_` and a short digest
 * of the original name is appended, so the result is valid, stable across restarts and distinct for distinct
 * originals. Routing never parses this name: the catalog maps it back to (connector, original).
 */
export function exposedName(connector: string, original: string): string {
  const raw = connector + SEPARATOR + original;
  if (VALID_NAME.test(raw)) return raw;
  const digest = createHash('sha256').update(original).digest('hex').slice(0, HASH_LENGTH);
  const safe = raw.replace(INVALID_CHARS, '_').slice(0, MAX_NAME - HASH_LENGTH - 1);
  return `${safe}_${digest}`;
}

/** Resource URIs are prefixed with the connector as a URI scheme prefix: `<connector>+<original uri>`. */
export function exposedUri(connector: string, uri: string): string {
  return `${connector}+${uri}`;
}

/** Splits a namespaced URI; undefined when it does not carry a connector prefix. */
export function splitUri(uri: string): { connector: string; uri: string } | undefined {
  const plus = uri.indexOf('+');
  if (plus <= 0) return undefined;
  const connector = uri.slice(0, plus);
  if (!CONNECTOR_NAME.test(connector)) return undefined;
  return { connector, uri: uri.slice(plus + 1) };
}
