import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { awaitRecovery, formatRecovery } from '../../src/simulator/recover.js';
import { planSimulation, type SimulatedOrder } from '../../src/simulator/simulation.js';

const lost = planSimulation({
  kinds: ['disbursement'],
  starpagoKinds: ['payin'],
  starpagoVersion: 'v3',
  orders: 4,
  seed: 9,
  mchId: 'M',
  duplicates: 0,
  outOfOrder: 0,
  forged: 0,
  lose: 1,
});

/** A fake ops API: each order's detail as `detail(order, round)` says, 404 when it returns null. */
let server: Server | undefined;
async function opsApi(detail: (orderRef: string, round: number) => object | null): Promise<{ url: string; auth: Set<string> }> {
  const rounds = new Map<string, number>();
  const auth = new Set<string>();
  server = createServer((req, res) => {
    auth.add(req.headers.authorization ?? '');
    const orderRef = decodeURIComponent((req.url ?? '').split('/').at(-1) ?? '');
    const round = rounds.get(orderRef) ?? 0;
    rounds.set(orderRef, round + 1);
    const body = detail(orderRef, round);
    if (body === null) res.writeHead(404).end('{"code":"NOT_FOUND"}');
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, auth };
}
afterEach(async () => {
  const running = server;
  server = undefined;
  if (running !== undefined) await new Promise((resolve) => running.close(resolve));
});

const byRef = (ref: string) => lost.find((o) => o.orderRef === ref) as SimulatedOrder;
const fastClock = () => {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
};

describe('waiting for lost orders', () => {
  it('counts an order recovered once its final state matches the truth and a query answer is among its notifications', async () => {
    const { url, auth } = await opsApi((ref, round) =>
      round < 2
        ? { order: { state: 'PENDING' }, notifications: [] }
        : { order: { state: byRef(ref).state }, notifications: [{ source: 'notification' }, { source: 'query' }] },
    );
    const settled: string[] = [];
    const result = await awaitRecovery(lost, { url, opsToken: 'tok', timeoutMs: 60_000, ...fastClock(), onSettled: (r) => settled.push(r.order.orderRef) });
    expect(result).toMatchObject({ lost: 4, recovered: 4 });
    expect(settled.sort()).toEqual(lost.map((o) => o.orderRef).sort());
    expect(result.recoveries.every((r) => r.afterMs === 2_000)).toBe(true);
    expect(auth).toEqual(new Set(['Bearer tok']));
    expect(formatRecovery(result)).toBe('lost 4, recovered 4 by query');
  });

  it('does not count a final state that differs from the truth, or one no query brought', async () => {
    const [first, second] = lost;
    const { url } = await opsApi((ref) => {
      if (ref === first?.orderRef) return { order: { state: first.state === 'SUCCESS' ? 'FAILED' : 'SUCCESS' }, notifications: [{ source: 'query' }] };
      if (ref === second?.orderRef) return { order: { state: second.state }, notifications: [{ source: 'notification' }] };
      return { order: { state: byRef(ref).state }, notifications: [{ source: 'query' }] };
    });
    const result = await awaitRecovery(lost, { url, opsToken: 'tok', timeoutMs: 60_000, ...fastClock() });
    expect(formatRecovery(result)).toBe('lost 4, recovered 2 by query');
  });

  it('gives up at the timeout on orders the service never settles or does not know', async () => {
    const { url } = await opsApi((ref) => (ref === lost[0]?.orderRef ? null : { order: { state: 'PENDING' }, notifications: [] }));
    const clock = fastClock();
    const result = await awaitRecovery(lost, { url, opsToken: 'tok', timeoutMs: 5_000, intervalMs: 1_000, ...clock });
    expect(clock.now()).toBe(5_000);
    expect(result).toMatchObject({ lost: 4, recovered: 0 });
    expect(result.recoveries.map((r) => r.state).sort()).toEqual([null, 'PENDING', 'PENDING', 'PENDING'].sort());
    expect(result.recoveries.every((r) => r.afterMs === null)).toBe(true);
  });

  it('has nothing to wait for when nothing was lost', async () => {
    expect(formatRecovery(await awaitRecovery([], { url: 'http://127.0.0.1:9', opsToken: 't', timeoutMs: 1 }))).toBe('lost 0, recovered 0 by query');
  });
});
