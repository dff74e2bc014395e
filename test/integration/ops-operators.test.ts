import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destinationId } from '../../src/domain/destination-id.js';
import { createLogger } from '../../src/logger.js';
import { startFakeStarpay } from '../../src/sandbox/starpay-api.js';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { createSession } from '../../src/store/sessions.js';
import { FORWARD_SECRET, OPS_TOKEN, startTestApp, type TestApp } from '../helpers/app.js';
import { requestFields, signedBody } from '../helpers/starpay.js';

const MCH_ID = '101510000001';
const platform = generateRsaKeyPair();
const merchant = generateRsaKeyPair();
const READ_TOKEN = 'read-token-for-the-operator-tests-000';
const OPERATE_TOKEN = 'operate-token-for-the-operator-tests-0';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const HOOK = 'http://127.0.0.1:9/hook';
const DESTINATION = destinationId(HOOK);
const SECRETS = [READ_TOKEN, OPERATE_TOKEN, OPS_TOKEN, sha(READ_TOKEN), sha(OPERATE_TOKEN), sha(OPS_TOKEN)];

let fake: Awaited<ReturnType<typeof startFakeStarpay>>;
let t: TestApp;
const logLines: string[] = [];

beforeAll(async () => {
  fake = await startFakeStarpay({ merchantPublicKey: merchant.publicKey, platformPrivateKey: platform.privateKey, mchId: MCH_ID });
  t = await startTestApp(
    {
      OPS_TOKENS: `reader:read:${sha(READ_TOKEN)},operator:operate:${sha(OPERATE_TOKEN)}`,
      FORWARD_URLS: HOOK,
      FORWARD_SECRET,
      STARPAY_API_URL: fake.url,
      STARPAY_MCH_ID: MCH_ID,
      STARPAY_MERCHANT_PRIVATE_KEY: merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    },
    { starpay: platform, logger: createLogger('trace', { write: (line: string) => void logLines.push(line) }) },
  );
});
afterAll(async () => {
  await t.close();
  await fake.close();
});

let sequence = 0;
const newRef = () => `op-${Date.now()}-${++sequence}`;

