import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DESTINATION_TYPES } from '../../src/destinations/index.js';
import { createNatsDestination, type NatsDestination } from '../../src/destinations/nats.js';
import { PROVIDER_NAMES } from '../../src/providers/index.js';
import { closedPort, makeEvent, NATS_SERVER, natsAdmin, uniqueName } from '../helpers/brokers.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

type Admin = Awaited<ReturnType<typeof natsAdmin>>;

let admin: Admin;
const destinations: NatsDestination[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeEach(async () => {
  admin = await natsAdmin();
});

afterEach(async () => {
  try {
    for (const destination of destinations.splice(0)) await destination.close();
    for (const cleanup of cleanups.splice(0)) await cleanup();
  } finally {
    await admin.close();
  }
});

/**
 * A destination on its own stream name and subject prefix: JetStream refuses two streams with
 * overlapping subjects, so every test keeps to its own subjects.
 */
function destinationFor(options: { server?: string; userInfo?: string; timeoutMs?: number; stream?: string } = {}) {
  const stream = options.stream ?? uniqueName('EVENTS');
  const prefix = uniqueName('t');
  const userInfo = options.userInfo === undefined ? '' : `${options.userInfo}@`;
  const url = new URL(`nats://${userInfo}${options.server ?? NATS_SERVER}?stream=${stream}&subjectPrefix=${prefix}`);
  admin.track(stream);
  const destination = createNatsDestination(url, { timeoutMs: options.timeoutMs ?? 5_000, providerNames: PROVIDER_NAMES });
  destinations.push(destination);
  return { destination, stream, prefix };
}

async function storedMessage(stream: string, seq: number) {
  const message = await admin.jsm.streams.getMessage(stream, { seq });
  if (message === null) throw new Error(`no message ${seq} in ${stream}`);
  return message;
}

describe('NATS JetStream destination', () => {
  it('creates its stream for the prefixed provider subjects and publishes the body with Nats-Msg-Id', async () => {
    const { destination, stream, prefix } = destinationFor();
    const event = makeEvent('starpago.payout.state_changed');

    expect(await destination.deliver(event)).toEqual({ ok: true });

    const info = await admin.jsm.streams.info(stream);
    expect(info.config.subjects).toEqual([`${prefix}.starpay.>`, `${prefix}.starpago.>`]);
    expect(info.state.messages).toBe(1);
    const message = await storedMessage(stream, 1);
    expect(message.subject).toBe(`${prefix}.starpago.payout.state_changed`);
    expect(message.header.get('Nats-Msg-Id')).toBe(event.id);
    expect(message.string()).toBe(event.body);
  });

  it("carries the attempt's traceparent as a message header when tracing is on, and no header otherwise", async () => {
    const { destination, stream } = destinationFor();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

    expect(await destination.deliver({ ...makeEvent('starpay.repayment.state_changed'), traceparent })).toEqual({ ok: true });
    expect(await destination.deliver(makeEvent('starpay.repayment.state_changed'))).toEqual({ ok: true });

    expect((await storedMessage(stream, 1)).header.get('traceparent')).toBe(traceparent);
    expect((await storedMessage(stream, 2)).header.get('traceparent')).toBe('');
  });

  it('stores two events published in sequence in that order', async () => {
    const { destination, stream } = destinationFor();
    const first = makeEvent('starpay.disbursement.state_changed', 'order-1');
    const second = makeEvent('starpay.disbursement.state_changed', 'order-1');

    expect(await destination.deliver(first)).toEqual({ ok: true });
    expect(await destination.deliver(second)).toEqual({ ok: true });

    expect((await storedMessage(stream, 1)).header.get('Nats-Msg-Id')).toBe(first.id);
    expect((await storedMessage(stream, 2)).header.get('Nats-Msg-Id')).toBe(second.id);
  });

  it('stores a retried event once within the duplicate window', async () => {
    const { destination, stream } = destinationFor();
    const event = makeEvent();

    expect(await destination.deliver(event)).toEqual({ ok: true });
    expect(await destination.deliver(event)).toEqual({ ok: true });

    expect((await admin.jsm.streams.info(stream)).state.messages).toBe(1);
  });

  it('uses an existing stream that captures the subject as it is, creating no second one', async () => {
    const existing = uniqueName('EXISTING');
    const { destination, stream, prefix } = destinationFor();
    admin.track(existing);
    await admin.jsm.streams.add({ name: existing, subjects: [`${prefix}.>`], max_msgs: 1000 });
    const event = makeEvent('starpay.static-qr.state_changed');

    expect(await destination.deliver(event)).toEqual({ ok: true });

    expect(await admin.streamExists(stream)).toBe(false);
    const info = await admin.jsm.streams.info(existing);
    expect(info.config.subjects).toEqual([`${prefix}.>`]);
    expect(info.config.max_msgs).toBe(1000);
    expect(info.state.messages).toBe(1);
    expect((await storedMessage(existing, 1)).header.get('Nats-Msg-Id')).toBe(event.id);
  });

  it('is registered for nats: URLs, shown without credentials', () => {
    const withPassword = DESTINATION_TYPES['nats:']?.(new URL('nats://merchant:hunter2-secret@nats.internal:4222?stream=EVENTS'), {
      timeoutMs: 1_000,
      providerNames: PROVIDER_NAMES,
    });
    expect(withPassword?.type).toBe('nats');
    expect(withPassword?.id).toBe('nats://***:***@nats.internal:4222?stream=EVENTS');
    const withToken = createNatsDestination(new URL('nats://hunter2-token@nats.internal:4222?stream=EVENTS'), {
      timeoutMs: 1_000,
      providerNames: PROVIDER_NAMES,
    });
    expect(withToken.id).toBe('nats://***@nats.internal:4222?stream=EVENTS');
  });

  it('refuses a URL without a stream at creation, naming the parameter but not the credentials', () => {
    const create = () => createNatsDestination(new URL('nats://merchant:hunter2-secret@127.0.0.1:4222'), { timeoutMs: 1_000, providerNames: PROVIDER_NAMES });
    expect(create).toThrow(/stream=NAME/);
    expect(create).not.toThrow(/hunter2/);
  });

  it('reports a server at a closed port as a failed attempt, quickly and without credentials', async () => {
    const port = await closedPort();
    for (const userInfo of ['merchant-user:hunter2-secret', 'hunter2-token']) {
      const { destination } = destinationFor({ server: `127.0.0.1:${port}`, userInfo });

      const started = Date.now();
      const result = await destination.deliver(makeEvent());

      expect(Date.now() - started).toBeLessThan(2_000);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.error).not.toBe('');
        expect(result.error).not.toMatch(/hunter2|merchant-user/);
      }
    }
  });

  it('replaces a connection that was closed and delivers the next event', async () => {
    const { destination, stream } = destinationFor();
    expect(await destination.deliver(makeEvent())).toEqual({ ok: true });

    const first = destination.currentConnection();
    expect(first).toBeDefined();
    await first?.close();
    expect(destination.currentConnection()).toBeUndefined();

    const next = makeEvent();
    expect(await destination.deliver(next)).toEqual({ ok: true });
    expect(destination.currentConnection()).not.toBe(first);
    expect((await storedMessage(stream, 2)).header.get('Nats-Msg-Id')).toBe(next.id);
  });

  it('delivers the next event after the network connection dropped and the client reconnected', async () => {
    const [host = '127.0.0.1', port = '4222'] = NATS_SERVER.split(':');
    const proxy = await startTcpProxy({ host, port: Number(port) });
    cleanups.push(proxy.close);
    const { destination, stream } = destinationFor({ server: `127.0.0.1:${proxy.port}`, timeoutMs: 2_000 });
    expect(await destination.deliver(makeEvent())).toEqual({ ok: true });
    const connection = destination.currentConnection();

    proxy.cut();
    proxy.restore();

    const next = makeEvent();
    await vi.waitFor(async () => expect(await destination.deliver(next)).toEqual({ ok: true }), { timeout: 15_000, interval: 200 });
    // The client's own reconnect kept the same connection object.
    expect(destination.currentConnection()).toBe(connection);
    expect((await storedMessage(stream, 2)).header.get('Nats-Msg-Id')).toBe(next.id);
  });

  it('closes only after an in-flight publish has settled, and refuses deliveries afterwards', async () => {
    const { destination, stream } = destinationFor();
    const settled: string[] = [];
    const event = makeEvent();

    const delivery = destination.deliver(event).then((result) => {
      settled.push('delivery');
      return result;
    });
    await destination.close().then(() => settled.push('close'));

    expect(settled).toEqual(['delivery', 'close']);
    expect(await delivery).toEqual({ ok: true });
    expect((await storedMessage(stream, 1)).header.get('Nats-Msg-Id')).toBe(event.id);
    expect(destination.currentConnection()).toBeUndefined();
    expect(await destination.deliver(makeEvent())).toEqual({ ok: false, error: 'destination closed' });
  });
});

