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
    const argv = ['--url', 'http://h:1', '--kind', 'static-qr', '--orders', '20', '--duplicates', '0.5', '--out-of-order', '0',
      '--forged', '0.1', '--time-scale', '0.0001', '--key', 'k.pem', '--mch-id', 'M1', '--concurrency', '4', '--timeout', '500',
      '--seed', '42', '--quiet'];
    expect(parseSimulatorArgs(argv)).toEqual({
      url: 'http://h:1', kinds: ['static-qr'], orders: 20, duplicates: 0.5, outOfOrder: 0, forged: 0.1, timeScale: 0.0001,
      keyFile: 'k.pem', mchId: 'M1', concurrency: 4, timeoutMs: 500, seed: 42, quiet: true, help: false,
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
  ])('refuse %j', (argv, message) => {
    expect(() => parseSimulatorArgs(argv)).toThrow(UsageError);
    expect(() => parseSimulatorArgs(argv)).toThrow(message);
  });
});
