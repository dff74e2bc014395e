import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { signText, signedEnvelope } from '../../src/simulator/starpay-envelope.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { requestFields, signedBody } from '../helpers/starpay.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

function post(kind: string, body: string | Buffer, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: 'POST',
    url: `/notify/starpay/${kind}`,
    headers: { 'content-type': 'application/json', ...headers },
    payload: body,
  });
}

async function orderRow(kind: string, orderRef: string) {
  const { rows } = await t.db.pool.query('SELECT * FROM orders WHERE kind = $1 AND order_ref = $2', [kind, orderRef]);
  return rows[0];
}

async function count(sql: string, values: unknown[]): Promise<number> {
  const { rows } = await t.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, values);
  return rows[0]?.n ?? -1;
}

function expectSuccess(response: Awaited<ReturnType<typeof post>>) {
  expect(response.statusCode).toBe(200);
  expect(response.rawPayload.equals(Buffer.from('SUCCESS'))).toBe(true);
  expect(response.headers['content-type']).toBe('text/plain');
}

function expectError(response: Awaited<ReturnType<typeof post>>, status: number, code: string) {
  expect(response.statusCode).toBe(status);
  expect(response.body).not.toContain('SUCCESS');
  expect(response.json()).toMatchObject({ code, requestId: expect.any(String) });
}

describe('an authentic notification', () => {
  it('is answered exactly SUCCESS once stored, and creates its order and one event', async () => {
    const fields = requestFields({ trxState: 'SUCCESS', trxAmount: '10000' });
    const response = await post('repayment', signedBody(fields, t.starpay.privateKey));

    expectSuccess(response);
    const order = await orderRow('repayment', fields.originalMsgId as string);
    expect(order).toMatchObject({ state: 'SUCCESS', raw_state: 'SUCCESS', amount: 10000, currency: 'PHP', conflict: false });
    expect(await count('events e JOIN orders o ON o.id = e.order_id WHERE o.order_ref = $1', [fields.originalMsgId])).toBe(1);
  });

  it.each(['disbursement', 'repayment', 'static-qr'])('is accepted on the %s endpoint and kept under that kind', async (kind) => {
    const fields = requestFields();
    expectSuccess(await post(kind, signedBody(fields, t.starpay.privateKey)));
    expect(await orderRow(kind, fields.originalMsgId as string)).toBeDefined();
  });

  it('is accepted as a one-element array', async () => {
    const fields = requestFields();
    expectSuccess(await post('repayment', `[${signedBody(fields, t.starpay.privateKey)}]`));
    expect(await orderRow('repayment', fields.originalMsgId as string)).toBeDefined();
  });

  it('is accepted with request given as a JSON string, verified over its decoded content', async () => {
    const fields = requestFields();
    const text = JSON.stringify(fields);
    const body = JSON.stringify({ request: text, signature: signText(text, t.starpay.privateKey) });
    expectSuccess(await post('disbursement', body));
    expect(await orderRow('disbursement', fields.originalMsgId as string)).toBeDefined();
  });

  it('is accepted without a content type', async () => {
    const fields = requestFields();
    const response = await t.app.inject({
      method: 'POST',
      url: '/notify/starpay/repayment',
      payload: signedBody(fields, t.starpay.privateKey),
    });
    expectSuccess(response);
  });

  it.each([
    ['a decimal amount spelled 10000.00', (ref: string) => `{"originalMsgId":"${ref}","trxState":"SUCCESS","trxAmount":10000.00}`],
    ['a \\u00f1 escape', (ref: string) => `{"originalMsgId":"${ref}","trxState":"SUCCESS","displayName":"Pe\\u00f1a"}`],
    ['escaped slashes', (ref: string) => `{"originalMsgId":"${ref}","trxState":"SUCCESS","notifyUrl":"http:\\/\\/m.example\\/n"}`],
    ['an unusual key order', (ref: string) => `{"trxState":"SUCCESS","zeta":1,"originalMsgId":"${ref}","alpha":2}`],
    ['whitespace inside request', (ref: string) => `{ "originalMsgId" : "${ref}" ,\n\t"trxState": "SUCCESS" }`],
    ['raw non-ASCII text', (ref: string) => `{"originalMsgId":"${ref}","trxState":"SUCCESS","displayName":"Peña ₱"}`],
  ])('is verified over the exact bytes sent, with %s', async (_label, build) => {
    const ref = `exact-${Math.random().toString(36).slice(2)}`;
    const response = await post('repayment', signedEnvelope(build(ref), t.starpay.privateKey));
    expectSuccess(response);
    expect(await orderRow('repayment', ref)).toBeDefined();
  });

  it('is stored with its amount as integer centavos when spelled 10000.00', async () => {
    const ref = `amount-${Math.random().toString(36).slice(2)}`;
    await post('repayment', signedEnvelope(`{"originalMsgId":"${ref}","trxState":"SUCCESS","trxAmount":"10000.00"}`, t.starpay.privateKey));
    expect((await orderRow('repayment', ref)).amount).toBe(10000);
  });
});

