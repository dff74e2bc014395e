import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signParams } from '../../src/providers/starpago/sign.js';
import { startFakeStarpago, type FakeStarpago } from '../../src/sandbox/starpago-api.js';

const APP_ID = 'app-1';
const APP_SECRET = 'secret-1';

let fake: FakeStarpago;
beforeAll(async () => {
  fake = await startFakeStarpago({ appId: APP_ID, appSecret: APP_SECRET, tokenTtlSeconds: 1 });
  fake.setOrder('payin', 'M-1', { orderStatus: 2, amount: 10, currency: 'PHP', status: 'PAID' });
});
afterAll(async () => {
  await fake.close();
});

async function token(): Promise<string> {
  const response = await fetch(`${fake.url}/api/v3/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', app_id: APP_ID, app_secret: APP_SECRET }),
  });
  const body = (await response.json()) as { data: { token: string; token_type: string; expires_in: number } };
  expect(body.data).toMatchObject({ token_type: 'Bearer', expires_in: 1 });
  return body.data.token;
}

describe('the fake StarPago API', () => {
  it('refuses a token grant with the wrong secret with 401', async () => {
    const response = await fetch(`${fake.url}/api/v3/oauth/token`, {
      method: 'POST',
      body: JSON.stringify({ grant_type: 'client_credentials', app_id: APP_ID, app_secret: 'nope' }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 401 });
  });

  it('answers a v3 query only with a live bearer token', async () => {
    const query = (authorization?: string) =>
      fetch(`${fake.url}/api/v3/payment/query?merOrderNo=M-1`, { headers: authorization === undefined ? {} : { authorization } });
    expect((await query()).status).toBe(401);
    expect((await query('Bearer made-up')).status).toBe(401);
    const live = await token();
    const answer = await query(`Bearer ${live}`);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ code: 0, data: { merOrderNo: 'M-1', status: 'PAID' } });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await query(`Bearer ${live}`)).status).toBe(401);
  });

  it('answers a v2 query only when its sign verifies, and signs its data', async () => {
    const params = { appId: APP_ID, merOrderNo: 'M-1' };
    const forged = new URLSearchParams({ ...params, sign: signParams(params, 'other-secret') });
    expect((await fetch(`${fake.url}/api/v2/payment/order/query?${forged.toString()}`)).status).toBe(401);

    const signed = new URLSearchParams({ ...params, sign: signParams(params, APP_SECRET) });
    const answer = (await (await fetch(`${fake.url}/api/v2/payment/order/query?${signed.toString()}`)).json()) as {
      code: number;
      data: Record<string, unknown>;
    };
    expect(answer.code).toBe(0);
    const { sign, ...data } = answer.data;
    expect(sign).toBe(signParams(data, APP_SECRET));
  });

  it('answers 503 to every StarPago call while down', async () => {
    fake.setDown(true);
    try {
      expect((await fetch(`${fake.url}/api/v3/oauth/token`, { method: 'POST', body: '{}' })).status).toBe(503);
      expect((await fetch(`${fake.url}/api/v3/payout/query?merOrderNo=M-1`)).status).toBe(503);
      expect((await fetch(`${fake.url}/api/v2/payout/order/query?merOrderNo=M-1`)).status).toBe(503);
    } finally {
      fake.setDown(false);
    }
  });
});
