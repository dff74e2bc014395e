import { randomInt, sign, type KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { createOutboundClient } from '../../net/outbound-http.js';
import type { QueryAnswer, StateReport } from '../../domain/provider.js';
import { decodeBody, EnvelopeError, parseJson } from './envelope.js';
import { NotificationFieldError, toNotification } from './notification.js';
import { checkSignature } from './signature.js';
import { readSignedMember } from './envelope.js';

/** Starpay kinds with a query by order reference (5.4, 6.2); static-QR payments have none. */
export const STARPAY_QUERY_KINDS = ['disbursement', 'repayment'] as const;
export type StarpayQueryKind = (typeof STARPAY_QUERY_KINDS)[number];

export function isStarpayQueryKind(kind: string): kind is StarpayQueryKind {
  return (STARPAY_QUERY_KINDS as readonly string[]).includes(kind);
}

/**
 * Paths appended to the API URL as they are, and the `service` of each query. The disbursement
 * service name comes from a related deployment of the platform and is an assumption until
 * Starpay confirms it.
 */
export const STARPAY_QUERY_ENDPOINTS = {
  disbursement: { path: '/v1/disburse/query', service: 'unified.disburse.query' },
  repayment: { path: '/v1/repayment/query', service: 'unified.repayment.query' },
} as const satisfies Record<StarpayQueryKind, { path: string; service: string }>;

/** Answer codes (Starpay's result code list) and what they mean for a query. */
const NOT_FOUND_CODES = new Set(['404', '565', '566']);
const TRY_LATER_CODES = new Set(['406', '503', '511', '577']);
const REPEATED_MSG_ID = '403';

/** A 403 means our msgId was seen before: asked again at once, but not forever. */
export const MAX_REPEATED_MSG_ID_RETRIES = 3;

/** A query answer is a few hundred bytes; anything near this is not one. */
const MAX_ANSWER_BYTES = 256 * 1024;

export interface StarpayQueryClientOptions {
  /** STARPAY_API_URL; may carry a path (`…/finance-payment-service`). */
  apiUrl: string;
  mchId: string;
  merchantPrivateKey: KeyObject;
  /** Starpay platform public keys; any of them verifying an answer is enough (rotation). */
  platformKeys: readonly KeyObject[];
  /** Deadline of each HTTP call, connection included. */
  timeoutMs: number;
  newMsgId?: () => string;
  log?: Logger;
}

export interface StarpayQueryClient {
  query(kind: StarpayQueryKind, orderRef: string): Promise<QueryAnswer>;
  close(): Promise<void>;
}

/**
 * A fresh message id per call: 13 digits of epoch milliseconds and 6 random digits, digits only
 * like every msgId in Starpay's samples. A collision across replicas costs one 403 and a retry.
 */
export function newStarpayMsgId(): string {
  return `${Date.now()}${String(randomInt(1_000_000)).padStart(6, '0')}`;
}

export function createStarpayQueryClient(options: StarpayQueryClientOptions): StarpayQueryClient {
  const { mchId, merchantPrivateKey, platformKeys, timeoutMs, log } = options;
  const newMsgId = options.newMsgId ?? newStarpayMsgId;
  const baseUrl = options.apiUrl.replace(/\/+$/, '');
  const client = createOutboundClient({ timeoutMs, maxAnswerBytes: MAX_ANSWER_BYTES });

  async function ask(kind: StarpayQueryKind, orderRef: string, msgId: string): Promise<Asked> {
    const endpoint = STARPAY_QUERY_ENDPOINTS[kind];
    // Written once and sent as written: the signed bytes are exactly the bytes on the wire.
    const requestText = JSON.stringify({ msgId, mchId, originalMsgId: orderRef, service: endpoint.service });
    const signature = sign('sha256', Buffer.from(requestText, 'utf8'), merchantPrivateKey).toString('base64');
    const body = `{"request":${requestText},"signature":${JSON.stringify(signature)}}`;

    const sent = await client.send(`${baseUrl}${endpoint.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body,
      read: 'body',
    });
    if (!sent.ok) return { done: { outcome: 'try_later', detail: sent.error } };
    if (sent.status < 200 || sent.status > 299) return { done: { outcome: 'try_later', detail: `HTTP ${sent.status} from ${endpoint.path}` } };
    const raw = sent.body;

    let answer: { value: Record<string, unknown>; signedText: string };
    try {
      const text = decodeBody(raw);
      const read = readSignedMember(text, parseJson(text), 'response');
      const check = checkSignature(read.signedText, read.signature, platformKeys);
      // An answer nobody can vouch for changes nothing; its content is not even looked at.
      if (!check.ok) {
        log?.warn({ kind, orderRef, msgId, reason: check.reason }, 'starpay query answer unverifiable, ignored');
        return { done: { outcome: 'try_later', detail: `answer signature unverifiable (${check.reason})` } };
      }
      answer = read;
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      return { done: { outcome: 'try_later', detail: `answer unreadable: ${error.message}` } };
    }
    return interpret(kind, orderRef, msgId, answer.value, answer.signedText);
  }

  return {
    async query(kind, orderRef) {
      if (!isStarpayQueryKind(kind)) throw new TypeError(`Starpay has no query for ${String(kind)} orders`);
      for (let attempt = 0; ; attempt++) {
        const msgId = newMsgId();
        const asked = await ask(kind, orderRef, msgId);
        if (asked.done !== undefined) return asked.done;
        if (attempt >= MAX_REPEATED_MSG_ID_RETRIES) {
          return { outcome: 'try_later', detail: `msgId refused as repeated (403) ${attempt + 1} times in a row` };
        }
        log?.warn({ kind, orderRef, msgId, attempt: attempt + 1 }, 'starpay refused the query msgid as repeated, asking again');
      }
    },
    close: () => client.close(),
  };
}

/** `done` is the answer; undefined means "repeated msgId: ask again with a fresh one". */
type Asked = { done: QueryAnswer } | { done?: undefined };

function interpret(kind: StarpayQueryKind, orderRef: string, msgId: string, response: Record<string, unknown>, signedText: string): Asked {
  const code = typeof response.code === 'string' || typeof response.code === 'number' ? String(response.code) : undefined;
  const message = typeof response.message === 'string' ? `: ${response.message}` : '';
  if (code === undefined) return { done: { outcome: 'try_later', detail: 'answer carries no code' } };
  if (code === REPEATED_MSG_ID) return {};
  if (NOT_FOUND_CODES.has(code)) return { done: { outcome: 'not_found', detail: `code ${code}${message}` } };
  if (TRY_LATER_CODES.has(code)) return { done: { outcome: 'try_later', detail: `code ${code}${message}` } };
  if (code !== '200') return { done: { outcome: 'config_error', detail: `code ${code}${message}` } };

  if (typeof response.trxState !== 'string' || response.trxState.trim() === '') {
    return { done: { outcome: 'try_later', detail: 'answer code 200 carries no trxState' } };
  }
  // An answer must name the order it is about: one that does not could be about any order.
  if (response.originalMsgId !== orderRef) {
    const detail =
      response.originalMsgId === undefined ? 'answer does not name its order (no originalMsgId)' : 'answer is about another order (originalMsgId differs)';
    return { done: { outcome: 'try_later', detail } };
  }
  // Read exactly like a notification, so both normalise states and amounts the same way.
  let read;
  try {
    read = toNotification(kind, response, signedText);
  } catch (error) {
    if (!(error instanceof NotificationFieldError)) throw error;
    return { done: { outcome: 'try_later', detail: `answer unreadable: ${error.message}` } };
  }
  const report: StateReport = {
    provider: 'starpay',
    kind,
    orderRef,
    rawState: read.rawState,
    state: read.state,
    amount: read.amount,
    paidAmount: null,
    currency: read.currency,
    trxDate: read.trxDate,
    errorCode: read.errorCode,
    errorMessage: read.errorMessage,
  };
  return { done: { outcome: 'found', report, msgId, providerUpdateTime: null, response } };
}
