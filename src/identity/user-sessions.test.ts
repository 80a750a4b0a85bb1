import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileScopes } from '../gateway/access/scopes.ts';
import type { Principal } from '../gateway/principal.ts';
import { SessionRegistry } from '../gateway/listener/sessions.ts';
import { ListenerRegistry } from '../gateway/listener/subscriptions.ts';
import type { ApiKeyRecord } from '../store/types.ts';
import { createUserSessionEnder } from './user-sessions.ts';

function principal(orgId: string, keyId: string): Principal {
  return { orgId, keyId, keyName: keyId, role: 'member', userId: null, scopes: compileScopes(['*']), scopeList: ['*'], expiresAt: null, servers: null,
    cidrs: null,
  network: null, actor: { keyId, user: null } };
}

const key = (id: string, userId: string | null) => ({ id, userId }) as ApiKeyRecord;

test("ends the person's browser sessions in the organisation, and the MCP sessions and streams of their keys only", async () => {
  const calls: unknown[][] = [];
  const registry = new SessionRegistry();
  const mine = registry.create(principal('org_a', 'key_ann'), '2025-11-25', null, {});
  const revokedEarlier = registry.create(principal('org_a', 'key_ann_old'), '2025-11-25', 'docs', {});
  const colleague = registry.create(principal('org_a', 'key_bob'), '2025-11-25', null, {});
  const end = createUserSessionEnder({
    store: {
      listApiKeys: (orgId: string) => Promise.resolve(orgId === 'org_a' ? [key('key_ann', 'usr_ann'), key('key_ann_old', 'usr_ann'), key('key_bob', 'usr_bob'), key('key_svc', null)] : []),
      signIn: {
        endUserSessions: (...args: unknown[]) => {
          calls.push(['browser', ...args]);
          return Promise.resolve(1);
        },
      } as never,
    },
    sessions: registry,
    listeners: {
      dropKeys: (orgId, keyIds) => {
        calls.push(['listeners', orgId, [...keyIds].sort()]);
        return 0;
      },
    },
    now: () => Date.parse('2026-11-21T10:00:00.000Z'),
  });

  await end('org_a', 'usr_ann');
  assert.deepEqual(calls, [
    ['browser', 'usr_ann', 'org_a', '2026-11-21T10:00:00.000Z'],
    ['listeners', 'org_a', ['key_ann', 'key_ann_old']],
  ]);
  const open = [...registry.ofOrg('org_a')].map((s) => s.id);
  assert.deepEqual(open, [colleague.id]);
  assert.ok(!open.includes(mine.id) && !open.includes(revokedEarlier.id));

  calls.length = 0;
  await end('org_b', 'usr_ann');
  assert.deepEqual(calls, [['browser', 'usr_ann', 'org_b', '2026-11-21T10:00:00.000Z']], 'no keys there: browser sessions only');
  assert.equal(registry.size, 1);
});

test('SessionRegistry.endOfKeys ends only the named keys of that organisation', () => {
  const registry = new SessionRegistry();
  registry.create(principal('org_a', 'key_1'), '2025-11-25', null, {});
  registry.create(principal('org_a', 'key_1'), '2025-11-25', null, {});
  const other = registry.create(principal('org_b', 'key_1'), '2025-11-25', null, {});
  assert.equal(registry.endOfKeys('org_a', new Set(['key_1'])), 2);
  assert.deepEqual([...registry.ofOrg('org_b')].map((s) => s.id), [other.id], 'the same key id in another organisation is not touched');
  assert.equal(registry.endOfKeys('org_a', new Set(['key_1'])), 0);
});

test("ListenerRegistry.dropKeys cuts the named keys' listen streams in that organisation only", () => {
  const listeners = new ListenerRegistry({ serverVersion: 'test' });
  const stream = () => {
    const res = { destroyed: false, writableEnded: false, writeHead: () => res, write: () => true, on: () => res, end: () => res, destroy: () => (res.destroyed = true) };
    return res;
  };
  const [a1, a2, b1] = [stream(), stream(), stream()];
  const kinds = new Set(['tools'] as const);
  listeners.open(a1 as never, {}, principal('org_a', 'key_1'), 1, kinds);
  listeners.open(a2 as never, {}, principal('org_a', 'key_2'), 2, kinds);
  listeners.open(b1 as never, {}, principal('org_b', 'key_1'), 3, kinds);
  assert.equal(listeners.dropKeys('org_a', new Set(['key_1'])), 1);
  assert.deepEqual([a1.destroyed, a2.destroyed, b1.destroyed], [true, false, false]);
  assert.equal(listeners.size, 2);
  listeners.closeAll();
});
