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
      loadConfig({ PORT: 'eighty', FORWARD_URLS: 'ftp://x', LOG_LEVEL: 'loud', FORWARD_MAX_ATTEMPTS: '0' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      for (const name of ['PORT', 'FORWARD_URLS', 'LOG_LEVEL', 'FORWARD_MAX_ATTEMPTS']) expect(message).toContain(name);
    }
  });

  it('requires the secrets in production, and FORWARD_SECRET whenever FORWARD_URLS is set', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/STARPAY_PUBLIC_KEYS[\s\S]*OPS_API_TOKEN/);
    expect(() => loadConfig({ FORWARD_URLS: 'http://a.example/hook' })).toThrow(/FORWARD_SECRET/);
    expect(loadConfig({ FORWARD_URLS: 'http://a.example/h, https://b.example/h', FORWARD_SECRET: 'whsec_dGVzdA==' }).forward.urls)
      .toEqual(['http://a.example/h', 'https://b.example/h']);
  });
});

describe('loadStarpayKeys', () => {
  it('names the variable whose key cannot be read or parsed', async () => {
    await expect(loadStarpayKeys(loadConfig({ STARPAY_PUBLIC_KEYS_FILE: '/nonexistent/keys.pem' }))).rejects.toThrow(
      /^STARPAY_PUBLIC_KEYS_FILE: cannot read/,
    );
    await expect(loadStarpayKeys(loadConfig({ STARPAY_PUBLIC_KEYS: 'not-a-key' }))).rejects.toThrow(/^STARPAY_PUBLIC_KEYS: /);
  });
});
