import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDestinations } from '../../src/destinations/index.js';
import type { Destination } from '../../src/domain/destination.js';
import { createServices } from '../../src/services.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logger.js';
import type { Metrics } from '../../src/plugins/metrics.js';
import { createProviders } from '../../src/providers/index.js';
import { openDatabase, type Database } from '../../src/store/database.js';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { FORWARD_SECRET } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { requestFields, signedBody } from '../helpers/starpay.js';

const starpay = generateRsaKeyPair();
let database: TestDatabase;
let db: Database;
let metrics: Metrics;
let app: FastifyInstance;
let destinations: Destination[];

// The metrics object the forwarder shares, from the composition root src/server.ts uses.
beforeAll(async () => {
  database = await createTestDatabase();
  db = openDatabase(database.url);
  const config = loadConfig({
    STARPAY_PUBLIC_KEYS: starpay.publicKeyPem,
    OPS_API_TOKEN: 'token',
    FORWARD_URLS: 'http://127.0.0.1:9/a,http://127.0.0.1:9/b',
    FORWARD_SECRET,
    NOTIFY_BODY_LIMIT: '2048',
  });
  const providers = await createProviders(config, { logger: createLogger('silent'), dataDir: config.dataDir, developmentStandIns: false });
  destinations = createDestinations(config.forward.urls, { timeoutMs: 1_000, webhookSecret: FORWARD_SECRET });
  ({ app, metrics } = await createServices({ config, db, providers, destinations, logger: createLogger('silent') }));
});
afterAll(async () => {
  await app.close();
  await Promise.all(destinations.map((destination) => destination.close()));
  await db.close();
  await database.drop();
});

function post(kind: string, payload: string) {
  return app.inject({ method: 'POST', url: `/notify/starpay/${kind}`, payload });
}

