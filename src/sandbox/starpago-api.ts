import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signParams, verifySign } from '../providers/starpago/sign.js';

export type FakeStarpagoKind = 'payin' | 'payout';

export interface FakeStarpagoOptions {
  appId: string;
  appSecret: string;
  /** 0 (default): any free port. */
  port?: number;
  host?: string;
  /** `expires_in` of issued tokens; StarPago's is 1800. */
  tokenTtlSeconds?: number;
}

export interface FakeStarpagoQuery {
  version: 'v2' | 'v3';
  kind: FakeStarpagoKind;
  merOrderNo: string | null;
  /** The HTTP status it was answered with. */
  status: number;
  at: number;
}

export interface FakeStarpago {
  /** Base URL, to be used as the StarPago API URL. */
  url: string;
  /**
   * Registers (or replaces) the truth about one order: the fields its query answers carry, e.g.
   * `{ status: 'PAID', amount: '10.50', currency: 'PHP', updateTime }` for v3 or
   * `{ orderStatus: 2, … }` for v2. v2 answers are signed, unless the fields carry their own `sign`.
   */
  setOrder(kind: FakeStarpagoKind, merOrderNo: string, fields: Record<string, unknown>): void;
  deleteOrder(kind: FakeStarpagoKind, merOrderNo: string): void;
  /** While down, every StarPago API call is answered 503 (the /sandbox/ control routes still work). */
  setDown(down: boolean): void;
  /** Every token issued so far stops being accepted. */
  expireTokens(): void;
  /** Requests to the token endpoint, refused ones included. */
  readonly tokenRequests: number;
  readonly queries: FakeStarpagoQuery[];
  close(): Promise<void>;
}

const PATHS: Record<string, { version: 'v2' | 'v3'; kind: FakeStarpagoKind }> = {
  '/api/v2/payment/order/query': { version: 'v2', kind: 'payin' },
  '/api/v2/payout/order/query': { version: 'v2', kind: 'payout' },
  '/api/v3/payment/query': { version: 'v3', kind: 'payin' },
  '/api/v3/payout/query': { version: 'v3', kind: 'payout' },
};
const TOKEN_PATH = '/api/v3/oauth/token';
const SANDBOX_ORDER = /^\/sandbox\/starpago\/orders\/(payin|payout)\/([^/]+)$/;
const BODY_LIMIT = 1024 * 1024;

/**
 * A stand-in for StarPago's API on a real HTTP server: the v3 token grant and order queries, the
 * signed v2 order queries, and `PUT`/`DELETE /sandbox/starpago/orders/:kind/:merOrderNo` (a JSON
 * object of fields) so that another process can register the truth.
 */
