import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import type { Provider, VerifyResult } from '../../src/domain/provider.js';
import { createLogger } from '../../src/logger.js';
import { createProviders } from '../../src/providers/index.js';
import { createServices } from '../../src/services.js';
import { openDatabase, type Database } from '../../src/store/database.js';
import { OPS_TOKEN } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/**
 * A throwaway third provider, written as a provider folder would be: one value implementing the
 * Provider port, handed to the composition root with the others. Nothing else in the service
 * changes, yet it gets its notify route, its orders, events and ops filters, and its docs.
 */
const SECRET = 'acme-secret';
const sign = (body: string) => createHmac('sha256', SECRET).update(body).digest('hex');

const acmepay: Provider = {
  name: 'acmepay',
  kinds: ['charge'],
  configured: true,
  acknowledgement: 'OK',
  verify(kind, body, headers): VerifyResult {
    const given = Buffer.from(String(headers['x-acme-signature'] ?? ''), 'hex');
    const expected = Buffer.from(sign(body.toString('utf8')), 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, code: 'SIGNATURE_INVALID', detail: 'bad HMAC' };
    const fields = JSON.parse(body.toString('utf8')) as { ref: string; status: 'PAID' | 'OPEN'; cents: number };
    return {
      ok: true,
      notification: {
        provider: 'acmepay',
        kind,
        orderRef: fields.ref,
        rawState: fields.status,
        state: fields.status === 'PAID' ? 'SUCCESS' : 'PENDING',
        amount: fields.cents,
        paidAmount: null,
        currency: 'PHP',
        trxDate: null,
        errorCode: null,
        errorMessage: null,
        msgId: null,
        dedupKey: `${fields.ref}:${fields.status}`,
        status: 'accepted',
        request: fields,
        signedText: null,
        signature: null,
      },
    };
  },
  isQueryable: () => false,
  describe: () => ({ summary: 'AcmePay charge callback', description: 'HMAC-SHA256 in X-Acme-Signature.', body: { type: 'object' } }),
};

let database: TestDatabase;
let db: Database;
let app: FastifyInstance;
beforeAll(async () => {
  database = await createTestDatabase();
  const config = loadConfig({ DATABASE_URL: database.url, OPS_API_TOKEN: OPS_TOKEN, LOG_LEVEL: 'silent' });
  db = openDatabase(database.url);
  const logger = createLogger('silent');
  const providers = [...createProviders({ config, logger, starpayKeys: [] }), acmepay];
  ({ app } = await createServices({ config, db, logger, providers, destinations: [] }));
});
afterAll(async () => {
  await app.close();
  await db.close();
  await database.drop();
});

const ops = (url: string) => app.inject({ url, headers: { authorization: `Bearer ${OPS_TOKEN}` } });

describe('a third provider added to the list the composition root gets', () => {
  it('is served: its notify route, its orders and events, the ops filters and paths, GET /ops/providers and /openapi.json', async () => {
    const body = JSON.stringify({ ref: 'ACME-0001', status: 'PAID', cents: 4200 });
    const refused = await app.inject({ method: 'POST', url: '/notify/acmepay/charge', payload: body, headers: { 'x-acme-signature': sign('other') } });
    expect(refused.statusCode).toBe(401);
    expect((await ops('/ops/orders/charge/ACME-0001')).statusCode).toBe(404);

    const accepted = await app.inject({ method: 'POST', url: '/notify/acmepay/charge', payload: body, headers: { 'x-acme-signature': sign(body) } });
    expect(accepted.body).toBe('OK');

    const detail = (await ops('/ops/orders/charge/ACME-0001')).json<{ order: Record<string, unknown>; events: { type: string }[] }>();
    expect(detail.order).toMatchObject({ provider: 'acmepay', kind: 'charge', state: 'SUCCESS', amount: 4200 });
    expect(detail.events.map((event) => event.type)).toEqual(['acmepay.charge.state_changed']);
    const listed = (await ops('/ops/orders?provider=acmepay&kind=charge')).json<{ items: { orderRef: string }[] }>();
    expect(listed.items.map((order) => order.orderRef)).toEqual(['ACME-0001']);
    expect((await ops('/ops/summary')).json<{ orders: Record<string, unknown> }>().orders.charge).toMatchObject({ SUCCESS: 1 });
    expect((await ops('/ops/providers')).json<{ items: { name: string }[] }>().items.map((provider) => provider.name)).toEqual([
      'starpay',
      'starpago',
      'acmepay',
    ]);
    const paths = Object.keys((await app.inject({ url: '/openapi.json' })).json<{ paths: Record<string, unknown> }>().paths);
    expect(paths).toContain('/notify/acmepay/charge');
    // A kind nobody serves is still refused.
    expect((await ops('/ops/orders?kind=coupon')).statusCode).toBe(400);
  });
});
