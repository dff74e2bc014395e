import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStarpagoProvider, type StarpagoProviderOptions } from '../../src/providers/starpago/index.js';
import { signParams } from '../../src/providers/starpago/sign.js';
import { startFakeStarpago, type FakeStarpago } from '../../src/sandbox/starpago-api.js';

const APP_ID = 'app-7';
const APP_SECRET = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const JSON_HEADERS = { 'content-type': 'application/json' };

let fake: FakeStarpago;
beforeAll(async () => {
  fake = await startFakeStarpago({ appId: APP_ID, appSecret: APP_SECRET });
});
afterAll(async () => {
  await fake.close();
});

/** A real pino logger writing JSON lines into an array. */
function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw.push(chunk.toString());
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines, raw };
}

function provider(overrides: Partial<StarpagoProviderOptions> = {}) {
  const capture = captureLogger();
  const instance = createStarpagoProvider({
    appId: APP_ID,
    appSecret: APP_SECRET,
    apiUrl: fake.url,
    apiVersion: 'v3',
    timeoutMs: 2_000,
    logger: capture.logger,
    ...overrides,
  });
  return { provider: instance, ...capture };
}

const v3Body = Buffer.from(JSON.stringify({ status: 'PAID', merOrderNo: 'M-1', amount: 10, currency: 'PHP', updateTime: 1700000000000 }));

describe('the StarPago provider', () => {
  it('describes itself: name, kinds, acknowledgement, queryable kinds', () => {
    const { provider: starpago } = provider();
    expect(starpago).toMatchObject({ name: 'starpago', kinds: ['payin', 'payout'], acknowledgement: 'SUCCESS', configured: true });
    expect(starpago.isQueryable('payin')).toBe(true);
    expect(starpago.isQueryable('payout')).toBe(true);
    expect(starpago.isQueryable('static-qr')).toBe(false);
  });

  it('is configured by its secret, and queryable only with API URL, app id and secret', () => {
    expect(provider({ appSecret: undefined }).provider.configured).toBe(false);
    expect(provider({ apiUrl: undefined }).provider).toMatchObject({ configured: true });
    expect(provider({ apiUrl: undefined }).provider).not.toHaveProperty('query');
    expect(provider({ appId: '' }).provider).not.toHaveProperty('query');
    expect(provider({ appSecret: undefined }).provider).not.toHaveProperty('query');
    expect(provider().provider).toHaveProperty('query', expect.any(Function));
  });

  it('takes a v3 callback as an unverified hint when the query API can confirm it', () => {
    expect(provider().provider.verify('payin', v3Body, JSON_HEADERS)).toMatchObject({ ok: true, notification: { status: 'unverified', orderRef: 'M-1' } });
  });

  it('refuses a v3 callback with PROVIDER_NOT_CONFIGURED when the query API is not configured, keeping it for forensics', () => {
    for (const overrides of [{ apiUrl: undefined }, { appId: undefined }, { appSecret: undefined }]) {
      const result = provider(overrides).provider.verify('payin', v3Body, JSON_HEADERS);
      expect(result).toMatchObject({ ok: false, code: 'PROVIDER_NOT_CONFIGURED', record: { orderRef: 'M-1', body: v3Body.toString() } });
    }
  });

  it('accepts a v2 callback signed with the app secret, read from the content-type header', () => {
    const fields = { merOrderNo: 'M-2', orderStatus: '2', amount: '50', currency: 'PHP' };
    const body = new URLSearchParams({ ...fields, sign: signParams(fields, APP_SECRET) }).toString();
    const { provider: starpago, lines } = provider({ apiUrl: undefined });
    const result = starpago.verify('payout', Buffer.from(body), { 'content-type': 'application/x-www-form-urlencoded' });
    expect(result).toMatchObject({ ok: true, notification: { status: 'accepted', state: 'SUCCESS', amount: 5000, kind: 'payout' } });
    expect(lines).toMatchObject([{ level: 20, msg: 'starpago sign verified', rule: 'skip-empty' }]);
  });

  it('logs which rules were tried when a v2 sign fails, never the secret or the string to sign', () => {
    const fields = { merOrderNo: 'M-3', orderStatus: 2, attach: null };
    const body = Buffer.from(JSON.stringify({ ...fields, sign: signParams(fields, 'not-the-secret') }));
    const { provider: starpago, lines, raw } = provider();
    expect(starpago.verify('payin', body, JSON_HEADERS)).toMatchObject({ ok: false, code: 'SIGNATURE_INVALID' });
    expect(lines).toMatchObject([
      {
        level: 40,
        msg: 'starpago sign does not verify',
        kind: 'payin',
        orderRef: 'M-3',
        reason: 'SIGN_MISMATCH',
        rulesTried: ['skip-empty', 'include-empty'],
        emptyFields: 'attach',
      },
    ]);
    expect(raw.join('')).not.toContain(APP_SECRET);
    expect(raw.join('')).not.toContain('key=');
  });

  it('asks the configured API version', async () => {
    fake.setOrder('payin', 'M-4', { status: 'EXPIRED', orderStatus: -1, updateTime: 1700000000000 });
    expect(await provider().provider.query?.('payin', 'M-4')).toMatchObject({ outcome: 'found', report: { rawState: 'EXPIRED', state: 'FAILED' } });
    expect(await provider({ apiVersion: 'v2' }).provider.query?.('payin', 'M-4')).toMatchObject({
      outcome: 'found',
      report: { rawState: '-1', state: 'FAILED' },
    });
    expect(await provider().provider.query?.('static-qr', 'M-4')).toMatchObject({ outcome: 'config_error' });
  });
});