const call = (token: string, method: 'GET' | 'PUT' | 'POST', url: string, payload?: object) =>
  t.app.inject({ method, url, headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': '203.0.113.9' }, ...(payload === undefined ? {} : { payload }) });

/** A fresh PENDING repayment order with one dead delivery; returns its reference and the delivery's id. */
async function orderWithDeadDelivery(): Promise<{ ref: string; deliveryId: string }> {
  const fields = requestFields({ mchId: MCH_ID, trxState: 'PROCESSING' });
  const reply = await t.app.inject({ method: 'POST', url: '/notify/starpay/repayment', payload: signedBody(fields, platform.privateKey) });
  expect(reply.body).toBe('SUCCESS');
  const { rows } = await t.db.pool.query<{ id: number }>(
    `UPDATE deliveries d SET status = 'dead', attempts = 12, last_error = 'HTTP 503' FROM orders o
     WHERE o.id = d.order_id AND o.order_ref = $1 RETURNING d.id`,
    [fields.originalMsgId],
  );
  return { ref: fields.originalMsgId as string, deliveryId: `dlv_${rows[0]?.id}` };
}

/** What an order, its delivery and the destination look like in the database: what an action would change. */
async function stateOf(ref: string) {
  const { rows } = await t.db.pool.query(
    `SELECT o.state, o.expected_amount, o.last_queried_at, d.status, d.next_attempt_at,
            (SELECT paused FROM destinations WHERE url = d.url) AS destination_paused
     FROM orders o JOIN deliveries d ON d.order_id = o.id WHERE o.order_ref = $1 ORDER BY d.id`,
    [ref],
  );
  return rows;
}

/** The newest audit record's id: records of the destination accumulate over the tests. */
async function lastAuditId(): Promise<number> {
  const { rows } = await t.db.pool.query<{ id: number | null }>('SELECT max(id) AS id FROM audit_log');
  return rows[0]?.id ?? 0;
}

async function auditRows(target: string, after = 0) {
  const { rows } = await t.db.pool.query(
    'SELECT actor, action, target, status, details, request_id, ip FROM audit_log WHERE target = $1 AND id > $2 ORDER BY id',
    [target, after],
  );
  return rows;
}

/** Every action of §12 that exists on this service, for one order and its delivery. */
function actions(ref: string, deliveryId: string) {
  return [
    { action: 'delivery.retry', method: 'POST', url: `/ops/deliveries/${deliveryId}/retry`, target: deliveryId, ok: 202 },
    {
      action: 'order.register',
      method: 'PUT',
      url: `/ops/orders/repayment/${ref}`,
      payload: { amount: 25000, currency: 'PHP' },
      target: `repayment/${ref}`,
      ok: 200,
    },
    { action: 'order.reconcile', method: 'POST', url: `/ops/orders/repayment/${ref}/reconcile`, target: `repayment/${ref}`, ok: 200 },
    { action: 'destination.pause', method: 'POST', url: `/ops/destinations/${DESTINATION}/pause`, target: DESTINATION, ok: 200 },
    { action: 'destination.resume', method: 'POST', url: `/ops/destinations/${DESTINATION}/resume`, target: DESTINATION, ok: 200 },
    { action: 'deliveries.retry', method: 'POST', url: '/ops/deliveries/retry', payload: { destination: DESTINATION }, target: DESTINATION, ok: 202 },
  ] as const;
}

describe('scopes', () => {
  it('a read token reads everything; each action answers 403 FORBIDDEN_SCOPE, changes nothing, and is audited once', async () => {
    const { ref, deliveryId } = await orderWithDeadDelivery();
    fake.setOrder('repayment', ref, { trxState: 'SUCCESS', trxAmount: 10000, currency: 'PHP' });
    for (const url of ['/ops/orders', `/ops/orders/repayment/${ref}`, '/ops/deliveries', '/ops/notifications', '/ops/summary', '/ops/audit', '/ops/session']) {
      expect((await call(READ_TOKEN, 'GET', url)).statusCode, url).toBe(200);
    }
    const before = await stateOf(ref);
    const asked = fake.requests.length;
    const mark = await lastAuditId();
    for (const a of actions(ref, deliveryId)) {
      const reply = await call(READ_TOKEN, a.method, a.url, 'payload' in a ? a.payload : undefined);
      expect(reply.statusCode, a.action).toBe(403);
      expect(reply.json()).toEqual({ code: 'FORBIDDEN_SCOPE', message: expect.any(String), requestId: reply.headers['x-request-id'] });
    }
    expect(await stateOf(ref)).toEqual(before);
    expect(fake.requests.length).toBe(asked);
    expect(await auditRows(deliveryId)).toEqual([
      {
        actor: 'reader',
        action: 'delivery.retry',
        target: deliveryId,
        status: 403,
        details: { error: 'FORBIDDEN_SCOPE' },
        request_id: expect.any(String),
        ip: expect.any(String),
      },
    ]);
    expect((await auditRows(`repayment/${ref}`)).map((row) => [row.actor, row.action, row.status])).toEqual([
      ['reader', 'order.register', 403],
      ['reader', 'order.reconcile', 403],
    ]);
    expect((await auditRows(DESTINATION, mark)).map((row) => [row.actor, row.action, row.status, row.details])).toEqual([
      ['reader', 'destination.pause', 403, { error: 'FORBIDDEN_SCOPE' }],
      ['reader', 'destination.resume', 403, { error: 'FORBIDDEN_SCOPE' }],
      ['reader', 'deliveries.retry', 403, { error: 'FORBIDDEN_SCOPE' }],
    ]);
  });

  it('an operate token (and OPS_API_TOKEN, as default) takes every action, each audited once with what changed', async () => {
    const { ref, deliveryId } = await orderWithDeadDelivery();
    fake.setOrder('repayment', ref, { trxState: 'SUCCESS', trxAmount: 10000, currency: 'PHP' });
    const mark = await lastAuditId();
    const dead = await t.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM deliveries WHERE status = 'dead' AND url = $1`, [HOOK]);
    for (const a of actions(ref, deliveryId)) {
      const reply = await call(OPERATE_TOKEN, a.method, a.url, 'payload' in a ? a.payload : undefined);
      expect(reply.statusCode, `${a.action} ${reply.body}`).toBe(a.ok);
    }
    // The retried delivery, and the new event's delivery.
    expect(await stateOf(ref)).toEqual([
      expect.objectContaining({ state: 'SUCCESS', expected_amount: 25000, status: 'pending' }),
      expect.objectContaining({ state: 'SUCCESS', expected_amount: 25000, status: 'pending' }),
    ]);
    const [retried] = await auditRows(deliveryId);
    expect(retried).toMatchObject({
      actor: 'operator',
      action: 'delivery.retry',
      status: 202,
      details: { previousStatus: 'dead', status: 'pending', earlierDeadRetried: 0 },
    });
    expect(await auditRows(`repayment/${ref}`)).toMatchObject([
      {
        actor: 'operator',
        action: 'order.register',
        status: 200,
        details: { created: false, previousExpectedAmount: null, expectedAmount: 25000, currency: 'PHP' },
      },
      { actor: 'operator', action: 'order.reconcile', status: 200, details: { outcome: 'changed', providerState: 'SUCCESS', state: 'SUCCESS' } },
    ]);
    // The bulk retry finds every dead delivery to the destination but the one retried first.
    expect(await auditRows(DESTINATION, mark)).toMatchObject([
      { actor: 'operator', action: 'destination.pause', status: 200, details: { wasPaused: false, paused: true } },
      { actor: 'operator', action: 'destination.resume', status: 200, details: { wasPaused: true, paused: false, madeDue: expect.any(Number) } },
      { actor: 'operator', action: 'deliveries.retry', status: 202, details: { matched: (dead.rows[0]?.n ?? 0) - 1 } },
    ]);

    const again = await call(OPS_TOKEN, 'PUT', `/ops/orders/repayment/${ref}`, { amount: 10000, currency: 'PHP' });
    expect(again.statusCode).toBe(200);
    expect((await auditRows(`repayment/${ref}`)).at(-1)).toMatchObject({
      actor: 'default',
      details: { previousExpectedAmount: 25000, expectedAmount: 10000 },
      request_id: again.headers['x-request-id'],
    });
  });

  it('a refused action (unknown delivery, provider down) is audited with the status answered', async () => {
    const missing = await call(OPERATE_TOKEN, 'POST', '/ops/deliveries/dlv_999999999/retry');
    expect(missing.statusCode).toBe(404);
    expect(await auditRows('dlv_999999999')).toMatchObject([{ actor: 'operator', status: 404, details: { error: 'NOT_FOUND' } }]);
    expect((await call(OPERATE_TOKEN, 'POST', '/ops/destinations/dst_000000000000/pause')).statusCode).toBe(404);
    expect(await auditRows('dst_000000000000')).toMatchObject([{ action: 'destination.pause', status: 404, details: { error: 'NOT_FOUND' } }]);
    const unknownField = await call(OPERATE_TOKEN, 'POST', '/ops/deliveries/retry', { destination: DESTINATION, status: 'dead' });
    expect(unknownField.statusCode).toBe(400);
    expect((await auditRows(DESTINATION)).at(-1)).toMatchObject({ action: 'deliveries.retry', status: 400, request_id: unknownField.headers['x-request-id'] });
    const { ref: down } = await orderWithDeadDelivery();
    fake.failNext('503');
    const unavailable = await call(OPERATE_TOKEN, 'POST', `/ops/orders/repayment/${down}/reconcile`);
    expect(unavailable.statusCode).toBe(502);
    expect(await auditRows(`repayment/${down}`)).toMatchObject([{ action: 'order.reconcile', status: 502, details: { error: 'PROVIDER_UNAVAILABLE' } }]);
    const ref = newRef();
    const staticQr = await call(OPERATE_TOKEN, 'POST', `/ops/orders/static-qr/${ref}/reconcile`);
    expect(staticQr.statusCode).toBe(409);
    expect(await auditRows(`static-qr/${ref}`)).toMatchObject([{ action: 'order.reconcile', status: 409, details: { error: 'NOT_QUERYABLE' } }]);
  });

  it('no token, or a wrong one, is 401 and writes nothing', async () => {
    const { deliveryId } = await orderWithDeadDelivery();
    for (const token of ['wrong', `${READ_TOKEN}x`, sha(READ_TOKEN), 'ses_forged']) {
      expect((await call(token, 'POST', `/ops/deliveries/${deliveryId}/retry`)).statusCode).toBe(401);
    }
    expect((await t.app.inject({ method: 'POST', url: `/ops/deliveries/${deliveryId}/retry` })).statusCode).toBe(401);
    expect(await auditRows(deliveryId)).toEqual([]);
  });
});

describe('sessions as bearer tokens', () => {
  const audit = { actor: 'x', action: 'session.sign_in' as const, target: null, requestId: 'r', ip: '127.0.0.1', status: 200, details: {} };

  it('a live session works with its scope until signed out; an expired one does not', async () => {
    const token = 'ses_live-session-token-for-the-test';
    await createSession(t.db.prisma, { tokenHash: createHash('sha256').update(token).digest(), email: 'ana@example.com', scope: 'read', ttlMs: 60_000 }, audit);
    expect((await call(token, 'GET', '/ops/session')).json()).toEqual({ actor: 'ana@example.com', scope: 'read', session: true });
    const { deliveryId } = await orderWithDeadDelivery();
    expect((await call(token, 'POST', `/ops/deliveries/${deliveryId}/retry`)).statusCode).toBe(403);
    expect(await auditRows(deliveryId)).toMatchObject([{ actor: 'ana@example.com', status: 403 }]);

    const out = await call(token, 'POST', '/ops/session/sign-out');
    expect(out.statusCode).toBe(204);
    expect(out.body).toBe('');
    expect((await call(token, 'GET', '/ops/session')).statusCode).toBe(401);

    const expired = 'ses_expired-session-token-for-the-test';
    await createSession(
      t.db.prisma,
      { tokenHash: createHash('sha256').update(expired).digest(), email: 'old@example.com', scope: 'operate', ttlMs: -1 },
      audit,
    );
    expect((await call(expired, 'GET', '/ops/session')).statusCode).toBe(401);
  });

  it('a read bearer may sign out, and an unknown path stays a 404', async () => {
    expect((await call(READ_TOKEN, 'POST', '/ops/no-such-action')).statusCode).toBe(404);
  });

  it('sign-out with a configured token is 204 and the token keeps working', async () => {
    expect((await call(READ_TOKEN, 'POST', '/ops/session/sign-out')).statusCode).toBe(204);
    expect((await call(READ_TOKEN, 'GET', '/ops/session')).json()).toEqual({ actor: 'reader', scope: 'read', session: false });
  });
});

describe('one transaction', () => {
  it('an action whose audit record cannot be written leaves neither its change nor a record', async () => {
    const { ref, deliveryId } = await orderWithDeadDelivery();
    fake.setOrder('repayment', ref, { trxState: 'SUCCESS', trxAmount: 10000, currency: 'PHP' });
    const before = await stateOf(ref);
    const mark = await lastAuditId();
    // The audit insert is the last statement of each action's transaction: make it fail.
    await t.db.pool.query(`CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit write failed'; END $$`);
    await t.db.pool.query('CREATE TRIGGER fail_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION fail_audit()');
    try {
      for (const a of actions(ref, deliveryId)) {
        const reply = await call(OPERATE_TOKEN, a.method, a.url, 'payload' in a ? a.payload : undefined);
        expect(reply.statusCode, a.action).toBe(503);
      }
    } finally {
      await t.db.pool.query('DROP TRIGGER fail_audit ON audit_log; DROP FUNCTION fail_audit()');
    }
    const after = await stateOf(ref);
    expect(after.map(({ last_queried_at: _, ...row }) => row)).toEqual(before.map(({ last_queried_at: _, ...row }) => row));
    expect(await auditRows(deliveryId)).toEqual([]);
    expect(await auditRows(`repayment/${ref}`)).toEqual([]);
    expect(await auditRows(DESTINATION, mark)).toEqual([]);
  });

  it('the audit log cannot be changed or deleted from', async () => {
    await call(READ_TOKEN, 'POST', '/ops/deliveries/dlv_1/retry');
    await expect(t.db.pool.query(`UPDATE audit_log SET actor = 'someone else'`)).rejects.toThrow(/append-only/);
    await expect(t.db.pool.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
  });
});

describe('GET /ops/audit', () => {
  it('lists newest first with filters and keyset pages', async () => {
    const start = new Date().toISOString();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await orderWithDeadDelivery()).deliveryId);
    for (const id of ids) await call(READ_TOKEN, 'POST', `/ops/deliveries/${id}/retry`);
    const all = await call(READ_TOKEN, 'GET', `/ops/audit?actor=reader&action=delivery.retry&after=${encodeURIComponent(start)}`);
    expect(all.json().items.map((r: { target: string }) => r.target)).toEqual([...ids].reverse());
    expect(all.json().items[0]).toEqual({
      id: expect.stringMatching(/^aud_\d+$/),
      at: expect.any(String),
      actor: 'reader',
      action: 'delivery.retry',
      target: ids[4],
      status: 403,
      details: { error: 'FORBIDDEN_SCOPE' },
      requestId: expect.any(String),
      ip: '127.0.0.1',
    });

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: { target: string }[]; nextCursor: string | null } = (
        await call(READ_TOKEN, 'GET', `/ops/audit?actor=reader&after=${encodeURIComponent(start)}&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`)
      ).json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((item) => item.target));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual([...ids].reverse());

    const first = all.json().items.at(-1).at as string;
    const before = await call(READ_TOKEN, 'GET', `/ops/audit?actor=reader&after=${encodeURIComponent(start)}&before=${encodeURIComponent(first)}`);
    expect(before.json().items).toEqual([]);
    expect((await call(READ_TOKEN, 'GET', '/ops/audit?actor=nobody')).json()).toEqual({ items: [], nextCursor: null });
  });

  it('refuses bad parameters with 400 naming them', async () => {
    for (const query of ['limit=501', 'action=order.delete', 'after=yesterday', 'cursor=xyz', 'colour=red']) {
      const reply = await call(READ_TOKEN, 'GET', `/ops/audit?${query}`);
      expect(reply.statusCode, query).toBe(400);
    }
  });
});

describe('secrets', () => {
  it('no token or token hash appears in any audit record or log line', async () => {
    const { ref, deliveryId } = await orderWithDeadDelivery();
    for (const token of [READ_TOKEN, OPERATE_TOKEN, OPS_TOKEN, 'wrong-token']) {
      for (const a of actions(ref, deliveryId)) await call(token, a.method, a.url, 'payload' in a ? a.payload : undefined);
    }
    const { rows } = await t.db.pool.query('SELECT * FROM audit_log');
    const text = JSON.stringify(rows) + logLines.join('');
    expect(rows.length).toBeGreaterThan(6);
    expect(logLines.length).toBeGreaterThan(6);
    for (const secret of SECRETS) expect(text).not.toContain(secret);
  });
});
