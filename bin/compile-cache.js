// Preloaded (`node --import ./bin/compile-cache.js`) by `npm start`, the CLI and the bench: Node keeps the code it
// compiled, TypeScript already stripped, in node_modules/.cache/gatehouse, so later starts load no TypeScript
// stripper (about 25 MB of RSS held for the life of the process) and compile less. The folder belongs to the install
// and is trusted like the code beside it; where it cannot be written, Node runs without the cache.
import { enableCompileCache, flushCompileCache } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

enableCompileCache(join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', '.cache', 'gatehouse'));
// Written at exit anyway; also once start-up has loaded what it loads, so a server that is killed keeps it too.
setTimeout(() => {
  flushCompileCache();
}, 10_000).unref();
