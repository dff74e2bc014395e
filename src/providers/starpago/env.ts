import { z } from 'zod';
import { httpUrl, isHttpsOrLoopback, optionalText, type ProviderEnv } from '../../config/env-parts.js';

const shape = {
  STARPAGO_API_URL: optionalText
    .pipe(httpUrl.optional())
    .describe('StarPago API base URL; unset: StarPago orders are never queried and v3 callbacks are refused'),
  STARPAGO_APP_ID: optionalText.describe('StarPago appId'),
  STARPAGO_APP_SECRET: optionalText.describe('StarPago appSecret: the v2 signing key and the v3 token grant'),
  STARPAGO_API_VERSION: z.enum(['v2', 'v3']).default('v3').describe('which StarPago query API to call'),
};

export interface StarpagoSettings {
  appId: string | undefined;
  appSecret: string | undefined;
  apiUrl: string | undefined;
  apiVersion: 'v2' | 'v3';
}

/** StarPago's variables: the app secret (v2 signatures, v3 tokens) and its query API. */
export const STARPAGO_ENV: ProviderEnv<typeof shape, StarpagoSettings> = {
  shape,
  configuredBy: 'STARPAGO_APP_SECRET',
  check(env, problem, production) {
    // A query API without its credentials could never be asked.
    if (env.STARPAGO_API_URL !== undefined) {
      if (env.STARPAGO_APP_ID === undefined) problem('STARPAGO_APP_ID', 'is required with STARPAGO_API_URL');
      if (env.STARPAGO_APP_SECRET === undefined) problem('STARPAGO_APP_SECRET', 'is required with STARPAGO_API_URL');
    }
    if (production && env.STARPAGO_API_URL !== undefined && !isHttpsOrLoopback(env.STARPAGO_API_URL)) {
      problem('STARPAGO_API_URL', 'must be an https:// URL in production (http:// only for a loopback host)');
    }
  },
  configured: (env) => env.STARPAGO_APP_SECRET !== undefined,
  read: (env) => ({
    appId: env.STARPAGO_APP_ID,
    appSecret: env.STARPAGO_APP_SECRET,
    apiUrl: env.STARPAGO_API_URL,
    apiVersion: env.STARPAGO_API_VERSION,
  }),
};
