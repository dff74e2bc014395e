import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEV_PRIVATE_KEY_FILE } from '../providers/starpay/dev-keys.js';
import { NOTIFICATION_KINDS, type NotificationKind } from '../providers/starpay/notification.js';
import type { StarpagoKind } from '../providers/starpago/client.js';
import { DEV_STARPAGO_APP_SECRET } from '../sandbox/dev-starpago-credentials.js';
import { DEFAULT_STARPAGO_SANDBOX_PORT } from '../sandbox/starpago-sandbox.js';
import { DEFAULT_STARPAY_SANDBOX_PORT } from '../sandbox/starpay-sandbox.js';
import { SIMULATED_STARPAGO_KINDS, type StarpagoGeneration } from './starpago-plan.js';

export const SIMULATED_PROVIDERS = ['starpay', 'starpago', 'both'] as const;

export interface SimulatorOptions {
  url: string;
  /** Starpay kinds to simulate; empty when only StarPago is. */
  kinds: NotificationKind[];
  /** StarPago kinds to simulate; empty when only Starpay is. */
  starpagoKinds: StarpagoKind[];
  starpagoVersion: StarpagoGeneration;
  /** Signs StarPago v2 callbacks. */
  appSecret: string;
  /** Origins of the sandbox's fake Starpay and fake StarPago, where each order's truth is registered. */
  starpayApi: string;
  starpagoApi: string;
  /** Share of the queryable orders whose final notification is never sent. */
  lose: number;
  opsToken: string | undefined;
  /** How long to wait for the service to recover the lost orders by query. */
  recoverTimeoutMs: number;
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

Sends Starpay notifications and StarPago callbacks to a running receiver, resending each on the
provider's schedule until it answers SUCCESS, and ends with: sent N, SUCCESS N, refused N, retried N
(one such line per provider with --provider both)

  --url URL            receiver base URL (default http://127.0.0.1:3000)
  --provider P         starpay | starpago | both (default starpay)
  --kind KIND          disbursement | repayment | static-qr | payin | payout | all (default all
                       kinds of the chosen providers)
  --starpago-version V v2: callbacks signed with the app secret, forgeries with a wrong one (401);
                       v3: unsigned callbacks, forgeries are hints StarPago does not back (answered
                       SUCCESS, never applied); the service needs STARPAGO_API_URL (default v2)
  --app-secret SECRET  signs v2 callbacks (default $STARPAGO_APP_SECRET or the sandbox's development secret)
  --starpay-api URL    the sandbox's fake Starpay, told each order's truth (default http://127.0.0.1:${DEFAULT_STARPAY_SANDBOX_PORT})
  --starpago-api URL   the sandbox's fake StarPago, likewise (default http://127.0.0.1:${DEFAULT_STARPAGO_SANDBOX_PORT})
  --lose SHARE         registers every order with the service first (PUT /ops/orders/…), then never sends
                       the final notification of that share of the queryable orders, waits until the
                       service has found their final state by query and ends with a second line:
                       lost N, recovered N by query. Start the service with a short RECONCILE_SCHEDULE
                       (e.g. 2s,5s,10s) and the sandbox's environment, or this waits for minutes (default 0)
  --ops-token TOKEN    the service's ops token, for --lose (default $OPS_API_TOKEN)
  --recover-timeout T  how long to wait for the lost orders, e.g. 90s, 10m (default 10m)
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
        provider: { type: 'string', default: 'starpay' },
        kind: { type: 'string', default: 'all' },
        'starpago-version': { type: 'string', default: 'v2' },
        'app-secret': { type: 'string' },
        'starpay-api': { type: 'string', default: `http://127.0.0.1:${DEFAULT_STARPAY_SANDBOX_PORT}` },
        'starpago-api': { type: 'string', default: `http://127.0.0.1:${DEFAULT_STARPAGO_SANDBOX_PORT}` },
        lose: { type: 'string', default: '0' },
        'ops-token': { type: 'string' },
        'recover-timeout': { type: 'string', default: '10m' },
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

  const provider = values.provider;
  if (!(SIMULATED_PROVIDERS as readonly string[]).includes(provider)) throw new UsageError(`--provider must be one of ${SIMULATED_PROVIDERS.join(', ')}`);
  const starpay = provider !== 'starpago' ? [...NOTIFICATION_KINDS] : [];
  const starpago = provider !== 'starpay' ? [...SIMULATED_STARPAGO_KINDS] : [];
  const kind = values.kind;
  if (kind !== 'all' && !([...starpay, ...starpago] as string[]).includes(kind)) {
    throw new UsageError(`--kind must be one of ${[...starpay, ...starpago, 'all'].join(', ')} with --provider ${provider}`);
  }
  const version = values['starpago-version'];
  if (version !== 'v2' && version !== 'v3') throw new UsageError('--starpago-version must be v2 or v3');
  for (const name of ['url', 'starpay-api', 'starpago-api'] as const) httpUrl(name, values[name]);
  const lose = share('lose', values.lose);
  const opsToken = values['ops-token'] ?? (env.OPS_API_TOKEN || undefined);
  if (lose > 0 && opsToken === undefined) throw new UsageError('--lose needs the ops token: --ops-token TOKEN or OPS_API_TOKEN');
  const dataDir = env.DATA_DIR !== undefined && env.DATA_DIR !== '' ? env.DATA_DIR : './.data';
  return {
    url: values.url,
    kinds: kind === 'all' ? starpay : starpay.filter((k) => k === kind),
    starpagoKinds: kind === 'all' ? starpago : starpago.filter((k) => k === kind),
    starpagoVersion: version,
    appSecret: values['app-secret'] ?? (env.STARPAGO_APP_SECRET || DEV_STARPAGO_APP_SECRET),
    starpayApi: values['starpay-api'],
    starpagoApi: values['starpago-api'],
    lose,
    opsToken,
    recoverTimeoutMs: duration('recover-timeout', values['recover-timeout']),
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

function httpUrl(name: string, text: string): void {
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error();
  } catch {
    throw new UsageError(`--${name} must be an http(s) URL`);
  }
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `90s`, `10m`, `1h`, `500ms`; a bare number is seconds. */
function duration(name: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (match === null) throw new UsageError(`--${name} must be a duration like 90s or 10m, got ${JSON.stringify(text)}`);
  return Math.round(Number(match[1]) * (DURATION_UNITS_MS[match[2] ?? 's'] as number));
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
