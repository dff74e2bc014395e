import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeStarpay, type FakeStarpay } from '../../src/sandbox/starpay-api.js';
import { readSignedMember } from '../../src/providers/starpay/envelope.js';
import { parseJson } from '../../src/providers/starpay/envelope.js';
import { parsePublicKeys } from '../../src/providers/starpay/public-keys.js';
import { checkSignature } from '../../src/providers/starpay/signature.js';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { signedEnvelope } from '../../src/simulator/starpay-envelope.js';

const MCH_ID = '101510000001';
const merchant = generateRsaKeyPair();
const platform = generateRsaKeyPair();
const platformKeys = parsePublicKeys(platform.publicKeyPem);
let fake: FakeStarpay;

beforeAll(async () => {
  fake = await startFakeStarpay({ merchantPublicKey: parsePublicKeys(merchant.publicKeyPem)[0]!, platformPrivateKey: platform.privateKey, mchId: MCH_ID });
});
afterAll(() => fake.close());

/** Posts a query signed with `key` and returns the verified response fields. */
async function ask(fields: Record<string, unknown>, key = merchant.privateKey, path = '/v1/repayment/query') {
  const reply = await fetch(`${fake.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: signedEnvelope(JSON.stringify(fields), key),
  });
  const text = await reply.text();
  const member = readSignedMember(text, parseJson(text), 'response');
  expect(checkSignature(member.signedText, member.signature, platformKeys).ok).toBe(true);
  return { status: reply.status, response: member.value };
}

const query = (msgId: string, originalMsgId: string) => ({ msgId, mchId: MCH_ID, originalMsgId, service: 'unified.repayment.query' });

describe('fake Starpay query API', () => {
  it('answers a signed query for a registered order with code 200 and the order fields, signed by the platform key', async () => {
    fake.setOrder('repayment', 'R-1', { trxState: 'SUCCESS', trxAmount: 10000, currency: 'PHP' });
    const { status, response } = await ask(query('F1', 'R-1'));
    expect(status).toBe(200);
    expect(response).toMatchObject({ code: '200', originalMsgId: 'R-1', trxState: 'SUCCESS', trxAmount: 10000, currency: 'PHP' });
  });

  it('answers 401 to a query not signed by the merchant key, and logs it as unverified', async () => {
    const { response } = await ask(query('F2', 'R-1'), generateRsaKeyPair().privateKey);
    expect(response.code).toBe('401');
    expect(fake.requests.at(-1)).toMatchObject({ msgId: 'F2', signatureVerified: false, code: '401' });
  });

  it('refuses a repeated msgId with 403', async () => {
    expect((await ask(query('F3', 'R-1'))).response.code).toBe('200');
    expect((await ask(query('F3', 'R-1'))).response.code).toBe('403');
  });

  it('answers 566 for an unknown repayment and 565 for an unknown disbursement', async () => {
    expect((await ask(query('F4', 'NOPE'))).response.code).toBe('566');
    const disbursement = { ...query('F5', 'NOPE'), service: 'unified.disburse.query' };
    expect((await ask(disbursement, merchant.privateKey, '/v1/disburse/query')).response.code).toBe('565');
  });

  it('refuses another merchant (513) and a service that does not match the path (514)', async () => {
    expect((await ask({ ...query('F6', 'R-1'), mchId: '999' })).response.code).toBe('513');
    expect((await ask({ ...query('F7', 'R-1'), service: 'unified.disburse.query' })).response.code).toBe('514');
  });

  it('lets another process register an order and force failures over HTTP', async () => {
    const put = await fetch(`${fake.origin}/sandbox/starpay/orders/repayment/R%2F2`, {
      method: 'PUT',
      body: JSON.stringify({ trxState: 'FAIL', trxAmount: '500', errorCode: 'AC04' }),
    });
    expect(put.status).toBe(200);
    const failing = await fetch(`${fake.origin}/sandbox/starpay/fail-next`, { method: 'POST', body: '{"code":"503","times":1}' });
    expect(failing.status).toBe(200);
    expect((await ask(query('F8', 'R/2'))).response.code).toBe('503');
    expect((await ask(query('F9', 'R/2'))).response).toMatchObject({ code: '200', trxState: 'FAIL', trxAmount: '500', errorCode: 'AC04' });
  });

  it('refuses to register an order without trxState, or of a kind that has no query', async () => {
    const missing = await fetch(`${fake.origin}/sandbox/starpay/orders/repayment/R-3`, { method: 'PUT', body: '{"trxAmount":1}' });
    expect(missing.status).toBe(400);
    const staticQr = await fetch(`${fake.origin}/sandbox/starpay/orders/static-qr/R-3`, { method: 'PUT', body: '{"trxState":"SUCCESS"}' });
    expect(staticQr.status).toBe(404);
  });
});
