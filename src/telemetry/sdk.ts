import { FastifyOtelInstrumentation } from '@fastify/otel';
import {
  DiagLogLevel,
  ROOT_CONTEXT,
  SpanStatusCode,
  defaultTextMapGetter,
  defaultTextMapSetter,
  diag,
  type Context,
  type TextMapPropagator,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { envDetector, hostDetector } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { ATTR_URL_PATH } from '@opentelemetry/semantic-conventions';
import type { FastifyBaseLogger, FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config/config.js';
import { enableTracing } from './trace.js';

export interface Tracing {
  /** Registered first on the app: a span per request. */
  plugin: FastifyPluginAsync;
  /** Exports the spans still buffered, then stops. */
  shutdown(): Promise<void>;
}

/**
 * Incoming trace context is never adopted: `/notify/*` is on the internet, and an outsider must not
 * choose the trace a payment is recorded under. Every trace starts here; outbound, the W3C
 * `traceparent` is written as usual.
 */
class StartsEveryTrace implements TextMapPropagator {
  constructor(private readonly w3c: W3CTraceContextPropagator) {}
  inject(ctx: Context, carrier: unknown, setter = defaultTextMapSetter): void {
    this.w3c.inject(ctx, carrier, setter);
  }
  extract(ctx: Context): Context {
    return ctx;
  }
  fields(): string[] {
    return this.w3c.fields();
  }
}

/**
 * Starts the OpenTelemetry SDK (loaded by src/server.ts only when OTEL_EXPORTER_OTLP_ENDPOINT is
 * set): traces only, exported in batches over OTLP/HTTP; the exporter reads the endpoint, headers
 * and timeouts from the standard OTEL_* variables. No metrics or logs go through OTLP: Prometheus
 * and stdout carry those.
 */
export function startTracing(config: NonNullable<Config['tracing']>, logger: FastifyBaseLogger): Tracing {
  // Export failures go to the log, not to nowhere.
  diag.setLogger(
    {
      error: (message) => logger.warn({ component: 'tracing' }, message),
      warn: (message) => logger.warn({ component: 'tracing' }, message),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    DiagLogLevel.WARN,
  );
  // The URL the configuration checked, not the raw variable the exporter would read again.
  const traceExporter = config.protocol === 'http/json' ? new JsonTraceExporter({ url: config.url }) : new ProtobufTraceExporter({ url: config.url });
  const routes = new FastifyOtelInstrumentation({
    // One span per request; a span per hook and handler would cost more than the work they time.
    instrumentHooks: false,
    instrumentHandler: false,
    // An error's message may quote what a client sent: a span keeps the status and the code only.
    recordExceptions: false,
    requestHook: (span, request: FastifyRequest) => {
      // The route names the span; the path, never the query string (an SSO callback's code).
      span.updateName(`${request.method} ${request.routeOptions.url ?? 'unknown route'}`);
      span.setAttribute(ATTR_URL_PATH, request.url.split('?')[0] ?? '');
      const notify = (request.routeOptions.config as { notify?: { provider: string; kind: string } } | undefined)?.notify;
      if (notify !== undefined) span.setAttributes({ 'receiver.provider': notify.provider, 'receiver.kind': notify.kind });
    },
  });
  // One W3C codec: the SDK's outbound propagation and the traceparent an event stores.
  const w3c = new W3CTraceContextPropagator();
  const sdk = new NodeSDK({
    serviceName: config.serviceName,
    traceExporter,
    textMapPropagator: new StartsEveryTrace(w3c),
    instrumentations: [routes],
    metricReaders: [],
    logRecordProcessors: [],
    // Not the process detector: it would export the command line.
    resourceDetectors: [envDetector, hostDetector],
  });
  sdk.start();

  enableTracing({
    inject(ctx) {
      const carrier: Record<string, string> = {};
      w3c.inject(ctx, carrier, defaultTextMapSetter);
      return carrier.traceparent;
    },
    extract: (traceparent) => w3c.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter),
  });
  return { plugin: withPlainErrorStatus(routes.plugin()), shutdown: () => sdk.shutdown() };
}

/**
 * @fastify/otel sets a failed request's status message to the error's message, which for a refused
 * notification may quote the body. The status says `HTTP 401` instead; `receiver.outcome` names the
 * error code (src/http/notify/instrument.ts).
 */
function withPlainErrorStatus(otel: ReturnType<FastifyOtelInstrumentation['plugin']>): FastifyPluginAsync {
  return fp(async (app) => {
    await app.register(otel);
    app.addHook('onSend', async (request, reply) => {
      if (reply.statusCode < 400) return;
      const span = (
        request as { opentelemetry?: () => { span: { setStatus(status: { code: SpanStatusCode; message?: string }): void } | null } }
      ).opentelemetry?.().span;
      // ERROR either way: the span may already be ERROR with the message, and UNSET cannot replace it.
      span?.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${reply.statusCode}` });
    });
  });
}
