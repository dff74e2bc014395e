import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createStarpagoClient, type StarpagoClientOptions } from '../../src/providers/starpago/client.js';
import { startFakeStarpago, type FakeStarpago } from '../../src/sandbox/starpago-api.js';

const APP_ID = 'app-4085';
const APP_SECRET = 'daa153d25c25c3736b474a91aeaa7fa7';
const UPDATE_TIME = 1700000000000;

let fake: FakeStarpago;
beforeAll(async () => {
  fake = await startFakeStarpago({ appId: APP_ID, appSecret: APP_SECRET });
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  fake.setDown(false);
});

function client(overrides: Partial<StarpagoClientOptions> = {}) {
  return createStarpagoClient({ apiUrl: fake.url, appId: APP_ID, appSecret: APP_SECRET, apiVersion: 'v3', timeoutMs: 2_000, ...overrides });
}

const paid = { status: 'PAID', orderNo: 'SP-1', amount: '100.00', paidAmount: '99.50', currency: 'PHP', updateTime: UPDATE_TIME };

describe('StarPago v3 queries', () => {
  it('answers found with the order mapped like a callback', async () => {
    fake.setOrder('payin', 'M-found', paid);
    const answer = await client().query('payin', 'M-found');
    expect(answer).toEqual({
      outcome: 'found',
      msgId: null,
      providerUpdateTime: String(UPDATE_TIME),
      report: {
        provider: 'starpago',
        kind: 'payin',
        orderRef: 'M-found',
        rawState: 'PAID',
        state: 'SUCCESS',
        amount: 10000,
        paidAmount: 9950,
        currency: 'PHP',
        trxDate: '2023-11-14T22:13:20.000Z',
        errorCode: null,
        errorMessage: null,
      },
      response: { code: 0, msg: 'success', data: { merOrderNo: 'M-found', ...paid } },
    });
  });

  it('asks the payout path for payout orders', async () => {
    fake.setOrder('payout', 'M-payout', { ...paid, status: 'FAILED' });
    const before = fake.queries.length;
    expect(await client().query('payout', 'M-payout')).toMatchObject({ outcome: 'found', report: { kind: 'payout', state: 'FAILED' } });
    expect(fake.queries.slice(before)).toMatchObject([{ version: 'v3', kind: 'payout', merOrderNo: 'M-payout', status: 200 }]);
    expect(await client().query('payin', 'M-payout')).toMatchObject({ outcome: 'not_found' });
  });

  it('reuses one token across queries', async () => {
    fake.setOrder('payin', 'M-reuse', paid);
    const api = client();
    const before = fake.tokenRequests;
    for (let i = 0; i < 3; i++) expect(await api.query('payin', 'M-reuse')).toMatchObject({ outcome: 'found' });
    expect(fake.tokenRequests - before).toBe(1);
  });

  it('asks for one token when many queries start at once', async () => {
    fake.setOrder('payin', 'M-parallel', paid);
    const api = client();
    const before = fake.tokenRequests;
    const answers = await Promise.all(Array.from({ length: 8 }, () => api.query('payin', 'M-parallel')));
    expect(answers.map((answer) => answer.outcome)).toEqual(Array(8).fill('found'));
    expect(fake.tokenRequests - before).toBe(1);
  });

  it('fetches a new token shortly before the old one expires', async () => {
    fake.setOrder('payin', 'M-expiry', paid);
    let clock = Date.now();
    const api = client({ now: () => clock });
    const before = fake.tokenRequests;
    await api.query('payin', 'M-expiry');
    clock += (1800 - 120) * 1000; // two minutes left: still reused
    await api.query('payin', 'M-expiry');
    expect(fake.tokenRequests - before).toBe(1);
    clock += 90 * 1000; // thirty seconds left: renewed
    expect(await api.query('payin', 'M-expiry')).toMatchObject({ outcome: 'found' });
    expect(fake.tokenRequests - before).toBe(2);
  });

  it('renews an expired token before asking, without being refused first', async () => {
    const shortLived = await startFakeStarpago({ appId: APP_ID, appSecret: APP_SECRET, tokenTtlSeconds: 1 });
    try {
      shortLived.setOrder('payin', 'M-short', paid);
      const api = client({ apiUrl: shortLived.url });
      await api.query('payin', 'M-short');
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(await api.query('payin', 'M-short')).toMatchObject({ outcome: 'found' });
      expect(shortLived.tokenRequests).toBe(2);
      expect(shortLived.queries.map((query) => query.status)).toEqual([200, 200]);
    } finally {
      await shortLived.close();
    }
  });

  it('fetches a new token after a 401 and asks again once', async () => {
    fake.setOrder('payin', 'M-revoked', paid);
    const api = client();
    await api.query('payin', 'M-revoked');
    const tokensBefore = fake.tokenRequests;
    const queriesBefore = fake.queries.length;
    fake.expireTokens();
    expect(await api.query('payin', 'M-revoked')).toMatchObject({ outcome: 'found' });
    expect(fake.tokenRequests - tokensBefore).toBe(1);
    expect(fake.queries.slice(queriesBefore).map((query) => query.status)).toEqual([401, 200]);
  });

  it('answers not_found for an order StarPago does not know', async () => {
    expect(await client().query('payin', 'M-unknown')).toMatchObject({ outcome: 'not_found' });
    fake.setOrder('payin', 'M-deleted', paid);
    fake.deleteOrder('payin', 'M-deleted');
    expect(await client().query('payin', 'M-deleted')).toMatchObject({ outcome: 'not_found' });
  });

  it('answers try_later while StarPago is down, and found once it is back', async () => {
    fake.setOrder('payin', 'M-down', paid);
    const api = client();
    fake.setDown(true);
    expect(await api.query('payin', 'M-down')).toEqual({ outcome: 'try_later', detail: 'token: HTTP 503' });
    fake.setDown(false);
    await api.query('payin', 'M-down');
    fake.setDown(true);
    expect(await api.query('payin', 'M-down')).toEqual({ outcome: 'try_later', detail: 'HTTP 503' });
    fake.setDown(false);
    expect(await api.query('payin', 'M-down')).toMatchObject({ outcome: 'found', report: { state: 'SUCCESS' } });
  });

  it('answers config_error when the token is refused for bad credentials', async () => {
    expect(await client({ appSecret: 'wrong' }).query('payin', 'M-x')).toEqual({ outcome: 'config_error', detail: 'token refused: HTTP 401, code 401' });
    expect(await client({ appId: 'someone-else' }).query('payin', 'M-x')).toMatchObject({ outcome: 'config_error' });
  });

  it('answers try_later when nothing listens at the API URL', async () => {
    const answer = await client({ apiUrl: 'http://127.0.0.1:9' }).query('payin', 'M-x');
    expect(answer).toEqual({ outcome: 'try_later', detail: 'request failed: ECONNREFUSED' });
  });

  it('finds orders registered over HTTP by another process', async () => {
    const put = await fetch(`${fake.url}/sandbox/starpago/orders/payout/M%2Fslash`, { method: 'PUT', body: JSON.stringify({ ...paid, status: 'REFUNDED' }) });
    expect(put.status).toBe(204);
    expect(await client().query('payout', 'M/slash')).toMatchObject({ outcome: 'found', report: { orderRef: 'M/slash', state: 'REFUNDED' } });
    expect((await fetch(`${fake.url}/sandbox/starpago/orders/payout/M-bad`, { method: 'PUT', body: '[1]' })).status).toBe(400);
    expect((await fetch(`${fake.url}/sandbox/starpago/orders/payout/M%2Fslash`, { method: 'DELETE' })).status).toBe(204);
    expect(await client().query('payout', 'M/slash')).toMatchObject({ outcome: 'not_found' });
  });
});

