import { connect, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL that a test can cut (every connection dropped, new ones
 * refused: the database is "down") and restore, slow down, or freeze (the connections open now
 * stay open but carry nothing, as after a failover that sends no reset; new ones work).
 */
export async function startTcpProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  const frozen = new WeakSet<Socket>();
  let down = false;
  let latencyMs = 0;

  const server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    const pipe = (from: Socket, to: Socket) =>
      from.on('data', (chunk: Buffer) => {
        if (frozen.has(from)) return;
        if (latencyMs === 0) to.write(chunk);
        else setTimeout(() => to.write(chunk), latencyMs);
      });
    pipe(client, upstream);
    pipe(upstream, client);
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    port,
    /** `url` with its host and port replaced by the proxy's. */
    rewrite(url: string): string {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    cut() {
      down = true;
      for (const socket of sockets) socket.destroy();
    },
    freeze() {
      for (const socket of sockets) frozen.add(socket);
    },
    restore() {
      down = false;
    },
    setLatency(ms: number) {
      latencyMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export function targetOf(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || 5432) };
}
