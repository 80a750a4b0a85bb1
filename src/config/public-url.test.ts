import { test } from 'node:test';
import assert from 'node:assert/strict';
import { publicBaseOf } from './public-url.ts';

test('the base URL follows the public URL, else host and port', () => {
  assert.equal(publicBaseOf({ host: '0.0.0.0', port: 8080 }), 'http://127.0.0.1:8080/');
  assert.equal(publicBaseOf({ host: '::1', port: 9 }), 'http://[::1]:9/');
  assert.equal(publicBaseOf({ host: '127.0.0.1', port: 1, publicUrl: 'https://gw.example.com/base' }), 'https://gw.example.com/base/');
});
