#!/usr/bin/env node
// Runs the CLI on the project's pinned Node (24, from the `node` package) even when the node on PATH is older.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'src', 'cli', 'main.ts');
let node = process.execPath;
if (Number(process.versions.node.split('.')[0]) < 24) {
  try {
    node = join(dirname(createRequire(join(root, 'package.json')).resolve('node/package.json')), 'bin', 'node');
  } catch {
    process.stderr.write('gatehouse: Node 24 is required; run `npm ci` in the project first\n');
    process.exit(1);
  }
}
// The young generation is capped as in `npm start`: it keeps the server's RSS under load near its working set.
const child = spawn(node, ['--max-semi-space-size=8', '--import', join(root, 'bin', 'compile-cache.js'), entry, ...process.argv.slice(2)], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)));
