import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { loadStarpayKeys } from '../../src/providers/starpay/load-keys.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      dataDir: './.data',
      notifyBodyLimit: 65536,
      logLevel: 'info',
      forward: { urls: [], maxAttempts: 12, backoffMs: 1000, timeoutMs: 10000 },
    });
  });

  it('takes a variable set to nothing as unset', () => {
    expect(loadConfig({ PORT: '', FORWARD_URLS: '', OPS_API_TOKEN: ' ' })).toMatchObject({ port: 3000, opsApiToken: undefined, forward: { urls: [] } });
  });

  it('reports every bad variable at once', () => {
    try {
      loadConfig({ PORT: 'eighty', FORWARD_URLS: 'not a url', LOG_LEVEL: 'loud', FORWARD_MAX_ATTEMPTS: '0' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      for (const name of ['PORT', 'FORWARD_URLS', 'LOG_LEVEL', 'FORWARD_MAX_ATTEMPTS']) expect(message).toContain(name);
    }
  });

  it('turns tracing on only with OTEL_EXPORTER_OTLP_ENDPOINT, and refuses gRPC or an endpoint that is not an http(s) URL', () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: ' http://collector:4318/ ' }).tracing).toEqual({
      url: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      serviceName: 'payment-notification-receiver',
    });
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/base',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      }).tracing,
    ).toMatchObject({ url: 'http://collector:4318/base/v1/traces', protocol: 'http/json' });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/traces' }).tracing?.url).toBe(
      'https://b/traces',
    );
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).tracing).toBeUndefined();
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(
      'invalid configuration: OTEL_EXPORTER_OTLP_PROTOCOL must be one of http/protobuf, http/json',
    );
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT must be an http\(s\) URL/);
  });

  it('requires the secrets in production, and FORWARD_SECRET whenever FORWARD_URLS is set', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/STARPAY_PUBLIC_KEYS[\s\S]*OPS_API_TOKEN/);
    expect(() => loadConfig({ FORWARD_URLS: 'http://a.example/hook' })).toThrow(/FORWARD_SECRET/);
    expect(loadConfig({ FORWARD_URLS: 'http://a.example/h, https://b.example/h', FORWARD_SECRET: 'whsec_dGVzdA==' }).forward.urls).toEqual([
      'http://a.example/h',
      'https://b.example/h',
    ]);
  });
});

