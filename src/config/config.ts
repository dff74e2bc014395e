import { z } from 'zod';
import { DEFAULT_TOKEN_NAME, parseOpsTokens, sha256Hex, type OpsToken } from '../auth/ops-tokens.js';
import { PROVIDER_MODULES, type ProviderModule, type ProviderSettings } from '../providers/index.js';
import { httpUrl, isHttpsOrLoopback, optionalText } from './env-parts.js';

const commaList = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  );

/** Syntax only: which schemes are destinations is the destination registry's to say, at start-up. */
const destinationUrl = z.string().refine((value) => URL.canParse(value), 'each entry must be a URL');

/** `2m,5m,15m,1h,6h,24h` → milliseconds; units s, m, h, d. */
const DURATION_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const schedule = z.string().transform((value, ctx) => {
  const slots = value.split(',').map((item) => item.trim());
  const parsed = slots.map((slot) => /^(\d+)([smhd])$/.exec(slot));
  if (slots.length === 0 || parsed.some((match) => match === null || Number(match[1]) === 0)) {
    ctx.addIssue({ code: 'custom', message: 'must be positive durations like 2m,5m,1h,1d separated by commas' });
    return z.NEVER;
  }
  return parsed.map((match) => Number(match?.[1]) * DURATION_MS[match?.[2] as keyof typeof DURATION_MS]);
});

/** One duration (`90d`, `10m`, `30s`) → milliseconds. */
const duration = z.string().transform((value, ctx) => {
  const match = /^(\d+)([smhd])$/.exec(value.trim());
  if (match === null || Number(match[1]) === 0) {
    ctx.addIssue({ code: 'custom', message: 'must be a positive duration like 30s, 10m, 6h or 90d' });
    return z.NEVER;
  }
  return Number(match[1]) * DURATION_MS[match[2] as keyof typeof DURATION_MS];
});

