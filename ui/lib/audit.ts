import { api } from './api.ts';

export interface AuditRecord {
  readonly seq: number;
  readonly ts: string;
  readonly actorKeyId: string | null;
  readonly actorUser: string | null;
  readonly clientIp: string | null;
  readonly action: string;
  readonly targetConnector: string | null;
  readonly targetName: string | null;
  readonly decision: 'allow' | 'deny' | 'error';
  readonly reason: string | null;
  readonly latencyMs: number | null;
  readonly correlationId: string | null;
  readonly args: string | null;
  readonly detail: string | null;
  readonly prevHash: string;
  readonly hash: string;
}

export interface AuditPage {
  readonly records: AuditRecord[];
  readonly nextAfter: number | null;
}

export function auditPage(filters: URLSearchParams): Promise<AuditPage> {
  const q = filters.toString();
  return api.get<AuditPage>(`/audit${q === '' ? '' : `?${q}`}`);
}