describe('start-up rules', () => {
  const token = 'x'.repeat(32);
  const database = 'postgres://db.internal/receiver';
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      return (error as ConfigError).problems;
    }
  };

  it('refuses a production ops token shorter than 32 characters, and accepts one of 32', () => {
    expect(problems({ NODE_ENV: 'production', DATABASE_URL: database, STARPAGO_APP_SECRET: 's', OPS_API_TOKEN: 'x'.repeat(31) })).toEqual([
      'OPS_API_TOKEN must be at least 32 characters in production',
    ]);
    expect(problems({ NODE_ENV: 'production', DATABASE_URL: database, STARPAGO_APP_SECRET: 's', OPS_API_TOKEN: token })).toEqual([]);
    expect(problems({ OPS_API_TOKEN: 'short' })).toEqual([]);
  });

  it('refuses production without DATABASE_URL (no embedded database there), naming it', () => {
    expect(problems({ NODE_ENV: 'production', OPS_API_TOKEN: token, STARPAGO_APP_SECRET: 's' })).toEqual([
      'DATABASE_URL is required in production (the embedded database is for development)',
    ]);
    expect(problems({ OPS_API_TOKEN: token, STARPAGO_APP_SECRET: 's' })).toEqual([]);
  });

  it('reads the retention and shutdown settings, and refuses a duration that is not one', () => {
    expect(loadConfig({})).toMatchObject({
      retention: { rawBodyMs: 90 * 86_400_000, attemptLogMs: 30 * 86_400_000, purgeIntervalMs: 600_000 },
      shutdownGraceMs: 25_000,
      databaseDirectUrl: undefined,
    });
    expect(loadConfig({ RAW_BODY_RETENTION: '2s', ATTEMPT_LOG_RETENTION: '36h', PURGE_INTERVAL: '1m' }).retention).toEqual({
      rawBodyMs: 2_000,
      attemptLogMs: 36 * 3_600_000,
      purgeIntervalMs: 60_000,
    });
    expect(problems({ RAW_BODY_RETENTION: '90 days', PURGE_INTERVAL: '0m' })).toEqual([
      'RAW_BODY_RETENTION must be a positive duration like 30s, 10m, 6h or 90d',
      'PURGE_INTERVAL must be a positive duration like 30s, 10m, 6h or 90d',
    ]);
    expect(problems({ DATABASE_DIRECT_URL: database })).toEqual(['DATABASE_DIRECT_URL needs DATABASE_URL']);
  });

  it('refuses production with no provider configured; either provider is enough', () => {
    expect(problems({ NODE_ENV: 'production', DATABASE_URL: database, OPS_API_TOKEN: token }).join()).toMatch(/no provider is configured/);
    expect(problems({ NODE_ENV: 'production', DATABASE_URL: database, OPS_API_TOKEN: token, STARPAY_PUBLIC_KEYS_FILE: '/keys.pem' })).toEqual([]);
    expect(problems({ NODE_ENV: 'production', DATABASE_URL: database, OPS_API_TOKEN: token, STARPAGO_APP_SECRET: 's' })).toEqual([]);
  });

  it('refuses a query API without its credentials, in any environment', () => {
    expect(problems({ STARPAY_API_URL: 'https://api.example/base' }).join()).toMatch(/STARPAY_MERCHANT_PRIVATE_KEY[\s\S]*STARPAY_MCH_ID/);
    expect(problems({ STARPAGO_API_URL: 'https://api.example' }).join()).toMatch(/STARPAGO_APP_ID[\s\S]*STARPAGO_APP_SECRET/);
  });

  it('requires FORWARD_SECRET only for http(s) destinations', () => {
    expect(problems({ FORWARD_URLS: 'amqp://guest:guest@127.0.0.1:5672/%2F?exchange=events' })).toEqual([]);
    expect(problems({ FORWARD_URLS: 'nats://127.0.0.1:4222?stream=EVENTS,https://a.example/h' })).toEqual([
      'FORWARD_SECRET is required when FORWARD_URLS has an http(s) URL',
    ]);
  });

  it('reads RECONCILE_SCHEDULE into milliseconds and refuses a malformed one', () => {
    expect(loadConfig({}).reconcileScheduleMs).toEqual([120_000, 300_000, 900_000, 3_600_000, 21_600_000, 86_400_000]);
    expect(loadConfig({ RECONCILE_SCHEDULE: '30s, 1d' }).reconcileScheduleMs).toEqual([30_000, 86_400_000]);
    for (const bad of ['2 minutes', '0s', '5m,,1h', '-1h']) expect(problems({ RECONCILE_SCHEDULE: bad }).join()).toMatch(/RECONCILE_SCHEDULE/);
  });

  it('never repeats a destination URL, which may hold a password, in its error', async () => {
    const { createDestinations } = await import('../../src/destinations/index.js');
    const message = problems({ FORWARD_URLS: 'http//user:hunter2@host/x' }).join();
    expect(message).toMatch(/FORWARD_URLS/);
    expect(message).not.toContain('hunter2');
    // Which schemes are destinations is the registry's to say, at start-up, in the same words.
    expect(() => createDestinations(['ftp://user:hunter2@host/x'], { timeoutMs: 1_000 })).toThrow(/^FORWARD_URLS: ftp:\/\/ destinations are not supported$/);
  });
});

describe('loadStarpayKeys', () => {
  it('names the variable whose key cannot be read or parsed', async () => {
    const keysOf = (env: Record<string, string>) => loadStarpayKeys(loadConfig(env).providers.starpay, { dataDir: '/nonexistent', developmentStandIns: false });
    await expect(keysOf({ STARPAY_PUBLIC_KEYS_FILE: '/nonexistent/keys.pem' })).rejects.toThrow(/^STARPAY_PUBLIC_KEYS_FILE: cannot read/);
    await expect(keysOf({ STARPAY_PUBLIC_KEYS: 'not-a-key' })).rejects.toThrow(/^STARPAY_PUBLIC_KEYS: /);
  });
});

describe('createDestinations', () => {
  it('refuses a destination listed twice, credentials aside, naming it without them', async () => {
    const { createDestinations } = await import('../../src/destinations/index.js');
    const build = () =>
      createDestinations(['https://merchant:one@hooks.example/a', 'https://merchant:two@hooks.example/a'], {
        timeoutMs: 1_000,
        webhookSecret: 'whsec_dGVzdA==',
      });
    expect(build).toThrow('FORWARD_URLS: https://***:***@hooks.example/a is listed twice (credentials aside)');
    expect(build).not.toThrow(/one|two/);
  });
});
