import { test } from 'node:test';
import assert from 'node:assert/strict';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { ConnectorRecord } from '../../store/types.ts';
import { createEchoScrub } from './echo-scrub.ts';

const connector: ConnectorRecord = {
  id: 'c1',
  orgId: 'o1',
  name: 'hx',
  transport: { type: 'http', url: 'https://upstream.example/mcp' } as ConnectorRecord['transport'],
  createdAt: '2026-12-07T00:00:00Z',
  updatedAt: '2026-12-07T00:00:00Z',
};
const secret = 'tok-0123456789abcdef';

test('what an upstream threw is logged without its connector credential', async () => {
  const scrub = createEchoScrub({ connector: (o, n) => (o === 'o1' && n === 'hx' ? connector : undefined), secrets: () => Promise.resolve([`Bearer ${secret}`]) });
  const logged = JSON.stringify(await scrub.forLog('o1', 'hx', new McpError(-32000, `rejected token ${secret}`, { echoed: secret })));
  assert.ok(!logged.includes(secret), logged);
  assert.match(logged, /rejected token \[REDACTED:connector-credential\]/);
  assert.match(logged, /"code":-32000/);
});

test('a cause that cannot be checked is logged by its type and code only', async () => {
  const unknownConnector = createEchoScrub({ connector: () => undefined, secrets: () => Promise.resolve([secret]) });
  assert.deepEqual(await unknownConnector.forLog('o1', 'gone', new McpError(-32000, `text ${secret}`)), { type: 'McpError', code: -32000 });
  const unopenable = createEchoScrub({
    connector: () => connector,
    secrets: () => Promise.reject(new Error('sealed box cannot be opened')),
  });
  assert.deepEqual(await unopenable.forLog('o1', 'hx', new Error(`text ${secret}`)), { type: 'Error' });
});
