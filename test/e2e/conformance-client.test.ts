// The official conformance package's client scenarios with the gateway's upstream side as the client under test:
// a connector is pointed at each scenario's server and an SDK agent drives the call through the gateway
// (test/support/conformance-client-driver.ts). Every check must pass: no expected-failures list, and a warning
// fails the test like a failure does.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { problemsOf, runClientScenario } from '../support/conformance-client-driver.ts';
import { startGateway, type Gateway } from './harness.ts';

const SCENARIOS = ['initialize', 'tools_call', 'sse-retry', 'elicitation-sep1034-client-defaults', 'auth/client-credentials-basic', 'auth/client-credentials-jwt', 'auth/metadata-default', 'auth/metadata-var1', 'auth/metadata-var2', 'auth/metadata-var3', 'auth/basic-cimd', 'auth/scope-from-www-authenticate', 'auth/scope-from-scopes-supported', 'auth/scope-omitted-when-undefined', 'auth/scope-step-up', 'auth/scope-retry-limit', 'auth/token-endpoint-auth-basic', 'auth/token-endpoint-auth-post', 'auth/token-endpoint-auth-none', 'auth/2025-03-26-oauth-metadata-backcompat', 'auth/2025-03-26-oauth-endpoint-fallback', 'auth/resource-mismatch', 'auth/offline-access-scope', 'auth/offline-access-not-supported', 'auth/pre-registration'] as const;

describe('conformance client scenarios, the gateway as the client', () => {
  let gw: Gateway | undefined;

  before(async () => {
    gw = await startGateway({ GATEHOUSE_UPSTREAM_OAUTH_CLIENT_METADATA_URL: 'https://conformance-test.local/client-metadata.json' });
  });

  after(async () => {
    await gw?.close();
  });

  for (const scenario of SCENARIOS) {
    test(scenario, { timeout: 60_000 }, async (t) => {
      assert.ok(gw !== undefined);
      const run = await runClientScenario(gw, scenario, { clientTimeoutMs: 30_000 });
      t.diagnostic(`${scenario}: ${run.checks.map((c) => `${c.id}=${c.status}`).join(' ')}`);
      const problems = problemsOf(run);
      assert.deepEqual(problems, [], `${scenario}:\n  ${problems.join('\n  ')}\n${run.output.slice(-3000)}`);
      assert.ok(run.checks.some((c) => c.status === 'SUCCESS'), `${scenario}: no check passed`);
    });
  }
});
