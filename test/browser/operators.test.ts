import { createHash } from 'node:crypto';
import { access } from 'node:fs/promises';
import pg from 'pg';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/net/free-port.js';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { FORWARD_SECRET } from '../helpers/app.js';
import { launchChromium } from '../helpers/chromium.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { waitFor } from '../helpers/fake-downstream.js';
import { postNotification } from '../helpers/notify-client.js';
import { resigned, startOidcProvider, withChangedClaims, type TestOidcProvider } from '../helpers/oidc.js';
import { SERVER_ENTRY, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { requestFields, signedBody } from '../helpers/starpay.js';

/**
 * Operators in a real Chromium against the built service: single sign-on through a real OpenID
 * Connect provider (oidc-provider, started here), the Audit page, and the console of a read token.
 */

const OPERATE_TOKEN = 'operators-operate-token-0123456789abcdef';
const READ_TOKEN = 'operators-read-token-0123456789abcdef';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const starpay = generateRsaKeyPair();

let database: TestDatabase;
let sql: pg.Client;
let idp: TestOidcProvider;
let server: ServerProcess;
let appUrl: string;
let browser: Browser;
let contexts: BrowserContext[] = [];
const violations: string[] = [];
let orderRef: string;

beforeAll(async () => {
  await access(SERVER_ENTRY).catch(() => {
    throw new Error(`${SERVER_ENTRY} is missing: run npm run build first (npm run test:browser does)`);
  });
  database = await createTestDatabase();
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  const port = await freePort();
  appUrl = `http://127.0.0.1:${port}`;
  idp = await startOidcProvider({ redirectUris: [`${appUrl}/console/sso/callback`] });
  server = await startServerProcess({
    PORT: String(port),
    DATABASE_URL: database.url,
    STARPAY_PUBLIC_KEYS: starpay.publicKeyPem,
    OPS_TOKENS: `operator:operate:${sha(OPERATE_TOKEN)},auditor:read:${sha(READ_TOKEN)}`,
    OIDC_ISSUER_URL: idp.issuer,
    OIDC_CLIENT_ID: idp.clientId,
    OIDC_CLIENT_SECRET: idp.clientSecret,
    OIDC_OPERATE_EMAILS: 'ana@example.com',
    OIDC_READ_EMAILS: '*@audit.example',
    // A destination nobody listens on: the one delivery dies at its first attempt.
    FORWARD_URLS: 'http://127.0.0.1:9/hook',
    FORWARD_SECRET,
    FORWARD_MAX_ATTEMPTS: '1',
    LOG_LEVEL: 'debug',
  });
  browser = await launchChromium();
  orderRef = `OPS-${Date.now()}`;
  const reply = await postNotification(appUrl, 'repayment', signedBody(requestFields({ originalMsgId: orderRef, trxState: 'PROCESSING' }), starpay.privateKey));
  expect(reply).toEqual({ status: 200, body: 'SUCCESS' });
  await waitFor(async () => (await sql.query("SELECT 1 FROM deliveries WHERE status = 'dead'")).rowCount === 1, 30_000, 'a dead delivery');
});

afterEach(async () => {
  idp.tamperIdTokens(undefined);
  await Promise.all(contexts.map((context) => context.close()));
  contexts = [];
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await idp?.close();
  await sql?.end();
  await database?.drop();
});

async function openConsole(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });
  page.on('pageerror', (error) => violations.push(`page error: ${error.message}`));
  await page.goto(`${appUrl}/console`);
  return page;
}

/** Through the console's button and the provider's own login and consent pages, back to the service. */
async function signInWithSso(page: Page, email: string): Promise<void> {
  await page.getByRole('button', { name: 'Sign in with single sign-on' }).click();
  await page.waitForURL((url) => url.href.startsWith(idp.issuer));
  await page.locator('input[name="login"]').fill(email);
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
  // The provider asks for consent once per account and client.
  const consent = page.getByRole('button', { name: 'Continue' });
  await Promise.race([consent.waitFor().then(() => consent.click()), page.waitForURL((url) => url.href.startsWith(appUrl))]);
  await page.waitForURL((url) => url.href.startsWith(appUrl));
}