/** The value of one sample line of the Prometheus text, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('GET /metrics', () => {
  it('counts notifications by kind and outcome, signature failures, reply latency and the outbox backlog', async () => {
    const body = signedBody(requestFields(), starpay.privateKey);
    expect((await post('repayment', body)).statusCode).toBe(200);
    expect((await post('repayment', body)).statusCode).toBe(200);
    const forged = body.replace(/"signature":"[^"]+"/, `"signature":"${Buffer.from('x'.repeat(256)).toString('base64')}"`);
    expect((await post('disbursement', forged)).statusCode).toBe(401);
    expect((await post('disbursement', JSON.stringify({ request: requestFields() }))).statusCode).toBe(401);
    expect((await post('static-qr', 'not json')).statusCode).toBe(400);
    expect((await post('static-qr', `"${'x'.repeat(4096)}"`)).statusCode).toBe(413);
    metrics.deliveries.inc({ destination: 'dst_0123456789ab', type: 'http', outcome: 'delivered' });

    await metrics.refreshGauges();
    const response = await app.inject({ url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = response.body;
    expect(sample(text, 'receiver_notifications_total{provider="starpay",kind="repayment",outcome="created"}')).toBe(1);
    expect(sample(text, 'receiver_notifications_total{provider="starpay",kind="repayment",outcome="duplicate"}')).toBe(1);
    expect(sample(text, 'receiver_notifications_total{provider="starpay",kind="disbursement",outcome="SIGNATURE_INVALID"}')).toBe(1);
    expect(sample(text, 'receiver_notifications_total{provider="starpay",kind="disbursement",outcome="SIGNATURE_MISSING"}')).toBe(1);
    expect(sample(text, 'receiver_notifications_total{provider="starpay",kind="static-qr",outcome="INVALID_ENVELOPE"}')).toBe(1);
    expect(sample(text, 'receiver_notifications_total{provider="starpay",kind="static-qr",outcome="BODY_TOO_LARGE"}')).toBe(1);
    expect(sample(text, 'receiver_signature_failures_total{provider="starpay",kind="disbursement",reason="SIGNATURE_INVALID"}')).toBe(1);
    expect(sample(text, 'receiver_signature_failures_total{provider="starpay",kind="disbursement",reason="SIGNATURE_MISSING"}')).toBe(1);
    expect(sample(text, 'receiver_notify_reply_seconds_count{provider="starpay",kind="repayment",status="200"}')).toBe(2);
    expect(sample(text, 'receiver_notify_reply_seconds_bucket{le="+Inf",provider="starpay",kind="disbursement",status="401"}')).toBe(2);
    expect(sample(text, 'receiver_notify_reply_seconds_count{provider="starpay",kind="static-qr",status="413"}')).toBe(1);
    // One event, two downstream URLs, nothing forwarded yet.
    expect(sample(text, 'receiver_outbox_backlog')).toBe(2);
    // The object passed in is the one exposed: the forwarder's counts show up here.
    expect(sample(text, 'receiver_deliveries_total{destination="dst_0123456789ab",type="http",outcome="delivered"}')).toBe(1);
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
  });

  it('needs no token', async () => {
    expect((await app.inject({ url: '/metrics' })).statusCode).toBe(200);
  });
});

describe('GET /openapi.json', () => {
  it('describes every route of the contract, and nothing else', async () => {
    const response = await app.inject({ url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toMatch(/^3\./);
    const operations = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
        'POST /notify/starpay/disbursement',
        'POST /notify/starpay/repayment',
        'POST /notify/starpay/static-qr',
        'GET /ops/orders',
        'GET /ops/orders/{kind}/{orderRef}',
        'GET /ops/notifications',
        'GET /ops/deliveries',
        'POST /ops/deliveries/{id}/retry',
        'POST /notify/starpago/payin',
        'POST /notify/starpago/payout',
        'POST /ops/orders/{kind}/{orderRef}/reconcile',
        'PUT /ops/orders/{kind}/{orderRef}',
        'GET /ops/summary',
        // the providers and kinds served: the console's filter menus
        'GET /ops/providers',
        'GET /ops/destinations',
        'POST /ops/destinations/{id}/pause',
        'POST /ops/destinations/{id}/resume',
        'POST /ops/deliveries/retry',
        'GET /ops/audit',
        'POST /ops/session/sign-out',
        // who the bearer is and its scope: what the console shows and which buttons it offers
        'GET /ops/session',
      ].sort(),
    );
  });

  it('documents the ops parameters, the bearer token and the shapes', async () => {
    const document = (await app.inject({ url: '/openapi.json' })).json();
    const listOrders = document.paths['/ops/orders'].get;
    expect(listOrders.security).toEqual([{ opsToken: [] }]);
    expect(document.components.securitySchemes.opsToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(listOrders.parameters.map((parameter: { name: string }) => parameter.name)).toEqual([
      'provider',
      'kind',
      'orderRef',
      'state',
      'conflict',
      'stale',
      'amountMismatch',
      'updatedAfter',
      'updatedBefore',
      'limit',
      'cursor',
    ]);
    const limit = listOrders.parameters.find((parameter: { name: string }) => parameter.name === 'limit');
    expect(limit.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 500, default: 50 });
    const order = listOrders.responses['200'].content['application/json'].schema.properties.items.items;
    expect(Object.keys(order.properties)).toEqual([
      'provider',
      'kind',
      'orderRef',
      'state',
      'rawState',
      'amount',
      'paidAmount',
      'expectedAmount',
      'currency',
      'trxDate',
      'errorCode',
      'errorMessage',
      'conflict',
      'amountMismatch',
      'stale',
      'notificationCount',
      'lastQueriedAt',
      'createdAt',
      'updatedAt',
    ]);
    expect(Object.keys(document.paths['/ops/deliveries/{id}/retry'].post.responses).sort()).toEqual(['202', '401', '403', '404', '409', '429']);
    const notificationParameters = document.paths['/ops/notifications'].get.parameters.map((parameter: { name: string }) => parameter.name);
    expect(notificationParameters).toEqual(['status', 'source', 'kind', 'orderRef', 'hint', 'limit', 'cursor']);
  });

  it('describes the notify envelope and its replies', async () => {
    const notify = (await app.inject({ url: '/openapi.json' })).json().paths['/notify/starpay/repayment'].post;
    const envelope = notify.requestBody.content['application/json'].schema.anyOf[0];
    expect(envelope.required).toEqual(['request', 'signature']);
    expect(notify.responses['200'].content['text/plain'].schema).toEqual({ type: 'string', enum: ['SUCCESS'] });
    expect(Object.keys(notify.responses).sort()).toEqual(['200', '400', '401', '403', '413', '429', '503']);
  });
});

describe('GET /docs', () => {
  it('serves Swagger UI as HTML whose assets are served locally', async () => {
    const page = await app.inject({ url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('swagger-ui');
    expect(page.body).not.toMatch(/https?:\/\//);
    const assets = [...page.body.matchAll(/(?:href|src)="([^"]+)"/g)].map((match) => match[1] ?? '');
    expect(assets.length).toBeGreaterThan(3);
    for (const asset of assets) {
      const response = await app.inject({ url: new URL(asset, 'http://local/docs').pathname });
      expect(response.statusCode, asset).toBe(200);
    }
    expect((await app.inject({ url: '/docs/json' })).json().paths).toHaveProperty(['/ops/orders']);
  });
});
