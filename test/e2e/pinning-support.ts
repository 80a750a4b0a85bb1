/** Test support for tool pinning: approving, as an admin would, the tools an upstream added after its first sync. */
import { approveToolPin, listToolPins } from '../../src/services/tool-pins.ts';
import { operatorActor } from '../../src/services/context.ts';
import { waitFor, type Gateway } from './harness.ts';

/** Waits until each named tool of the connector is pending review, approves it, and has the gateway pick it up. */
export async function approvePending(gw: Gateway, connector: string, tools: readonly string[], orgId = gw.org.id): Promise<void> {
  const actor = operatorActor('test');
  const want = new Set(tools);
  await waitFor(
    async () => (await listToolPins(gw.app.services, actor, orgId, { connector, status: 'pending' })).filter((p) => want.has(p.tool)).length === want.size,
    10_000,
    `pending tools of ${connector}`,
  );
  for (const tool of tools) await approveToolPin(gw.app.services, actor, orgId, connector, tool);
  await gw.app.federation.sync();
}
