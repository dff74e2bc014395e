import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import type { FakeStarpago } from '../../src/sandbox/starpago-api.js';
import { startFakeStarpay } from '../../src/sandbox/starpay-api.js';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { OPS_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { requestFields, signedBody } from '../helpers/starpay.js';
import { STARPAGO_APP_ID, STARPAGO_APP_SECRET, merOrderNo, orderDetail, startStarpagoApi } from '../helpers/starpago.js';

const auth = { authorization: `Bearer ${OPS_TOKEN}` };

describe('clients behind proxies', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ TRUST_PROXY: '1', NOTIFY_RATE_LIMIT: '2', OPS_RATE_LIMIT: '2' });
  });
  afterAll(async () => {
    await t.close();
  });

  function notify(remoteAddress: string, forwardedFor?: string) {
    return t.app.inject({
      method: 'POST',
      url: '/notify/starpay/repayment',
      remoteAddress,
      headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
      payload: signedBody(requestFields(), t.starpay.privateKey),
    });
  }

  it('refuses TRUST_PROXY=true at start-up: every hop trusted lets anyone choose their address', () => {
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(ConfigError);
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.1, 10.0.0.2' }).trustProxy).toBe('10.0.0.1, 10.0.0.2');
  });

  it('never buys the loopback exemption with a forged X-Forwarded-For', async () => {
    const forged = '127.0.0.1, 198.51.100.20';
    expect((await notify('10.0.0.1', forged)).statusCode).toBe(200);
    expect((await notify('10.0.0.1', forged)).statusCode).toBe(200);
    expect((await notify('10.0.0.1', forged)).statusCode).toBe(429);
  });

  it('answers a limited /ops caller 429 with Cache-Control: no-store', async () => {
    const ops = () => t.app.inject({ url: '/ops/summary', remoteAddress: '10.9.9.9', headers: { authorization: `Bearer ${OPS_TOKEN}` } });
    await ops();
    await ops();
    const limited = await ops();
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['cache-control']).toBe('no-store');
  });

  it('limits IPv6 clients per /64', async () => {
    expect((await notify('10.0.0.1', '2001:db8:1:2::1')).statusCode).toBe(200);
    expect((await notify('10.0.0.1', '2001:db8:1:2:ffff::9')).statusCode).toBe(200);
    expect((await notify('10.0.0.1', '2001:db8:1:2:abcd:1:2:3')).statusCode).toBe(429);
    expect((await notify('10.0.0.1', '2001:db8:1:3::1')).statusCode).toBe(200);
  });
});

describe('answers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    ['/ops/orders', 200, auth],
    ['/ops/orders', 401, {}],
    ['/ops/summary', 200, auth],
    ['/ops/orders/repayment/unknown-ref', 404, auth],
    ['/ops/nothing-here', 404, auth],
  ])('of GET %s (%i) carry Cache-Control: no-store', async (url, status, headers) => {
    const response = await t.app.inject({ url, headers });
    expect(response.statusCode).toBe(status);
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('adopt a caller X-Request-Id only when it looks like one', async () => {
    const kept = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'trace-1234.abc:9' } });
    expect(kept.headers['x-request-id']).toBe('trace-1234.abc:9');
    for (const forged of ['x'.repeat(65), 'a b', 'evil\u001b[31m', '{"level":60}']) {
      const replaced = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': forged } });
      expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('of /docs carry a Content-Security-Policy that allows only the service itself', async () => {
    const response = await t.app.inject({ url: '/docs/' });
    expect(response.statusCode).toBe(200);
    const csp = String(response.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/https?:|\*/);
  });
});

describe('provider URLs in production', () => {
  const production = {
    NODE_ENV: 'production',
    DATABASE_URL: 'postgres://db.internal/receiver',
    OPS_API_TOKEN: 'x'.repeat(40),
    STARPAGO_APP_SECRET: 'secret',
    STARPAGO_APP_ID: 'app',
    STARPAY_MCH_ID: '1',
    STARPAY_MERCHANT_PRIVATE_KEY: 'pem',
  };
  it.each(['STARPAY_API_URL', 'STARPAGO_API_URL'])('%s must be https unless its host is loopback', (variable) => {
    expect(() => loadConfig({ ...production, [variable]: 'http://api.example.com' })).toThrow(new RegExp(variable));
    for (const url of ['https://api.example.com', 'http://127.0.0.1:9000', 'http://[::1]:9000', 'http://localhost:9000']) {
      expect(() => loadConfig({ ...production, [variable]: url }), url).not.toThrow();
    }
    expect(() => loadConfig({ ...production, NODE_ENV: 'development', [variable]: 'http://api.example.com' })).not.toThrow();
  });
});

describe('a provider answer that does not name the asked order', () => {
  let starpago: FakeStarpago;
  let t: TestApp;
  const MCH_ID = '101510000001';
  const platform = generateRsaKeyPair();
  const merchant = generateRsaKeyPair();
  let starpay: Awaited<ReturnType<typeof startFakeStarpay>>;

  beforeAll(async () => {
    starpago = await startStarpagoApi();
    starpay = await startFakeStarpay({ merchantPublicKey: merchant.publicKey, platformPrivateKey: platform.privateKey, mchId: MCH_ID });
    t = await startTestApp(
      {
        STARPAGO_APP_ID,
        STARPAGO_APP_SECRET,
        STARPAGO_API_URL: starpago.url,
        STARPAY_API_URL: starpay.url,
        STARPAY_MCH_ID: MCH_ID,
        STARPAY_MERCHANT_PRIVATE_KEY: merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
      { starpay: platform },
    );
  });
  afterAll(async () => {
    await t.close();
    await starpago.close();
    await starpay.close();
  });

  const reconcile = (kind: string, orderRef: string) => t.app.inject({ method: 'POST', url: `/ops/orders/${kind}/${orderRef}/reconcile`, headers: auth });

  it('is try-later for StarPago (no merOrderNo, or another), and changes nothing', async () => {
    const orderRef = merOrderNo('ASK');
    starpago.setOrder('payin', orderRef, { status: 'PAID', merOrderNo: 'SOMEONE-ELSE', amount: '1', paidAmount: '1', currency: 'PHP' });
    expect((await reconcile('payin', orderRef)).statusCode).toBe(502);
    starpago.setOrder('payin', orderRef, { status: 'PAID', merOrderNo: undefined, amount: '1', paidAmount: '1', currency: 'PHP' });
    expect((await reconcile('payin', orderRef)).statusCode).toBe(502);
    expect(await orderDetail(t.app, 'payin', orderRef)).toBeNull();
    starpago.setOrder('payin', orderRef, { status: 'PAID', amount: '1', paidAmount: '1', currency: 'PHP' });
    expect((await reconcile('payin', orderRef)).statusCode).toBe(200);
  });

  it('is try-later for Starpay (another originalMsgId), and changes nothing', async () => {
    const orderRef = `ASK-${Date.now()}`;
    starpay.setOrder('repayment', orderRef, { trxState: 'SUCCESS', trxAmount: 100, originalMsgId: 'SOMEONE-ELSE' });
    expect((await reconcile('repayment', orderRef)).statusCode).toBe(502);
    expect(await orderDetail(t.app, 'repayment', orderRef)).toBeNull();
    starpay.setOrder('repayment', orderRef, { trxState: 'SUCCESS', trxAmount: 100 });
    expect((await reconcile('repayment', orderRef)).statusCode).toBe(200);
  });
});
