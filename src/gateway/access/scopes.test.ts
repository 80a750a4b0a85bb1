import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileScopes, scopeCovers, scopeProblem } from './scopes.ts';

test('a star grants everything', () => {
  const s = compileScopes(['*']);
  assert.ok(s.allowsConnector('any') && s.allowsTool('any', 'tool'));
});

test('an empty scope list grants nothing', () => {
  const s = compileScopes([]);
  assert.equal(s.allowsConnector('a'), false);
  assert.equal(s.allowsTool('a', 'x'), false);
  assert.equal(s.touchesConnector('a'), false);
});

test('a connector scope grants all of it and nothing of another connector', () => {
  const s = compileScopes(['alpha']);
  assert.ok(s.allowsConnector('alpha') && s.allowsTool('alpha', 'anything'));
  assert.equal(s.allowsConnector('beta'), false);
  assert.equal(s.allowsTool('beta', 'anything'), false);
  assert.equal(s.allowsTool('alphabet', 'x'), false);
});

test('a tool scope grants that tool only, not the connector resources or prompts', () => {
  const s = compileScopes(['alpha/echo', 'beta/read_*']);
  assert.ok(s.allowsTool('alpha', 'echo'));
  assert.equal(s.allowsTool('alpha', 'echo2'), false);
  assert.equal(s.allowsTool('alpha', 'ech'), false);
  assert.equal(s.allowsConnector('alpha'), false);
  assert.ok(s.touchesConnector('alpha'));
  assert.ok(s.allowsTool('beta', 'read_file'));
  assert.equal(s.allowsTool('beta', 'write_file'), false);
});

test('malformed scopes are named', () => {
  assert.equal(scopeProblem('alpha'), undefined);
  assert.equal(scopeProblem('alpha/echo'), undefined);
  assert.equal(scopeProblem('alpha/read_*'), undefined);
  assert.match(scopeProblem('Alpha') ?? '', /not a valid connector name/);
  assert.match(scopeProblem('a__b') ?? '', /not a valid connector name/);
  assert.match(scopeProblem('alpha/') ?? '', /invalid tool pattern/);
  assert.match(scopeProblem('alpha/x*y') ?? '', /invalid tool pattern/);
});

test('scopeCovers: a key may hand out only what it holds', () => {
  const cases: [readonly string[], string, boolean][] = [
    [['*'], '*', true],
    [['*'], 'alpha/echo', true],
    [['alpha'], '*', false],
    [['alpha'], 'alpha', true],
    [['alpha'], 'alpha/echo', true],
    [['alpha'], 'alpha/read_*', true],
    [['alpha'], 'beta', false],
    [['alpha'], 'alphabet', false],
    [['alpha/echo'], 'alpha', false],
    [['alpha/echo'], 'alpha/echo', true],
    [['alpha/echo'], 'alpha/echo2', false],
    [['alpha/echo'], 'alpha/echo*', false],
    [['alpha/read_*'], 'alpha/read_file', true],
    [['alpha/read_*'], 'alpha/read_f*', true],
    [['alpha/read_*'], 'alpha/read_*', true],
    [['alpha/read_*'], 'alpha/rea*', false],
    [['alpha/read_*'], 'alpha/*', false],
    [['alpha/read_*'], 'alpha/write_file', false],
    [['alpha/read_*'], 'alphabet/read_file', false],
    [['alpha/*'], 'alpha/anything', true],
    [['alpha/*'], 'alpha', false],
    [[], 'alpha', false],
  ];
  for (const [granted, requested, expected] of cases) {
    assert.equal(scopeCovers(granted, requested), expected, `${JSON.stringify(granted)} covers ${requested}`);
  }
});
