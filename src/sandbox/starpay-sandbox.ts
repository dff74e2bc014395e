import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ensureDevKeyPair } from '../providers/starpay/dev-keys.js';
import { ensureDevMerchantKeyPair } from './dev-merchant-keys.js';
import { portFrom, type SandboxApi } from './sandbox-api.js';
import { startFakeStarpay } from './starpay-api.js';

export const DEFAULT_STARPAY_SANDBOX_PORT = 4100;
export const DEFAULT_SANDBOX_MCH_ID = '101510000001';

/**
 * The fake Starpay query API, keyed like the service in development: answers are signed with the
 * platform key pair the service already trusts under DATA_DIR, queries are checked with the
 * sandbox merchant key pair.
 */
export const starpaySandbox: SandboxApi = {
  name: 'starpay',
  async start({ dataDir, host, env, print }) {
    const platform = await ensureDevKeyPair(dataDir);
    const merchant = await ensureDevMerchantKeyPair(dataDir);
    const mchId = env.STARPAY_MCH_ID !== undefined && env.STARPAY_MCH_ID !== '' ? env.STARPAY_MCH_ID : DEFAULT_SANDBOX_MCH_ID;
    const fake = await startFakeStarpay({
      merchantPublicKey: createPublicKey(merchant.publicKeyPem),
      platformPrivateKey: createPrivateKey(await readFile(platform.privateKeyFile, 'utf8')),
      mchId,
      host,
      port: portFrom(env, 'SANDBOX_STARPAY_PORT', DEFAULT_STARPAY_SANDBOX_PORT),
      onRequest: (r) =>
        print(
          `starpay ${r.kind ?? '?'} query ${r.originalMsgId ?? '?'} msgId=${r.msgId ?? '?'}` +
            ` signature ${r.signatureVerified ? 'ok' : 'INVALID'} → code ${r.code}`,
        ),
    });
    return {
      url: fake.url,
      serviceEnv: {
        STARPAY_API_URL: fake.url,
        STARPAY_MCH_ID: mchId,
        STARPAY_MERCHANT_PRIVATE_KEY_FILE: merchant.privateKeyFile,
      },
      notes: [
        `answers are signed with ${platform.privateKeyFile} (the service trusts its public half under the same DATA_DIR)`,
        `register an order: curl -X PUT ${fake.origin}/sandbox/starpay/orders/repayment/ORDER_REF ` +
          `-H 'content-type: application/json' -d '{"trxState":"SUCCESS","trxAmount":10000,"currency":"PHP"}'`,
        `make the next queries fail: curl -X POST ${fake.origin}/sandbox/starpay/fail-next -d '{"code":"503","times":2}'`,
      ],
      close: () => fake.close(),
    };
  },
};
