import { starpagoCredentials } from './dev-starpago-credentials.js';
import { portFrom, type SandboxApi } from './sandbox-api.js';
import { startFakeStarpago } from './starpago-api.js';

export const DEFAULT_STARPAGO_SANDBOX_PORT = 4200;

/** How often the banner looks for new queries to print: the fake keeps every query it answered. */
const PRINT_INTERVAL_MS = 200;

/**
 * The fake StarPago API: the v3 token grant and order queries and the signed v2 order queries,
 * for the app id and secret from STARPAGO_APP_ID/STARPAGO_APP_SECRET or the development values.
 */
export const starpagoSandbox: SandboxApi = {
  name: 'starpago',
  async start({ host, env, print }) {
    const { appId, appSecret } = starpagoCredentials(env);
    const fake = await startFakeStarpago({ appId, appSecret, host, port: portFrom(env, 'SANDBOX_STARPAGO_PORT', DEFAULT_STARPAGO_SANDBOX_PORT) });

    let printed = 0;
    const timer = setInterval(() => {
      for (const q of fake.queries.slice(printed)) {
        print(`starpago ${q.version} ${q.kind} query ${q.merOrderNo ?? '?'} → HTTP ${q.status}`);
      }
      printed = fake.queries.length;
    }, PRINT_INTERVAL_MS);
    timer.unref();

    return {
      url: fake.url,
      serviceEnv: { STARPAGO_API_URL: fake.url, STARPAGO_APP_ID: appId, STARPAGO_APP_SECRET: appSecret },
      notes: [
        'serves the v3 queries (the service default) and the signed v2 ones (STARPAGO_API_VERSION=v2)',
        `register an order: curl -X PUT ${fake.url}/sandbox/starpago/orders/payin/MER_ORDER_NO ` +
          `-H 'content-type: application/json' -d '{"status":"PAID","orderStatus":2,"amount":"10.50","currency":"PHP"}'`,
      ],
      close: async () => {
        clearInterval(timer);
        await fake.close();
      },
    };
  },
};
