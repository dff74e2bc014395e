import type { IncomingHttpHeaders } from 'node:http';
import type { ErrorCode } from './errors.js';
import type { OrderState } from './order-state.js';

/**
 * What a provider said about one order, from a notification or from a query answer, mapped
 * onto the service's fields. Amounts are integer minor units of `currency` (null when unknown).
 */
export interface StateReport {
  provider: string;
  kind: string;
  orderRef: string;
  /** The provider's state as received (`trxState`, `orderStatus`, `status`). */
  rawState: string;
  state: OrderState;
  amount: number | null;
  /** The amount actually paid, when the provider says (StarPago `paidAmount`/`realAmount`). */
  paidAmount: number | null;
  currency: string | null;
  trxDate: string | null;
  errorCode: string | null;
  errorMessage: string | null;
}

/** One inbound notification, authenticated (or, for an unsigned hint, only read) by its provider. */
export interface Notification extends StateReport {
  /** The notification's own message id, when it carries one. */
  msgId: string | null;
  /** What makes a repeat a repeat, unique per (kind, orderRef). */
  dedupKey: string;
  /** `accepted` moves the order; `unverified` is a hint that only a query answer may confirm. */
  status: 'accepted' | 'unverified';
  /** The parsed fields, kept as received. */
  request: Record<string, unknown>;
  /** The exact text that was signed (Starpay), or null. Never holds a secret. */
  signedText: string | null;
  signature: string | null;
}

export interface Refusal {
  ok: false;
  code: ErrorCode;
  /** Internal reason, for the log only. */
  detail: string;
  /** Present when the body was readable: what gets recorded for forensics. */
  record?: { body: string; request: unknown; orderRef: string | null; msgId: string | null };
}

export type VerifyResult = { ok: true; notification: Notification } | Refusal;

/** A provider's answer to "what is the state of this order?". */
export type QueryAnswer =
  | {
      outcome: 'found';
      report: StateReport;
      /** The query's own message id (Starpay), or null. */
      msgId: string | null;
      /** The provider's update time when it gives one: part of the answer's identity. */
      providerUpdateTime: string | null;
      /** The answer as received, parsed. */
      response: Record<string, unknown>;
    }
  | { outcome: 'not_found'; detail: string }
  /** Provider down, busy, timed out, or an answer that could not be verified: ask again later. */
  | { outcome: 'try_later'; detail: string }
  /** The provider refused our request as misconfigured (bad key, merchant id…): logged at error. */
  | { outcome: 'config_error'; detail: string };

/** A payment provider: its notification endpoints, how they are read, and how to ask it. */
export interface Provider {
  /** `starpay`, `starpago`: the path segment and the event type prefix. */
  readonly name: string;
  /** Order kinds, each served at POST /notify/<name>/<kind>; unique across providers. */
  readonly kinds: readonly string[];
  /** False when its secret or keys are not configured: its notifications are answered 401. */
  readonly configured: boolean;
  /** The exact reply body the provider waits for before it stops resending. */
  readonly acknowledgement: string;
  /** Authenticates and reads a raw notification body. Never re-serialises what was signed. */
  verify(kind: string, body: Buffer, headers: IncomingHttpHeaders): VerifyResult;
  /** Asks the provider for one order; absent when the provider has no query API configured. */
  query?(kind: string, orderRef: string): Promise<QueryAnswer>;
  /** Whether orders of this kind can be queried at all (Starpay's static-QR cannot). */
  isQueryable(kind: string): boolean;
  /** The route's description in /openapi.json: a summary, a description and the body's JSON Schema. */
  describe(kind: string): { summary: string; description: string; body: unknown };
}