const sessionToken = (page: Page) => page.evaluate<string | null>('sessionStorage.getItem("ops-api-token")');
const whoAmI = (token: string) => fetch(`${appUrl}/ops/session`, { headers: { authorization: `Bearer ${token}` } });

async function signInRecords(email: string) {
  const { rows } = await sql.query('SELECT actor, status, details, ip FROM audit_log WHERE action = $1 AND actor = $2 ORDER BY id', ['session.sign_in', email]);
  return rows;
}

describe('single sign-on', () => {
  it('signs in through the provider: the session works, the sign-in is audited, sign-out revokes it', async () => {
    const page = await openConsole();
    await signInWithSso(page, 'ana@example.com');
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    expect(await page.getByLabel('Signed in as').textContent()).toBe('ana@example.com operate');

    const token = await sessionToken(page);
    expect(token).toMatch(/^ses_/);
    expect(page.url()).toBe(`${appUrl}/console`);
    expect(await page.context().cookies(appUrl)).toEqual([]);
    expect(await page.evaluate('sessionStorage.getItem("sso-pending")')).toBeNull();
    expect(await (await whoAmI(token as string)).json()).toEqual({ actor: 'ana@example.com', scope: 'operate', session: true });
    const { rows: stored } = await sql.query('SELECT token_hash, email, scope, expires_at - created_at AS ttl FROM ops_sessions');
    expect(stored).toEqual([
      {
        token_hash: createHash('sha256')
          .update(token as string)
          .digest(),
        email: 'ana@example.com',
        scope: 'operate',
        ttl: expect.objectContaining({ hours: 8 }),
      },
    ]);
    expect(await signInRecords('ana@example.com')).toEqual([
      { actor: 'ana@example.com', status: 200, details: { scope: 'operate', validForHours: 8 }, ip: '127.0.0.1' },
    ]);

    // The Audit page lists the sign-in.
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    const row = page.locator('tbody tr', { hasText: 'session.sign_in' }).first();
    await row.waitFor();
    expect(await row.locator('td[data-label="Actor"]').textContent()).toBe('ana@example.com');
    expect(await row.locator('td[data-label="Status"]').textContent()).toBe('200');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel(/token/i).waitFor();
    expect(await sessionToken(page)).toBeNull();
    expect((await whoAmI(token as string)).status).toBe(401);
  });

  it('refuses an address on neither list with 403 at the callback, and audits the refusal', async () => {
    const page = await openConsole();
    await signInWithSso(page, 'eve@elsewhere.example');
    expect(await page.locator('body').textContent()).toContain('SIGN_IN_REFUSED');
    expect(await sessionToken(page)).toBeNull();
    expect(await signInRecords('eve@elsewhere.example')).toMatchObject([{ status: 403, details: { error: 'SIGN_IN_REFUSED' } }]);
    expect((await sql.query("SELECT 1 FROM ops_sessions WHERE email = 'eve@elsewhere.example'")).rowCount).toBe(0);
  });

  it('gives a *@domain address scope read', async () => {
    const page = await openConsole();
    await signInWithSso(page, 'bo@audit.example');
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    expect(await page.getByLabel('Signed in as').textContent()).toBe('bo@audit.example read only');
  });

  for (const [name, rewrite, reason] of [
    ['a tampered ID token (claims changed under the signature)', (idToken: string) => withChangedClaims(idToken, { email: 'ana@example.com' }), /signature/i],
    [
      'an ID token for another audience, signed by the provider',
      (idToken: string, key: Parameters<typeof resigned>[2]) => resigned(idToken, { aud: 'another-client', email: 'ana@example.com' }, key),
      /"aud"|audience/i,
    ],
  ] as const) {
    it(`refuses ${name}: no session, no sign-in`, async () => {
      const logged = server.output().length;
      idp.tamperIdTokens(rewrite);
      const sessions = (await sql.query('SELECT 1 FROM ops_sessions')).rowCount;
      const signIns = (await signInRecords('ana@example.com')).length;
      const page = await openConsole();
      await signInWithSso(page, 'mallory@elsewhere.example');
      expect(await page.locator('body').textContent()).toContain('SIGN_IN_FAILED');
      expect(await sessionToken(page)).toBeNull();
      expect((await sql.query('SELECT 1 FROM ops_sessions')).rowCount).toBe(sessions);
      expect(await signInRecords('ana@example.com')).toHaveLength(signIns);
      const refusal = server
        .output()
        .slice(logged)
        .split('\n')
        .find((line) => line.includes('sign-in refused'));
      expect(refusal).toMatch(reason);
    });
  }

  it('never writes a session token, token or client secret to the log', () => {
    const output = server.output();
    expect(output).toContain('operator signed in');
    expect(output).not.toMatch(/ses_[A-Za-z0-9_-]{20}/);
    for (const secret of [OPERATE_TOKEN, READ_TOKEN, sha(OPERATE_TOKEN), idp.clientSecret]) expect(output).not.toContain(secret);
    expect(violations).toEqual([]);
  });
});

