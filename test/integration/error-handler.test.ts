import { Writable } from 'node:stream';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices } from '../../src/services.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/logger.js';
import { createProviders } from '../../src/providers/index.js';
import { openDatabase, type Database } from '../../src/store/database.js';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { OPS_TOKEN } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const INTERNAL_DETAIL = 'relation "orders_shadow" does not exist; password=hunter2';

let app: FastifyInstance;
let db: Database;
let database: TestDatabase;
const logLines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const config = loadConfig({
    STARPAY_PUBLIC_KEYS: generateRsaKeyPair().publicKeyPem,
    OPS_API_TOKEN: OPS_TOKEN,
    OPS_RATE_LIMIT: '1',
    DATABASE_URL: database.url,
  });
  db = openDatabase(database.url);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger('info', sink);
  const providers = await createProviders(config, { logger, dataDir: config.dataDir, developmentStandIns: false });
  ({ app } = await createServices({ config, db, providers, destinations: [], logger }));
  // A route with a bug: what any unexpected exception in a handler looks like to the error handler.
  app.get('/broken', async () => {
    throw new Error(INTERNAL_DETAIL);
  });
});

afterAll(async () => {
  await app.close();
  await db.close();
  await database.drop();
});

/** The one error body: exactly these three members, the request id echoing the header. */
function expectErrorBody(response: LightMyRequestResponse, status: number, code: string, message: string): void {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(response.json()).toStrictEqual({ code, message, requestId: response.headers['x-request-id'] });
  expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  expect(response.body).not.toContain('SUCCESS');
}

describe('the error handler', () => {
  it('answers an unexpected exception with a 500 that leaks nothing of it, and logs the detail at error level', async () => {
    const response = await app.inject({ url: '/broken' });
    expectErrorBody(response, 500, 'INTERNAL', 'Internal error.');
    expect(response.body).not.toContain('orders_shadow');
    expect(response.body).not.toContain('hunter2');

    const logged = logLines.find((line) => line.msg === 'request failed');
    expect(logged).toMatchObject({ level: 50, code: 'INTERNAL', reqId: response.headers['x-request-id'] });
    expect(JSON.stringify(logged)).toContain('orders_shadow');
  });

  it('answers a body of a content type no route parses with a 415', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/ops/deliveries/1/retry',
      remoteAddress: '127.0.0.1',
      headers: { authorization: `Bearer ${OPS_TOKEN}`, 'content-type': 'application/xml' },
      payload: '<retry/>',
    });
    expectErrorBody(response, 415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported content type.');
  });

  it('answers a client past its rate limit with a 429 and Retry-After', async () => {
    const call = () => app.inject({ url: '/ops/orders', remoteAddress: '198.51.100.4', headers: { authorization: `Bearer ${OPS_TOKEN}` } });
    expect((await call()).statusCode).toBe(200);
    const limited = await call();
    expectErrorBody(limited, 429, 'RATE_LIMITED', 'Too many requests.');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('answers an unknown path with the same 404 body inside and outside /ops', async () => {
    const outside = await app.inject({ url: '/no-such-path' });
    expectErrorBody(outside, 404, 'NOT_FOUND', 'Not found.');
    const inside = await app.inject({ url: '/ops/no-such-path', remoteAddress: '127.0.0.1', headers: { authorization: `Bearer ${OPS_TOKEN}` } });
    expectErrorBody(inside, 404, 'NOT_FOUND', 'Not found.');
  });

  it('answers a path that is not percent-encoded UTF-8 with the catalogue body, wherever it points', async () => {
    for (const url of ['/ops/orders/repayment/%FF', '/notify/starpay/repayment%E0%A4', '/console/%C0']) {
      expectErrorBody(
        await app.inject({ method: url.startsWith('/notify') ? 'POST' : 'GET', url }),
        400,
        'BAD_REQUEST',
        'The path is not valid percent-encoded UTF-8.',
      );
    }
  });

  it('answers a non-ASCII or undecodable query parameter outside its rule with the catalogue body, naming the parameter', async () => {
    const headers = { authorization: `Bearer ${OPS_TOKEN}` };
    const cases = [
      ['/ops/orders?limit=%FF', 'limit'],
      ['/ops/orders?state=caf\u00e9', 'state'],
      [`/ops/orders?orderRef=${encodeURIComponent('caf\u00e9\u0000')}`, 'orderRef'],
    ] as const;
    for (const [url, parameter] of cases) {
      const response = await app.inject({ url, remoteAddress: '127.0.0.1', headers });
      expect(response.statusCode).toBe(400);
      const body = response.json<Record<string, unknown>>();
      expect(Object.keys(body).sort()).toEqual(['code', 'message', 'requestId']);
      expect(body.code).toBe('INVALID_PARAMETER');
      expect(body.message).toMatch(new RegExp(`^invalid parameter: ${parameter} `));
    }
  });

  it('checks the token before answering an unknown /ops path', async () => {
    const response = await app.inject({ url: '/ops/no-such-path', remoteAddress: '127.0.0.1' });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'UNAUTHORIZED' });
  });
});
