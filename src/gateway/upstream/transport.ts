import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Egress, OnPinned } from '../../egress/egress.ts';
import { GatehouseError } from '../../errors.ts';
import { planSpawn, type SandboxSettings } from '../../sandbox/sandbox.ts';
import { checkStdioRequest } from '../../sandbox/stdio-policy.ts';
import type { ConnectorRecord } from '../../store/types.ts';
import type { OpenedCredentials } from './credentials.ts';
import { HttpClientTransport } from './http-transport.ts';
import { upstreamAuthFor } from './oauth/connector-auth.ts';
import { SupervisedStdioTransport } from './stdio-transport.ts';

export { secretBinding } from './credentials.ts';

/**
 * Builds the SDK transport for a connector from its values as credentials.ts opened them (secrets in the clear):
 * they go straight into the upstream request headers or the child's environment, and nowhere else; an OAuth
 * connector's client secret is opened (by `opened.oauth`) only when a token is requested. A stdio connector is
 * checked again (stdio-policy) and spawned as its sandbox settings say: a record that fails either does not start.
 */
export function createUpstreamTransport(
  connector: ConnectorRecord,
  opened: OpenedCredentials,
  egress: Egress,
  sandbox: SandboxSettings,
  onPinned?: OnPinned,
): { transport: Transport; stdio?: SupervisedStdioTransport } {
  const t = connector.transport;
  if (t.type === 'http') {
    // Checked again here, not only when stored: the operator's settings may have changed since.
    const options = { allowPrivateNetwork: t.allowPrivateNetwork };
    const url = egress.parse(t.url, options);
    const headers = { ...opened.values };
    // Per user: the person's own tokens (user-tokens.ts), never the connector's nor the agent's credential.
    if (t.oauth?.mode === 'user' && opened.userAuth === undefined) throw new GatehouseError('upstream_auth_required', `Connector '${connector.name}' needs OAuth per user, which this gateway has not set up`);
    const auth = t.oauth === undefined ? undefined : t.oauth.mode === 'user' ? opened.userAuth : upstreamAuthFor(connector, t.oauth, url, opened.oauth, egress, options);
    return { transport: new HttpClientTransport(url, headers, egress.agent(url, options, onPinned), auth, t.propagateTraceContext === true) };
  }
  checkStdioRequest({ command: t.command, args: t.args, envNames: t.env.map((v) => v.name), allowShell: t.allowShell, allowUnsafeEnv: t.allowUnsafeEnv });
  const plan = planSpawn({ command: t.command, args: t.args, env: { ...opened.values }, cwd: t.cwd, network: t.network === true }, sandbox);
  const stdio = new SupervisedStdioTransport(plan);
  return { transport: stdio, stdio };
}

/**
 * Hands responses to the SDK client one macrotask after they arrive, notifications at once. The SDK dispatches a
 * notification a microtask later than a response read in the same chunk, so without this the last progress or log
 * notification of a call is dropped (its handler is already gone) or sent after the answer (typescript-sdk#2580).
 * Call after `client.connect()`, which installs the handler this wraps.
 */
export function deferResponses(transport: Transport): void {
  const deliver = transport.onmessage;
  if (deliver === undefined) return;
  transport.onmessage = (message, extra) => {
    if ('method' in message) deliver(message, extra);
    else setImmediate(() => { deliver(message, extra); });
  };
}