/** `a@example.com, *@example.org` → lowercase entries; each an address or `*@domain`. */
const emailList = commaList.pipe(
  z.array(
    z
      .string()
      .transform((value) => value.toLowerCase())
      .refine((value) => /^(?:\*|[^\s@*]+)@[^\s@*]+\.[^\s@*]+$/.test(value), 'each entry must be an e-mail address or *@domain'),
  ),
);

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** The service's own variables; each provider's come from its module (src/providers/<name>/env.ts). */
const SERVICE_SHAPE = {
  NODE_ENV: optionalText.describe('production makes missing secrets fatal'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('HTTP port'),
  HOST: z.string().default('0.0.0.0').describe('bind address'),
  DATABASE_URL: optionalText.describe('PostgreSQL URL; unset starts an embedded PostgreSQL under DATA_DIR'),
  DATABASE_DIRECT_URL: optionalText.describe(
    'direct (not pooled) PostgreSQL URL for migrations and LISTEN; unset: both over DATABASE_URL, the forwarder polls',
  ),
  DATA_DIR: z.string().default('./.data').describe('embedded database and development key pair'),
  RECONCILE_SCHEDULE: z.string().default('2m,5m,15m,1h,6h,24h').pipe(schedule).describe('while an order stays PENDING, when to query it'),
  OPS_API_TOKEN: optionalText.describe('bearer token for /ops/*, named default with scope operate; unset refuses every call'),
  OPS_TOKENS: optionalText.describe('named ops tokens, comma-separated NAME:SCOPE:SHA256HEX (scope read or operate); npm run token mints one'),
  OIDC_ISSUER_URL: optionalText.pipe(httpUrl.optional()).describe('OpenID Connect issuer for single sign-on to the console'),
  OIDC_CLIENT_ID: optionalText.describe('OpenID Connect client id'),
  OIDC_CLIENT_SECRET: optionalText.describe('OpenID Connect client secret (unset: a public client, PKCE only)'),
  OIDC_OPERATE_EMAILS: emailList.describe('e-mail addresses or *@domain given scope operate at sign-in'),
  OIDC_READ_EMAILS: emailList.describe('e-mail addresses or *@domain given scope read at sign-in'),
  PUBLIC_URL: optionalText.pipe(httpUrl.optional()).describe("the service's external base URL; the SSO redirect URI is PUBLIC_URL/console/sso/callback"),
  FORWARD_URLS: commaList.pipe(z.array(destinationUrl)).describe('destinations: webhook, RabbitMQ and NATS JetStream URLs'),
  FORWARD_SECRET: optionalText
    .refine((value) => value === undefined || /^whsec_[A-Za-z0-9+/]+={0,2}$/.test(value), 'must be whsec_ followed by base64')
    .describe('Standard Webhooks secret, required with an http(s) destination'),
  FORWARD_MAX_ATTEMPTS: positiveInt(12).describe('attempts before a delivery is dead'),
  FORWARD_BACKOFF_MS: positiveInt(1000).describe('first retry delay'),
  FORWARD_TIMEOUT_MS: positiveInt(10_000).describe('per-attempt timeout'),
  BREAKER_FAILURES: positiveInt(10).describe('consecutive failed attempts to a destination, across replicas, that open its circuit breaker'),
  BREAKER_PROBE_MS: positiveInt(30_000).describe('while a breaker is open, one probe delivery per this many ms'),
  NOTIFY_BODY_LIMIT: positiveInt(65_536).describe('largest notification body in bytes'),
  INGEST_BATCH_MAX: z.coerce.number().int().min(1).max(1_000).default(64).describe('most notifications written in one transaction (group commit)'),
  INGEST_BATCHES_IN_FLIGHT: z.coerce
    .number()
    .int()
    .min(1)
    .max(8)
    .default(2)
    .describe('most notification batches being written at once; notifications arriving meanwhile join the next batch'),
  OPS_RATE_LIMIT: z.coerce.number().int().min(0).default(300).describe('/ops requests per minute and client IP; 0 disables'),
  NOTIFY_RATE_LIMIT: z.coerce.number().int().min(0).default(6000).describe('/notify requests per minute and client IP (loopback exempt); 0 disables'),
  RAW_BODY_RETENTION: z.string().default('90d').pipe(duration).describe("how long a notification's request body and parsed request are kept"),
  ATTEMPT_LOG_RETENTION: z.string().default('30d').pipe(duration).describe("how long a delivered delivery's attempt records are kept"),
  PURGE_INTERVAL: z.string().default('10m').pipe(duration).describe('how often the retention purge runs'),
  SHUTDOWN_GRACE_MS: positiveInt(25_000).describe('the whole drain on SIGTERM; work in flight past it is abandoned to its lease and the process exits 1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: optionalText.describe('proxies in front of the service: a hop count, or their addresses (comma-separated); `true` is refused'),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalText
    .pipe(httpUrl.optional())
    .describe('OpenTelemetry collector base URL: traces go to {endpoint}/v1/traces; unset: no tracing at all'),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/protobuf', 'http/json']).default('http/protobuf').describe('OTLP/HTTP encoding of the exported traces'),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(['http/protobuf', 'http/json']).optional().describe('overrides OTEL_EXPORTER_OTLP_PROTOCOL for traces'),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalText.pipe(httpUrl.optional()).describe('the full traces URL, instead of {OTEL_EXPORTER_OTLP_ENDPOINT}/v1/traces'),
  OTEL_SDK_DISABLED: z.enum(['true', 'false']).optional().describe('true: no tracing even with an endpoint set'),
  OTEL_SERVICE_NAME: z.string().default('payment-notification-receiver').describe("the traces' service.name"),
};

/** Every variable: the service's and those of the providers given, with the rules between them. */
export function envSchemaFor(modules: readonly ProviderModule[]) {
  const providerShape: Record<string, z.ZodRawShape[string]> = {};
  for (const module of modules) {
    for (const [name, schema] of Object.entries(module.env.shape)) {
      // One variable, one meaning: a second declaration would silently replace the first.
      if (name in providerShape || name in SERVICE_SHAPE) throw new Error(`${name} is declared twice (provider ${module.name})`);
      providerShape[name] = schema;
    }
  }
  return z.object({ ...providerShape, ...SERVICE_SHAPE }).superRefine((env, ctx) => {
    const problem = (variable: string, message: string) => ctx.addIssue({ code: 'custom', path: [variable], message });
    const hasHttpDestination = env.FORWARD_URLS.some((url) => /^https?:/i.test(url));
    // Webhooks cannot be sent unsigned, in any environment.
    if (hasHttpDestination && env.FORWARD_SECRET === undefined) problem('FORWARD_SECRET', 'is required when FORWARD_URLS has an http(s) URL');
    for (const module of modules) module.env.check(env, problem, env.NODE_ENV === 'production');
    if (env.DATABASE_DIRECT_URL !== undefined && env.DATABASE_URL === undefined) problem('DATABASE_DIRECT_URL', 'needs DATABASE_URL');
    if (env.OPS_TOKENS !== undefined) {
      const { tokens, problems } = parseOpsTokens(env.OPS_TOKENS);
      for (const message of problems) problem('OPS_TOKENS', message);
      if (env.OPS_API_TOKEN !== undefined && tokens.some((token) => token.name === DEFAULT_TOKEN_NAME)) {
        problem('OPS_TOKENS', `names a token ${DEFAULT_TOKEN_NAME}, which is OPS_API_TOKEN's name`);
      }
    }
    if ((env.OIDC_ISSUER_URL === undefined) !== (env.OIDC_CLIENT_ID === undefined)) {
      problem(env.OIDC_ISSUER_URL === undefined ? 'OIDC_ISSUER_URL' : 'OIDC_CLIENT_ID', 'is required with the other OIDC_ variables');
    }
    if (env.OIDC_ISSUER_URL !== undefined && env.OIDC_OPERATE_EMAILS.length + env.OIDC_READ_EMAILS.length === 0) {
      problem('OIDC_OPERATE_EMAILS', 'or OIDC_READ_EMAILS is required with OIDC_ISSUER_URL: nobody could sign in');
    }
    // Trusting every hop lets any client pick its address (and the loopback exemption) by header.
    if (env.TRUST_PROXY !== undefined && env.TRUST_PROXY.toLowerCase() === 'true') {
      problem('TRUST_PROXY', 'must not be true (it trusts every hop): give the number of proxies in front of the service or their addresses');
    }
    if (env.NODE_ENV !== 'production') return;
    if (!modules.some((module) => module.env.configured(env))) {
      const [first = 'a provider', ...others] = modules.map((module) => module.env.configuredBy);
      problem(first, `${others.map((variable) => `or ${variable} `).join('')}is required in production: no provider is configured`);
    }
    if (env.OPS_API_TOKEN === undefined && env.OPS_TOKENS === undefined) problem('OPS_API_TOKEN', 'or OPS_TOKENS is required in production');
    // An ID token from an issuer reached over plain HTTP proves nothing: anyone on the path could answer.
    if (env.OIDC_ISSUER_URL !== undefined && !isHttpsOrLoopback(env.OIDC_ISSUER_URL))
      problem('OIDC_ISSUER_URL', 'must be https:// in production (or a loopback address)');
    if (env.OPS_API_TOKEN !== undefined && env.OPS_API_TOKEN.length < MIN_OPS_TOKEN_LENGTH)
      problem('OPS_API_TOKEN', `must be at least ${MIN_OPS_TOKEN_LENGTH} characters in production`);
    if (env.DATABASE_URL === undefined) problem('DATABASE_URL', 'is required in production (the embedded database is for development)');
  });
}

/** Shorter tokens can be guessed; production refuses them. */
export const MIN_OPS_TOKEN_LENGTH = 32;

/** The schema of the service's providers (src/providers/index.ts). */
export const EnvSchema = envSchemaFor(PROVIDER_MODULES);

export type Env = z.output<z.ZodObject<typeof SERVICE_SHAPE>>;

export interface Config {
  /** What each provider's part of the configuration read, by provider name. */
  providers: ProviderSettings;
  production: boolean;
  port: number;
  host: string;
  databaseUrl: string | undefined;
  /** Direct (not pooled) URL for migrations and LISTEN; undefined: DATABASE_URL for migrations, no LISTEN. */
  databaseDirectUrl: string | undefined;
  dataDir: string;
  opsApiToken: string | undefined;
  /** Every token /ops accepts besides sessions: OPS_TOKENS, and OPS_API_TOKEN as `default`/`operate`. */
  opsTokens: readonly OpsToken[];
  /** Single sign-on for the console; undefined when OIDC_ISSUER_URL is unset. */
  oidc: { issuerUrl: string; clientId: string; clientSecret: string | undefined; operateEmails: readonly string[]; readEmails: readonly string[] } | undefined;
  /** PUBLIC_URL without a trailing slash. */
  publicUrl: string | undefined;
  /** RECONCILE_SCHEDULE in milliseconds. */
  reconcileScheduleMs: readonly number[];
  forward: {
    urls: string[];
    secret: string | undefined;
    maxAttempts: number;
    backoffMs: number;
    timeoutMs: number;
  };
  /** The circuit breaker per destination: failures that open it, and the probe interval. */
  breaker: { failures: number; probeMs: number };
  notifyBodyLimit: number;
  /** Group commit of notifications: batch size and batches written at once. */
  ingest: { batchMax: number; batchesInFlight: number };
  /** Requests per minute and client IP; 0 means unlimited. */
  rateLimits: { ops: number; notify: number };
  /** Raw bodies and delivered deliveries' attempt records are purged after these ages, every intervalMs. */
  retention: { rawBodyMs: number; attemptLogMs: number; purgeIntervalMs: number };
  /** The whole drain on SIGTERM. */
  shutdownGraceMs: number;
  logLevel: Env['LOG_LEVEL'];
  /** Hops to trust (a count) or the proxies' addresses; never every hop. */
  trustProxy: number | string | undefined;
  /** OpenTelemetry tracing over OTLP/HTTP; undefined when OTEL_EXPORTER_OTLP_ENDPOINT is unset. */
  tracing: { url: string; protocol: Env['OTEL_EXPORTER_OTLP_PROTOCOL']; serviceName: string } | undefined;
}

/** Every bad variable, one line each: `invalid configuration: PORT must be a whole number`. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.map((problem) => `invalid configuration: ${problem}`).join('\n'));
  }
}

/** zod's issue in an operator's words; the value itself is never repeated (it may be a secret). */
function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.expected === 'int') return 'must be a whole number';
      return issue.expected === 'number' ? 'must be a number' : `must be a ${issue.expected}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      return issue.inclusive === false ? `must be more than ${String(issue.minimum)}` : `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      return issue.inclusive === false ? `must be less than ${String(issue.maximum)}` : `must be at most ${String(issue.maximum)}`;
    case 'invalid_format':
      return 'has the wrong format';
    case 'not_multiple_of':
      return 'must be a whole number';
    default:
      return issue.message;
  }
}

