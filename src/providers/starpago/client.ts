import { isMoneyValue } from '../../domain/amount.js';
import { createOutboundClient } from '../../net/outbound-http.js';
import type { QueryAnswer } from '../../domain/provider.js';
import { BodyError, readJsonObject } from './body.js';
import { toStateReport, updateTimeText, type Generation } from './report.js';
import type { StarpagoKind } from './kinds.js';
import { signParams, verifySign } from './sign.js';

/**
 * Every StarPago API path, appended as is to the configured base URL (which may carry a path).
 * The v2 query paths and the v3 token path are documented; the v3 query paths are an assumption
 * until StarPago confirms them, kept here so that confirming them is a one-line change.
 */
export const STARPAGO_PATHS = {
  v2: {
    payin: '/api/v2/payment/order/query',
    payout: '/api/v2/payout/order/query',
  },
  v3: {
    token: '/api/v3/oauth/token',
    payin: '/api/v3/payment/query',
    payout: '/api/v3/payout/query',
  },
} as const;

export type { StarpagoKind } from './kinds.js';

export interface StarpagoClientOptions {
  apiUrl: string;
  appId: string;
  appSecret: string;
  apiVersion: Generation;
  /** Per HTTP call (token and query alike). */
  timeoutMs: number;
  now?: () => number;
}

export interface StarpagoClient {
  query(kind: StarpagoKind, merOrderNo: string): Promise<QueryAnswer>;
  /** Closes its connections. */
  close(): Promise<void>;
}

/** A token is renewed this long before StarPago says it expires: a tenth of its life, at most a minute. */
const RENEW_MARGIN_MAX_MS = 60_000;
/** Larger answers are refused: no StarPago answer comes near it. */
const MAX_ANSWER_BYTES = 256 * 1024;
/** StarPago's documented token lifetime, used when an answer omits `expires_in`. */
const DEFAULT_TOKEN_TTL_SECONDS = 1800;

interface HttpAnswer {
  status: number;
  text: string;
}

type Failure = Extract<QueryAnswer, { outcome: 'try_later' | 'config_error' | 'not_found' }>;

