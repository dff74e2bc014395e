import type { KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { STARPAY_QUERY_ENDPOINTS, STARPAY_QUERY_KINDS, type StarpayQueryKind } from '../providers/starpay/query-client.js';
import { PLAIN_SPELLING, requestText, type Spelling } from '../simulator/request.js';
import { signText } from '../simulator/starpay-envelope.js';
import { decodeBody, EnvelopeError, parseJson, readEnvelope } from '../providers/starpay/envelope.js';
import { checkSignature } from '../providers/starpay/signature.js';

/** Where the real API lives under its host; the fake does the same so that URL paths are exercised. */
export const FAKE_STARPAY_BASE_PATH = '/finance-payment-service';

/** What Starpay knows about an order: `trxState` and any other answer fields, in answer order. */
export const FakeStarpayOrderSchema = z
  .object({
    trxState: z.string().min(1),
    trxAmount: z.union([z.number().int(), z.string()]).optional(),
    currency: z.string().optional(),
    trxDate: z.string().optional(),
    errorCode: z.string().optional(),
    errorMessage: z.string().optional(),
  })
  .catchall(z.union([z.string(), z.number()]));
export type FakeStarpayOrder = z.infer<typeof FakeStarpayOrderSchema>;

export const FakeStarpayFailureSchema = z.object({
  code: z.union([z.string().regex(/^\d+$/), z.number().int()]).transform(String),
  times: z.number().int().positive().default(1),
});

/** Result code texts from Starpay's code list, for the answers the fake gives. */
const CODE_MESSAGES: Record<string, string> = {
  '200': 'success',
  '400': 'Bad request',
  '401': 'Invalid signature',
  '403': 'Repeated msgId',
  '404': 'Not found',
  '406': 'Requests are too frequent',
  '410': 'Configuration error',
  '412': 'Illegal parameter',
  '503': 'System is busy',
  '511': 'Transaction is in process',
  '513': 'Merchant not found',
  '514': 'Service not supported',
  '565': 'Disbursement order is null',
  '566': 'Repayment order is null',
  '577': 'System maintenance in progress',
};

const NOT_FOUND_CODE: Record<StarpayQueryKind, string> = { disbursement: '565', repayment: '566' };

export interface FakeStarpayRequest {
  at: Date;
  path: string;
  kind: StarpayQueryKind | null;
  /** Whether the request's signature verified with the merchant public key over the text sent. */
  signatureVerified: boolean;
  msgId: string | null;
  originalMsgId: string | null;
  service: string | null;
  /** The body exactly as received. */
  body: string;
  /** The result code the fake answered. */
  code: string;
  /** The answer body exactly as sent. */
  answer: string;
}

export interface FakeStarpayOptions {
  merchantPublicKey: KeyObject;
  platformPrivateKey: KeyObject;
  mchId: string;
  /** 0 (the default) lets the OS pick a free port. */
  port?: number;
  host?: string;
  /** Called after each query is answered, e.g. to print it. */
  onRequest?: (request: FakeStarpayRequest) => void;
}

export interface FakeStarpay {
  /** The API base URL, with its path: what STARPAY_API_URL is set to. */
  url: string;
  /** The server's origin, where `/sandbox/starpay/*` is served. */
  origin: string;
  setOrder(kind: StarpayQueryKind, orderRef: string, fields: FakeStarpayOrder): void;
  /** The next `times` queries are answered with `code` (406, 503, 403, 410…). */
  failNext(code: string | number, times?: number): void;
  /** Signs answers with another key (an impostor), or again with the platform key when null. */
  signWith(key: KeyObject | null): void;
  /** How answers are spelled: `10000.00`, `\/` and `\u00f1` are all valid JSON Starpay may send. */
  spellWith(spelling: Spelling): void;
  readonly requests: readonly FakeStarpayRequest[];
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

/**
 * A real HTTP server standing in for Starpay's query API (5.4, 6.2): it checks each request's
 * signature with the merchant public key, refuses a repeated msgId, and signs every answer with the
 * platform key over the exact text it sends. The truth about orders is registered in-process or by
 * `PUT /sandbox/starpay/orders/:kind/:orderRef`, so a separate process can drive it.
 */
export async function startFakeStarpay(options: FakeStarpayOptions): Promise<FakeStarpay> {
  const orders = new Map<string, FakeStarpayOrder>();
  const seenMsgIds = new Set<string>();
  const failures: string[] = [];
  const requests: FakeStarpayRequest[] = [];
  let signingKey = options.platformPrivateKey;
  let spelling: Spelling = PLAIN_SPELLING;

  const orderKey = (kind: string, orderRef: string) => `${kind}\u0000${orderRef}`;

  /** Signs the exact text it sends; returns the body. */
  function answer(res: ServerResponse, fields: Record<string, string | number>): string {
    const text = requestText(fields, spelling);
    const body = `{"response":${text},"signature":${JSON.stringify(signText(text, signingKey))}}`;
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body);
    return body;
  }

  function handleQuery(kind: StarpayQueryKind, path: string, raw: Buffer, res: ServerResponse): void {
    const body = raw.toString('utf8');
    const entry: FakeStarpayRequest = {
      at: new Date(),
      path,
      kind,
      signatureVerified: false,
      msgId: null,
      originalMsgId: null,
      service: null,
      body,
      code: '400',
      answer: '',
    };
    const reply = (code: string, fields: Record<string, string | number> = {}) => {
      entry.code = code;
      entry.answer = answer(res, { code, message: CODE_MESSAGES[code] ?? 'error', ...fields });
      requests.push(entry);
      options.onRequest?.(entry);
    };

    let request: Record<string, unknown>;
    try {
      const text = decodeBody(raw);
      const envelope = readEnvelope(text, parseJson(text));
      request = envelope.request;
      entry.signatureVerified = checkSignature(envelope.signedText, envelope.signature, [options.merchantPublicKey]).ok;
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      return reply('400');
    }
    entry.msgId = typeof request.msgId === 'string' ? request.msgId : null;
    entry.originalMsgId = typeof request.originalMsgId === 'string' ? request.originalMsgId : null;
    entry.service = typeof request.service === 'string' ? request.service : null;

    if (!entry.signatureVerified) return reply('401');
    const failure = failures.shift();
    if (failure !== undefined) {
      if (entry.msgId !== null) seenMsgIds.add(entry.msgId);
      return reply(failure);
    }
    if (request.mchId !== options.mchId) return reply('513');
    if (entry.service !== STARPAY_QUERY_ENDPOINTS[kind].service) return reply('514');
    if (entry.msgId === null || entry.msgId === '' || entry.originalMsgId === null) return reply('412');
    if (seenMsgIds.has(entry.msgId)) return reply('403');
    seenMsgIds.add(entry.msgId);

    const order = orders.get(orderKey(kind, entry.originalMsgId));
    if (order === undefined) return reply(NOT_FOUND_CODE[kind]);
    const fields = Object.fromEntries(Object.entries(order).filter(([, v]) => v !== undefined)) as Record<string, string | number>;
    reply('200', { msgId: entry.msgId, mchId: options.mchId, originalMsgId: entry.originalMsgId, ...fields });
  }

  function handleSandbox(method: string, path: string, body: string, res: ServerResponse): boolean {
    const order = /^\/sandbox\/starpay\/orders\/([^/]+)\/([^/]+)$/.exec(path);
    if (order !== null && method === 'PUT') {
      const kind = decodeURIComponent(order[1] as string);
      const orderRef = decodeURIComponent(order[2] as string);
      if (!(STARPAY_QUERY_KINDS as readonly string[]).includes(kind)) {
        json(res, 404, { error: `no query for ${kind} orders; use ${STARPAY_QUERY_KINDS.join(' or ')}` });
        return true;
      }
      const parsed = FakeStarpayOrderSchema.safeParse(safeJson(body));
      if (!parsed.success) {
        json(res, 400, { error: z.prettifyError(parsed.error) });
        return true;
      }
      orders.set(orderKey(kind, orderRef), parsed.data);
      json(res, 200, { kind, orderRef, fields: parsed.data });
      return true;
    }
    if (path === '/sandbox/starpay/fail-next' && method === 'POST') {
      const parsed = FakeStarpayFailureSchema.safeParse(safeJson(body));
      if (!parsed.success) {
        json(res, 400, { error: z.prettifyError(parsed.error) });
        return true;
      }
      failures.push(...Array.from({ length: parsed.data.times }, () => parsed.data.code));
      json(res, 200, { pending: failures.length });
      return true;
    }
    if (path === '/sandbox/starpay/requests' && method === 'GET') {
      json(res, 200, { requests });
      return true;
    }
    return false;
  }

  const queryPaths = new Map<string, StarpayQueryKind>(
    STARPAY_QUERY_KINDS.map((kind) => [`${FAKE_STARPAY_BASE_PATH}${STARPAY_QUERY_ENDPOINTS[kind].path}`, kind]),
  );

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return json(res, 413, { error: 'body too large' });
      const raw = Buffer.concat(chunks);
      const path = new URL(req.url ?? '/', 'http://fake').pathname;
      const method = req.method ?? 'GET';
      const kind = queryPaths.get(path);
      if (kind !== undefined && method === 'POST') return handleQuery(kind, path, raw, res);
      if (handleSandbox(method, path, raw.toString('utf8'), res)) return;
      json(res, 404, { error: `nothing at ${method} ${path}` });
    });
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url: `${origin}${FAKE_STARPAY_BASE_PATH}`,
    origin,
    setOrder(kind, orderRef, fields) {
      orders.set(orderKey(kind, orderRef), FakeStarpayOrderSchema.parse(fields));
    },
    failNext(code, times = 1) {
      const { code: parsed, times: count } = FakeStarpayFailureSchema.parse({ code, times });
      failures.push(...Array.from({ length: count }, () => parsed));
    },
    signWith(key) {
      signingKey = key ?? options.platformPrivateKey;
    },
    spellWith(next) {
      spelling = next;
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

function safeJson(text: string): unknown {
  try {
    return parseJson(text);
  } catch {
    return undefined;
  }
}
