import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { OPS_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { requestFields, signedBody } from '../helpers/starpay.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ OPS_RATE_LIMIT: '3', NOTIFY_RATE_LIMIT: '2' });
});
afterAll(async () => {
  await t.close();
});

function ops(remoteAddress: string, headers: Record<string, string> = { authorization: `Bearer ${OPS_TOKEN}` }) {
  return t.app.inject({ url: '/ops/orders', remoteAddress, headers });
}

function notify(remoteAddress: string) {
  return t.app.inject({
    method: 'POST',
    url: '/notify/starpay/repayment',
    remoteAddress,
    payload: signedBody(requestFields(), t.starpay.privateKey),
  });
}

describe('rate limits', () => {
  it('default to 300 ops and 6000 notify requests per minute and client', () => {
    expect(loadConfig({}).rateLimits).toEqual({ ops: 300, notify: 6000 });
  });

  it('answer 429 RATE_LIMITED with Retry-After past the ops limit, per client address', async () => {
    for (let i = 0; i < 3; i += 1) expect((await ops('10.0.0.1')).statusCode).toBe(200);
    const limited = await ops('10.0.0.1');
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toEqual({ code: 'RATE_LIMITED', message: expect.any(String), requestId: expect.any(String) });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await ops('10.0.0.2')).statusCode).toBe(200);
  });

  it('count requests with a wrong token too, so tokens cannot be guessed at speed', async () => {
    for (let i = 0; i < 3; i += 1) expect((await ops('10.0.0.3', { authorization: 'Bearer guess' })).statusCode).toBe(401);
    expect((await ops('10.0.0.3', { authorization: 'Bearer guess' })).statusCode).toBe(429);
  });

  it('exempt loopback callers from the ops limit', async () => {
    for (let i = 0; i < 6; i += 1) expect((await ops('127.0.0.1')).statusCode).toBe(200);
  });

  it('answer 429 past the notify limit, never SUCCESS', async () => {
    for (let i = 0; i < 2; i += 1) expect((await notify('203.0.113.7')).body).toBe('SUCCESS');
    const limited = await notify('203.0.113.7');
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ code: 'RATE_LIMITED' });
    expect((await notify('203.0.113.8')).body).toBe('SUCCESS');
  });

  it('never limit notifications from loopback, so that a local load test measures the service', async () => {
    for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      for (let i = 0; i < 4; i += 1) expect((await notify(address)).body).toBe('SUCCESS');
    }
  });

  it('are off when set to 0', async () => {
    const open = await startTestApp({ OPS_RATE_LIMIT: '0', NOTIFY_RATE_LIMIT: '0' });
    try {
      for (let i = 0; i < 5; i += 1) {
        expect((await open.app.inject({ url: '/ops/orders', remoteAddress: '10.0.0.9', headers: { authorization: `Bearer ${OPS_TOKEN}` } })).statusCode).toBe(
          200,
        );
        const fields = signedBody(requestFields(), open.starpay.privateKey);
        expect((await open.app.inject({ method: 'POST', url: '/notify/starpay/repayment', remoteAddress: '10.0.0.9', payload: fields })).body).toBe('SUCCESS');
      }
    } finally {
      await open.close();
    }
  });
});
