import { z } from 'zod';

const optionalText = z
  .string()
  .transform((value) => value.trim())
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const commaList = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  );

const httpUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}, 'must be an http(s) URL');

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const EnvSchema = z
  .object({
    NODE_ENV: optionalText.describe('production makes missing secrets fatal'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('HTTP port'),
    HOST: z.string().default('0.0.0.0').describe('bind address'),
    DATABASE_URL: optionalText.describe('PostgreSQL URL; unset starts an embedded PostgreSQL under DATA_DIR'),
    DATA_DIR: z.string().default('./.data').describe('embedded database and development key pair'),
    STARPAY_PUBLIC_KEYS: optionalText.describe('Starpay platform public keys, PEM or base64 DER, comma or blank-line separated'),
    STARPAY_PUBLIC_KEYS_FILE: optionalText.describe('file holding STARPAY_PUBLIC_KEYS'),
    STARPAY_MCH_ID: optionalText.describe('refuse notifications for another merchant id'),
    OPS_API_TOKEN: optionalText.describe('bearer token for /ops/*; unset refuses every call'),
    FORWARD_URLS: commaList.pipe(z.array(httpUrl)).describe('downstream webhook URLs'),
    FORWARD_SECRET: optionalText
      .refine((value) => value === undefined || /^whsec_[A-Za-z0-9+/]+={0,2}$/.test(value), 'must be whsec_ followed by base64')
      .describe('Standard Webhooks secret'),
    FORWARD_MAX_ATTEMPTS: positiveInt(12).describe('attempts before a delivery is dead'),
    FORWARD_BACKOFF_MS: positiveInt(1000).describe('first retry delay'),
    FORWARD_TIMEOUT_MS: positiveInt(10_000).describe('per-attempt timeout'),
    NOTIFY_BODY_LIMIT: positiveInt(65_536).describe('largest notification body in bytes'),
    OPS_RATE_LIMIT: z.coerce.number().int().min(0).default(300).describe('/ops requests per minute and client IP; 0 disables'),
    NOTIFY_RATE_LIMIT: z.coerce
      .number()
      .int()
      .min(0)
      .default(6000)
      .describe('/notify requests per minute and client IP (loopback exempt); 0 disables'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    TRUST_PROXY: optionalText.describe('Fastify trustProxy: true, a hop count or a list of addresses'),
  })
  .superRefine((env, ctx) => {
    if (env.FORWARD_URLS.length > 0 && env.FORWARD_SECRET === undefined) {
      ctx.addIssue({ code: 'custom', path: ['FORWARD_SECRET'], message: 'is required when FORWARD_URLS is set' });
    }
    if (env.NODE_ENV !== 'production') return;
    if (env.STARPAY_PUBLIC_KEYS === undefined && env.STARPAY_PUBLIC_KEYS_FILE === undefined) {
      ctx.addIssue({ code: 'custom', path: ['STARPAY_PUBLIC_KEYS'], message: 'is required in production (or STARPAY_PUBLIC_KEYS_FILE)' });
    }
    if (env.OPS_API_TOKEN === undefined) {
      ctx.addIssue({ code: 'custom', path: ['OPS_API_TOKEN'], message: 'is required in production' });
    }
  });

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  production: boolean;
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  starpayPublicKeys: string | undefined;
  starpayPublicKeysFile: string | undefined;
  starpayMchId: string | undefined;
  opsApiToken: string | undefined;
  forward: {
    urls: string[];
    secret: string | undefined;
    maxAttempts: number;
    backoffMs: number;
    timeoutMs: number;
  };
  notifyBodyLimit: number;
  /** Requests per minute and client IP; 0 means unlimited. */
  rateLimits: { ops: number; notify: number };
  logLevel: Env['LOG_LEVEL'];
  trustProxy: boolean | number | string | undefined;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
  }
}

/** Validates every variable at once; throws a ConfigError listing all problems. */
export function loadConfig(env: Record<string, string | undefined>): Readonly<Config> {
  // A variable set to nothing (`PORT=` in an env file, `${X:-}` in compose) counts as unset.
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''));
  const parsed = EnvSchema.safeParse(given);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'env'} ${issue.message}`));
  }
  const e = parsed.data;
  return Object.freeze({
    production: e.NODE_ENV === 'production',
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    starpayPublicKeys: e.STARPAY_PUBLIC_KEYS,
    starpayPublicKeysFile: e.STARPAY_PUBLIC_KEYS_FILE,
    starpayMchId: e.STARPAY_MCH_ID,
    opsApiToken: e.OPS_API_TOKEN,
    forward: Object.freeze({
      urls: e.FORWARD_URLS,
      secret: e.FORWARD_SECRET,
      maxAttempts: e.FORWARD_MAX_ATTEMPTS,
      backoffMs: e.FORWARD_BACKOFF_MS,
      timeoutMs: e.FORWARD_TIMEOUT_MS,
    }),
    notifyBodyLimit: e.NOTIFY_BODY_LIMIT,
    rateLimits: Object.freeze({ ops: e.OPS_RATE_LIMIT, notify: e.NOTIFY_RATE_LIMIT }),
    logLevel: e.LOG_LEVEL,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
  });
}

function parseTrustProxy(value: string | undefined): Config['trustProxy'] {
  if (value === undefined || value === 'false') return undefined;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}
