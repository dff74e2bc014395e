import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createStarpayQueryClient, MAX_REPEATED_MSG_ID_RETRIES, type StarpayQueryClient } from '../../src/providers/starpay/query-client.js';
import { startFakeStarpay, type FakeStarpay } from '../../src/sandbox/starpay-api.js';
import { parsePublicKeys } from '../../src/providers/starpay/public-keys.js';
import { checkSignature } from '../../src/providers/starpay/signature.js';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';

const MCH_ID = '101510000001';
const merchant = generateRsaKeyPair();
const platform = generateRsaKeyPair();
const impostor = generateRsaKeyPair();

let fake: FakeStarpay;
let client: StarpayQueryClient;
let sequence = 0;
const orderRef = () => `2024112511006${String(++sequence).padStart(5, '0')}`;

function clientFor(apiUrl: string, overrides: { timeoutMs?: number } = {}): StarpayQueryClient {
  return createStarpayQueryClient({
    apiUrl,
    mchId: MCH_ID,
    merchantPrivateKey: merchant.privateKey,
    platformKeys: parsePublicKeys(platform.publicKeyPem),
    timeoutMs: overrides.timeoutMs ?? 5_000,
  });
}

beforeAll(async () => {
  fake = await startFakeStarpay({
    merchantPublicKey: parsePublicKeys(merchant.publicKeyPem)[0]!,
    platformPrivateKey: platform.privateKey,
    mchId: MCH_ID,
  });
  client = clientFor(fake.url);
});

afterEach(() => {
  fake.signWith(null);
  fake.spellWith({ amount: 'number', escapes: false, envelope: 'object' });
});

afterAll(async () => {
  await client.close();
  await fake.close();
});

