import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Egress, OnPinned } from '../../egress/egress.ts';
import { planSpawn, type SandboxSettings } from '../../sandbox/sandbox.ts';
import { checkStdioRequest } from '../../sandbox/stdio-policy.ts';
import type { SecretBox } from '../../vault/secret-box.ts';
import type { ConnectorRecord, ConnectorValue } from '../../store/types.ts';
import { HttpClientTransport } from './http-transport.ts';
import { SupervisedStdioTransport } from './stdio-transport.ts';

/** Where a connector's secret value is bound: a ciphertext only opens in the row and field it was sealed for. */
export function secretBinding(orgId: string, connectorId: string, kind: 'header' | 'env', name: string): string {
  return `connector/${orgId}/${connectorId}/${kind}/${name}`;
}

function openValues(box: SecretBox, c: ConnectorRecord, kind: 'header' | 'env', values: readonly ConnectorValue[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    out[v.name] = v.secret ? box.open(v.ciphertext, secretBinding(c.orgId, c.id, kind, v.name)) : v.value;
  }
  return out;
}

/**
 * The connector's secret values in the clear, for the echo scrub (scrub/echo-scrub.ts) to recognise in what the
 * upstream sends back; the transport below is the only other place they are opened.
 */
export function connectorSecrets(connector: ConnectorRecord, box: SecretBox): string[] {
  const t = connector.transport;
  const [kind, values] = t.type === 'http' ? (['header', t.headers] as const) : (['env', t.env] as const);
  return values.filter((v) => v.secret).map((v) => box.open(v.ciphertext, secretBinding(connector.orgId, connector.id, kind, v.name)));
}

/**
 * Builds the SDK transport for a connector. With connectorSecrets above, the only place connector secrets are
 * decrypted; they go straight into the upstream request headers or the child's environment. A stdio connector is
 * checked again (stdio-policy) and spawned as its sandbox settings say: a record that fails either does not start.
 */
export function createUpstreamTransport(
  connector: ConnectorRecord,
  box: SecretBox,
  egress: Egress,
  sandbox: SandboxSettings,
  onPinned?: OnPinned,
): { transport: Transport; stdio?: SupervisedStdioTransport } {
  const t = connector.transport;
  if (t.type === 'http') {
    // Checked again here, not only when stored: the operator's settings may have changed since.
    const options = { allowPrivateNetwork: t.allowPrivateNetwork };
    const url = egress.parse(t.url, options);
    const headers = openValues(box, connector, 'header', t.headers);
    return { transport: new HttpClientTransport(url, headers, egress.agent(url, options, onPinned), t.propagateTraceContext === true) };
  }
  checkStdioRequest({ command: t.command, args: t.args, envNames: t.env.map((v) => v.name), allowShell: t.allowShell, allowUnsafeEnv: t.allowUnsafeEnv });
  const plan = planSpawn({ command: t.command, args: t.args, env: openValues(box, connector, 'env', t.env), cwd: t.cwd, network: t.network === true }, sandbox);
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
