import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readEnvelope } from '../../src/providers/starpay/envelope.js';
import { checkSignature } from '../../src/providers/starpay/signature.js';
import { planOrders, type PlanOptions } from '../../src/simulator/plan.js';
import { formatSummary, runSimulation, type RunOptions } from '../../src/simulator/run.js';
import { resendDelays } from '../../src/simulator/schedule.js';
import { generateRsaKeyPair } from '../../src/simulator/key-pair.js';

const { privateKey, publicKey } = generateRsaKeyPair();
const calm: PlanOptions = { kinds: ['repayment'], orders: 1, seed: 1, mchId: '101510000001', duplicates: 0, outOfOrder: 0, forged: 0 };

interface Received {
  path: string;
  body: string;
}

/** A fake receiver: a real HTTP server answering with `answer(n)` for the n-th request (0-based). */
let server: Server | undefined;
async function receiver(answer: (n: number, body: string) => [number, string]): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const [status, text] = answer(received.length, body);
      received.push({ path: request.url ?? '', body });
      response.writeHead(status, { 'content-type': 'text/plain' }).end(text);
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

function runOptions(url: string, waits: number[] = []): RunOptions {
  return {
    url,
    privateKey,
    delays: resendDelays(0.001),
    concurrency: 4,
    timeoutMs: 2_000,
    sleep: async (ms) => void waits.push(ms),
  };
}

/** Answers SUCCESS to a body whose signature verifies, 401 otherwise, reading it as the service does. */
function verifying(_n: number, body: string): [number, string] {
  const envelope = readEnvelope(body, JSON.parse(body));
  const check = checkSignature(envelope.signedText, envelope.signature, [publicKey]);
  return check.ok ? [200, 'SUCCESS'] : [401, '{"code":"SIGNATURE_INVALID"}'];
}

describe('the simulator sending to a receiver', () => {
  it("posts to the kind's path and stops at the first exact SUCCESS", async () => {
    const { url, received } = await receiver(() => [200, 'SUCCESS']);
    const result = await runSimulation(planOrders({ ...calm, kinds: ['static-qr'] }), runOptions(url));
    expect(received.map((r) => r.path)).toEqual(['/notify/starpay/static-qr']);
    expect(formatSummary(result.summary)).toBe('sent 1, SUCCESS 1, refused 0, retried 0');
    expect(result.ok).toBe(true);
  });

  it("resends the same bytes on Starpay's compressed schedule until the reply is exactly SUCCESS", async () => {
    const answers: Array<[number, string]> = [
      [503, '{}'],
      [200, 'OK'],
      [200, 'SUCCESS\n'],
      [200, 'SUCCESS'],
    ];
    const { url, received } = await receiver((n) => answers[n] ?? [500, '']);
    const waits: number[] = [];
    const result = await runSimulation(planOrders(calm), runOptions(url, waits));
    expect(waits).toEqual([30, 120, 240]);
    expect(new Set(received.map((r) => r.body)).size).toBe(1);
    expect(formatSummary(result.summary)).toBe('sent 4, SUCCESS 1, refused 0, retried 3');
    expect(result.ok).toBe(true);
  });

  it('gives up after 9 resends and reports the notification as not acknowledged', async () => {
    const { url } = await receiver(() => [503, '{}']);
    const waits: number[] = [];
    const result = await runSimulation(planOrders(calm), runOptions(url, waits));
    expect(waits).toEqual(resendDelays(0.001));
    expect(formatSummary(result.summary)).toBe('sent 10, SUCCESS 0, refused 0, retried 9');
    expect(result.deliveries[0]).toMatchObject({ outcome: 'unacknowledged', attempts: 10, lastReply: '503', asExpected: false });
    expect(result.ok).toBe(false);
  });

  it('counts a forged notification refused with 401 as expected, and does not resend it', async () => {
    const { url, received } = await receiver(verifying);
    const result = await runSimulation(planOrders({ ...calm, orders: 4, forged: 0.5 }), runOptions(url));
    expect(received).toHaveLength(6);
    expect(formatSummary(result.summary)).toBe('sent 6, SUCCESS 4, refused 2, retried 0');
    expect(result.deliveries.filter((d) => d.notification.role === 'forged').map((d) => d.lastReply)).toEqual([
      '401 SIGNATURE_INVALID',
      '401 SIGNATURE_INVALID',
    ]);
    expect(result.ok).toBe(true);
  });

  it('fails the run when a forged notification is acknowledged or a genuine one refused', async () => {
    const lax = await receiver(() => [200, 'SUCCESS']);
    const accepted = await runSimulation(planOrders({ ...calm, forged: 1 }), runOptions(lax.url));
    expect(formatSummary(accepted.summary)).toBe('sent 2, SUCCESS 2, refused 0, retried 0');
    expect(accepted.ok).toBe(false);
    await new Promise((resolve) => server?.close(resolve));

    const strict = await receiver(() => [403, '{"code":"MERCHANT_MISMATCH"}']);
    const refused = await runSimulation(planOrders(calm), runOptions(strict.url));
    expect(formatSummary(refused.summary)).toBe('sent 1, SUCCESS 0, refused 1, retried 0');
    expect(refused.ok).toBe(false);
    // The reply's error code says why, not just the status.
    expect(refused.deliveries[0]?.lastReply).toBe('403 MERCHANT_MISMATCH');
  });

  it('sends parallel copies of the same bytes, and never more requests at once than the concurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    const received: string[] = [];
    server = createServer((request, response) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () =>
        setTimeout(() => {
          received.push(body);
          inFlight--;
          response.end('SUCCESS');
        }, 20),
      );
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const orders = planOrders({ ...calm, orders: 6, duplicates: 1 });
    const result = await runSimulation(orders, { ...runOptions(url), concurrency: 3 });
    expect(result.summary.sent).toBe(12);
    expect(new Set(received).size).toBe(6);
    expect(peak).toBe(3);
    expect(result.ok).toBe(true);
  });

  it('treats a closed port as unacknowledged and resends', async () => {
    const { url } = await receiver(() => [200, 'SUCCESS']);
    await new Promise((resolve) => server?.close(resolve));
    const result = await runSimulation(planOrders(calm), { ...runOptions(url), delays: [0, 0] });
    expect(formatSummary(result.summary)).toBe('sent 3, SUCCESS 0, refused 0, retried 2');
    expect(result.deliveries[0]?.lastReply).toBe('ECONNREFUSED');
  });
});
