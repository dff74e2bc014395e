import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { mintToken, parseOpsTokens } from '../../src/auth/ops-tokens.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    return (error as ConfigError).problems;
  }
};

describe('OPS_TOKENS', () => {
  it('reads named tokens with their scopes, and OPS_API_TOKEN as default/operate', () => {
    const config = loadConfig({ OPS_API_TOKEN: 'legacy-token', OPS_TOKENS: ` alice:read:${sha('a')} , ci-bot:operate:${sha('b')}` });
    expect(config.opsTokens).toEqual([
      { name: 'default', scope: 'operate', sha256: sha('legacy-token') },
      { name: 'alice', scope: 'read', sha256: sha('a') },
      { name: 'ci-bot', scope: 'operate', sha256: sha('b') },
    ]);
  });

  it('stops start-up on an unknown scope or a malformed entry, naming each entry but never its hash', () => {
    const found = problems({
      OPS_TOKENS: `alice:admin:${sha('a')},bob:read:${sha('b').toUpperCase()},carol:read,dave:operate:${sha('d')}:x,:read:${sha('e')}`,
    });
    expect(found).toEqual([
      'OPS_TOKENS entry 1 (alice) has an unknown scope: must be read or operate',
      "OPS_TOKENS entry 2 (bob) must end in the token's SHA-256 as 64 lowercase hex digits",
      'OPS_TOKENS entry 3 (carol) must be NAME:SCOPE:SHA256HEX',
      'OPS_TOKENS entry 4 (dave) must be NAME:SCOPE:SHA256HEX',
      'OPS_TOKENS entry 5 has a bad name: 1-64 of A-Z a-z 0-9 _ . @ -, starting with a letter or digit',
    ]);
    expect(found.join('\n')).not.toMatch(/[0-9a-fA-F]{16}/);
  });

  it('refuses a repeated name or hash, and a token named default beside OPS_API_TOKEN', () => {
    expect(problems({ OPS_TOKENS: `a:read:${sha('a')},a:operate:${sha('b')},b:read:${sha('a')}` })).toEqual([
      'OPS_TOKENS entry 2 (a) repeats the name a',
      'OPS_TOKENS entry 3 (b) repeats the hash of another entry',
    ]);
    expect(problems({ OPS_API_TOKEN: 'x', OPS_TOKENS: `default:read:${sha('a')}` })).toEqual([
      "OPS_TOKENS names a token default, which is OPS_API_TOKEN's name",
    ]);
  });

  it('is enough in production without OPS_API_TOKEN; neither is refused', () => {
    expect(problems({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x', STARPAGO_APP_SECRET: 's', OPS_TOKENS: `a:read:${sha('a')}` })).toEqual([]);
    expect(problems({ NODE_ENV: 'production', DATABASE_URL: 'postgres://db/x', STARPAGO_APP_SECRET: 's' })).toEqual([
      'OPS_API_TOKEN or OPS_TOKENS is required in production',
    ]);
  });

  it('single sign-on needs its client id, someone to sign in, and in production an https issuer', () => {
    expect(problems({ OIDC_ISSUER_URL: 'https://accounts.google.com' })).toEqual([
      'OIDC_CLIENT_ID is required with the other OIDC_ variables',
      'OIDC_OPERATE_EMAILS or OIDC_READ_EMAILS is required with OIDC_ISSUER_URL: nobody could sign in',
    ]);
    expect(problems({ OIDC_ISSUER_URL: 'https://a.example', OIDC_CLIENT_ID: 'c', OIDC_READ_EMAILS: 'ana@example.com, not-an-address' })).toEqual([
      'OIDC_READ_EMAILS each entry must be an e-mail address or *@domain',
    ]);
    const sso = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://db/x',
      STARPAGO_APP_SECRET: 's',
      OPS_TOKENS: `a:read:${sha('a')}`,
      OIDC_CLIENT_ID: 'c',
      OIDC_OPERATE_EMAILS: '*@Example.com',
    };
    expect(problems({ ...sso, OIDC_ISSUER_URL: 'http://idp.example' })).toEqual(['OIDC_ISSUER_URL must be https:// in production (or a loopback address)']);
    expect(loadConfig({ ...sso, OIDC_ISSUER_URL: 'http://127.0.0.1:8080' }).oidc).toMatchObject({ operateEmails: ['*@example.com'], readEmails: [] });
  });

  it('a malformed entry stops the service at start-up with one line', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: { PATH: process.env.PATH, OPS_TOKENS: 'alice:admin:00', DATA_DIR: '/nonexistent' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual(['invalid configuration: OPS_TOKENS entry 1 (alice) has an unknown scope: must be read or operate']);
  }, 60_000);
});

describe('minting a token', () => {
  it('gives a random token whose entry OPS_TOKENS accepts and whose hash is the entry', () => {
    const { token, entry } = mintToken('alice', 'read');
    expect(token).toMatch(/^ops_[A-Za-z0-9_-]{43}$/);
    expect(entry).toBe(`alice:read:${sha(token)}`);
    expect(parseOpsTokens(entry)).toEqual({ tokens: [{ name: 'alice', scope: 'read', sha256: sha(token) }], problems: [] });
    expect(mintToken('alice', 'read').token).not.toBe(token);
  });

  it('the token script prints a token and its entry, and refuses an unknown scope', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/token-cli.ts', 'ci-bot', 'operate'], { encoding: 'utf8' });
    const token = /: (ops_\S+)\n/.exec(out)?.[1] ?? '';
    expect(out).toContain(`OPS_TOKENS entry: ci-bot:operate:${sha(token)}\n`);
    const refused = spawnSync(process.execPath, ['--import', 'tsx', 'src/token-cli.ts', 'ci-bot', 'admin'], { encoding: 'utf8' });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('usage: npm run token -- NAME read|operate');
  }, 60_000);
});
