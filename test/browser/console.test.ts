import { access, mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FORWARD_SECRET } from '../helpers/app.js';
import { launchChromium } from '../helpers/chromium.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startFakeDownstream, waitFor, type FakeDownstream } from '../helpers/fake-downstream.js';
import { postNotification } from '../helpers/notify-client.js';
import { SERVER_ENTRY, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';
import { signText } from '../../src/simulator/starpay-envelope.js';
import { requestFields, signedBody } from '../helpers/starpay.js';

/**
 * The ops console in a real Chromium against the built service (`npm run build`) on a real
 * PostgreSQL, with data that arrived the way it does in production: signed Starpay notifications,
 * deliveries to a downstream that fails until it is fixed, and a Starpay query API that answers.
 */

const TOKEN = 'console-ops-token-0123456789abcdef';
/** Outside text a console must show as text: references keep to their alphabet, error messages need not. */
const HOSTILE_TEXT = '<img src=x onerror=alert(1)>';
const HOSTILE_REF = 'RP-HOSTILE-0009';
const SCREENSHOTS = path.resolve('docs');

const starpay = generateRsaKeyPair();
const merchant = generateRsaKeyPair();
let database: TestDatabase;
let sql: pg.Client;
let downstream: FakeDownstream;
let starpayApi: FakeStarpayApi;
let server: ServerProcess;
let browser: Browser;

/** Every request any console page made, and everything that should never happen in one. */
const requests: string[] = [];
const dialogs: string[] = [];
const violations: string[] = [];
let contexts: BrowserContext[] = [];

type Fields = Record<string, unknown> & { originalMsgId: string; msgId: string };
const seeded: Record<string, Fields> = {};

beforeAll(async () => {
  await access(SERVER_ENTRY).catch(() => {
    throw new Error(`${SERVER_ENTRY} is missing: run npm run build first (npm run test:browser does)`);
  });
  database = await createTestDatabase();
  sql = new pg.Client({ connectionString: database.url });
  await sql.connect();
  downstream = await startFakeDownstream(() => ({ status: 500 }));
  starpayApi = await startFakeStarpayApi();
  server = await startServerProcess({
    DATABASE_URL: database.url,
    STARPAY_PUBLIC_KEYS: starpay.publicKeyPem,
    STARPAY_MCH_ID: '101510000001',
    STARPAY_API_URL: starpayApi.url,
    STARPAY_MERCHANT_PRIVATE_KEY: merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    // Only the Reconcile button asks the provider during this file.
    RECONCILE_SCHEDULE: '1d',
    OPS_API_TOKEN: TOKEN,
    FORWARD_URLS: downstream.url,
    FORWARD_SECRET,
    FORWARD_MAX_ATTEMPTS: '1',
    // Every seeded order's first webhook must die; an open breaker would keep them pending.
    BREAKER_FAILURES: '1000',
    LOG_LEVEL: 'fatal',
  });
  browser = await launchChromium();
  await seed();
});

afterEach(async () => {
  await Promise.all(contexts.map((context) => context.close()));
  contexts = [];
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await starpayApi?.close();
  await downstream?.close();
  await sql?.end();
  await database?.drop();
});

async function notify(kind: string, overrides: Record<string, unknown>): Promise<Fields> {
  const fields = requestFields(overrides) as Fields;
  const reply = await postNotification(server.url, kind, signedBody(fields, starpay.privateKey));
  expect(reply).toEqual({ status: 200, body: 'SUCCESS' });
  return fields;
}

/** Orders of every kind and state, each of whose first webhook dies against the failing downstream. */
async function seed(): Promise<void> {
  seeded.paid = await notify('repayment', { originalMsgId: 'RP-20261126-0001', trxState: 'PROCESSING', trxAmount: 123456 });
  seeded.paidFinal = await notify('repayment', { originalMsgId: 'RP-20261126-0001', trxState: 'SUCCESS', trxAmount: 123456 });
  seeded.payout = await notify('disbursement', { originalMsgId: 'DB-20261126-0002', trxState: 'PROCESSING', trxAmount: 250000 });
  seeded.failed = await notify('static-qr', {
    originalMsgId: 'QR-20261126-0003',
    trxState: 'FAIL',
    trxAmount: 9900,
    errorCode: 'E102',
    errorMessage: 'Account closed',
  });
  seeded.waiting = await notify('repayment', { originalMsgId: 'RP-20261126-0004', trxState: 'PROCESSING', trxAmount: 50000 });
  seeded.done = await notify('repayment', { originalMsgId: 'RP-20261126-0005', trxState: 'SUCCESS', trxAmount: 75000 });
  seeded.sent = await notify('disbursement', { originalMsgId: 'DB-20261126-0006', trxState: 'SUCCESS', trxAmount: 100000 });
  seeded.toReconcile = await notify('repayment', { originalMsgId: 'RP-20261126-0007', trxState: 'PROCESSING', trxAmount: 4200 });
  seeded.qrPending = await notify('static-qr', { originalMsgId: 'QR-20261126-0008', trxState: 'PROCESSING', trxAmount: 1500 });
  seeded.hostile = await notify('repayment', { originalMsgId: HOSTILE_REF, trxState: 'SUCCESS', trxAmount: 666, errorMessage: HOSTILE_TEXT });
  seeded.conflicted = await notify('disbursement', { originalMsgId: 'DB-20261126-0010', trxState: 'SUCCESS', trxAmount: 30000 });
  await notify('disbursement', { originalMsgId: 'DB-20261126-0010', trxState: 'FAILED', trxAmount: 30000 });
  starpayApi.settles.add(seeded.toReconcile.originalMsgId);

  // A forged notification: refused, and kept with its reason.
  const forged = requestFields({ originalMsgId: 'FORGED-0001' });
  const refused = await postNotification(
    server.url,
    'disbursement',
    JSON.stringify({ request: forged, signature: Buffer.from('not a signature').toString('base64') }),
  );
  expect(refused.status).toBe(401);

  // Every order's first webhook fails once and, with one attempt allowed, dies.
  const orders = Number((await sql.query('SELECT count(*) AS n FROM orders')).rows[0].n);
  await waitFor(
    async () => Number((await sql.query("SELECT count(*) AS n FROM deliveries WHERE status = 'dead'")).rows[0].n) === orders,
    30_000,
    'dead deliveries',
  );
}

/** A fresh browser profile at 1280 px in Manila time, recording what the page does. */
async function openConsole(width = 1280): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height: 900 }, timezoneId: 'Asia/Manila', locale: 'en-US' });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('request', (request) => requests.push(request.url()));
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });
  page.on('pageerror', (error) => violations.push(`page error: ${error.message}`));
  await page.goto(`${server.url}/console`);
  return page;
}

