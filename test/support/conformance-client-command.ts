// The command the conformance CLI runs as "the client" of a client scenario (`conformance client --command ...`).
// It is only a messenger: it hands the scenario's server URL (its last argument) and the scenario's name and context
// (MCP_CONFORMANCE_SCENARIO, MCP_CONFORMANCE_CONTEXT) to the driver in the test process, which points a gateway
// connector at that URL and drives the calls through the gateway; it exits 0 when the driver says the calls went
// through, 1 otherwise. See conformance-client-driver.ts.
const serverUrl = process.argv.at(-1) ?? '';
const driver = process.env.GATEHOUSE_CONFORMANCE_DRIVER ?? '';
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
const context: unknown = process.env.MCP_CONFORMANCE_CONTEXT === undefined ? undefined : JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT);

try {
  const res = await fetch(driver, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ serverUrl, scenario, context }) });
  const answer = (await res.json()) as { ok: boolean; error?: string };
  if (!answer.ok) {
    process.stderr.write(`driver: ${answer.error ?? 'failed'}\n`);
    process.exitCode = 1;
  }
} catch (err) {
  process.stderr.write(`driver unreachable: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
