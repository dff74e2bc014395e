import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDestinations } from '../../src/destinations/index.js';
import { PROVIDER_NAMES } from '../../src/providers/index.js';
import type { Destination } from '../../src/domain/destination.js';
import { createForwarder, type Forwarder } from '../../src/forwarder/forwarder.js';
import { createLogger } from '../../src/logger.js';
import { FORWARD_SECRET, OPS_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { NATS_SERVER, natsAdmin, RABBITMQ_URL, rabbitAdmin, uniqueName } from '../helpers/brokers.js';
import { startFakeDownstream, waitFor, type FakeDownstream } from '../helpers/fake-downstream.js';
import { requestFields, signedBody } from '../helpers/starpay.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

/**
 * The whole path: notifications into the service, events through the outbox and the forwarder to a
 * webhook, a RabbitMQ exchange and a NATS JetStream stream at once, against the brokers running here.
 */
let rabbit: Awaited<ReturnType<typeof rabbitAdmin>>;
let nats: Awaited<ReturnType<typeof natsAdmin>>;
let downstream: FakeDownstream;
const started: { app: TestApp; forwarder: Forwarder; destinations: Destination[] }[] = [];

beforeAll(async () => {
  rabbit = await rabbitAdmin();
  nats = await natsAdmin();
  downstream = await startFakeDownstream();
});
afterEach(async () => {
  for (const { app, forwarder, destinations } of started.splice(0)) {
    await forwarder.stop();
    await Promise.all(destinations.map((destination) => destination.close()));
    await app.close();
  }
});
afterAll(async () => {
  await downstream.close();
  await rabbit.close();
  await nats.close();
});

async function serviceWith(urls: string[], env: Record<string, string> = {}): Promise<TestApp> {
  const app = await startTestApp({ FORWARD_URLS: urls.join(','), FORWARD_SECRET, FORWARD_BACKOFF_MS: '50', FORWARD_TIMEOUT_MS: '2000', ...env });
  const destinations = createDestinations(urls, { timeoutMs: 2_000, webhookSecret: FORWARD_SECRET, providerNames: PROVIDER_NAMES });
  const forwarder = createForwarder({
    pool: app.db.pool,
    listenPool: app.db.listenPool,
    destinations,
    forward: app.config.forward,
    breaker: app.config.breaker,
    logger: createLogger('silent'),
    pollMs: 100,
  });
  void forwarder.start();
  started.push({ app, forwarder, destinations });
  return app;
}

async function notify(app: TestApp, fields: Record<string, unknown>): Promise<void> {
  const response = await app.app.inject({
    method: 'POST',
    url: '/notify/starpay/repayment',
    payload: signedBody(requestFields(fields), app.starpay.privateKey),
  });
  expect(response.body).toBe('SUCCESS');
}

const eventIds = async (app: TestApp) =>
  (await app.db.pool.query<{ public_id: string }>('SELECT public_id FROM events ORDER BY id')).rows.map((row) => row.public_id);

describe('forwarding to a webhook, RabbitMQ and NATS JetStream at once', () => {
  it('delivers every state change to all three, once each, in the order of each order', async () => {
    const exchange = uniqueName('events');
    rabbit.track(exchange);
    await rabbit.declareExchange(exchange);
    const queue = await rabbit.bindQueue(exchange);
    await queue.consume();
    const stream = uniqueName('EVENTS');
    const prefix = uniqueName('p');
    nats.track(stream);
    const amqpUrl = `${RABBITMQ_URL}/%2F?exchange=${exchange}`;
    const natsUrl = `nats://${NATS_SERVER}?stream=${stream}&subjectPrefix=${prefix}`;
    const app = await serviceWith([downstream.url, amqpUrl, natsUrl]);

    const refs = [uniqueName('a'), uniqueName('b')];
    for (const ref of refs) {
      await notify(app, { originalMsgId: ref, trxState: 'PROCESSING' });
      await notify(app, { originalMsgId: ref, trxState: 'SUCCESS' });
    }
    const ids = await eventIds(app);
    expect(ids).toHaveLength(4);

    await waitFor(async () => (await nats.jsm.streams.info(stream).catch(() => undefined))?.state.messages === 4, 15_000, 'NATS');
    await waitFor(() => queue.messages.length === 4 && downstream.received.length === 4, 15_000, 'RabbitMQ and the webhook');

    const byOrder = (bodies: string[]) =>
      refs.map((ref) =>
        bodies
          .map((body) => JSON.parse(body) as { data: { orderRef: string; state: string } })
          .filter((e) => e.data.orderRef === ref)
          .map((e) => e.data.state),
      );
    const natsMessages = await Promise.all([1, 2, 3, 4].map((seq) => nats.jsm.streams.getMessage(stream, { seq })));
    for (const bodies of [
      downstream.received.map((w) => w.body),
      queue.messages.map((m) => m.content.toString()),
      natsMessages.map((m) => m?.string() ?? ''),
    ]) {
      expect(byOrder(bodies)).toEqual([
        ['PENDING', 'SUCCESS'],
        ['PENDING', 'SUCCESS'],
      ]);
    }
    // Once each, by event id: webhook-id, AMQP message_id, Nats-Msg-Id.
    expect(new Set(downstream.received.map((w) => w.headers['webhook-id'])).size).toBe(4);
    expect(queue.messages.map((m) => m.properties.messageId as string).sort()).toEqual([...ids].sort());
    expect(natsMessages.map((m) => m?.header.get('Nats-Msg-Id')).sort()).toEqual([...ids].sort());
    expect(queue.messages.map((m) => m.fields.routingKey)).toEqual(Array(4).fill('starpay.repayment.state_changed'));
    expect(natsMessages.map((m) => m?.subject)).toEqual(Array(4).fill(`${prefix}.starpay.repayment.state_changed`));
  });

  it('keeps the deliveries to an unreachable broker pending, then dead, while the others are delivered; retried from the ops API once it is back', async () => {
    // RabbitMQ behind a proxy the test cuts: the broker "down" without touching the real server.
    const rabbitTarget = new URL(RABBITMQ_URL);
    const proxy = await startTcpProxy({ host: rabbitTarget.hostname, port: Number(rabbitTarget.port || 5672) });
    proxy.cut();
    const exchange = uniqueName('down');
    rabbit.track(exchange);
    await rabbit.declareExchange(exchange);
    const queue = await rabbit.bindQueue(exchange);
    await queue.consume();
    const brokerUrl = `amqp://guest:guest@127.0.0.1:${proxy.port}/%2F?exchange=${exchange}`;
    try {
      const app = await serviceWith([downstream.url, brokerUrl], { FORWARD_MAX_ATTEMPTS: '3' });
      const before = downstream.received.length;
      await notify(app, { originalMsgId: uniqueName('c'), trxState: 'SUCCESS' });

      const deliveries = async () =>
        (await app.db.pool.query<{ id: string; url: string; status: string; attempts: number }>('SELECT id, url, status, attempts FROM deliveries ORDER BY id'))
          .rows;
      await waitFor(async () => (await deliveries())[1]?.status === 'dead', 15_000, 'the broker delivery dead');
      expect(downstream.received.length).toBe(before + 1);
      const [webhook, broker] = await deliveries();
      expect(webhook?.status).toBe('delivered');
      expect(broker).toMatchObject({ status: 'dead', attempts: 3, url: `amqp://***:***@127.0.0.1:${proxy.port}/%2F?exchange=${exchange}` });
      expect(queue.messages).toHaveLength(0);

      // The broker is back: the dead delivery is retried from the ops API and arrives, nothing lost.
      proxy.restore();
      // After failed connection attempts the destination fails fast for a moment (100 ms doubling:
      // 400 ms after three) rather than hammer a broker that is down; let that pass.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const listed = await app.app.inject({ url: '/ops/deliveries?status=dead', headers: { authorization: `Bearer ${OPS_TOKEN}` } });
      expect(listed.json()).toMatchObject({ items: [{ id: `dlv_${broker?.id}`, status: 'dead', url: expect.stringContaining('***') }] });
      const retried = await app.app.inject({
        method: 'POST',
        url: `/ops/deliveries/dlv_${broker?.id}/retry`,
        headers: { authorization: `Bearer ${OPS_TOKEN}` },
      });
      expect(retried.statusCode).toBe(202);
      await waitFor(async () => (await deliveries())[1]?.status === 'delivered', 15_000, 'the retried broker delivery');
      await waitFor(() => queue.messages.length === 1, 5_000, 'the message in RabbitMQ');
      expect(queue.messages[0]?.properties.messageId).toBe((await eventIds(app))[0]);
    } finally {
      await proxy.close();
    }
  });

  it('opens the breaker of a RabbitMQ destination that is down: probes only, nothing dies, and the backlog arrives once the broker is back', async () => {
    const rabbitTarget = new URL(RABBITMQ_URL);
    const proxy = await startTcpProxy({ host: rabbitTarget.hostname, port: Number(rabbitTarget.port || 5672) });
    proxy.cut();
    const exchange = uniqueName('breaker');
    rabbit.track(exchange);
    await rabbit.declareExchange(exchange);
    const queue = await rabbit.bindQueue(exchange);
    await queue.consume();
    const brokerUrl = `amqp://guest:guest@127.0.0.1:${proxy.port}/%2F?exchange=${exchange}`;
    const auth = { authorization: `Bearer ${OPS_TOKEN}` };
    try {
      // Two attempts each and a minute's backoff: only the breaker closing brings the backlog back soon.
      const app = await serviceWith([downstream.url, brokerUrl], {
        FORWARD_MAX_ATTEMPTS: '2',
        FORWARD_BACKOFF_MS: '60000',
        BREAKER_FAILURES: '3',
        BREAKER_PROBE_MS: '500',
      });
      const before = downstream.received.length;
      for (let i = 0; i < 6; i++) await notify(app, { originalMsgId: uniqueName('o'), trxState: 'SUCCESS' });
      const broker = async () =>
        (await app.app.inject({ url: '/ops/destinations', headers: auth }))
          .json<{ items: { type: string; state: string; pending: number; dead: number }[] }>()
          .items.find((item) => item.type === 'amqp');
      await waitFor(async () => (await broker())?.state === 'open', 15_000, 'the breaker to open');
      // The webhook destination is not held back.
      await waitFor(() => downstream.received.length === before + 6, 15_000, 'the webhooks');

      const attempts = async () =>
        (
          await app.db.pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.url LIKE 'amqp:%'`,
          )
        ).rows[0]?.n ?? 0;
      await new Promise((resolve) => setTimeout(resolve, 300));
      const atOpen = await attempts();
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      // One probe per 500 ms at most (and one for the interval the window began in).
      expect((await attempts()) - atOpen).toBeLessThanOrEqual(5);
      expect(await broker()).toMatchObject({ state: 'open', pending: 6, dead: 0 });

      proxy.restore();
      await waitFor(() => queue.messages.length === 6, 20_000, 'the backlog in RabbitMQ');
      await waitFor(async () => (await broker())?.state === 'healthy' && (await broker())?.pending === 0, 5_000, 'the breaker closed');
      expect(await broker()).toMatchObject({ dead: 0 });
    } finally {
      await proxy.close();
    }
  });
});
