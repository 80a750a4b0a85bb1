// The one decision point: what each rule refuses, in which order, and that nothing is granted by default.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileAllowlist } from '../../cidr.ts';
import type { Principal } from '../principal.ts';
import { decide, type AccessContext } from './decide.ts';
import { compileScopes } from './scopes.ts';

function principal(overrides: Partial<Principal> & { scopeList?: string[] } = {}): Principal {
  const scopeList = overrides.scopeList ?? ['fx/echo', 'docs'];
  const cidrs = overrides.cidrs ?? null;
  return {
    orgId: 'org_a',
    keyId: 'key_1',
    keyName: 'k',
    role: 'member',
    userId: null,
    scopes: compileScopes(scopeList),
    scopeList,
    expiresAt: null,
    servers: null,
    cidrs,
    network: cidrs === null ? null : compileAllowlist(cidrs),
    actor: { keyId: 'key_1', user: null },
    ...overrides,
  };
}

const anywhere: AccessContext = { clientIp: '192.0.2.10', orgNetwork: undefined };
const endpoint = (server: string | null, exists = true) => ({ kind: 'endpoint' as const, server, exists });

void describe('decide', () => {
  void it('refuses an address outside the organisation allowlist before looking at the key', () => {
    const ctx = { clientIp: '203.0.113.9', orgNetwork: compileAllowlist(['192.0.2.0/24']) };
    assert.deepEqual(decide(principal({ cidrs: ['203.0.113.0/24'] }), 'connect', endpoint(null), ctx), { allow: false, rule: 'org', reason: 'ip_not_allowed' });
  });

  void it("refuses an address outside the key's own CIDRs, and an unknown address always", () => {
    const p = principal({ cidrs: ['10.0.0.0/8'] });
    assert.deepEqual(decide(p, 'connect', endpoint(null), anywhere), { allow: false, rule: 'key', reason: 'ip_not_allowed' });
    assert.equal(decide(p, 'connect', endpoint(null), { clientIp: null, orgNetwork: undefined }).allow, false);
    assert.equal(decide(p, 'connect', endpoint(null), { clientIp: '10.1.2.3', orgNetwork: undefined }).allow, true);
  });

  void it('an allowlist whose last range was removed allows nothing', () => {
    assert.equal(decide(principal(), 'connect', endpoint(null), { clientIp: '127.0.0.1', orgNetwork: compileAllowlist([]) }).allow, false);
  });

  void it('keeps a key restricted to virtual servers off /mcp and off the servers it was not given; an unknown server is not found', () => {
    const p = principal({ servers: ['ops'] });
    assert.deepEqual(decide(p, 'connect', endpoint(null), anywhere), { allow: false, rule: 'endpoint', reason: 'server_scope' });
    assert.deepEqual(decide(p, 'connect', endpoint('dev'), anywhere), { allow: false, rule: 'endpoint', reason: 'server_scope' });
    assert.equal(decide(p, 'connect', endpoint('ops'), anywhere).allow, true);
    // A server the key may not use answers like one that does not exist (both are refusals of the endpoint rule).
    assert.deepEqual(decide(principal(), 'connect', endpoint('ghost', false), anywhere), { allow: false, rule: 'endpoint', reason: 'unknown_server' });
  });

  void it('grants tools, prompts and resources by scope only, and nothing without one', () => {
    const p = principal();
    assert.equal(decide(p, 'use', { kind: 'tool', connector: 'fx', name: 'echo' }, anywhere).allow, true);
    assert.deepEqual(decide(p, 'use', { kind: 'tool', connector: 'fx', name: 'add' }, anywhere), { allow: false, rule: 'scope', reason: 'scope' });
    assert.equal(decide(p, 'use', { kind: 'prompt', connector: 'fx' }, anywhere).allow, false, 'a tool scope grants no prompts');
    assert.equal(decide(p, 'use', { kind: 'resource', connector: 'docs' }, anywhere).allow, true);
    assert.equal(decide(p, 'list', { kind: 'connector', connector: 'fx' }, anywhere).allow, true);
    assert.equal(decide(principal({ scopeList: [] }), 'use', { kind: 'tool', connector: 'fx', name: 'echo' }, anywhere).allow, false);
    assert.deepEqual(decide(p, 'use', undefined, anywhere), { allow: false, rule: 'default', reason: 'no_rule' }, 'no rule, no access');
  });
});