describe('StarPago v2 queries', () => {
  const v2 = (overrides: Partial<StarpagoClientOptions> = {}) => client({ apiVersion: 'v2', ...overrides });
  const success = { orderStatus: 2, orderNo: 'SP-2', amount: 13500, currency: 'IDR', attach: '', createTime: UPDATE_TIME - 5000, updateTime: UPDATE_TIME };

  it('sends a signed query and accepts an answer whose data sign verifies', async () => {
    fake.setOrder('payout', 'M-v2', success);
    const before = fake.queries.length;
    const tokensBefore = fake.tokenRequests;
    const answer = await v2().query('payout', 'M-v2');
    expect(answer).toMatchObject({
      outcome: 'found',
      providerUpdateTime: String(UPDATE_TIME),
      report: { kind: 'payout', orderRef: 'M-v2', rawState: '2', state: 'SUCCESS', amount: 1350000, currency: 'IDR' },
    });
    // The fake answers 401 to a query whose sign does not verify: a 200 proves the sign was right.
    expect(fake.queries.slice(before)).toMatchObject([{ version: 'v2', kind: 'payout', merOrderNo: 'M-v2', status: 200 }]);
    expect(fake.tokenRequests).toBe(tokensBefore); // v2 has no token
  });

  it('answers try_later when the data sign does not verify: such an answer changes nothing', async () => {
    fake.setOrder('payin', 'M-v2-forged', { ...success, sign: 'f'.repeat(64) });
    const answer = await v2().query('payin', 'M-v2-forged');
    expect(answer).toMatchObject({ outcome: 'try_later' });
    expect(answer.outcome !== 'found' && answer.detail).toMatch(/^answer sign does not verify \(SIGN_MISMATCH; rules tried: skip-empty, include-empty\)$/);
  });

  it('answers try_later when the answer is signed with another secret', async () => {
    fake.setOrder('payin', 'M-v2-other', success);
    const other = await startFakeStarpago({ appId: APP_ID, appSecret: 'another-secret' });
    try {
      other.setOrder('payin', 'M-v2-other', success);
      // Signed by us with the other secret too, so the fake accepts the query; its answer must still verify with ours.
      expect(await v2({ apiUrl: other.url, appSecret: 'another-secret' }).query('payin', 'M-v2-other')).toMatchObject({ outcome: 'found' });
      expect(await v2({ apiUrl: other.url }).query('payin', 'M-v2-other')).toMatchObject({ outcome: 'try_later' });
    } finally {
      await other.close();
    }
  });

  it('answers not_found for an unknown order and try_later while down', async () => {
    expect(await v2().query('payin', 'M-v2-unknown')).toMatchObject({ outcome: 'not_found' });
    fake.setDown(true);
    expect(await v2().query('payin', 'M-v2-unknown')).toEqual({ outcome: 'try_later', detail: 'HTTP 503' });
  });
});

