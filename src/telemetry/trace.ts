import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Link, type Span } from '@opentelemetry/api';

/**
 * The service's one seam to tracing. Only the OpenTelemetry API is imported here, never the SDK:
 * src/telemetry/sdk.ts loads the SDK and switches this on when OTEL_EXPORTER_OTLP_ENDPOINT is set.
 * Until then every function below returns at once, without creating, reading or storing anything.
 */
export interface TraceContextCodec {
  /** The W3C `traceparent` naming the span active in `ctx`, if it is a valid one. */
  inject(ctx: Context): string | undefined;
  /** A context whose parent is the span `traceparent` names (ROOT_CONTEXT when it names none). */
  extract(traceparent: string): Context;
}

let codec: TraceContextCodec | undefined;

export function enableTracing(given: TraceContextCodec): void {
  codec = given;
}

export function tracingEnabled(): boolean {
  return codec !== undefined;
}

const tracer = () => trace.getTracer('payment-notification-receiver');

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent; the active context when absent. */
  parent?: Context;
  links?: Link[];
}

/**
 * Runs `work` inside a new span (when tracing is on) that ends when it settles; a thrown error
 * marks the span as failed with its message (never a body or secret: errors here carry neither).
 */
export async function inSpan<T>(name: string, options: SpanOptions, work: (span: Span | undefined) => Promise<T>): Promise<T> {
  if (codec === undefined) return work(undefined);
  const { parent, ...spanOptions } = options;
  return tracer().startActiveSpan(name, spanOptions, parent ?? context.active(), async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The `traceparent` of the active span, to store with an event or send downstream. */
export function activeTraceparent(): string | undefined {
  return codec?.inject(context.active());
}

/** The `traceparent` of `span`, whichever context is active. */
export function traceparentOf(span: Span | undefined): string | undefined {
  return span === undefined ? undefined : codec?.inject(trace.setSpan(ROOT_CONTEXT, span));
}

/** The context a stored `traceparent` names, to continue its trace (in any replica, minutes later). */
export function contextOf(traceparent: string | null | undefined): Context | undefined {
  if (codec === undefined) return undefined;
  return traceparent == null ? ROOT_CONTEXT : codec.extract(traceparent);
}

/** A link to the span `traceparent` names, for a span that serves several traces (an ingest batch). */
export function linkTo(traceparent: string): Link | undefined {
  const spanContext = codec === undefined ? undefined : trace.getSpanContext(codec.extract(traceparent));
  return spanContext === undefined ? undefined : { context: spanContext };
}

export { SpanKind };

/** The span @fastify/otel opened for `request` (src/telemetry/sdk.ts registers it when tracing is on). */
export function requestSpanOf(request: object): Span | undefined {
  if (codec === undefined) return undefined;
  const opentelemetry = (request as { opentelemetry?: () => { span: Span | null } }).opentelemetry;
  return opentelemetry?.call(request).span ?? undefined;
}
