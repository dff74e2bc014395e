import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Downstream {
  url: string;
  received(): number;
  /** Answer 503 to everything (a downstream that is down) or 204 again. */
  setFailing(failing: boolean): void;
  /**
   * Forwarding lag of the webhooks received so far for orders whose reference starts with
   * `prefix`, in ms: arrival here minus the event's `timestamp`, which PostgreSQL stamps at the
   * start of the transaction that wrote it, so each lag is at least the true commit → arrival time.
   */
  lagsMs(prefix: string): number[];
  close(): Promise<void>;
}

/** A downstream webhook receiver that answers 204 at once, counts what it got and notes each event's lag. */
export async function startDownstream(): Promise<Downstream> {
  let received = 0;
  let failing = false;
  const lags: { orderRef: string; lagMs: number }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const arrivedAt = Date.now();
      if (failing) {
        res.writeHead(503).end();
        return;
      }
      received += 1;
      res.writeHead(204).end();
      try {
        const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { timestamp: string; data: { orderRef: string } };
        lags.push({ orderRef: event.data.orderRef, lagMs: arrivedAt - Date.parse(event.timestamp) });
      } catch {
        // not an event: counted, no lag
      }
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    received: () => received,
    setFailing: (value) => {
      failing = value;
    },
    lagsMs: (prefix) => lags.filter((lag) => lag.orderRef.startsWith(prefix)).map((lag) => lag.lagMs),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