describe('key rotation', () => {
  it('accepts a notification signed by any configured key, PEM or bare base64', async () => {
    const oldKey = generateRsaKeyPair();
    const newKey = generateRsaKeyPair();
    const rotating = await startTestApp({ STARPAY_PUBLIC_KEYS: `${oldKey.publicKeyPem},${newKey.publicKeyBase64}` }, { starpay: oldKey });
    try {
      for (const key of [oldKey, newKey]) {
        const response = await rotating.app.inject({
          method: 'POST',
          url: '/notify/starpay/repayment',
          payload: signedBody(requestFields(), key.privateKey),
        });
        expect(response.statusCode).toBe(200);
        expect(response.body).toBe('SUCCESS');
      }
      const stranger = generateRsaKeyPair();
      const forged = await rotating.app.inject({
        method: 'POST',
        url: '/notify/starpay/repayment',
        payload: signedBody(requestFields(), stranger.privateKey),
      });
      expect(forged.statusCode).toBe(401);
    } finally {
      await rotating.close();
    }
  });
});

describe('Starpay not configured (no platform key)', () => {
  it('answers 401 PROVIDER_NOT_CONFIGURED even to a well-signed notification, stores no order, and records the refusal', async () => {
    const unconfigured = await startTestApp({ STARPAY_PUBLIC_KEYS: '' });
    try {
      const fields = requestFields();
      const response = await unconfigured.app.inject({
        method: 'POST',
        url: '/notify/starpay/repayment',
        payload: signedBody(fields, unconfigured.starpay.privateKey),
      });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ code: 'PROVIDER_NOT_CONFIGURED' });
      const { rows } = await unconfigured.db.pool.query('SELECT status, reason, order_ref FROM notifications');
      expect(rows).toEqual([{ status: 'rejected', reason: 'PROVIDER_NOT_CONFIGURED', order_ref: fields.originalMsgId }]);
      expect((await unconfigured.db.pool.query('SELECT 1 FROM orders')).rowCount).toBe(0);
    } finally {
      await unconfigured.close();
    }
  });
});