/** Validates every variable at once; throws a ConfigError listing all problems. */
export function loadConfig(env: Record<string, string | undefined>, modules: readonly ProviderModule[] = PROVIDER_MODULES): Readonly<Config> {
  // A variable set to nothing (`PORT=` in an env file, `${X:-}` in compose) counts as unset.
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''));
  const parsed = (modules === PROVIDER_MODULES ? EnvSchema : envSchemaFor(modules)).safeParse(given);
  if (!parsed.success) {
    // Every problem in words, one line each, naming its variable.
    throw new ConfigError(parsed.error.issues.map((issue) => `${String(issue.path[0] ?? 'env')} ${describeIssue(issue)}`));
  }
  const e = parsed.data;
  const providers = Object.fromEntries(modules.map((module) => [module.name, Object.freeze(module.env.read(parsed.data))]));
  return Object.freeze({
    providers: Object.freeze(providers) as ProviderSettings,
    production: e.NODE_ENV === 'production',
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databaseDirectUrl: e.DATABASE_DIRECT_URL,
    dataDir: e.DATA_DIR,
    opsApiToken: e.OPS_API_TOKEN,
    opsTokens: Object.freeze([
      ...(e.OPS_API_TOKEN === undefined ? [] : [{ name: DEFAULT_TOKEN_NAME, scope: 'operate' as const, sha256: sha256Hex(e.OPS_API_TOKEN) }]),
      ...(e.OPS_TOKENS === undefined ? [] : parseOpsTokens(e.OPS_TOKENS).tokens),
    ]),
    oidc:
      e.OIDC_ISSUER_URL === undefined || e.OIDC_CLIENT_ID === undefined
        ? undefined
        : Object.freeze({
            issuerUrl: e.OIDC_ISSUER_URL,
            clientId: e.OIDC_CLIENT_ID,
            clientSecret: e.OIDC_CLIENT_SECRET,
            operateEmails: Object.freeze(e.OIDC_OPERATE_EMAILS),
            readEmails: Object.freeze(e.OIDC_READ_EMAILS),
          }),
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ''),
    reconcileScheduleMs: Object.freeze(e.RECONCILE_SCHEDULE),
    forward: Object.freeze({
      urls: e.FORWARD_URLS,
      secret: e.FORWARD_SECRET,
      maxAttempts: e.FORWARD_MAX_ATTEMPTS,
      backoffMs: e.FORWARD_BACKOFF_MS,
      timeoutMs: e.FORWARD_TIMEOUT_MS,
    }),
    breaker: Object.freeze({ failures: e.BREAKER_FAILURES, probeMs: e.BREAKER_PROBE_MS }),
    notifyBodyLimit: e.NOTIFY_BODY_LIMIT,
    ingest: Object.freeze({ batchMax: e.INGEST_BATCH_MAX, batchesInFlight: e.INGEST_BATCHES_IN_FLIGHT }),
    rateLimits: Object.freeze({ ops: e.OPS_RATE_LIMIT, notify: e.NOTIFY_RATE_LIMIT }),
    retention: Object.freeze({ rawBodyMs: e.RAW_BODY_RETENTION, attemptLogMs: e.ATTEMPT_LOG_RETENTION, purgeIntervalMs: e.PURGE_INTERVAL }),
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    logLevel: e.LOG_LEVEL,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    tracing:
      e.OTEL_EXPORTER_OTLP_ENDPOINT === undefined || e.OTEL_SDK_DISABLED === 'true'
        ? undefined
        : Object.freeze({
            url: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`,
            protocol: e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL,
            serviceName: e.OTEL_SERVICE_NAME,
          }),
  });
}

function parseTrustProxy(value: string | undefined): Config['trustProxy'] {
  if (value === undefined || value === 'false') return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}
