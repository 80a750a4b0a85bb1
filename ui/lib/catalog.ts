import { api } from './api.ts';
import { can } from './session.ts';

export interface ConnectorView {
  readonly id: string;
  readonly name: string;
  readonly type: 'http' | 'stdio';
  readonly url?: string;
  readonly command?: string;
  readonly args?: readonly string[];
  readonly headers?: readonly { name: string; secret: boolean; value?: string }[];
  readonly env?: readonly { name: string; secret: boolean; value?: string }[];
  /** How this replica sees it; absent when the gateway has not opened it. */
  readonly health?: {
    readonly connection: string;
    readonly breaker: 'closed' | 'open' | 'half-open';
    readonly inFlight: number;
    readonly consecutiveFailures: number;
    readonly recentFailures: number;
    readonly lastError: { readonly code: string; readonly at: string } | null;
    readonly retryAt: string | null;
  };
  /** OAuth settings: whether a secret is held, never the secret; `user`: each member connects their own account. */
  readonly oauth?: { readonly mode: 'client_credentials' | 'user'; readonly clientId: string };
  readonly createdAt: string;
}

export interface PinView {
  readonly connector: string;
  readonly tool: string;
  readonly status: 'approved' | 'pending' | 'rejected';
  readonly change: 'new' | 'changed' | null;
  readonly approvedFingerprint: string | null;
  readonly pendingFingerprint: string | null;
  readonly findings: readonly { rule: string; place: string }[];
  readonly classification: 'read' | 'write' | null;
  readonly reviewedBy: string | null;
  readonly updatedAt: string;
}

export async function listConnectors(): Promise<ConnectorView[]> {
  return (await api.get<{ connectors: ConnectorView[] }>('/connectors')).connectors;
}

export async function listPins(query = ''): Promise<PinView[]> {
  if (!can('tool_pin.read')) return [];
  return (await api.get<{ pins: PinView[] }>(`/tools/pins${query}`)).pins;
}

/** Scope choices from the live catalog: everything, each connector, each approved tool (`connector/tool`). */
export async function scopeChoices(): Promise<{ value: string; label: string }[]> {
  const [connectors, pins] = await Promise.all([listConnectors(), listPins('?status=approved')]);
  const out = [{ value: '*', label: 'Everything (every connector and tool)' }];
  for (const c of connectors) {
    out.push({ value: c.name, label: `${c.name} — every tool` });
    for (const p of pins.filter((x) => x.connector === c.name)) out.push({ value: `${c.name}/${p.tool}`, label: `${c.name}/${p.tool}` });
  }
  return out;
}
