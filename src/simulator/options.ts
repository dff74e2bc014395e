import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEV_PRIVATE_KEY_FILE } from '../providers/starpay/dev-keys.js';
import { NOTIFICATION_KINDS, type NotificationKind } from '../providers/starpay/notification.js';

export interface SimulatorOptions {
  url: string;
  kinds: NotificationKind[];
  orders: number;
  duplicates: number;
  outOfOrder: number;
  forged: number;
  timeScale: number;
  keyFile: string;
  mchId: string;
  concurrency: number;
  timeoutMs: number;
  seed: number | undefined;
  quiet: boolean;
  help: boolean;
}

export class UsageError extends Error {}

export const USAGE = `usage: npm run simulate -- [options]

Sends signed Starpay notifications to a running receiver, resending each on Starpay's schedule
until it answers SUCCESS, and ends with: sent N, SUCCESS N, refused N, retried N

  --url URL            receiver base URL (default http://127.0.0.1:3000)
  --kind KIND          disbursement | repayment | static-qr | all (default all)
  --orders N           orders to simulate, spread over the kinds (default 10)
  --duplicates SHARE   share of orders whose notifications are sent twice at once (default 0.2)
  --out-of-order SHARE share of orders that get a PENDING/PROCESSING after the final state (default 0.2)
  --forged SHARE       share of orders that also get a notification signed with a throwaway key (default 0)
  --time-scale X       resend schedule (30 s … 15 h, 24 h 47 min in all) times X (default 0.001: 89 s)
  --key FILE           PEM private key (default $DATA_DIR/${DEV_PRIVATE_KEY_FILE}, DATA_DIR default ./.data)
  --mch-id ID          mchId in every notification (default $STARPAY_MCH_ID or 101510000001)
  --concurrency N      requests in flight at once (default 16)
  --timeout MS         per-request timeout (default 10000)
  --seed N             replay a run: same orders, msgIds and spellings (default random)
  --quiet              print the summary line only
  --help`;

/** argv (without node and the script) → options; env supplies DATA_DIR and STARPAY_MCH_ID defaults. */
export function parseSimulatorArgs(argv: readonly string[], env: Record<string, string | undefined> = {}): SimulatorOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string', default: 'http://127.0.0.1:3000' },
        kind: { type: 'string', default: 'all' },
        orders: { type: 'string', default: '10' },
        duplicates: { type: 'string', default: '0.2' },
        'out-of-order': { type: 'string', default: '0.2' },
        forged: { type: 'string', default: '0' },
        'time-scale': { type: 'string', default: '0.001' },
        key: { type: 'string' },
        'mch-id': { type: 'string' },
        concurrency: { type: 'string', default: '16' },
        timeout: { type: 'string', default: '10000' },
        seed: { type: 'string' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }

  const kind = values.kind;
  if (kind !== 'all' && !(NOTIFICATION_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(`--kind must be one of ${[...NOTIFICATION_KINDS, 'all'].join(', ')}`);
  }
  try {
    const url = new URL(values.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error();
  } catch {
    throw new UsageError('--url must be an http(s) URL');
  }
  const dataDir = env.DATA_DIR !== undefined && env.DATA_DIR !== '' ? env.DATA_DIR : './.data';
  return {
    url: values.url,
    kinds: kind === 'all' ? [...NOTIFICATION_KINDS] : [kind as NotificationKind],
    orders: integer('orders', values.orders, 1),
    duplicates: share('duplicates', values.duplicates),
    outOfOrder: share('out-of-order', values['out-of-order']),
    forged: share('forged', values.forged),
    timeScale: number('time-scale', values['time-scale'], 0, Infinity),
    keyFile: values.key ?? path.join(dataDir, DEV_PRIVATE_KEY_FILE),
    mchId: values['mch-id'] ?? (env.STARPAY_MCH_ID || '101510000001'),
    concurrency: integer('concurrency', values.concurrency, 1),
    timeoutMs: integer('timeout', values.timeout, 1),
    seed: values.seed === undefined ? undefined : integer('seed', values.seed, 0) >>> 0,
    quiet: values.quiet,
    help: values.help,
  };
}

function number(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    const range = max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`--${name} must be a number ${range}, got ${JSON.stringify(text)}`);
  }
  return value;
}

function share(name: string, text: string): number {
  return number(name, text, 0, 1);
}

function integer(name: string, text: string, min: number): number {
  const value = number(name, text, min, Infinity);
  if (!Number.isSafeInteger(value)) throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(text)}`);
  return value;
}