describe('NATS set-up check at start-up', () => {
  it('refuses an existing stream of that name that does not capture every provider, naming what is missing', async () => {
    const { destination, stream, prefix } = destinationFor();
    await admin.jsm.streams.add({ name: stream, subjects: [`${prefix}.starpay.>`] });
    await expect(destination.checkSetup!()).rejects.toThrow(
      `NATS stream ${stream} at nats://${NATS_SERVER}?stream=${stream}&subjectPrefix=${prefix} exists with subjects ${prefix}.starpay.> and does not capture ${prefix}.starpago.>: add them to the stream, or name another stream`,
    );
  });

  it('passes when no stream exists yet (the first delivery creates it), when the stream captures every provider, and when the server is down', async () => {
    const fresh = destinationFor();
    await expect(fresh.destination.checkSetup!()).resolves.toBeUndefined();
    expect(await admin.streamExists(fresh.stream)).toBe(false);
    expect(await fresh.destination.deliver(makeEvent('starpago.payin.state_changed'))).toEqual({ ok: true });
    await expect(fresh.destination.checkSetup!()).resolves.toBeUndefined();
    const down = destinationFor({ server: `127.0.0.1:${await closedPort()}`, timeoutMs: 500 });
    await expect(down.destination.checkSetup!()).resolves.toBeUndefined();
  });
});
