import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyMessage, type JsonRpcRequest } from '../protocol.ts';
import { carriesEnvelope, decodeHeaderValue, envelopeProblem, paramHeaderProblem, standardHeaderProblem, withoutEnvelope } from './envelope.ts';

const V = '2026-07-28';
const b64 = (s: string) => `=?base64?${Buffer.from(s, 'utf8').toString('base64')}?=`;

function request(method: string, params: Record<string, unknown> = {}): JsonRpcRequest {
  return { jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: { 'io.modelcontextprotocol/protocolVersion': V } } };
}

describe('the 2026-07-28 envelope', () => {
  test('a message belongs to the stateless era exactly when its _meta names a protocol version', () => {
    const claim = (params: unknown) => carriesEnvelope(classifyMessage({ jsonrpc: '2.0', id: 1, method: 'tools/list', params }));
    assert.equal(claim({ _meta: { 'io.modelcontextprotocol/protocolVersion': '2027-01-01' } }), true);
    assert.equal(claim({ _meta: { progressToken: 1 } }), false);
    assert.equal(claim({ _meta: 'io.modelcontextprotocol/protocolVersion' }), false);
    assert.equal(claim(undefined), false);
    assert.equal(carriesEnvelope(classifyMessage({ jsonrpc: '2.0', id: 1, result: {} })), false);
  });

  test('required keys: client capabilities must be an object; client info and log level are checked when present', () => {
    assert.equal(envelopeProblem({ 'io.modelcontextprotocol/clientCapabilities': {} }), undefined);
    assert.match(envelopeProblem({}) ?? '', /clientCapabilities/);
    assert.match(envelopeProblem({ 'io.modelcontextprotocol/clientCapabilities': [] }) ?? '', /clientCapabilities/);
    assert.match(envelopeProblem({ 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': 'me' }) ?? '', /clientInfo/);
  });

  test('the reserved keys and the multi-round-trip fields are removed; progressToken and foreign keys stay', () => {
    const r: JsonRpcRequest = {
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: {
        name: 'a__b',
        arguments: { x: 1 },
        inputResponses: { k: {} },
        requestState: 'opaque',
        _meta: { 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientInfo': { name: 'c' }, progressToken: 9, 'com.example/t': 'x' },
      },
    };
    assert.deepEqual(withoutEnvelope(r), { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'a__b', arguments: { x: 1 }, _meta: { progressToken: 9, 'com.example/t': 'x' } } });
    assert.deepEqual(withoutEnvelope(request('tools/list')).params, {});
  });

  test('base64 header values are decoded; a malformed one is refused rather than compared', () => {
    assert.equal(decodeHeaderValue(b64('wetter-prüfen')), 'wetter-prüfen');
    assert.equal(decodeHeaderValue(' plain '), 'plain');
    assert.equal(decodeHeaderValue('=?base64?!!!?='), undefined);
    assert.equal(decodeHeaderValue('=?base64?/w==?='), undefined, 'not UTF-8');
  });

  test('standard headers must be present and agree with the body', () => {
    const call = request('tools/call', { name: 'fx__echo' });
    const ok = { 'mcp-protocol-version': V, 'mcp-method': 'tools/call', 'mcp-name': 'fx__echo' };
    assert.equal(standardHeaderProblem(ok, call, V), undefined);
    assert.equal(standardHeaderProblem({ ...ok, 'mcp-name': b64('fx__echo') }, call, V), undefined);
    assert.match(standardHeaderProblem({ ...ok, 'mcp-protocol-version': undefined }, call, V) ?? '', /required/);
    assert.match(standardHeaderProblem({ ...ok, 'mcp-method': 'tools/list' }, call, V) ?? '', /Mcp-Method/);
    assert.match(standardHeaderProblem({ ...ok, 'mcp-name': 'fx__add' }, call, V) ?? '', /Mcp-Name/);
    const read = request('resources/read', { uri: 'fx+a://b' });
    assert.equal(standardHeaderProblem({ ...ok, 'mcp-method': 'resources/read', 'mcp-name': 'fx+a://b' }, read, V), undefined);
    assert.equal(standardHeaderProblem({ 'mcp-protocol-version': V, 'mcp-method': 'tools/list' }, request('tools/list'), V), undefined);
  });

  test('Mcp-Param headers mirror the arguments their schema declares, numbers numerically', () => {
    const schema = {
      type: 'object',
      properties: {
        region: { type: 'string', 'x-mcp-header': 'Region' },
        limit: { type: 'integer', 'x-mcp-header': 'Limit' },
        nested: { type: 'object', properties: { id: { type: 'string', 'x-mcp-header': 'Item-Id' } } },
        bad: { type: 'string', 'x-mcp-header': 'not a token' },
      },
    };
    const args = { region: 'eu-west', limit: 42, nested: { id: 'ä1' }, bad: 'x' };
    const headers = { 'mcp-param-region': 'eu-west', 'mcp-param-limit': '42.0', 'mcp-param-item-id': b64('ä1') };
    assert.equal(paramHeaderProblem(headers, schema, args), undefined);
    assert.equal(paramHeaderProblem({}, schema, {}), undefined, 'absent arguments expect no header');
    assert.equal(paramHeaderProblem({}, schema, { region: null }), undefined);
    assert.match(paramHeaderProblem({ ...headers, 'mcp-param-region': undefined }, schema, args) ?? '', /Region header is required/);
    assert.match(paramHeaderProblem({ ...headers, 'mcp-param-limit': '43' }, schema, args) ?? '', /Limit header does not match/);
    assert.match(paramHeaderProblem({ ...headers, 'mcp-param-item-id': 'ä2' }, schema, args) ?? '', /Item-Id/);
    assert.equal(paramHeaderProblem({}, { type: 'object' }, args), undefined);
  });
});