export function createStarpagoClient(options: StarpagoClientOptions): StarpagoClient {
  const base = options.apiUrl.replace(/\/+$/, '');
  const now = options.now ?? Date.now;

  const client = createOutboundClient({ timeoutMs: options.timeoutMs, maxAnswerBytes: MAX_ANSWER_BYTES });

  async function call(method: 'GET' | 'POST', url: string, headers: Record<string, string>, body?: string): Promise<HttpAnswer | Failure> {
    const sent = await client.send(url, { method, headers, ...(body === undefined ? {} : { body }), read: 'body' });
    if (!sent.ok) return { outcome: 'try_later', detail: sent.error };
    return { status: sent.status, text: sent.body.toString('utf8') };
  }

  // v3 token: reused until shortly before it expires; one request in flight at a time.
  let cached: { token: string; renewAt: number } | null = null;
  let inFlight: Promise<{ token: string } | Failure> | null = null;

  function token(): Promise<{ token: string } | Failure> {
    if (cached !== null && now() < cached.renewAt) return Promise.resolve({ token: cached.token });
    inFlight ??= fetchToken().finally(() => {
      inFlight = null;
    });
    return inFlight;
  }

  async function fetchToken(): Promise<{ token: string } | Failure> {
    const body = JSON.stringify({ grant_type: 'client_credentials', app_id: options.appId, app_secret: options.appSecret });
    const answer = await call('POST', base + STARPAGO_PATHS.v3.token, { 'content-type': 'application/json' }, body);
    if ('outcome' in answer) return answer;
    const parsed = parseAnswer(answer.text);
    const code = parsed === null ? null : codeOf(parsed.code);
    if (answer.status === 400 || answer.status === 401 || answer.status === 403 || code === 400 || code === 401 || code === 403) {
      return { outcome: 'config_error', detail: `token refused: HTTP ${answer.status}${code === null ? '' : `, code ${code}`}` };
    }
    if (answer.status < 200 || answer.status >= 300) return { outcome: 'try_later', detail: `token: HTTP ${answer.status}` };
    if (parsed === null) return { outcome: 'try_later', detail: 'token: answer is not a JSON object' };
    if (code !== 0) return { outcome: 'try_later', detail: `token: code ${String(parsed.code)}` };
    const data = isObject(parsed.data) ? parsed.data : {};
    if (typeof data.token !== 'string' || data.token === '') return { outcome: 'try_later', detail: 'token: answer lacks data.token' };
    const ttlSeconds = typeof data.expires_in === 'number' && data.expires_in > 0 ? data.expires_in : DEFAULT_TOKEN_TTL_SECONDS;
    const ttlMs = ttlSeconds * 1000;
    cached = { token: data.token, renewAt: now() + ttlMs - Math.min(RENEW_MARGIN_MAX_MS, ttlMs / 10) };
    return { token: data.token };
  }

  async function queryV3(kind: StarpagoKind, merOrderNo: string): Promise<QueryAnswer> {
    const url = `${base}${STARPAGO_PATHS.v3[kind]}?${new URLSearchParams({ merOrderNo }).toString()}`;
    for (let attempt = 1; ; attempt++) {
      const granted = await token();
      if ('outcome' in granted) return granted;
      const answer = await call('GET', url, { authorization: `Bearer ${granted.token}`, accept: 'application/json' });
      if ('outcome' in answer) return answer;
      const parsed = parseAnswer(answer.text);
      const refused = answer.status === 401 || (parsed !== null && codeOf(parsed.code) === 401);
      if (!refused) return readAnswer(kind, merOrderNo, answer, parsed, 'v3');
      // A token StarPago no longer accepts (revoked, clock skew): forget it and ask once more.
      if (cached?.token === granted.token) cached = null;
      if (attempt === 2) return { outcome: 'config_error', detail: 'query refused a freshly issued token' };
    }
  }

  async function queryV2(kind: StarpagoKind, merOrderNo: string): Promise<QueryAnswer> {
    const params = { appId: options.appId, merOrderNo };
    const query = new URLSearchParams({ ...params, sign: signParams(params, options.appSecret) });
    const answer = await call('GET', `${base}${STARPAGO_PATHS.v2[kind]}?${query.toString()}`, { accept: 'application/json' });
    if ('outcome' in answer) return answer;
    return readAnswer(kind, merOrderNo, answer, parseAnswer(answer.text), 'v2');
  }

  function readAnswer(kind: StarpagoKind, merOrderNo: string, answer: HttpAnswer, parsed: Record<string, unknown> | null, generation: Generation): QueryAnswer {
    const code = parsed === null ? null : codeOf(parsed.code);
    if (answer.status === 404 || code === 404) return { outcome: 'not_found', detail: `HTTP ${answer.status}${code === null ? '' : `, code ${code}`}` };
    if (answer.status < 200 || answer.status >= 300) return { outcome: 'try_later', detail: `HTTP ${answer.status}` };
    if (parsed === null) return { outcome: 'try_later', detail: 'answer is not a JSON object' };
    if (code !== 0)
      return { outcome: 'try_later', detail: `code ${String(parsed.code)}${typeof parsed.msg === 'string' ? `: ${parsed.msg.slice(0, 200)}` : ''}` };
    if (!isObject(parsed.data)) return { outcome: 'try_later', detail: 'answer lacks data' };
    const data = parsed.data;
    if (generation === 'v2') {
      // An answer that cannot be verified changes nothing.
      const check = verifySign(data, options.appSecret);
      if (!check.ok)
        return { outcome: 'try_later', detail: `answer sign does not verify (${check.reason}; rules tried: ${check.rulesTried.join(', ') || 'none'})` };
    }
    // An answer must name the order it is about: one that does not could be about any order.
    const answered = data.merOrderNo;
    const sameOrder = (typeof answered === 'string' || typeof answered === 'number') && String(answered) === merOrderNo;
    if (!sameOrder) return { outcome: 'try_later', detail: answered === undefined ? 'answer does not name its order' : 'answer is about another order' };
    const untyped = MONEY_FIELDS.find((name) => !isMoneyValue(data[name]));
    if (untyped !== undefined) return { outcome: 'try_later', detail: `answer's ${untyped} is not a number or a numeric string` };
    const mapped = toStateReport(kind, data, generation);
    if (!mapped.ok) return { outcome: 'try_later', detail: `answer unreadable: ${mapped.detail}` };
    return { outcome: 'found', report: mapped.report, msgId: null, providerUpdateTime: updateTimeText(data), response: parsed };
  }

  return {
    query: (kind, merOrderNo) => (options.apiVersion === 'v2' ? queryV2(kind, merOrderNo) : queryV3(kind, merOrderNo)),
    close: () => client.close(),
  };
}

const MONEY_FIELDS = ['amount', 'paidAmount', 'realAmount'] as const;

function parseAnswer(text: string): Record<string, unknown> | null {
  try {
    return readJsonObject(text);
  } catch (error) {
    if (error instanceof BodyError) return null;
    throw error;
  }
}

/** `code` as a number whether StarPago sends `0` or `"0"`. */
function codeOf(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return Number(value);
  return null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
