import { jetstream, JetStreamApiCodes, JetStreamApiError, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import type { DeliveryResult, Destination, DestinationOptions, OutboundEvent } from '../domain/destination.js';
import { withDeadline } from '../net/deadline.js';
import { inFlightDeliveries } from './in-flight.js';
import { describeError, urlSecrets } from '../net/describe-error.js';
import { lazyConnection } from './lazy-connection.js';
import { redactUrl } from './redact-url.js';

/** The providers' event types start with their names; a created stream captures exactly them. */

/** Stream names may not hold whitespace, `.`, `*`, `>` or path separators. */
const STREAM_NAME = /^[^\s.*>/\\]+$/;
/** Dot-separated tokens without wildcards or whitespace. */
const SUBJECT_PREFIX = /^[^\s.*>]+(\.[^\s.*>]+)*$/;

export interface NatsDestination extends Destination {
  /** The open connection, if any: lets a test close it the way a server restart would. */
  currentConnection(): NatsConnection | undefined;
}

export interface NatsTarget {
  server: string;
  stream: string;
  /** `''` or `P.`: put before every event type to form its subject. */
  subjectPrefix: string;
  credentials: { user?: string; pass?: string; token?: string };
}

/** Reads `nats://[user:pass@ | token@]host:port?stream=NAME[&subjectPrefix=P]`. */
export function parseNatsUrl(url: URL): NatsTarget {
  const shown = redactUrl(url.href);
  const stream = url.searchParams.get('stream');
  if (stream === null || stream === '') {
    throw new Error(`FORWARD_URLS: the NATS destination ${shown} names no stream: add ?stream=NAME`);
  }
  if (!STREAM_NAME.test(stream)) {
    throw new Error(`FORWARD_URLS: the NATS destination ${shown} has an invalid stream name`);
  }
  const prefix = url.searchParams.get('subjectPrefix') ?? '';
  if (prefix !== '' && !SUBJECT_PREFIX.test(prefix)) {
    throw new Error(`FORWARD_URLS: the NATS destination ${shown} has an invalid subjectPrefix`);
  }
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  // NATS URLs carry a token as a bare user-info part: nats://TOKEN@host.
  const credentials = pass !== '' ? { user, pass } : user !== '' ? { token: user } : {};
  return {
    server: `${url.hostname}:${url.port || '4222'}`,
    stream,
    subjectPrefix: prefix === '' ? '' : `${prefix}.`,
    credentials,
  };
}

interface Clients {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/**
 * NATS JetStream: each event is published to subject = event type (after the optional prefix) with
 * `Nats-Msg-Id` = event id, and counts as delivered once JetStream acknowledges it. The client
 * reconnects by itself after a drop; a connection that ended up closed is replaced on the next
 * delivery. Every failure is a failed attempt: `deliver` never throws.
 */
export function createNatsDestination(url: URL, options: DestinationOptions): NatsDestination {
  const target = parseNatsUrl(url);
  const id = redactUrl(url.href);
  const secrets = urlSecrets(url);
  const { timeoutMs } = options;
  const providerNames = options.providerNames ?? [];
  if (providerNames.length === 0) throw new Error('a NATS destination needs the provider names its stream captures');
  const streamSubjects = providerNames.map((name) => `${target.subjectPrefix}${name}.>`);

  const inFlight = inFlightDeliveries();
  // Subjects a stream is known to capture on the current connection; checked before their first publish.
  let captured = new Set<string>();

  async function openClients(): Promise<Clients> {
    const nc = await connect({
      servers: target.server,
      ...target.credentials,
      name: `payment-notification-receiver → ${target.stream}`,
      timeout: timeoutMs,
      maxReconnectAttempts: -1,
    });
    captured = new Set();
    try {
      return { nc, js: jetstream(nc, { timeout: timeoutMs }), jsm: await jetstreamManager(nc, { timeout: timeoutMs }) };
    } catch (error) {
      await nc.close().catch(() => {});
      throw error;
    }
  }

  const connection = lazyConnection({
    open: openClients,
    isAlive: ({ nc }) => !nc.isClosed(),
    describe: (error) => describeError(error, secrets),
  });

  /** An existing stream that captures the subject is used as it is; otherwise stream NAME is created. */
  async function ensureStream(jsm: JetStreamManager, subject: string): Promise<void> {
    if (captured.has(subject)) return;
    try {
      await jsm.streams.find(subject);
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) throw error;
      try {
        // Adding a stream with the same configuration twice succeeds, so replicas may race here.
        await jsm.streams.add({ name: target.stream, subjects: streamSubjects });
      } catch (addError) {
        throw new Error(`no stream captures ${subject} and stream ${target.stream} could not be created: ${describeError(addError, secrets)}`, {
          cause: addError,
        });
      }
    }
    captured.add(subject);
  }

  /**
   * A stream named NAME that exists but does not capture every provider's subjects would refuse
   * their events for ever (JetStream cannot create a second stream of that name): say so at start-up.
   */
  async function checkSetup(): Promise<void> {
    let jsm: JetStreamManager;
    try {
      ({ jsm } = await withDeadline(connection.get(), timeoutMs));
    } catch {
      return;
    }
    const uncaptured: string[] = [];
    for (const subject of streamSubjects) {
      // Any subject under the wildcard stands for it: a stream captures `P.x` iff it captures `P.>`.
      const sample = subject.replace(/>$/, 'setup-check');
      try {
        await jsm.streams.find(sample);
      } catch (error) {
        if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound)) return;
        uncaptured.push(subject);
      }
    }
    if (uncaptured.length === 0) return;
    const existing = await jsm.streams.info(target.stream).then(
      (info) => info.config.subjects ?? [],
      () => undefined,
    );
    if (existing === undefined) return;
    throw new Error(
      `FORWARD_URLS: NATS stream ${target.stream} at ${id} exists with subjects ${existing.join(', ') || '(none)'} and does not capture ${uncaptured.join(', ')}: add them to the stream, or name another stream`,
    );
  }

  async function publish(event: OutboundEvent): Promise<DeliveryResult> {
    const subject = target.subjectPrefix + event.type;
    try {
      await withDeadline(
        (async () => {
          const { js, jsm } = await connection.get();
          await ensureStream(jsm, subject);
          await js.publish(subject, event.body, { msgID: event.id, timeout: timeoutMs, ...traceHeaders(event) });
        })(),
        timeoutMs,
      );
      return { ok: true };
    } catch (error) {
      // The stream may have been deleted or reconfigured: look again before the next attempt.
      captured.delete(subject);
      return { ok: false, error: describeError(error, secrets) };
    }
  }

  return {
    id,
    type: 'nats',
    deliver: (event) => inFlight.run(() => publish(event)),
    checkSetup,
    async close() {
      await inFlight.drain();
      const last = await connection.release();
      if (last === undefined || last.nc.isClosed()) return;
      // A drain waits for the server; one that is unreachable must not hold up shutdown.
      await withDeadline(last.nc.drain(), timeoutMs).catch(() => last.nc.close());
    },
    currentConnection: () => connection.current()?.nc,
  };
}

/** Tracing on: the attempt's `traceparent` as a message header. */
function traceHeaders(event: OutboundEvent): { headers?: ReturnType<typeof headers> } {
  if (event.traceparent === undefined) return {};
  const set = headers();
  set.set('traceparent', event.traceparent);
  return { headers: set };
}