describe('a read token', () => {
  async function signInWithToken(token: string): Promise<Page> {
    const page = await openConsole();
    await page.getByLabel(/token/i).fill(token);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.getByLabel('Signed in as').waitFor();
    return page;
  }

  it('sees the dead delivery, the order and the destination without Retry, Reconcile or Pause buttons; an operate token sees them', async () => {
    for (const [token, scope, buttons] of [
      [READ_TOKEN, 'auditor read only', 0],
      [OPERATE_TOKEN, 'operator operate', 1],
    ] as const) {
      const page = await signInWithToken(token);
      expect(await page.getByLabel('Signed in as').textContent()).toBe(scope);
      await page.goto(`${appUrl}/console#/deliveries`);
      await page.locator('tbody tr').first().waitFor();
      expect(await page.getByRole('button', { name: /^Retry delivery/ }).count()).toBe(buttons);
      await page.goto(`${appUrl}/console#/orders/repayment/${orderRef}`);
      await page.getByText(orderRef).first().waitFor();
      await page.getByText('Loading…').waitFor({ state: 'detached' });
      expect(await page.getByRole('button', { name: 'Reconcile' }).count()).toBe(buttons);
      expect(await page.getByRole('button', { name: /^Retry delivery/ }).count()).toBe(buttons);
      await page.goto(`${appUrl}/console#/destinations`);
      await page.getByRole('region', { name: /^Destination dst_/ }).waitFor();
      expect(await page.getByRole('button', { name: /^Pause destination/ }).count()).toBe(buttons);
      expect(await page.getByRole('button', { name: 'Retry dead deliveries' }).count()).toBe(buttons);
    }
  });

  it('the Audit page filters by actor and shows refusals', async () => {
    const { rows } = await sql.query<{ id: number }>("SELECT id FROM deliveries WHERE status = 'dead'");
    const refused = await fetch(`${appUrl}/ops/deliveries/dlv_${rows[0]?.id}/retry`, { method: 'POST', headers: { authorization: `Bearer ${READ_TOKEN}` } });
    expect(refused.status).toBe(403);
    const page = await signInWithToken(READ_TOKEN);
    await page.goto(`${appUrl}/console#/audit`);
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await page.getByLabel('Actor').fill('auditor');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/#\/audit\?actor=auditor/);
    // The unfiltered page may still be shown for a moment after the URL changed.
    await expect.poll(() => page.locator('tbody td[data-label="Actor"]').allTextContents(), { timeout: 10_000 }).toEqual(['auditor']);
    const row = page.locator('tbody tr').first();
    expect(await row.locator('td[data-label="Action"]').textContent()).toBe('delivery.retry');
    expect(await row.locator('td[data-label="Status"]').textContent()).toBe('403');
    expect(await row.locator('td[data-label="Details"]').textContent()).toContain('FORBIDDEN_SCOPE');
  });
});