describe('StarPago answers that cannot be used', () => {
  let server: Server;
  let url: string;
  let reply: (path: string) => { status: number; body?: string; hang?: boolean } = () => ({ status: 200 });

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        if (path.endsWith('/oauth/token')) {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 0, data: { token: 't', expires_in: 1800 } }));
          return;
        }
        const answer = reply(path);
        if (answer.hang === true) return;
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body ?? '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/base/`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const ask = () => createStarpagoClient({ apiUrl: url, appId: APP_ID, appSecret: APP_SECRET, apiVersion: 'v3', timeoutMs: 300 }).query('payin', 'M-1');

  it('appends the paths to a base URL that carries a path', async () => {
    const paths: string[] = [];
    reply = (path) => (paths.push(path), { status: 200, body: JSON.stringify({ code: 0, data: { status: 'PENDING', merOrderNo: 'M-1' } }) });
    expect(await ask()).toMatchObject({ outcome: 'found', report: { state: 'PENDING', amount: null, trxDate: null }, providerUpdateTime: null });
    expect(paths).toEqual(['/base/api/v3/payment/query']);
  });

  it('answers try_later on a timeout, bad JSON, a non-zero code, an HTTP error or an answer about another order', async () => {
    const cases: [ReturnType<typeof reply>, string][] = [
      [{ status: 200, hang: true }, 'timeout after 300 ms'],
      [{ status: 200, body: '<html>' }, 'answer is not a JSON object'],
      [{ status: 200, body: JSON.stringify({ code: 500, msg: 'busy' }) }, 'code 500: busy'],
      [{ status: 502, body: '' }, 'HTTP 502'],
      [{ status: 200, body: JSON.stringify({ code: 0 }) }, 'answer lacks data'],
      [{ status: 200, body: JSON.stringify({ code: 0, data: { status: 'PAID', merOrderNo: 'M-2' } }) }, 'answer is about another order'],
      [{ status: 200, body: JSON.stringify({ code: 0, data: { merOrderNo: 'M-1' } }) }, 'answer unreadable: status is missing'],
    ];
    for (const [answer, detail] of cases) {
      reply = () => answer;
      expect(await ask(), detail).toEqual({ outcome: 'try_later', detail });
    }
  });

  it('answers not_found on HTTP 404 or on code 404 in the body', async () => {
    reply = () => ({ status: 404 });
    expect(await ask()).toMatchObject({ outcome: 'not_found' });
    reply = () => ({ status: 200, body: JSON.stringify({ code: '404', msg: 'order does not exist' }) });
    expect(await ask()).toMatchObject({ outcome: 'not_found' });
  });
});
