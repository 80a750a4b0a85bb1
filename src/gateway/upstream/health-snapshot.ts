import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ConnectorHealth } from './resilience.ts';

/** A connector's health as a running gateway reports it: its breaker and counters, and its shared connection. */
export type ConnectorHealthView = ConnectorHealth & { readonly connection: string };

const FILE = 'connector-health.json';
/** A snapshot older than this is from a gateway that is no longer running: the CLI shows no health. */
const FRESH_MS = 10_000;

/**
 * The CLI is a process of its own, without the server's counters: the server writes them to its data directory
 * every `everyMs` (off the data path: a timer, one small file, written only when something changed or to stay
 * fresh), and `gatehouse connectors list` reads them from there. Returns the function that stops it.
 */
export function startHealthSnapshots(dataDir: string, read: () => Record<string, ConnectorHealthView>, log: Logger, everyMs = 1000): () => void {
  const path = join(dataDir, FILE);
  let last = '';
  let lastAt = 0;
  let writing = false;
  const timer = setInterval(() => {
    if (writing) return;
    const connectors = JSON.stringify(read());
    const now = Date.now();
    if (connectors === last && now - lastAt < FRESH_MS / 2) return;
    writing = true;
    const tmp = `${path}.${String(process.pid)}.tmp`;
    writeFile(tmp, `{"at":${String(now)},"connectors":${connectors}}`, { mode: 0o600 })
      .then(() => rename(tmp, path))
      .then(() => {
        last = connectors;
        lastAt = now;
      })
      .catch((err: unknown) => {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'cannot write the connector health snapshot');
      })
      .finally(() => {
        writing = false;
      });
  }, everyMs);
  timer.unref();
  return () => {
    clearInterval(timer);
  };
}

/** What the gateway serving `dataDir` last reported, by connector id; undefined when none runs there. */
export function readHealthSnapshot(dataDir: string, now = Date.now()): Readonly<Record<string, ConnectorHealthView>> | undefined {
  try {
    const parsed = JSON.parse(readFileSync(join(dataDir, FILE), 'utf8')) as { at?: unknown; connectors?: unknown };
    if (typeof parsed.at !== 'number' || now - parsed.at > FRESH_MS || typeof parsed.connectors !== 'object' || parsed.connectors === null) return undefined;
    return parsed.connectors as Record<string, ConnectorHealthView>;
  } catch {
    return undefined;
  }
}
