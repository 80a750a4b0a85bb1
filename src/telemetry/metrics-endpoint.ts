import { createHash, timingSafeEqual } from 'node:crypto';
import { compileAllowlist } from '../cidr.ts';
import type { Config } from '../config/schema.ts';
import { GatehouseError } from '../errors.ts';

/**
 * Who may read `/metrics`: a scraper with the operator's token (`GATEHOUSE_METRICS_TOKEN`, as `Authorization: Bearer`),
 * or one whose address is in the operator's network rule (`GATEHOUSE_METRICS_ALLOW_CIDRS`). Neither configured: no
 * one. The metrics hold no secrets, but they describe the organisations, their connectors and their traffic.
 */
export function createMetricsAccess(config: Pick<Config, 'metricsToken' | 'metricsAllowCidrs'>): (authorization: string | undefined, clientIp: string | null) => void {
  const allowed = config.metricsAllowCidrs.length === 0 ? undefined : compileAllowlist(config.metricsAllowCidrs);
  // Compared as digests: equal length whatever was sent, so the comparison's time says nothing about the token.
  const expected = config.metricsToken === undefined ? undefined : digest(config.metricsToken.reveal());
  return (authorization, clientIp) => {
    if (expected !== undefined && authorization !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (m?.[1] !== undefined && timingSafeEqual(digest(m[1]), expected)) return;
      throw new GatehouseError('unauthenticated', 'Invalid metrics token');
    }
    if (allowed?.allows(clientIp) === true) return;
    if (expected !== undefined) throw new GatehouseError('unauthenticated', 'A metrics token is required');
    throw new GatehouseError('forbidden', 'Metrics are not available to this address (GATEHOUSE_METRICS_TOKEN or GATEHOUSE_METRICS_ALLOW_CIDRS)');
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
