import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readCallback } from '../../src/providers/starpago/callback.js';
import { startFakeStarpago, type FakeStarpago } from '../../src/sandbox/starpago-api.js';
import { startFakeStarpay, type FakeStarpay } from '../../src/sandbox/starpay-api.js';
import { registerTruth, registerWithService, RegistrationError } from '../../src/simulator/register.js';
import { formatSummary, runSimulation } from '../../src/simulator/run.js';
import { planSimulation, type SimulationPlanOptions } from '../../src/simulator/simulation.js';

const SECRET = 'app-secret-under-test';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const plan: SimulationPlanOptions = {
  kinds: [],
  starpagoKinds: ['payin', 'payout'],
  starpagoVersion: 'v2',
  orders: 6,
  seed: 4,
  mchId: '101510000001',
  duplicates: 0,
  outOfOrder: 0,
  forged: 0.5,
  lose: 0,
};

interface Received {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.map((close) => close()));
  closers = [];
});

/** A real HTTP server answering each request with `answer`. */
async function listen(answer: (r: Received) => [number, string]): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const r = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      received.push(r);
      const [status, text] = answer(r);
      res.writeHead(status).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

/** Answers as the service does: SUCCESS to a callback that reads (and verifies), 401 otherwise. */
function starpagoReceiver(r: Received): [number, string] {
  const kind = r.path.split('/').at(-1) ?? '';
  const read = readCallback(kind, Buffer.from(r.body), String(r.headers['content-type']), SECRET);
  return read.ok ? [200, 'SUCCESS'] : [401, '{"code":"SIGNATURE_INVALID"}'];
}

describe('the simulator sending StarPago callbacks', () => {
  it("posts v2 callbacks to StarPago's paths and expects forgeries refused with 401", async () => {
    const { url, received } = await listen(starpagoReceiver);
    const orders = planSimulation(plan);
    const result = await runSimulation(orders, { url, appSecret: SECRET, delays: [], concurrency: 4, timeoutMs: 2_000 });
    expect(new Set(received.map((r) => r.path))).toEqual(new Set(['/notify/starpago/payin', '/notify/starpago/payout']));
    expect(formatSummary(result.summary)).toBe(`sent ${received.length}, SUCCESS ${received.length - 3}, refused 3, retried 0`);
    expect(result.byProvider).toEqual({ starpago: result.summary });
    expect(result.ok).toBe(true);
  });

  it('expects forged v3 hints to be answered SUCCESS like the genuine ones', async () => {
    const { url } = await listen(() => [200, 'SUCCESS']);
    const orders = planSimulation({ ...plan, starpagoVersion: 'v3' });
    const result = await runSimulation(orders, { url, delays: [], concurrency: 4, timeoutMs: 2_000 });
    expect(result.deliveries.filter((d) => d.notification.role === 'forged')).toHaveLength(3);
    expect(result.summary.refused).toBe(0);
    expect(result.ok).toBe(true);

    const strict = await listen(() => [401, '{}']);
    expect((await runSimulation(orders, { url: strict.url, delays: [], concurrency: 4, timeoutMs: 2_000 })).ok).toBe(false);
  });

  it('counts each provider on its own when both run', async () => {
    const { url } = await listen(() => [200, 'SUCCESS']);
    const orders = planSimulation({ ...plan, kinds: ['repayment'], forged: 0 });
    const result = await runSimulation(orders, { url, privateKey, appSecret: SECRET, delays: [], concurrency: 4, timeoutMs: 2_000 });
    expect(formatSummary(result.byProvider.starpay!)).toBe('sent 2, SUCCESS 2, refused 0, retried 0');
    expect(formatSummary(result.byProvider.starpago!)).toMatch(/^sent [4-8], SUCCESS [4-8], refused 0, retried 0$/);
    expect(result.summary.sent).toBe(result.byProvider.starpay!.sent + result.byProvider.starpago!.sent);
  });
});

describe('registering orders before a run', () => {
  let starpago: FakeStarpago;
  let starpay: FakeStarpay;

  it("tells the sandbox's fakes each queryable order's truth, which their query APIs then answer", async () => {
    starpago = await startFakeStarpago({ appId: 'app', appSecret: SECRET });
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    starpay = await startFakeStarpay({ merchantPublicKey: keys.publicKey, platformPrivateKey: keys.privateKey, mchId: 'M' });
    closers.push(
      () => starpago.close(),
      () => starpay.close(),
    );
    const orders = planSimulation({ ...plan, kinds: ['repayment', 'static-qr'], starpagoVersion: 'v3' });

    const told = await registerTruth(orders, { starpayApi: starpay.url, starpagoApi: starpago.url, timeoutMs: 2_000 });
    expect(told).toBe(orders.filter((o) => o.kind !== 'static-qr').length);

    const token = (await (
      await fetch(`${starpago.url}/api/v3/oauth/token`, {
        method: 'POST',
        body: JSON.stringify({ grant_type: 'client_credentials', app_id: 'app', app_secret: SECRET }),
      })
    ).json()) as { data: { token: string } };
    for (const order of orders.filter((o) => o.provider === 'starpago')) {
      const path = order.kind === 'payin' ? 'payment' : 'payout';
      const answer = await fetch(`${starpago.url}/api/v3/${path}/query?merOrderNo=${order.orderRef}`, {
        headers: { authorization: `Bearer ${token.data.token}` },
      });
      expect(((await answer.json()) as { data: unknown }).data).toMatchObject({ merOrderNo: order.orderRef, status: order.truth.status });
    }
  });

  it('says where to start the sandbox when nothing answers there', async () => {
    const orders = planSimulation(plan);
    await expect(registerTruth(orders, { starpayApi: 'http://127.0.0.1:9', starpagoApi: 'http://127.0.0.1:9', timeoutMs: 2_000 })).rejects.toThrow(
      /nothing answers at the fake starpago API at http:\/\/127\.0\.0\.1:9: start it with npm run sandbox/,
    );
  });

  it('registers every order but static-QR ones with the service, with its amount in minor units and the ops token', async () => {
    const { url, received } = await listen(() => [201, '{"order":{}}']);
    const orders = planSimulation({ ...plan, kinds: ['disbursement', 'static-qr'] });
    expect(await registerWithService(orders, { url, opsToken: 'tok', timeoutMs: 2_000 })).toBe(2 + 2);
    expect(received.every((r) => r.method === 'PUT' && r.headers.authorization === 'Bearer tok')).toBe(true);
    const expected = orders
      .filter((o) => o.kind !== 'static-qr')
      .map((o) => [`/ops/orders/${o.kind}/${o.orderRef}`, { amount: o.amount, currency: o.currency }]);
    expect(received.map((r) => [r.path, JSON.parse(r.body)])).toEqual(expect.arrayContaining(expected));
    expect(received).toHaveLength(expected.length);
  });

  it('stops with the reason when the service refuses a registration', async () => {
    const refusing = await listen(() => [401, '{"code":"UNAUTHORIZED"}']);
    await expect(registerWithService(planSimulation(plan), { url: refusing.url, opsToken: 'bad', timeoutMs: 2_000 })).rejects.toThrow(RegistrationError);
    const missing = await listen(() => [404, '{"code":"NOT_FOUND"}']);
    await expect(registerWithService(planSimulation(plan), { url: missing.url, opsToken: 'tok', timeoutMs: 2_000 })).rejects.toThrow(/answered HTTP 404/);
  });
});