async function signIn(page: Page): Promise<void> {
  await page.getByLabel(/token/i).fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/** Runs `action`, waits for the console's next call to `pathname` and for the page to render its answer. */
async function afterCall(page: Page, pathname: string | RegExp, action: () => Promise<unknown>): Promise<void> {
  const answered = page.waitForResponse((response) => {
    const called = new URL(response.url()).pathname;
    return typeof pathname === 'string' ? called === pathname : pathname.test(called);
  });
  // Together: a failing action must not leave the wait for its answer unhandled.
  await Promise.all([answered, action()]);
  await page.getByText('Loading…').waitFor({ state: 'detached' });
}

async function listedRefs(page: Page): Promise<string[]> {
  return page.locator('tbody td.ref a').allTextContents();
}

async function refsInDatabase(where = 'true', values: unknown[] = []): Promise<string[]> {
  const { rows } = await sql.query<{ order_ref: string }>(`SELECT order_ref FROM orders WHERE ${where} ORDER BY updated_at DESC, id DESC`, values);
  return rows.map((row) => row.order_ref);
}

async function openOrder(page: Page, kind: string, orderRef: string): Promise<void> {
  await afterCall(page, `/ops/orders/${kind}/${encodeURIComponent(orderRef)}`, () =>
    page.goto(`${server.url}/console#/orders/${kind}/${encodeURIComponent(orderRef)}`),
  );
}

describe('signing in', () => {
  it('serves the console with a CSP that allows only its own scripts, styles and connections', async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    const response = await page.goto(`${server.url}/console`);
    expect(response?.status()).toBe(200);
    // The tab's icon is one of its own files, so the CSP lets it load.
    const icon = await page.locator('link[rel=icon]').getAttribute('href');
    const iconResponse = await page.request.get(new URL(icon ?? '', `${server.url}/console`).href);
    expect([iconResponse.status(), iconResponse.headers()['content-type']]).toEqual([200, 'image/svg+xml']);
    const headers = response?.headers() ?? {};
    expect(headers['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['referrer-policy']).toBe('no-referrer');
  });

  it('refuses a wrong token with a clear error and keeps nothing', async () => {
    const page = await openConsole();
    await page.getByLabel(/token/i).fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('The service refused this token');
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    expect(await page.getByRole('navigation', { name: 'Main' }).count()).toBe(0);
  });

  it('signs in from the keyboard and keeps the token in this tab only, never in the URL or a cookie', async () => {
    const page = await openConsole();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.getAttribute("type")')).toBe('password');
    await page.keyboard.type(TOKEN);
    await page.keyboard.press('Enter');
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.getByRole('heading', { name: 'Summary' }).waitFor();

    expect(await page.evaluate('Object.values(sessionStorage)')).toEqual([TOKEN]);
    expect(await page.evaluate('localStorage.length')).toBe(0);
    expect(await page.context().cookies()).toEqual([]);
    expect(page.url()).not.toContain(TOKEN);

    // A reload in the same tab stays signed in; signing out forgets the token.
    await page.reload();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel(/token/i).waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  it('shows the summary: orders per kind and state, conflicts and dead deliveries', async () => {
    const page = await openConsole();
    await afterCall(page, '/ops/summary', () => signIn(page));
    expect(await page.getByRole('alert').allTextContents()).toEqual([]);
    const byState = page.getByRole('table');
    const repayment = byState.getByRole('row', { name: /repayment/ });
    expect(await repayment.getByRole('link', { name: 'repayment orders PENDING' }).textContent()).toBe('2');
    expect(await repayment.getByRole('link', { name: 'repayment orders SUCCESS' }).textContent()).toBe('3');
    expect(await page.getByRole('link', { name: /Conflicts/ }).textContent()).toContain('1');
    const dead = Number((await sql.query("SELECT count(*) AS n FROM deliveries WHERE status = 'dead'")).rows[0].n);
    expect(
      await page
        .getByRole('link', { name: /Dead deliveries/ })
        .last()
        .textContent(),
    ).toContain(String(dead));
  });
});

describe('the orders list', () => {
  it('lists orders newest first, each linking to its page', async () => {
    const page = await openConsole();
    await signIn(page);
    await afterCall(page, '/ops/orders', () => page.getByRole('link', { name: 'Orders', exact: true }).click());
    expect(await listedRefs(page)).toEqual(await refsInDatabase());
    const link = page.getByRole('link', { name: 'DB-20261126-0002', exact: true });
    expect(await link.getAttribute('href')).toBe('#/orders/disbursement/DB-20261126-0002');
    // Amounts in major units of their currency; times in the viewer's zone, UTC in the title.
    const row = page.getByRole('row', { name: /DB-20261126-0002/ });
    expect(await row.textContent()).toContain('₱2,500.00');
    const updated = (await sql.query("SELECT updated_at FROM orders WHERE order_ref = 'DB-20261126-0002'")).rows[0].updated_at as Date;
    expect(await row.locator('time').getAttribute('title')).toBe(updated.toISOString());
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, 'console-orders.png'), fullPage: true });
  });

  it('filters by state', async () => {
    const page = await openConsole();
    await signIn(page);
    await afterCall(page, '/ops/orders', () => page.goto(`${server.url}/console#/orders`));
    await page.getByLabel('State', { exact: true }).selectOption('PENDING');
    await afterCall(page, '/ops/orders', () => page.getByRole('button', { name: 'Apply filters' }).click());
    expect(page.url()).toContain('state=PENDING');
    const listed = await listedRefs(page);
    expect(listed).toEqual(await refsInDatabase("state = 'PENDING'"));
    expect(listed).toContain('DB-20261126-0002');
    expect(await page.locator('tbody .badge').allTextContents()).toEqual(listed.map(() => 'PENDING'));
  });

  it("offers the providers and kinds the service serves (GET /ops/providers), a provider's kinds once it is chosen", async () => {
    const page = await openConsole();
    await signIn(page);
    await afterCall(page, '/ops/providers', () => page.goto(`${server.url}/console#/orders`));
    const kinds = page.getByLabel('Kind', { exact: true }).locator('option');
    await expect.poll(() => kinds.allTextContents()).toEqual(['any', 'disbursement', 'repayment', 'static-qr', 'payin', 'payout']);
    expect(await page.getByLabel('Provider', { exact: true }).locator('option').allTextContents()).toEqual(['any', 'starpay', 'starpago']);
    await page.getByLabel('Provider', { exact: true }).selectOption('starpago');
    await expect.poll(() => kinds.allTextContents()).toEqual(['any', 'payin', 'payout']);
    await page.getByLabel('Kind', { exact: true }).selectOption('payin');
    await afterCall(page, '/ops/orders', () => page.getByRole('button', { name: 'Apply filters' }).click());
    expect(page.url()).toContain('provider=starpago');
    expect(page.url()).toContain('kind=payin');
  });

  it('pages with a small limit without skipping or repeating an order', async () => {
    const page = await openConsole();
    await signIn(page);
    await afterCall(page, '/ops/orders', () => page.goto(`${server.url}/console#/orders?limit=3`));
    const pages: string[][] = [await listedRefs(page)];
    while ((await page.getByRole('link', { name: 'Next page' }).count()) > 0) {
      await afterCall(page, '/ops/orders', () => page.getByRole('link', { name: 'Next page' }).click());
      pages.push(await listedRefs(page));
    }
    expect(pages.length).toBeGreaterThan(2);
    for (const one of pages) expect(one.length).toBeLessThanOrEqual(3);
    expect(pages.flat()).toEqual(await refsInDatabase());
    await afterCall(page, '/ops/orders', () => page.getByRole('link', { name: 'First page' }).click());
    expect(await listedRefs(page)).toEqual(pages[0]);
  });

  it('searches by the start of the order reference', async () => {
    const page = await openConsole();
    await signIn(page);
    await afterCall(page, '/ops/orders', () => page.goto(`${server.url}/console#/orders`));
    await page.getByLabel('Order reference starts with').fill('RP-20261126-000');
    await afterCall(page, '/ops/orders', () => page.getByLabel('Order reference starts with').press('Enter'));
    expect(await listedRefs(page)).toEqual(await refsInDatabase("order_ref LIKE 'RP-20261126-000%'"));
    expect(await listedRefs(page)).toHaveLength(4);
  });

  it('reads at 390 px wide without the page scrolling sideways', async () => {
    const page = await openConsole(390);
    await signIn(page);
    await afterCall(page, '/ops/orders', () => page.goto(`${server.url}/console#/orders`));
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await openOrder(page, 'repayment', seeded.paid!.originalMsgId);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
  });
});

describe("an order's page", () => {
  it('shows its fields, the timeline of notifications and events, its deliveries and the raw request', async () => {
    const page = await openConsole();
    await signIn(page);
    await afterCall(page, '/ops/orders', () => page.goto(`${server.url}/console#/orders`));
    await afterCall(page, /^\/ops\/orders\/repayment\//, () => page.getByRole('link', { name: 'RP-20261126-0001', exact: true }).click());

    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Order RP-20261126-0001');
    const fields = page.locator('dl.fields');
    expect(await fields.textContent()).toContain('StateSUCCESS');
    expect(await fields.textContent()).toContain('Amount₱1,234.56');

    const entries = page.locator('ol.timeline > li');
    expect(await entries.count()).toBe(4);
    const heads = await entries.locator('.entry-head').allTextContents();
    expect(heads.filter((head) => head.includes('Notification'))).toHaveLength(2);
    expect(heads.filter((head) => head.includes('Event starpay.repayment.state_changed'))).toHaveLength(2);
    expect(heads.some((head) => head.includes('PENDING → SUCCESS'))).toBe(true);

    // The first raw request, exactly as it was received.
    await page.getByText('Raw request').first().click();
    expect(JSON.parse((await page.locator('pre').first().textContent()) ?? '')).toEqual(seeded.paid);

    // Its first delivery died; the second waits behind it.
    const deliveries = page.locator('article.delivery');
    expect(await deliveries.count()).toBe(2);
    expect(await deliveries.first().textContent()).toContain('dead');
    expect(await deliveries.first().getByRole('table').textContent()).toContain('500');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'console-order.png'), fullPage: true });
  });

  it('says what each notification did, shows a registration and local transaction dates, and never a bare 0 notifications', async () => {
    const late = 'RP-20261126-0011';
    await notify('repayment', { originalMsgId: late, trxState: 'SUCCESS', trxAmount: 9900 });
    await notify('repayment', { originalMsgId: late, trxState: 'PROCESSING', trxAmount: 9900 });
    const registered = 'RP-20261126-0012';
    const put = await fetch(`${server.url}/ops/orders/repayment/${registered}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 77700, currency: 'PHP' }),
    });
    expect(put.status).toBe(201);

    const page = await openConsole();
    await signIn(page);
    await openOrder(page, 'repayment', late);
    const heads = await page.locator('ol.timeline > li .entry-head').allTextContents();
    expect(heads.filter((head) => head.includes('too late, changed nothing: the order was already SUCCESS'))).toHaveLength(1);
    expect(heads.filter((head) => head.includes('changed nothing'))).toHaveLength(1);
    const trxDate = page.locator('dl.fields time[datetime="2024-11-25T17:49:51+08:00"]');
    expect(await trxDate.count()).toBe(1);
    expect(await trxDate.textContent()).not.toBe('2024-11-25T17:49:51+08:00');

    await openOrder(page, 'repayment', registered);
    expect(await page.locator('ol.timeline > li .entry-head').allTextContents()).toEqual([
      expect.stringContaining('Registered by an operator (PUT), expecting ₱777.00'),
    ]);
    expect(await page.locator('dl.fields').textContent()).toContain('Notificationsnone yet (registered, waiting for the provider)');
  });

  it('retries a dead delivery: the downstream receives it and the page shows it delivered', async () => {
    const page = await openConsole();
    await signIn(page);
    await openOrder(page, 'repayment', seeded.paid!.originalMsgId);
    const events = (
      await sql.query<{ public_id: string }>(
        "SELECT e.public_id FROM events e JOIN orders o ON o.id = e.order_id WHERE o.order_ref = 'RP-20261126-0001' ORDER BY e.id",
      )
    ).rows.map((row) => row.public_id);

    downstream.setReply(() => ({ status: 204 }));
    await page.getByRole('button', { name: /^Retry/ }).click();
    await page.getByText(/Retry requested: dlv_\d+ is pending again/).waitFor();

    // Both events of the order, in order: the retried one, then the one that waited behind it.
    await waitFor(
      () => events.every((id) => downstream.received.some((webhook) => webhook.headers['webhook-id'] === id && webhook.status === 204)),
      15_000,
      'both webhooks delivered',
    );
    const delivered = downstream.received.filter((webhook) => webhook.status === 204).map((webhook) => webhook.headers['webhook-id']);
    expect(delivered).toEqual(events);
    await waitFor(
      async () =>
        (await sql.query("SELECT 1 FROM deliveries d JOIN orders o ON o.id = d.order_id WHERE o.order_ref = 'RP-20261126-0001' AND d.status <> 'delivered'"))
          .rowCount === 0,
    );

    await page.reload();
    await page.locator('article.delivery').first().waitFor();
    expect(await page.locator('article.delivery .entry-head .badge').allTextContents()).toEqual(['delivered', 'delivered']);
    expect(await page.getByRole('button', { name: /^Retry/ }).count()).toBe(0);
  });

  it("Reconcile shows the provider's answer and the order it moved", async () => {
    const page = await openConsole();
    await signIn(page);
    await openOrder(page, 'repayment', seeded.toReconcile!.originalMsgId);
    await page.getByRole('button', { name: 'Reconcile' }).click();
    const answer = page.getByText(/^(Provider answered|Reconcile failed):/);
    await answer.waitFor();
    expect(await answer.textContent()).toBe('Provider answered: changed (state SUCCESS).');
    await page.locator('dl.fields', { hasText: 'StateSUCCESS' }).waitFor();
    expect(starpayApi.queries).toContain(seeded.toReconcile!.originalMsgId);
  });

  it('Reconcile shows the error the service returned', async () => {
    const page = await openConsole();
    await signIn(page);
    await openOrder(page, 'static-qr', seeded.qrPending!.originalMsgId);
    await page.getByRole('button', { name: 'Reconcile' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    // static-qr orders have no query by reference.
    expect(await alert.textContent()).toMatch(/^Reconcile failed: 409 NOT_QUERYABLE: /);
  });

  it('shows hostile text from a notification as text, never as markup', async () => {
    const page = await openConsole();
    await signIn(page);
    await afterCall(page, '/ops/orders', () => page.goto(`${server.url}/console#/orders`));
    await page.getByLabel('Order reference starts with').fill('RP-HOSTILE');
    await afterCall(page, '/ops/orders', () => page.getByRole('button', { name: 'Apply filters' }).click());
    expect(await listedRefs(page)).toEqual([HOSTILE_REF]);

    await afterCall(page, /^\/ops\/orders\/repayment\//, () => page.getByRole('link', { name: HOSTILE_REF, exact: true }).click());
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`Order ${HOSTILE_REF}`);
    await page.getByText('Raw request').first().click();
    expect(await page.getByText(HOSTILE_TEXT, { exact: true }).count()).toBeGreaterThan(0);
    expect(await page.locator('pre').first().textContent()).toContain(`"errorMessage": "${HOSTILE_TEXT}"`);
    expect(await page.locator('img').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });
});

describe('dead deliveries and rejected notifications', () => {
  it('lists dead deliveries, each with a Retry button that sends it again', async () => {
    const page = await openConsole();
    await signIn(page);
    await afterCall(page, '/ops/deliveries', () => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dead deliveries' }).click());
    const dead = (await sql.query<{ ref: string }>("SELECT 'dlv_' || d.id AS ref FROM deliveries d WHERE d.status = 'dead' ORDER BY d.id DESC")).rows.map(
      (row) => row.ref,
    );
    expect(dead.length).toBeGreaterThan(0);
    expect(await page.locator('tbody td[data-label="Delivery"]').allTextContents()).toEqual(dead);
    expect(await page.getByRole('button', { name: /^Retry delivery/ }).count()).toBe(dead.length);

    downstream.setReply(() => ({ status: 204 }));
    await afterCall(page, '/ops/deliveries', () => page.getByRole('button', { name: `Retry delivery ${dead[0]}` }).click());
    await page.getByText(`Retry requested: ${dead[0]} is pending again`).waitFor();
    await waitFor(
      async () => (await sql.query("SELECT status FROM deliveries WHERE 'dlv_' || id = $1", [dead[0]])).rows[0].status === 'delivered',
      15_000,
      'delivered',
    );
  });

  it('lists rejected notifications with their reason', async () => {
    const page = await openConsole();
    await signIn(page);
    await afterCall(page, '/ops/notifications', () =>
      page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Rejected notifications' }).click(),
    );
    const entry = page.locator('li', { hasText: 'FORGED-0001' });
    expect(await entry.textContent()).toContain('SIGNATURE_INVALID');
    // Only refused requests: the listing asks for them without StarPago hints.
    const asked = requests.map((url) => new URL(url)).filter((url) => url.pathname === '/ops/notifications');
    expect(asked.some((url) => url.searchParams.get('status') === 'rejected' && url.searchParams.get('hint') === 'false')).toBe(true);
  });
});

describe('destinations and bulk recovery', () => {
  it('shows each dead delivery with its order reference, linking to its order', async () => {
    const page = await openConsole();
    await signIn(page);
    await afterCall(page, '/ops/deliveries', () => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dead deliveries' }).click());
    const { rows } = await sql.query<{ order_ref: string; kind: string }>(
      "SELECT o.order_ref, o.kind FROM deliveries d JOIN orders o ON o.id = d.order_id WHERE d.status = 'dead' ORDER BY d.id DESC",
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(await page.locator('tbody td[data-label="Order"] a').allTextContents()).toEqual(rows.map((row) => row.order_ref));
    const first = rows[0]!;
    await afterCall(page, `/ops/orders/${first.kind}/${encodeURIComponent(first.order_ref)}`, () =>
      page.locator('tbody td[data-label="Order"]').getByRole('link', { name: first.order_ref, exact: true }).first().click(),
    );
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`Order ${first.order_ref}`);
  });

  it('pauses and resumes a destination, and retries its dead deliveries of a time window', async () => {
    downstream.setReply(() => ({ status: 204 }));
    // Half the dead deliveries are two days old: outside the window the operator picks.
    const dead = (await sql.query<{ id: string }>("SELECT id FROM deliveries WHERE status = 'dead' ORDER BY id")).rows.map((row) => row.id);
    expect(dead.length).toBeGreaterThanOrEqual(4);
    const old = dead.slice(0, Math.floor(dead.length / 2));
    await sql.query("UPDATE deliveries SET created_at = now() - interval '2 days' WHERE id = ANY($1::bigint[])", [old]);

    const page = await openConsole();
    await signIn(page);
    await afterCall(page, '/ops/destinations', () => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Destinations' }).click());
    const section = page.getByRole('region', { name: /^Destination dst_[0-9a-f]{12}$/ });
    expect(await section.locator('.badge').textContent()).toBe('healthy');
    expect(await section.locator('p.url').textContent()).toBe(downstream.url);
    expect(await section.locator('dt:has-text("Dead") + dd').textContent()).toBe(String(dead.length));

    await afterCall(page, '/ops/destinations', () => section.getByRole('button', { name: /^Pause destination/ }).click());
    await page.getByText(/dst_[0-9a-f]{12} paused: nothing is sent to it until it is resumed\./).waitFor();
    expect(await section.locator('.badge').textContent()).toBe('paused');
    expect((await sql.query('SELECT paused FROM destinations')).rows).toEqual([{ paused: true }]);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'console-destinations.png'), fullPage: true });

    await afterCall(page, '/ops/destinations', () => section.getByRole('button', { name: /^Resume destination/ }).click());
    await page.getByText(/resumed: its pending deliveries are due now\./).waitFor();
    expect(await section.locator('.badge').textContent()).toBe('healthy');

    // The window starts a day ago, in the viewer's time (the browser runs in Manila, UTC+8).
    const dayAgoInManila = new Date(Date.now() - 86_400_000 + 8 * 3_600_000).toISOString().slice(0, 16);
    await section.getByLabel('Created from').fill(dayAgoInManila);
    await afterCall(page, '/ops/destinations', () => section.getByRole('button', { name: 'Retry dead deliveries' }).click());
    const recent = dead.length - old.length;
    await page.getByText(`${recent} dead ${recent === 1 ? 'delivery' : 'deliveries'} to`).waitFor();
    await waitFor(
      async () => Number((await sql.query("SELECT count(*) AS n FROM deliveries WHERE status = 'dead'")).rows[0].n) === old.length,
      15_000,
      'the window retried',
    );
    const stillDead = (await sql.query<{ id: string }>("SELECT id FROM deliveries WHERE status = 'dead' ORDER BY id")).rows.map((row) => row.id);
    expect(stillDead).toEqual(old);
  });
});

describe('what the console never does', () => {
  it('makes every request to the service it came from, never with the token in a URL, and breaks no CSP rule', () => {
    expect(requests.length).toBeGreaterThan(20);
    const foreign = requests.filter((url) => new URL(url).origin !== server.url);
    expect(foreign).toEqual([]);
    expect(requests.filter((url) => url.includes(TOKEN))).toEqual([]);
    expect(violations).toEqual([]);
    expect(dialogs).toEqual([]);
  });
});

interface FakeStarpayApi {
  url: string;
  /** Order references the query API knows, answered as paid. */
  settles: Set<string>;
  /** Order references it was asked about. */
  queries: string[];
  close(): Promise<void>;
}

/** Starpay's query API (5.4 / 6.2): signed answers, "200" with a trxState for orders it knows, "404" otherwise. */
async function startFakeStarpayApi(): Promise<FakeStarpayApi> {
  const settles = new Set<string>();
  const queries: string[] = [];
  const httpServer: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const envelope = JSON.parse(body) as { request: Record<string, string> | string };
      const request = typeof envelope.request === 'string' ? (JSON.parse(envelope.request) as Record<string, string>) : envelope.request;
      const ref = request.originalMsgId ?? '';
      queries.push(ref);
      const response = settles.has(ref)
        ? {
            code: '200',
            message: 'success',
            msgId: request.msgId,
            mchId: request.mchId,
            originalMsgId: ref,
            trxState: 'SUCCESS',
            trxAmount: 4200,
            currency: 'PHP',
            trxDate: '2026-11-26T10:00:00+08:00',
          }
        : { code: '404', message: 'order not found', msgId: request.msgId, originalMsgId: ref };
      const text = JSON.stringify(response);
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"response":${text},"signature":"${signText(text, starpay.privateKey)}"}`);
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    settles,
    queries,
    close: () =>
      new Promise<void>((resolve) => {
        httpServer.closeAllConnections();
        httpServer.close(() => resolve());
      }),
  };
}
