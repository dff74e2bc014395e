import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { optionalText, type ProviderEnv } from '../../src/config/env-parts.js';
import type { Provider, VerifyResult } from '../../src/domain/provider.js';
import { createLogger } from '../../src/logger.js';
import { createProviders, PROVIDER_MODULES, type ProviderModule } from '../../src/providers/index.js';
import { createServices } from '../../src/services.js';
import { openDatabase, type Database } from '../../src/store/database.js';
import { OPS_TOKEN } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/**
 * A throwaway third provider, written as its folder would be (src/providers/acmepay/module.ts): its
 * configuration fragment and how it is built, added to the registry's list. Nothing else in the
 * service changes, yet its variable joins the configuration, and it gets its notify route, its
 * orders, events and ops filters, and its docs.
 */
const SECRET = 'acme-secret';
const sign = (body: string) => createHmac('sha256', SECRET).update(body).digest('hex');

const acmepayShape = { ACMEPAY_SECRET: optionalText.describe('AcmePay HMAC key') };

function createAcmepay(secret: string | undefined): Provider {
  return {
    name: 'acmepay',
    kinds: ['charge'],
    configured: secret !== undefined,
    acknowledgement: 'OK',
    verify(kind, body, headers): VerifyResult {
      if (secret === undefined) return { ok: false, code: 'PROVIDER_NOT_CONFIGURED', detail: 'ACMEPAY_SECRET is unset' };
      const given = Buffer.from(String(headers['x-acme-signature'] ?? ''), 'hex');
      const expected = Buffer.from(createHmac('sha256', secret).update(body).digest('hex'), 'hex');
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
}

const ACMEPAY = {
  name: 'acmepay',
  kinds: ['charge'],
  env: {
    shape: acmepayShape,
    configuredBy: 'ACMEPAY_SECRET',
    check(env, problem) {
      if (env.ACMEPAY_SECRET !== undefined && env.ACMEPAY_SECRET.length < 8) problem('ACMEPAY_SECRET', 'must be at least 8 characters');
    },
    configured: (env) => env.ACMEPAY_SECRET !== undefined,
    read: (env) => ({ secret: env.ACMEPAY_SECRET }),
  } satisfies ProviderEnv<typeof acmepayShape, { secret: string | undefined }>,
  create: async (settings: { secret: string | undefined }) => createAcmepay(settings.secret),
} satisfies ProviderModule<typeof acmepayShape, { secret: string | undefined }>;

/** The registry with the new line. */
const MODULES = [...PROVIDER_MODULES, ACMEPAY];

let database: TestDatabase;
let db: Database;
let app: FastifyInstance;
beforeAll(async () => {
  database = await createTestDatabase();
  const config = loadConfig({ DATABASE_URL: database.url, OPS_API_TOKEN: OPS_TOKEN, LOG_LEVEL: 'silent', ACMEPAY_SECRET: SECRET }, MODULES);
  db = openDatabase(database.url);
  const logger = createLogger('silent');
  const providers = await createProviders(config, { logger, dataDir: config.dataDir, developmentStandIns: false }, MODULES);
  ({ app } = await createServices({ config, db, logger, providers, destinations: [] }));
});
afterAll(async () => {
  await app.close();
  await db.close();
  await database.drop();
});

const ops = (url: string) => app.inject({ url, headers: { authorization: `Bearer ${OPS_TOKEN}` } });

describe('a third provider added to the registry', () => {
  it('brings its variables into the configuration: read, checked, and counted as a configured provider in production', () => {
    expect((loadConfig({ ACMEPAY_SECRET: SECRET }, MODULES).providers as Record<string, unknown>).acmepay).toEqual({ secret: SECRET });
    expect(() => loadConfig({ ACMEPAY_SECRET: 'short' }, MODULES)).toThrow(/^invalid configuration: ACMEPAY_SECRET must be at least 8 characters$/m);
    const production = { NODE_ENV: 'production', OPS_API_TOKEN: 'x'.repeat(32), DATABASE_URL: 'postgres://db/receiver' };
    expect(() => loadConfig(production, MODULES)).toThrow(/STARPAY_PUBLIC_KEYS or STARPAGO_APP_SECRET or ACMEPAY_SECRET is required in production/);
    expect(() => loadConfig({ ...production, ACMEPAY_SECRET: SECRET }, MODULES)).not.toThrow();
    // Two fragments declaring one variable would give it two meanings: refused outright.
    expect(() => loadConfig({}, [...MODULES, { ...ACMEPAY, name: 'acmepay2' }])).toThrow(/^ACMEPAY_SECRET is declared twice \(provider acmepay2\)$/);
  });

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
