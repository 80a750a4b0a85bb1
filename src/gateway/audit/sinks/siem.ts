import type { Logger } from 'pino';
import type { Config } from '../../../config/schema.ts';
import type { Egress } from '../../../egress/egress.ts';
import { GatehouseError } from '../../../errors.ts';
import type { Store } from '../../../store/types.ts';
import { SiemDelivery } from './delivery.ts';
import { createOtlpSink, createWebhookSink } from './http-sinks.ts';
import type { Sink, SinkName } from './sink.ts';
import { createSyslogSink } from './syslog.ts';

/** The sinks the operator configured, by name, in a fixed order. */
export function configuredSinks(config: Config): SinkName[] {
  const names: SinkName[] = [];
  if (config.siemSyslogUrl !== undefined) names.push('syslog');
  if (config.siemWebhookUrl !== undefined) names.push('webhook');
  if (config.siemOtlpUrl !== undefined) names.push('otlp');
  return names;
}

/**
 * Builds the configured sinks; a bad URL, an unreadable certificate file or a destination egress refuses stops the
 * start with the setting named, rather than a gateway that silently streams nowhere.
 */
export function createSinks(config: Config, egress: Egress): Sink[] {
  const sinks: Sink[] = [];
  const named = <T>(setting: string, build: () => T): T => {
    try {
      return build();
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new GatehouseError('config_invalid', `Invalid configuration: ${setting}: ${why}`, { cause: err });
    }
  };
  if (config.siemSyslogUrl !== undefined) {
    const url = config.siemSyslogUrl;
    sinks.push(named('siemSyslogUrl', () => createSyslogSink({
      egress,
      settings: { url, caFile: config.siemSyslogCaFile, certFile: config.siemSyslogCertFile, keyFile: config.siemSyslogKeyFile, settleMs: config.siemSyslogSettleMs },
    })));
  }
  if (config.siemWebhookUrl !== undefined && config.siemWebhookSecret !== undefined) {
    const url = config.siemWebhookUrl;
    const secret = config.siemWebhookSecret;
    sinks.push(named('siemWebhookUrl', () => createWebhookSink({ egress, url, secret })));
  }
  if (config.siemOtlpUrl !== undefined) {
    const url = config.siemOtlpUrl;
    sinks.push(named('siemOtlpUrl', () => createOtlpSink({ egress, url, headers: config.siemOtlpHeaders })));
  }
  return sinks;
}

/** The server's SIEM delivery, or undefined when no sink is configured. */
export function createSiemDelivery(deps: { config: Config; egress: Egress; store: Store; log: Logger }): SiemDelivery | undefined {
  const sinks = createSinks(deps.config, deps.egress);
  if (sinks.length === 0) return undefined;
  return new SiemDelivery({
    store: deps.store,
    sinks,
    log: deps.log,
    settings: { batchSize: deps.config.siemBatchSize, pollMs: deps.config.siemPollMs, retryMaxMs: deps.config.siemRetryMaxMs },
  });
}
