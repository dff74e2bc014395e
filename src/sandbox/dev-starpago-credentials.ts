/**
 * StarPago credentials for development: the sandbox's fake StarPago issues tokens for them and
 * signs v2 answers with the secret, the simulator signs v2 callbacks with it. Fixed rather than
 * generated, so that the environment printed by `npm run sandbox` stays valid across runs.
 */
export const DEV_STARPAGO_APP_ID = 'sandbox-app';
export const DEV_STARPAGO_APP_SECRET = 'sandbox-app-secret-for-development-only';

/** The app id and secret from the environment, or the development values. */
export function starpagoCredentials(env: Record<string, string | undefined>): { appId: string; appSecret: string } {
  return {
    appId: nonEmpty(env.STARPAGO_APP_ID) ?? DEV_STARPAGO_APP_ID,
    appSecret: nonEmpty(env.STARPAGO_APP_SECRET) ?? DEV_STARPAGO_APP_SECRET,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
