import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import { clipForLog, namesForLog } from '../../domain/log-text.js';
import type { Provider, QueryAnswer, VerifyResult } from '../../domain/provider.js';
import { readCallback } from './callback.js';
import { createStarpagoClient, type StarpagoKind } from './client.js';
import { describeStarpagoRoute } from './openapi.js';

export { readCallback } from './callback.js';
export { createStarpagoClient, STARPAGO_PATHS } from './client.js';

import { STARPAGO_KINDS } from './kinds.js';

export { STARPAGO_KINDS } from './kinds.js';

export interface StarpagoProviderOptions {
  appId?: string;
  /** Verifies v2 callbacks and answers; with `appId` and `apiUrl`, also the v3 token grant. */
  appSecret?: string;
  apiUrl?: string;
  apiVersion: 'v2' | 'v3';
  timeoutMs: number;
  logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
}

/**
 * StarPago: v2 callbacks are signed with the app secret; v3 callbacks are unsigned hints, taken
 * only when the query API is configured to confirm them.
 */
export function createStarpagoProvider(options: StarpagoProviderOptions): Provider {
  const { appId, appSecret, apiUrl, logger } = options;
  const secret = nonEmpty(appSecret);
  const api =
    nonEmpty(apiUrl) !== undefined && nonEmpty(appId) !== undefined && secret !== undefined
      ? createStarpagoClient({
          apiUrl: apiUrl as string,
          appId: appId as string,
          appSecret: secret,
          apiVersion: options.apiVersion,
          timeoutMs: options.timeoutMs,
        })
      : undefined;

  function verify(kind: string, body: Buffer, headers: IncomingHttpHeaders): VerifyResult {
    const result = readCallback(kind, body, headers['content-type'], secret);
    if (!result.ok) {
      if (result.sign !== undefined) {
        // Which empty-value rules were compared, and on which fields they differ: never the secret nor the string to sign.
        const { reason, rulesTried, emptyFields } = result.sign;
        logger.warn(
          { provider: 'starpago', kind, orderRef: clipForLog(result.record?.orderRef), reason, rulesTried, emptyFields: namesForLog(emptyFields) },
          'starpago sign does not verify',
        );
      }
      return result;
    }
    if (result.generation === 'v3' && api === undefined) {
      return {
        ok: false,
        code: 'PROVIDER_NOT_CONFIGURED',
        detail: 'unsigned v3 callback but the StarPago query API is not configured to confirm it',
        record: { body: body.toString('utf8'), request: result.notification.request, orderRef: result.notification.orderRef, msgId: null },
      };
    }
    if (result.rule !== null) logger.debug({ provider: 'starpago', kind, rule: result.rule }, 'starpago sign verified');
    return result;
  }

  return {
    name: 'starpago',
    kinds: STARPAGO_KINDS,
    configured: secret !== undefined,
    acknowledgement: 'SUCCESS',
    verify,
    describe: describeStarpagoRoute,
    ...(api === undefined
      ? {}
      : { query: (kind: string, orderRef: string) => (isKind(kind) ? api.query(kind, orderRef) : Promise.resolve(unknownKind(kind))) }),
    // Without the API nothing can be asked: such orders never enter the schedule.
    isQueryable: (kind: string) => api !== undefined && isKind(kind),
  };
}

function isKind(kind: string): kind is StarpagoKind {
  return (STARPAGO_KINDS as readonly string[]).includes(kind);
}

function unknownKind(kind: string): QueryAnswer {
  return { outcome: 'config_error', detail: `StarPago has no ${kind} orders` };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
