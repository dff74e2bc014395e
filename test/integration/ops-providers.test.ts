import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPS_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

describe('GET /ops/providers', () => {
  it('lists every provider the service serves with its kinds, and which are configured and queryable', async () => {
    const response = await t.app.inject({ url: '/ops/providers', headers: { authorization: `Bearer ${OPS_TOKEN}` } });
    expect(response.statusCode).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.json()).toEqual({
      items: [
        // Starpay's key is configured in the test app, StarPago's secret is not; neither has a query API.
        { name: 'starpay', configured: true, kinds: ['disbursement', 'repayment', 'static-qr'].map((kind) => ({ kind, queryable: false })) },
        { name: 'starpago', configured: false, kinds: ['payin', 'payout'].map((kind) => ({ kind, queryable: false })) },
      ],
    });
  });

  it('answers 401 without a token', async () => {
    expect((await t.app.inject({ url: '/ops/providers' })).statusCode).toBe(401);
  });
});
