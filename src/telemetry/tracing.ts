import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Config } from '../config/schema.ts';
import type { Egress } from '../egress/egress.ts';
import { GatehouseError } from '../errors.ts';

export type { Span } from '@opentelemetry/api';

/**
 * OpenTelemetry traces, exported over OTLP/HTTP to the operator's collector (GATEHOUSE_OTLP_ENDPOINT). Built only
 * when configured: with tracing off the data path creates no span object at all. The collector is an outbound
 * destination like a connector: its URL passes the egress checks, and every socket the exporter opens is resolved,
 * checked and pinned by the egress agent. No tracer is registered globally; spans are parented explicitly.
 *
 * Span attributes carry no secret and no unbounded client text: the method (from the method table), the
 * connector and the upstream's tool name (from the organisation's catalog), the decision and error code, the
 * organisation id and the correlation id.
 */
export interface Tracing {
  /** A span; with no parent it starts a trace (the gateway does not adopt a client's trace id: it is unauthenticated). */
  start(name: string, parent: Span | undefined, attributes?: Attributes, kind?: SpanKind): Span;
  /** The span's W3C `traceparent` header value. */
  traceparent(span: Span): string;
  /** Ends a span, marking it failed with the error code when there was one. */
  end(span: Span, failureCode?: string): void;
  shutdown(): Promise<void>;
}

export { SpanKind };

export function createTracing(config: Pick<Config, 'otlpEndpoint' | 'otlpServiceName'>, egress: Pick<Egress, 'parse' | 'agent'>, version: string): Tracing | undefined {
  if (config.otlpEndpoint === undefined) return undefined;
  let url: URL;
  try {
    url = egress.parse(config.otlpEndpoint);
  } catch (err) {
    throw new GatehouseError('config_invalid', `GATEHOUSE_OTLP_ENDPOINT: ${err instanceof Error ? err.message : 'refused'}`, { cause: err });
  }
  if (url.search !== '' || url.hash !== '') throw new GatehouseError('config_invalid', 'GATEHOUSE_OTLP_ENDPOINT must not carry a query or fragment');
  const exporter = new OTLPTraceExporter({ url: url.href, httpAgentOptions: () => egress.agent(url), timeoutMillis: 10_000 });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.otlpServiceName, 'service.version': version }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 1000, maxQueueSize: 4096, maxExportBatchSize: 512 })],
  });
  const tracer = provider.getTracer('gatehouse', version);
  return {
    start(name, parent, attributes, kind = SpanKind.INTERNAL) {
      return tracer.startSpan(name, { kind, ...(attributes === undefined ? {} : { attributes }) }, parent === undefined ? ROOT_CONTEXT : trace.setSpan(ROOT_CONTEXT, parent));
    },
    traceparent(span) {
      const c = span.spanContext();
      return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & 1) === 1 ? '01' : '00'}`;
    },
    end(span, failureCode) {
      if (failureCode !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: failureCode });
      span.end();
    },
    async shutdown() {
      await provider.shutdown();
    },
  };
}
