import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { DeliveryResult, Destination, OutboundEvent, DestinationOptions } from '../domain/destination.js';
import { withDeadline } from '../net/deadline.js';
import { inFlightDeliveries } from './in-flight.js';
import { describeError, urlSecrets } from '../net/describe-error.js';
import { lazyConnection } from './lazy-connection.js';
import { redactUrl } from './redact-url.js';

export interface AmqpDestination extends Destination {
  /** The open connection, if any: lets a test drop it the way a broker restart would. */
  currentConnection(): ChannelModel | undefined;
}

interface Session {
  model: ChannelModel;
  channel: ConfirmChannel;
  alive: boolean;
}

/** The exchange named by `?exchange=` and the URL amqplib connects to (without that parameter). */
export function parseAmqpUrl(url: URL): { exchange: string; connectUrl: string } {
  const exchange = url.searchParams.get('exchange');
  if (exchange === null || exchange === '') {
    throw new Error(`FORWARD_URLS: the AMQP destination ${redactUrl(url.href)} names no exchange: add ?exchange=NAME`);
  }
  const connectUrl = new URL(url.href);
  connectUrl.searchParams.delete('exchange');
  return { exchange, connectUrl: connectUrl.href };
}

/**
 * RabbitMQ: each event is published to a durable topic exchange with routing key = event type and
 * counts as delivered once the broker confirms it. One connection and one confirm channel, opened
 * on the first delivery and reopened (with backoff) on the next delivery after a drop. Every
 * failure, including a broker that is down, is a failed attempt: `deliver` never throws.
 */
export function createAmqpDestination(url: URL, options: DestinationOptions): AmqpDestination {
  const { exchange, connectUrl } = parseAmqpUrl(url);
  const id = redactUrl(url.href);
  const secrets = urlSecrets(url);
  const { timeoutMs } = options;

  const inFlight = inFlightDeliveries();

  async function openSession(): Promise<Session> {
    const model = await amqp.connect(connectUrl, {
      timeout: timeoutMs,
      clientProperties: { connection_name: `payment-notification-receiver → ${exchange}` },
    });
    // Without an 'error' listener an emitted error would crash the process.
    model.on('error', () => {});
    let channel: ConfirmChannel;
    try {
      channel = await model.createConfirmChannel();
      channel.on('error', () => {});
      await channel.assertExchange(exchange, 'topic', { durable: true });
    } catch (error) {
      await model.close().catch(() => {});
      throw error;
    }
    const opened: Session = { model, channel, alive: true };
    // A channel error (e.g. the exchange was deleted: 404) closes the channel only; dropping the
    // whole session makes the next delivery reconnect and assert the exchange again.
    const drop = () => {
      if (!opened.alive) return;
      opened.alive = false;
      model.close().catch(() => {});
    };
    model.on('close', drop);
    channel.on('close', drop);
    return opened;
  }

  const connection = lazyConnection({
    open: openSession,
    isAlive: (opened) => opened.alive,
    describe: (error) => describeError(error, secrets),
  });

  async function publish(event: OutboundEvent): Promise<DeliveryResult> {
    try {
      await withDeadline(
        connection.get().then(({ channel }) => confirmedPublish(channel, exchange, event)),
        timeoutMs,
      );
      return { ok: true };
    } catch (error) {
      return { ok: false, error: describeError(error, secrets) };
    }
  }

  return {
    id,
    type: 'amqp',
    deliver: (event) => inFlight.run(() => publish(event)),
    async close() {
      await inFlight.drain();
      const last = await connection.release();
      if (last === undefined || !last.alive) return;
      last.alive = false;
      // amqplib's close promises never settle when the socket dies during the close handshake.
      await withDeadline(last.channel.close(), timeoutMs).catch(() => {});
      await withDeadline(last.model.close(), timeoutMs).catch(() => {});
    },
    currentConnection: () => connection.current()?.model,
  };
}

/** Resolves on the broker's ack; rejects on a nack, a closed channel or a refused write. */
function confirmedPublish(channel: ConfirmChannel, exchange: string, event: OutboundEvent): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    try {
      channel.publish(
        exchange,
        event.type,
        Buffer.from(event.body),
        {
          persistent: true,
          messageId: event.id,
          contentType: 'application/json',
          timestamp: Math.floor(event.createdAt.getTime() / 1000),
          ...(event.traceparent === undefined ? {} : { headers: { traceparent: event.traceparent } }),
        },
        (error: unknown) => (error == null ? resolve() : reject(error instanceof Error ? error : new Error('publish not confirmed'))),
      );
    } catch (error) {
      reject(error instanceof Error ? error : new Error('publish not confirmed'));
    }
  });
}
