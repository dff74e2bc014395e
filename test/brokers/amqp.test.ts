import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAmqpDestination, type AmqpDestination } from '../../src/destinations/amqp.js';
import { DESTINATION_TYPES } from '../../src/destinations/index.js';
import { closedPort, makeEvent, RABBITMQ_URL, rabbitAdmin, uniqueName } from '../helpers/brokers.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

type Admin = Awaited<ReturnType<typeof rabbitAdmin>>;

let admin: Admin;
const destinations: AmqpDestination[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeEach(async () => {
  admin = await rabbitAdmin();
});

afterEach(async () => {
  try {
    for (const destination of destinations.splice(0)) await destination.close();
    for (const cleanup of cleanups.splice(0)) await cleanup();
  } finally {
    await admin.close();
  }
});

function destinationFor(exchange: string, options: { url?: string; timeoutMs?: number } = {}): AmqpDestination {
  const url = new URL(options.url ?? RABBITMQ_URL);
  url.searchParams.set('exchange', exchange);
  admin.track(exchange);
  const destination = createAmqpDestination(url, { timeoutMs: options.timeoutMs ?? 5_000 });
  destinations.push(destination);
  return destination;
}

async function exchangeWithQueue() {
  const exchange = uniqueName('starpay_events');
  await admin.declareExchange(exchange);
  const queue = await admin.bindQueue(exchange);
  await queue.consume();
  return { exchange, queue };
}

describe('RabbitMQ destination', () => {
  it('publishes the event body with routing key = type, message id, content type, persistence and timestamp', async () => {
    const { exchange, queue } = await exchangeWithQueue();
    const destination = destinationFor(exchange);
    const event = makeEvent('starpago.payin.state_changed');

    expect(await destination.deliver(event)).toEqual({ ok: true });

    await vi.waitFor(() => expect(queue.messages).toHaveLength(1));
    const [message] = queue.messages;
    expect(message?.fields.exchange).toBe(exchange);
    expect(message?.fields.routingKey).toBe('starpago.payin.state_changed');
    expect(message?.content.toString('utf8')).toBe(event.body);
    expect(message?.properties.messageId).toBe(event.id);
    expect(message?.properties.contentType).toBe('application/json');
    expect(message?.properties.deliveryMode).toBe(2);
    expect(message?.properties.timestamp).toBe(Math.floor(event.createdAt.getTime() / 1000));
  });

  it("carries the attempt's traceparent as a message header when tracing is on, and no header otherwise", async () => {
    const { exchange, queue } = await exchangeWithQueue();
    const destination = destinationFor(exchange);
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

    expect(await destination.deliver({ ...makeEvent(), traceparent })).toEqual({ ok: true });
    expect(await destination.deliver(makeEvent())).toEqual({ ok: true });

    await vi.waitFor(() => expect(queue.messages).toHaveLength(2));
    expect(queue.messages[0]?.properties.headers?.traceparent).toBe(traceparent);
    expect(queue.messages[1]?.properties.headers?.traceparent).toBeUndefined();
  });

  it('declares a missing exchange as a durable topic exchange', async () => {
    const exchange = uniqueName('starpay_new');
    const destination = destinationFor(exchange);

    expect(await destination.deliver(makeEvent())).toEqual({ ok: true });

    await expect(admin.expectDurableTopicExchange(exchange)).resolves.toBeUndefined();
  });

  it('delivers two events published in sequence in that order', async () => {
    const { exchange, queue } = await exchangeWithQueue();
    const destination = destinationFor(exchange);
    const first = makeEvent('starpay.repayment.state_changed', 'order-1');
    const second = makeEvent('starpay.repayment.state_changed', 'order-1');

    expect(await destination.deliver(first)).toEqual({ ok: true });
    expect(await destination.deliver(second)).toEqual({ ok: true });

    await vi.waitFor(() => expect(queue.messages).toHaveLength(2));
    expect(queue.messages.map((message) => message.properties.messageId)).toEqual([first.id, second.id]);
  });

  it('is registered for amqp: and amqps: URLs, shown without credentials', () => {
    const url = new URL('amqp://merchant:hunter2-secret@rabbit.internal:5672/prod?exchange=events');
    const destination = DESTINATION_TYPES['amqp:']?.(url, { timeoutMs: 1_000 });
    expect(destination?.type).toBe('amqp');
    expect(destination?.id).toBe('amqp://***:***@rabbit.internal:5672/prod?exchange=events');
    expect(DESTINATION_TYPES['amqps:']).toBe(createAmqpDestination);
  });

  it('refuses a URL without an exchange at creation, naming the parameter but not the password', () => {
    const create = () => createAmqpDestination(new URL('amqp://merchant:hunter2-secret@127.0.0.1:5672/'), { timeoutMs: 1_000 });
    expect(create).toThrow(/exchange=NAME/);
    expect(create).not.toThrow(/hunter2/);
  });

  it('reports a broker at a closed port as a failed attempt, quickly and without credentials', async () => {
    const port = await closedPort();
    const destination = destinationFor(uniqueName('nowhere'), {
      url: `amqp://merchant-user:hunter2-secret@127.0.0.1:${port}/`,
    });

    const started = Date.now();
    const result = await destination.deliver(makeEvent());

    expect(Date.now() - started).toBeLessThan(2_000);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatch(/ECONNREFUSED/);
    expect(result.error).not.toMatch(/hunter2|merchant-user/);
    // Within the reconnect backoff the next attempt fails at once with the same reason.
    const again = await destination.deliver(makeEvent());
    expect(again.ok).toBe(false);
    if (!again.ok) expect(again.error).toMatch(/ECONNREFUSED/);
  });

  it('reports refused credentials as a failed attempt without the password', async () => {
    const url = new URL(RABBITMQ_URL);
    url.password = 'wrong-hunter2-secret';
    const destination = destinationFor(uniqueName('refused'), { url: url.href });

    const result = await destination.deliver(makeEvent());

    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toMatch(/ACCESS_REFUSED|refused/i);
      expect(result.error).not.toContain('hunter2');
    }
  });

  it('reconnects after its connection was closed and delivers the next event', async () => {
    const { exchange, queue } = await exchangeWithQueue();
    const destination = destinationFor(exchange);
    expect(await destination.deliver(makeEvent())).toEqual({ ok: true });

    const first = destination.currentConnection();
    expect(first).toBeDefined();
    await first?.close();
    expect(destination.currentConnection()).toBeUndefined();

    const next = makeEvent();
    expect(await destination.deliver(next)).toEqual({ ok: true });
    expect(destination.currentConnection()).not.toBe(first);
    await vi.waitFor(() => expect(queue.messages.map((message) => message.properties.messageId)).toContain(next.id));
  });

  it('notices a dropped network connection and delivers the next event over a new one', async () => {
    const { exchange, queue } = await exchangeWithQueue();
    const rabbit = new URL(RABBITMQ_URL);
    const proxy = await startTcpProxy({ host: rabbit.hostname, port: Number(rabbit.port || 5672) });
    cleanups.push(proxy.close);
    const destination = destinationFor(exchange, { url: proxy.rewrite(RABBITMQ_URL) });
    expect(await destination.deliver(makeEvent())).toEqual({ ok: true });

    proxy.cut();
    await vi.waitFor(() => expect(destination.currentConnection()).toBeUndefined());
    const whileDown = await destination.deliver(makeEvent());
    expect(whileDown.ok).toBe(false);
    proxy.restore();

    const next = makeEvent();
    await vi.waitFor(async () => expect(await destination.deliver(next)).toEqual({ ok: true }), { timeout: 5_000, interval: 200 });
    await vi.waitFor(() => expect(queue.messages.map((message) => message.properties.messageId)).toContain(next.id));
  });

  it('reports a channel error as a failed attempt and declares the exchange again on the next one', async () => {
    const exchange = uniqueName('starpay_deleted');
    const destination = destinationFor(exchange);
    expect(await destination.deliver(makeEvent())).toEqual({ ok: true });

    await admin.deleteExchange(exchange);
    const failed = await destination.deliver(makeEvent());
    expect(failed.ok).toBe(false);
    if (!failed.ok) expect(failed.error).toMatch(/NOT_FOUND|channel closed/i);

    expect(await destination.deliver(makeEvent())).toEqual({ ok: true });
    await expect(admin.expectDurableTopicExchange(exchange)).resolves.toBeUndefined();
  });

  it('reports a message the broker refuses (nack) as a failed attempt', async () => {
    const exchange = uniqueName('starpay_full');
    await admin.declareExchange(exchange);
    // A queue that holds nothing and rejects new publishes makes the broker nack them.
    await admin.bindQueue(exchange, { 'x-max-length': 0, 'x-overflow': 'reject-publish' });
    const destination = destinationFor(exchange);

    expect(await destination.deliver(makeEvent())).toEqual({ ok: false, error: 'message nacked' });
  });

  it('reports a broker that does not confirm within the per-attempt timeout as a timeout', async () => {
    const { exchange } = await exchangeWithQueue();
    const rabbit = new URL(RABBITMQ_URL);
    const proxy = await startTcpProxy({ host: rabbit.hostname, port: Number(rabbit.port || 5672) });
    cleanups.push(proxy.close);
    const destination = destinationFor(exchange, { url: proxy.rewrite(RABBITMQ_URL), timeoutMs: 1_000 });
    expect(await destination.deliver(makeEvent())).toEqual({ ok: true });

    proxy.setLatency(2_000);
    const started = Date.now();
    const result = await destination.deliver(makeEvent());

    expect(result).toEqual({ ok: false, error: 'timeout after 1000 ms' });
    expect(Date.now() - started).toBeLessThan(1_800);

    // The link dies while close() waits for the broker: close() still returns, bounded by the timeout.
    proxy.cut();
    const closing = Date.now();
    await destination.close();
    expect(Date.now() - closing).toBeLessThan(2 * 1_000 + 500);
  });

  it('closes only after an in-flight publish has settled, and refuses deliveries afterwards', async () => {
    const { exchange, queue } = await exchangeWithQueue();
    const destination = destinationFor(exchange);
    const settled: string[] = [];
    const event = makeEvent();

    const delivery = destination.deliver(event).then((result) => {
      settled.push('delivery');
      return result;
    });
    await destination.close().then(() => settled.push('close'));

    expect(settled).toEqual(['delivery', 'close']);
    expect(await delivery).toEqual({ ok: true });
    await vi.waitFor(() => expect(queue.messages.map((message) => message.properties.messageId)).toEqual([event.id]));
    expect(destination.currentConnection()).toBeUndefined();
    expect(await destination.deliver(makeEvent())).toEqual({ ok: false, error: 'destination closed' });
  });
});
