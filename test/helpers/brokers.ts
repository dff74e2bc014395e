import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import amqp, { type ChannelModel, type ConsumeMessage } from 'amqplib';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { OutboundEvent } from '../../src/domain/destination.js';

/** The brokers running next to the test suite; a test fails when one does not answer. */
export const RABBITMQ_URL = process.env.TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const NATS_SERVER = process.env.TEST_NATS_SERVER ?? '127.0.0.1:4222';

/** A name no other test (or other run on the same broker) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

let sequence = 0;

/** An event shaped like the service's: a webhook body, an `evt_` id, a creation time. */
export function makeEvent(type = 'starpay.repayment.state_changed', orderRef = uniqueName('order')): OutboundEvent {
  sequence += 1;
  const createdAt = new Date(Date.UTC(2026, 0, 1, 0, 0, sequence));
  const [provider, kind] = type.split('.');
  const body = JSON.stringify({
    type,
    timestamp: createdAt.toISOString(),
    data: {
      provider,
      kind,
      source: 'notification',
      orderRef,
      state: 'SUCCESS',
      previousState: null,
      rawState: 'SUCCESS',
      amount: 10000,
      paidAmount: 10000,
      currency: 'PHP',
      trxDate: '2026-01-01 00:00:00',
      errorCode: null,
      errorMessage: null,
    },
  });
  return { id: `evt_${randomBytes(8).toString('hex')}_${sequence}`, type, body, createdAt };
}

/** A TCP port on 127.0.0.1 that nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The test's own RabbitMQ connection: declares, binds, reads and deletes what a test uses. */
export async function rabbitAdmin() {
  const model: ChannelModel = await amqp.connect(RABBITMQ_URL, { timeout: 5_000 });
  model.on('error', () => {});
  const exchanges = new Set<string>();
  const queues = new Set<string>();

  /** Each call gets its own channel: a refused declaration closes only that channel. */
  async function withChannel<T>(work: (channel: amqp.Channel) => Promise<T>): Promise<T> {
    const channel = await model.createChannel();
    channel.on('error', () => {});
    try {
      return await work(channel);
    } finally {
      await channel.close().catch(() => {});
    }
  }

  return {
    /** A durable topic exchange, as the destination declares it. */
    async declareExchange(name: string): Promise<void> {
      exchanges.add(name);
      await withChannel((channel) => channel.assertExchange(name, 'topic', { durable: true }));
    },
    /** Rejects when the exchange is missing or is not a durable topic exchange. */
    async expectDurableTopicExchange(name: string): Promise<void> {
      await withChannel((channel) => channel.assertExchange(name, 'topic', { durable: true }));
    },
    async deleteExchange(name: string): Promise<void> {
      await withChannel((channel) => channel.deleteExchange(name));
    },
    /** A queue bound to every routing key of the exchange; `messages` fills as they arrive. */
    async bindQueue(exchange: string, args: Record<string, unknown> = {}) {
      const name = uniqueName('q');
      queues.add(name);
      const channel = await model.createChannel();
      channel.on('error', () => {});
      await channel.assertQueue(name, { durable: false, arguments: args });
      await channel.bindQueue(name, exchange, '#');
      const messages: ConsumeMessage[] = [];
      return {
        messages,
        /** Starts consuming; only for queues that accept messages. */
        async consume(): Promise<void> {
          await channel.consume(
            name,
            (message) => {
              if (message !== null) messages.push(message);
            },
            { noAck: true },
          );
        },
      };
    },
    async close(): Promise<void> {
      await withChannel(async (channel) => {
        for (const queue of queues) await channel.deleteQueue(queue);
        for (const exchange of exchanges) await channel.deleteExchange(exchange);
      }).catch(() => {});
      await model.close().catch(() => {});
    },
    /** Remembers an exchange the destination declared, so that `close` deletes it too. */
    track(exchange: string): void {
      exchanges.add(exchange);
    },
  };
}

/** The test's own NATS connection: creates, inspects and deletes streams. */
export async function natsAdmin() {
  const nc: NatsConnection = await connect({ servers: NATS_SERVER, timeout: 5_000 });
  const jsm: JetStreamManager = await jetstreamManager(nc);
  const streams = new Set<string>();
  return {
    jsm,
    /** Deletes the stream at the end of the test. */
    track(stream: string): void {
      streams.add(stream);
    },
    async streamExists(stream: string): Promise<boolean> {
      return jsm.streams.info(stream).then(
        () => true,
        () => false,
      );
    },
    async close(): Promise<void> {
      for (const stream of streams) await jsm.streams.delete(stream).catch(() => {});
      await nc.close();
    },
  };
}