describe('Starpay query client', () => {
  it('reports a known repayment as found, read like a notification, with the query msgId', async () => {
    const ref = orderRef();
    fake.setOrder('repayment', ref, {
      trxState: 'FAIL',
      trxAmount: '10000',
      currency: 'PHP',
      trxDate: '2024-11-25T17:49:51+08:00',
      errorCode: 'AC04',
      errorMessage: 'Closed Account Number',
    });
    const answer = await client.query('repayment', ref);
    const sent = fake.requests.at(-1)!;
    expect(answer).toEqual({
      outcome: 'found',
      msgId: sent.msgId,
      providerUpdateTime: null,
      response: expect.objectContaining({ code: '200', trxState: 'FAIL', originalMsgId: ref }),
      report: {
        provider: 'starpay',
        kind: 'repayment',
        orderRef: ref,
        rawState: 'FAIL',
        state: 'FAILED',
        amount: 10000,
        paidAmount: null,
        currency: 'PHP',
        trxDate: '2024-11-25T17:49:51+08:00',
        errorCode: 'AC04',
        errorMessage: 'Closed Account Number',
      },
    });
    expect(sent).toMatchObject({ path: '/finance-payment-service/v1/repayment/query', originalMsgId: ref, service: 'unified.repayment.query' });
  });

  it('asks the disbursement query path with the disbursement service', async () => {
    const ref = orderRef();
    fake.setOrder('disbursement', ref, { trxState: 'SUCCESS', trxAmount: 250000 });
    const answer = await client.query('disbursement', ref);
    expect(answer.outcome === 'found' && answer.report.state).toBe('SUCCESS');
    expect(fake.requests.at(-1)).toMatchObject({ path: '/finance-payment-service/v1/disburse/query', service: 'unified.disburse.query' });
  });

  it('sends requests that verify with the merchant public key over the exact request text, each with a fresh msgId', async () => {
    const before = fake.requests.length;
    for (let i = 0; i < 5; i++) await client.query('repayment', orderRef());
    const sent = fake.requests.slice(before);
    expect(sent).toHaveLength(5);
    expect(sent.every((r) => r.signatureVerified)).toBe(true);
    expect(new Set(sent.map((r) => r.msgId)).size).toBe(5);
    for (const request of sent) {
      // The body is the signed text embedded byte for byte: slicing it back out verifies.
      const text = /^\{"request":(\{.*\}),"signature":"([^"]+)"\}$/.exec(request.body);
      expect(text).not.toBeNull();
      expect(checkSignature(text![1]!, text![2], parsePublicKeys(merchant.publicKeyPem)).ok).toBe(true);
      expect(JSON.parse(text![1]!)).toEqual({ msgId: request.msgId, mchId: MCH_ID, originalMsgId: request.originalMsgId, service: 'unified.repayment.query' });
    }
  });

  it('reports an order Starpay does not know as not found (565 for disbursements, 566 for repayments)', async () => {
    expect(await client.query('repayment', orderRef())).toEqual({ outcome: 'not_found', detail: 'code 566: Repayment order is null' });
    expect(await client.query('disbursement', orderRef())).toEqual({ outcome: 'not_found', detail: 'code 565: Disbursement order is null' });
    fake.failNext(404);
    expect((await client.query('repayment', orderRef())).outcome).toBe('not_found');
  });

  it('treats an answer signed by an unknown key as try later, whatever it says', async () => {
    const ref = orderRef();
    fake.setOrder('repayment', ref, { trxState: 'SUCCESS', trxAmount: 10000 });
    fake.signWith(impostor.privateKey);
    const lines: string[] = [];
    const logged = createStarpayQueryClient({
      apiUrl: fake.url,
      mchId: MCH_ID,
      merchantPrivateKey: merchant.privateKey,
      platformKeys: parsePublicKeys(platform.publicKeyPem),
      timeoutMs: 5_000,
      log: createLogger('info', { write: (line: string) => void lines.push(line) }),
    });
    try {
      expect(await logged.query('repayment', ref)).toEqual({ outcome: 'try_later', detail: 'answer signature unverifiable (SIGNATURE_MISMATCH)' });
    } finally {
      await logged.close();
    }
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, orderRef: ref, reason: 'SIGNATURE_MISMATCH', msg: 'starpay query answer unverifiable, ignored' });
    expect(lines[0]).not.toContain('SUCCESS');
  });

  it('treats 406, 503, 511 and 577 as try later', async () => {
    for (const code of ['406', '503', '511', '577']) {
      const ref = orderRef();
      fake.setOrder('repayment', ref, { trxState: 'SUCCESS' });
      fake.failNext(code);
      const answer = await client.query('repayment', ref);
      expect(answer.outcome).toBe('try_later');
      expect(answer.outcome !== 'found' && answer.detail).toMatch(new RegExp(`^code ${code}`));
    }
  });

  it('asks again at once with a fresh msgId when Starpay answers 403 (repeated msgId), and finds the order', async () => {
    const ref = orderRef();
    fake.setOrder('repayment', ref, { trxState: 'SUCCESS', trxAmount: 10000 });
    fake.failNext(403, 2);
    const before = fake.requests.length;
    const answer = await client.query('repayment', ref);
    const sent = fake.requests.slice(before);
    expect(sent.map((r) => r.code)).toEqual(['403', '403', '200']);
    expect(new Set(sent.map((r) => r.msgId)).size).toBe(3);
    expect(answer.outcome === 'found' && answer.msgId).toBe(sent[2]!.msgId);
  });

  it('gives up on 403 after a bounded number of fresh msgIds and asks later', async () => {
    fake.failNext(403, MAX_REPEATED_MSG_ID_RETRIES + 1);
    const before = fake.requests.length;
    const answer = await client.query('repayment', orderRef());
    expect(answer).toEqual({ outcome: 'try_later', detail: `msgId refused as repeated (403) ${MAX_REPEATED_MSG_ID_RETRIES + 1} times in a row` });
    expect(fake.requests.length - before).toBe(MAX_REPEATED_MSG_ID_RETRIES + 1);
  });

  it('reports an unexpected code such as 410 as a configuration error naming the code', async () => {
    fake.failNext(410);
    expect(await client.query('repayment', orderRef())).toEqual({ outcome: 'config_error', detail: 'code 410: Configuration error' });
    fake.failNext(513);
    expect((await client.query('disbursement', orderRef())).outcome).toBe('config_error');
  });

  it('treats a request signed with a key Starpay does not hold (code 401) as a configuration error', async () => {
    const wrongKey = createStarpayQueryClient({
      apiUrl: fake.url,
      mchId: MCH_ID,
      merchantPrivateKey: impostor.privateKey,
      platformKeys: parsePublicKeys(platform.publicKeyPem),
      timeoutMs: 5_000,
    });
    try {
      expect(await wrongKey.query('repayment', orderRef())).toEqual({ outcome: 'config_error', detail: 'code 401: Invalid signature' });
      expect(fake.requests.at(-1)!.signatureVerified).toBe(false);
    } finally {
      await wrongKey.close();
    }
  });

  it('verifies the answer over its exact text when it spells 10000.00, \\/ and \\u00f1', async () => {
    const ref = orderRef();
    fake.setOrder('repayment', ref, { trxState: 'SUCCESS', trxAmount: 10000, currency: 'PHP', errorMessage: 'Pe\u00f1a https://x/y' });
    fake.spellWith({ amount: 'decimal-number', escapes: true, envelope: 'object' });
    const answer = await client.query('repayment', ref);
    const sent = fake.requests.at(-1)!.answer;
    expect(sent).toContain('"trxAmount":10000.00');
    expect(sent).toContain('Pe\\u00f1a https:\\/\\/x\\/y');
    expect(answer.outcome).toBe('found');
    if (answer.outcome !== 'found') return;
    expect(answer.report.amount).toBe(10000);
    expect(answer.report.errorMessage).toBe('Pe\u00f1a https://x/y');
  });
});

