import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSimulatorArgs, UsageError } from '../../src/simulator/options.js';

describe("the simulator's options", () => {
  it('default to the local service and its development key', () => {
    expect(parseSimulatorArgs([])).toMatchObject({
      url: 'http://127.0.0.1:3000',
      kinds: ['disbursement', 'repayment', 'static-qr'],
      orders: 10,
      forged: 0,
      timeScale: 0.001,
      keyFile: path.join('.data', 'starpay-dev-private.pem'),
      mchId: '101510000001',
      seed: undefined,
    });
  });

  it('take the key from DATA_DIR and the merchant id from STARPAY_MCH_ID', () => {
    const options = parseSimulatorArgs([], { DATA_DIR: '/srv/starpay', STARPAY_MCH_ID: '105510000001' });
    expect(options.keyFile).toBe(path.join('/srv/starpay', 'starpay-dev-private.pem'));
    expect(options.mchId).toBe('105510000001');
  });

  it('read every flag', () => {
    const argv = [
      '--url',
      'http://h:1',
      '--kind',
      'static-qr',
      '--orders',
      '20',
      '--duplicates',
      '0.5',
      '--out-of-order',
      '0',
      '--forged',
      '0.1',
      '--time-scale',
      '0.0001',
      '--key',
      'k.pem',
      '--mch-id',
      'M1',
      '--concurrency',
      '4',
      '--timeout',
      '500',
      '--seed',
      '42',
      '--quiet',
    ];
    expect(parseSimulatorArgs(argv)).toEqual({
      url: 'http://h:1',
      kinds: ['static-qr'],
      orders: 20,
      duplicates: 0.5,
      outOfOrder: 0,
      forged: 0.1,
      timeScale: 0.0001,
      keyFile: 'k.pem',
      mchId: 'M1',
      concurrency: 4,
      timeoutMs: 500,
      seed: 42,
      quiet: true,
      help: false,
      starpagoKinds: [],
      starpagoVersion: 'v2',
      appSecret: 'sandbox-app-secret-for-development-only',
      starpayApi: 'http://127.0.0.1:4100',
      starpagoApi: 'http://127.0.0.1:4200',
      lose: 0,
      opsToken: undefined,
      recoverTimeoutMs: 600_000,
    });
  });

  it('simulate Starpay only unless told otherwise', () => {
    expect(parseSimulatorArgs([])).toMatchObject({ kinds: ['disbursement', 'repayment', 'static-qr'], starpagoKinds: [] });
  });

  it('choose the providers and narrow them to one kind', () => {
    expect(parseSimulatorArgs(['--provider', 'starpago'])).toMatchObject({ kinds: [], starpagoKinds: ['payin', 'payout'], starpagoVersion: 'v2' });
    expect(parseSimulatorArgs(['--provider', 'both'])).toMatchObject({
      kinds: ['disbursement', 'repayment', 'static-qr'],
      starpagoKinds: ['payin', 'payout'],
    });
    expect(parseSimulatorArgs(['--provider', 'both', '--kind', 'payout'])).toMatchObject({ kinds: [], starpagoKinds: ['payout'] });
    expect(parseSimulatorArgs(['--provider', 'starpago', '--starpago-version', 'v3'])).toMatchObject({ starpagoVersion: 'v3' });
  });

  it('sign StarPago callbacks with STARPAGO_APP_SECRET, the sandbox secret when it is unset, or --app-secret', () => {
    expect(parseSimulatorArgs(['--provider', 'starpago'], { STARPAGO_APP_SECRET: 's3cret' }).appSecret).toBe('s3cret');
    expect(parseSimulatorArgs(['--provider', 'starpago'], { STARPAGO_APP_SECRET: '' }).appSecret).toBe('sandbox-app-secret-for-development-only');
    expect(parseSimulatorArgs(['--app-secret', 'x'], { STARPAGO_APP_SECRET: 's3cret' }).appSecret).toBe('x');
  });

  it('take the share to lose with the ops token from OPS_API_TOKEN or --ops-token, and a recovery timeout', () => {
    expect(parseSimulatorArgs(['--lose', '0.2'], { OPS_API_TOKEN: 'tok' })).toMatchObject({ lose: 0.2, opsToken: 'tok', recoverTimeoutMs: 600_000 });
    expect(parseSimulatorArgs(['--lose', '1', '--ops-token', 'mine'], { OPS_API_TOKEN: 'tok' }).opsToken).toBe('mine');
    expect(parseSimulatorArgs(['--recover-timeout', '90s']).recoverTimeoutMs).toBe(90_000);
    expect(parseSimulatorArgs(['--recover-timeout', '2m']).recoverTimeoutMs).toBe(120_000);
    expect(parseSimulatorArgs(['--recover-timeout', '45']).recoverTimeoutMs).toBe(45_000);
    expect(parseSimulatorArgs(['--starpay-api', 'http://sandbox:1', '--starpago-api', 'http://sandbox:2'])).toMatchObject({
      starpayApi: 'http://sandbox:1',
      starpagoApi: 'http://sandbox:2',
    });
  });

  it.each([
    [['--kind', 'refund'], /--kind/],
    [['--orders', '0'], /--orders/],
    [['--orders', '2.5'], /--orders must be a whole number/],
    [['--forged', '1.5'], /--forged must be a number from 0 to 1/],
    [['--time-scale', '-1'], /--time-scale/],
    [['--url', 'ftp://x'], /--url/],
    [['--bogus'], /bogus/],
    [['--provider', 'paypal'], /--provider must be one of starpay, starpago, both/],
    [['--kind', 'payin'], /--kind must be one of disbursement, repayment, static-qr, all with --provider starpay/],
    [['--provider', 'starpago', '--kind', 'repayment'], /--kind/],
    [['--starpago-version', 'v4'], /--starpago-version/],
    [['--lose', '0.2'], /--lose needs the ops token/],
    [['--lose', '2', '--ops-token', 't'], /--lose must be a number from 0 to 1/],
    [['--recover-timeout', 'soon'], /--recover-timeout must be a duration/],
    [['--starpago-api', 'localhost:4200'], /--starpago-api must be an http\(s\) URL/],
  ])('refuse %j', (argv, message) => {
    expect(() => parseSimulatorArgs(argv)).toThrow(UsageError);
    expect(() => parseSimulatorArgs(argv)).toThrow(message);
  });
});