describe('refusals', () => {
  it('answers 401 to a missing signature and records the refusal', async () => {
    const fields = requestFields();
    const response = await post('repayment', JSON.stringify({ request: fields }));
    expectError(response, 401, 'SIGNATURE_MISSING');
    expect(await orderRow('repayment', fields.originalMsgId as string)).toBeUndefined();
    const { rows } = await t.db.pool.query('SELECT * FROM notifications WHERE order_ref = $1', [fields.originalMsgId]);
    expect(rows).toMatchObject([{ status: 'rejected', reason: 'SIGNATURE_MISSING', delivery_count: 1 }]);
  });

  it('answers 401 to an undecodable signature', async () => {
    const response = await post('repayment', JSON.stringify({ request: requestFields(), signature: 'not*base64!' }));
    expectError(response, 401, 'SIGNATURE_UNDECODABLE');
  });

  it('answers 401 to a signature from an unknown key, and changes no order', async () => {
    const fields = requestFields();
    const response = await post('repayment', signedBody(fields, generateRsaKeyPair().privateKey));
    expectError(response, 401, 'SIGNATURE_INVALID');
    expect(await orderRow('repayment', fields.originalMsgId as string)).toBeUndefined();
  });

  it('answers 401 when a signed request was altered in transit', async () => {
    const fields = requestFields({ trxAmount: 100 });
    const tampered = signedBody(fields, t.starpay.privateKey).replace('"trxAmount":100', '"trxAmount":900');
    expectError(await post('repayment', tampered), 401, 'SIGNATURE_INVALID');
  });

  it('counts a repeated refused body once per distinct body', async () => {
    const fields = requestFields();
    const body = signedBody(fields, generateRsaKeyPair().privateKey);
    for (let i = 0; i < 3; i++) expectError(await post('static-qr', body), 401, 'SIGNATURE_INVALID');
    const { rows } = await t.db.pool.query('SELECT delivery_count FROM notifications WHERE order_ref = $1', [fields.originalMsgId]);
    expect(rows).toEqual([{ delivery_count: 3 }]);
  });

  it.each([
    ['a body that is not JSON', '{"request":'],
    ['a body that is not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ['an envelope without request', '{"signature":"abc"}'],
    ['an array of two notifications', '[{"request":{},"signature":"a"},{"request":{},"signature":"b"}]'],
    ['a request that is a number', '{"request":42,"signature":"abc"}'],
    ['a request string that is not JSON', '{"request":"nope","signature":"abc"}'],
    ['a repeated request member', '{"request":{"a":1},"request":{"a":2},"signature":"abc"}'],
    ['a prototype-polluting key', '{"request":{"__proto__":{"x":1}},"signature":"abc"}'],
  ])('answers 400 to %s', async (_label, body) => {
    expectError(await post('repayment', body), 400, 'INVALID_ENVELOPE');
  });

  it.each([
    ['originalMsgId', { originalMsgId: undefined }],
    ['trxState', { trxState: undefined }],
    ['a non-string originalMsgId', { originalMsgId: 12 }],
  ])('answers 400 to an authentic notification lacking %s', async (_label, overrides) => {
    const response = await post('repayment', signedBody(requestFields(overrides), t.starpay.privateKey));
    expectError(response, 400, 'MISSING_FIELD');
  });

  it('answers 413 to a body over NOTIFY_BODY_LIMIT', async () => {
    const fields = requestFields({ padding: 'x'.repeat(t.config.notifyBodyLimit) });
    expectError(await post('repayment', signedBody(fields, t.starpay.privateKey)), 413, 'BODY_TOO_LARGE');
  });
});

describe('merchant check', () => {
  it('answers 403 to an authentic notification for another mchId, and accepts one without mchId', async () => {
    const strict = await startTestApp({ STARPAY_MCH_ID: '101510000001' });
    const send = (fields: Record<string, unknown>) =>
      strict.app.inject({ method: 'POST', url: '/notify/starpay/repayment', payload: signedBody(fields, strict.starpay.privateKey) });
    try {
      const other = await send(requestFields({ mchId: '999999999999' }));
      expect(other.statusCode).toBe(403);
      expect(other.json()).toMatchObject({ code: 'MERCHANT_MISMATCH' });
      expect((await send(requestFields({ mchId: '101510000001' }))).body).toBe('SUCCESS');
      expect((await send(requestFields({ mchId: undefined }))).body).toBe('SUCCESS');
    } finally {
      await strict.close();
    }
  });
});

describe('repeats', () => {
  it('when the same notification arrives 10 times in a row, it is stored once, counted 10 times, with one event', async () => {
    const fields = requestFields();
    const body = signedBody(fields, t.starpay.privateKey);
    for (let i = 0; i < 10; i++) expectSuccess(await post('repayment', body));

    const { rows } = await t.db.pool.query('SELECT delivery_count FROM notifications WHERE order_ref = $1', [fields.originalMsgId]);
    expect(rows).toEqual([{ delivery_count: 10 }]);
    expect((await orderRow('repayment', fields.originalMsgId as string)).notification_count).toBe(1);
    expect(await count('events e JOIN orders o ON o.id = e.order_id WHERE o.order_ref = $1', [fields.originalMsgId])).toBe(1);
  });

  it('when the same notification arrives 50 times in parallel, it is stored once, counted 50 times, with one event', async () => {
    const fields = requestFields();
    const body = signedBody(fields, t.starpay.privateKey);
    const responses = await Promise.all(Array.from({ length: 50 }, () => post('disbursement', body)));
    for (const response of responses) expectSuccess(response);

    const { rows } = await t.db.pool.query('SELECT delivery_count FROM notifications WHERE order_ref = $1', [fields.originalMsgId]);
    expect(rows).toEqual([{ delivery_count: 50 }]);
    expect(await count('events e JOIN orders o ON o.id = e.order_id WHERE o.order_ref = $1', [fields.originalMsgId])).toBe(1);
  });

  it('without msgId, a repeat is recognised by the hash of the signed text', async () => {
    const fields = requestFields({ msgId: undefined });
    const body = signedBody(fields, t.starpay.privateKey);
    expectSuccess(await post('static-qr', body));
    expectSuccess(await post('static-qr', body));
    const { rows } = await t.db.pool.query('SELECT delivery_count, dedup_key FROM notifications WHERE order_ref = $1', [fields.originalMsgId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ delivery_count: 2, dedup_key: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
  });
});

describe('awkward but authentic content', () => {
  it('treats a blank msgId as absent, so later states of the order are not mistaken for repeats', async () => {
    const ref = `blank-${Date.now()}`;
    expectSuccess(await post('repayment', signedBody(requestFields({ originalMsgId: ref, msgId: '', trxState: 'PROCESSING' }), t.starpay.privateKey)));
    expectSuccess(await post('repayment', signedBody(requestFields({ originalMsgId: ref, msgId: ' ', trxState: 'SUCCESS' }), t.starpay.privateKey)));
    expect(await orderRow('repayment', ref)).toMatchObject({ state: 'SUCCESS', notification_count: 2 });
  });

  it('stores a request holding NUL or a lone surrogate instead of failing it on every resend', async () => {
    const ref = `odd-${Date.now()}`;
    const text = `{"originalMsgId":"${ref}","trxState":"SUCCESS","note":"\\ud800","errorMessage":"a\\u0000b"}`;
    const body = signedEnvelope(text, t.starpay.privateKey);
    expectSuccess(await post('static-qr', body));
    expectSuccess(await post('static-qr', body));
    const order = await orderRow('static-qr', ref);
    expect(order).toMatchObject({ state: 'SUCCESS', error_message: 'a\ufffdb', notification_count: 1 });
  });

  it('refuses a reference holding NUL: references keep to their alphabet', async () => {
    const text = `{"originalMsgId":"odd-${Date.now()}\\u0000x","trxState":"SUCCESS"}`;
    expectError(await post('static-qr', signedEnvelope(text, t.starpay.privateKey)), 400, 'INVALID_FIELD');
  });
});

describe('a failed write', () => {
  it('answers 503 with nothing half-written, and the retry is then stored', async () => {
    // A trigger makes the last write of the transaction fail, after the notification and order rows.
    await t.db.pool.query(`CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'events are refused'; END $$`);
    await t.db.pool.query('CREATE TRIGGER refuse_event BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_event()');
    const fields = requestFields();
    const body = signedBody(fields, t.starpay.privateKey);
    try {
      expectError(await post('repayment', body), 503, 'DATABASE_UNAVAILABLE');
      expect(await count('notifications WHERE order_ref = $1', [fields.originalMsgId])).toBe(0);
      expect(await orderRow('repayment', fields.originalMsgId as string)).toBeUndefined();
    } finally {
      await t.db.pool.query('DROP TRIGGER refuse_event ON events');
      await t.db.pool.query('DROP FUNCTION refuse_event()');
    }
    expectSuccess(await post('repayment', body));
    expect(await orderRow('repayment', fields.originalMsgId as string)).toMatchObject({ state: 'SUCCESS' });
  });

  it('answers 503 when the database cannot be reached', async () => {
    const unreachable = await startTestApp();
    await unreachable.db.pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    await unreachable.database.drop();
    try {
      const response = await unreachable.app.inject({
        method: 'POST',
        url: '/notify/starpay/repayment',
        payload: signedBody(requestFields(), unreachable.starpay.privateKey),
      });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    } finally {
      await unreachable.app.close();
      await unreachable.db.close().catch(() => {});
    }
  });
});