describe('Starpay query client when the API misbehaves', () => {
  let server: Server;
  let reply: (res: import('node:http').ServerResponse) => void = () => {};

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => reply(res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const url = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;

  it('gives up on an API that never answers after the timeout and asks later', async () => {
    reply = () => {}; // never answers
    const slow = clientFor(url(), { timeoutMs: 300 });
    const started = Date.now();
    try {
      expect(await slow.query('repayment', orderRef())).toEqual({ outcome: 'try_later', detail: 'timeout after 300 ms' });
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await slow.close();
    }
  });

  it('treats an HTTP error, a body that is not JSON, and an answer without response as try later', async () => {
    const plain = clientFor(url());
    try {
      reply = (res) => res.writeHead(502).end('bad gateway');
      expect(await plain.query('repayment', orderRef())).toEqual({ outcome: 'try_later', detail: 'HTTP 502 from /v1/repayment/query' });
      reply = (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
      expect(await plain.query('repayment', orderRef())).toEqual({ outcome: 'try_later', detail: 'answer unreadable: body is not valid JSON' });
      reply = (res) => res.writeHead(200).end('{"code":"200","trxState":"SUCCESS"}');
      expect(await plain.query('repayment', orderRef())).toEqual({ outcome: 'try_later', detail: 'answer unreadable: response is missing' });
      reply = (res) => res.writeHead(200).end('{"response":{"code":"200","trxState":"SUCCESS"}}');
      expect(await plain.query('repayment', orderRef())).toEqual({ outcome: 'try_later', detail: 'answer signature unverifiable (SIGNATURE_MISSING)' });
    } finally {
      await plain.close();
    }
  });

  it('appends the query path to an API URL that carries a path, without doubling a slash', async () => {
    let seen = '';
    server.removeAllListeners('request');
    server.on('request', (req, res) => {
      seen = req.url ?? '';
      req.resume();
      req.on('end', () => res.writeHead(503).end());
    });
    const plain = clientFor(url());
    try {
      await plain.query('disbursement', orderRef());
      expect(seen).toBe('/api/v1/disburse/query');
    } finally {
      await plain.close();
    }
  });
});