export async function startFakeStarpago(options: FakeStarpagoOptions): Promise<FakeStarpago> {
  const ttlSeconds = options.tokenTtlSeconds ?? 1800;
  const orders = new Map<string, Record<string, unknown>>();
  const tokens = new Map<string, number>();
  const queries: FakeStarpagoQuery[] = [];
  let tokenRequests = 0;
  let down = false;

  const key = (kind: string, merOrderNo: string) => `${kind}\n${merOrderNo}`;

  function send(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
  }

  function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const sandbox = SANDBOX_ORDER.exec(url.pathname);
    if (sandbox !== null) return void sandboxOrder(req, res, sandbox[1] as FakeStarpagoKind, decodeURIComponent(sandbox[2] as string), body);
    if (down) return send(res, 503, { code: 503, msg: 'service unavailable' });
    if (url.pathname === TOKEN_PATH && req.method === 'POST') return grantToken(res, body);
    const route = PATHS[url.pathname];
    if (route === undefined || req.method !== 'GET') return send(res, 404, { code: 404, msg: 'no such route' });
    return route.version === 'v3' ? queryV3(req, res, route.kind, url) : queryV2(res, route.kind, url);
  }

  function grantToken(res: ServerResponse, body: string): void {
    tokenRequests += 1;
    const grant = parseObject(body);
    if (grant === null || grant.grant_type !== 'client_credentials') return send(res, 400, { code: 400, msg: 'unsupported grant' });
    if (grant.app_id !== options.appId || grant.app_secret !== options.appSecret) {
      return send(res, 401, { code: 401, msg: 'invalid app_id or app_secret' });
    }
    const token = randomBytes(24).toString('hex');
    tokens.set(token, Date.now() + ttlSeconds * 1000);
    send(res, 200, { code: 0, msg: 'success', data: { token, token_type: 'Bearer', expires_in: ttlSeconds } });
  }

  function queryV3(req: IncomingMessage, res: ServerResponse, kind: FakeStarpagoKind, url: URL): void {
    const merOrderNo = url.searchParams.get('merOrderNo');
    const answer = (status: number, body: unknown) => {
      queries.push({ version: 'v3', kind, merOrderNo, status, at: Date.now() });
      send(res, status, body);
    };
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const expiresAt = token === undefined ? undefined : tokens.get(token);
    if (expiresAt === undefined || Date.now() >= expiresAt) return answer(401, { code: 401, msg: 'token invalid or expired' });
    if (merOrderNo === null || merOrderNo === '') return answer(400, { code: 400, msg: 'merOrderNo is required' });
    const fields = orders.get(key(kind, merOrderNo));
    if (fields === undefined) return answer(404, { code: 404, msg: 'order not found', data: null });
    answer(200, { code: 0, msg: 'success', data: { merOrderNo, ...fields } });
  }

  function queryV2(res: ServerResponse, kind: FakeStarpagoKind, url: URL): void {
    const params = Object.fromEntries(url.searchParams);
    const merOrderNo = params.merOrderNo ?? null;
    const answer = (status: number, body: unknown) => {
      queries.push({ version: 'v2', kind, merOrderNo, status, at: Date.now() });
      send(res, status, body);
    };
    if (params.appId !== options.appId) return answer(401, { code: 401, msg: 'unknown appId' });
    if (!verifySign(params, options.appSecret).ok) return answer(401, { code: 401, msg: 'sign error' });
    const fields =
      merOrderNo !== null
        ? orders.get(key(kind, merOrderNo))
        : [...orders.entries()].find(([k, v]) => k.startsWith(`${kind}\n`) && v.orderNo === params.orderNo)?.[1];
    if (fields === undefined) return answer(404, { code: 404, msg: 'order not found', data: null });
    const data: Record<string, unknown> = { ...(merOrderNo === null ? {} : { merOrderNo }), ...fields };
    // Fields that bring their own sign keep it: that is how an answer with a bad sign is staged.
    if (!Object.hasOwn(fields, 'sign')) data.sign = signParams(data, options.appSecret);
    answer(200, { code: 0, msg: 'success', data });
  }

  function sandboxOrder(req: IncomingMessage, res: ServerResponse, kind: FakeStarpagoKind, merOrderNo: string, body: string): void {
    if (req.method === 'DELETE') {
      orders.delete(key(kind, merOrderNo));
      return void res.writeHead(204).end();
    }
    if (req.method !== 'PUT') return send(res, 405, { code: 405, msg: 'PUT or DELETE' });
    const fields = parseObject(body);
    if (fields === null) return send(res, 400, { code: 400, msg: 'body must be a JSON object of fields' });
    orders.set(key(kind, merOrderNo), fields);
    res.writeHead(204).end();
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        send(res, 413, { code: 413, msg: 'body too large' });
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      if (!res.headersSent) handle(req, res, Buffer.concat(chunks).toString('utf8'));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    url: `http://${host}:${port}`,
    setOrder(kind, merOrderNo, fields) {
      orders.set(key(kind, merOrderNo), { ...fields });
    },
    deleteOrder(kind, merOrderNo) {
      orders.delete(key(kind, merOrderNo));
    },
    setDown(next) {
      down = next;
    },
    expireTokens() {
      tokens.clear();
    },
    get tokenRequests() {
      return tokenRequests;
    },
    queries,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
