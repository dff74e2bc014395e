/** One event as every destination receives it: the id is stable across retries. */
export interface OutboundEvent {
  /** `evt_…`: webhook-id, AMQP message_id, Nats-Msg-Id. */
  id: string;
  /** `<provider>.<kind>.state_changed`: AMQP routing key, NATS subject. */
  type: string;
  /** The exact JSON body, fixed when the event was written. */
  body: string;
  /** When the event was written (AMQP timestamp). */
  createdAt: Date;
  /** Tracing on: the W3C traceparent of this attempt's span, sent as a `traceparent` header. */
  traceparent?: string | undefined;
}

/** The result of one attempt. Failure is data: a destination never throws for a failed attempt. */
export type DeliveryResult =
  | { ok: true; statusCode?: number }
  | {
      ok: false;
      /** Short, credential-free reason: `HTTP 500`, `timeout after 10000 ms`, `connection refused`. */
      error: string;
      statusCode?: number;
      /** The destination asked for at least this long a pause (HTTP Retry-After). */
      retryAfterMs?: number;
    };

/** What every destination type may need besides its URL; the composition root gives it. */
export interface DestinationOptions {
  /** Per-attempt deadline. */
  timeoutMs: number;
  /** Standard Webhooks secret; required by http(s) destinations only. */
  webhookSecret?: string | undefined;
  /** The providers' names, each an event type's first segment: the subjects a NATS stream is created for. */
  providerNames?: readonly string[];
}

/** Builds one destination type from its URL: adding a type is a file plus a line in the registry. */
export type DestinationFactory = (url: URL, options: DestinationOptions) => Destination;

/** Where events go: a webhook URL, a RabbitMQ exchange, a NATS JetStream stream. */
export interface Destination {
  /** The destination's identity and shown form: its URL with credentials replaced by `***`. */
  readonly id: string;
  /** `http`, `amqp`, `nats`: the metrics label. */
  readonly type: string;
  deliver(event: OutboundEvent): Promise<DeliveryResult>;
  /**
   * At start-up: throws when the destination is reachable but set up so that it could never accept
   * some events (a configuration error, to fix before anything is sent). Unreachable is not an
   * error here: the deliveries wait for it.
   */
  checkSetup?(): Promise<void>;
  /** Waits for in-flight deliveries, then releases connections. */
  close(): Promise<void>;
}
