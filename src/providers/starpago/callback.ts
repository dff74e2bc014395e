import { isMoneyValue } from '../../domain/amount.js';
import { fieldText } from '../../domain/field-text.js';
import { boundedRequest, truncateUtf8 } from '../../domain/forensics.js';
import { isOrderRef, ORDER_REF_RULE } from '../../domain/order-ref.js';
import type { Notification, Refusal } from '../../domain/provider.js';
import { BodyError, readFields } from './body.js';
import { toStateReport } from './report.js';
import { renderedFields, verifySign, type EmptyValueRule } from './sign.js';
import { V3_STATUSES } from './states.js';

/** A refused callback; a failed v2 signature also says which rules were compared (never the secret). */
export type CallbackRefusal = Refusal & { sign?: { reason: string; rulesTried: EmptyValueRule[]; emptyFields: string[] } };

export type CallbackResult =
  | { ok: true; notification: Notification; generation: 'v2' | 'v3'; /** v2: the empty-value rule that verified. */ rule: EmptyValueRule | null }
  | CallbackRefusal;

/** The fields that decide an order's state or money: each must be exactly what it looks like. */
const DECIDING_FIELDS = ['merOrderNo', 'orderStatus', 'status', 'amount', 'paidAmount', 'realAmount', 'currency', 'updateTime'] as const;
const MONEY_FIELDS = ['amount', 'paidAmount', 'realAmount'] as const;
/** A hint's status as kept: documented ones are a few letters, and nobody signed an invented one. */
const HINT_STATE_BYTES = 64;
/** What a hint keeps when its request is too large to keep whole. */
const HINT_KEPT_FIELDS = [...DECIDING_FIELDS, 'orderNo'] as const;

/**
 * Reads a StarPago payin or payout callback (JSON, or a flat form body). A body with `sign` is v2
 * and must verify against the app secret before anything in it is trusted; a body without one is
 * a v3 hint, read but `unverified`: only a query answer may move its order. Types and the
 * reference alphabet are checked first, signed or not, so no value can be something else in disguise.
 */
export function readCallback(kind: string, body: Buffer, contentType: string | undefined, secret: string | undefined): CallbackResult {
  let text: string;
  let fields: Record<string, unknown>;
  try {
    ({ text, fields } = readFields(body, contentType));
  } catch (error) {
    if (!(error instanceof BodyError)) throw error;
    return { ok: false, code: 'INVALID_ENVELOPE', detail: error.message };
  }
  const orderRef = fieldText(fields.merOrderNo);
  const record = { body: text, request: fields, orderRef, msgId: null };
  const generation = Object.hasOwn(fields, 'sign') ? 'v2' : 'v3';

  const invalid = invalidField(fields, generation);
  if (invalid !== null) return { ok: false, code: 'INVALID_FIELD', detail: invalid, record };

  let dedupKey: string;
  let rule: EmptyValueRule | null = null;
  let signature: string | null = null;
  if (generation === 'v2') {
    if (secret === undefined || secret === '') {
      return { ok: false, code: 'PROVIDER_NOT_CONFIGURED', detail: 'signed callback but no app secret is configured', record };
    }
    const check = verifySign(fields, secret);
    if (!check.ok) {
      const { reason, rulesTried, emptyFields } = check;
      return {
        ok: false,
        code: 'SIGNATURE_INVALID',
        detail: `${reason}; rules tried: ${rulesTried.join(', ') || 'none'}`,
        record,
        sign: { reason, rulesTried, emptyFields },
      };
    }
    // The verified sign is the SHA-256 of the string to sign: the callback's identity.
    dedupKey = `sha256:${check.sign}`;
    rule = check.rule;
    signature = check.sign;
  } else {
    dedupKey = `v3:${hintBucket(fields.status)}`;
  }

  const mapped = toStateReport(kind, fields, generation);
  if (!mapped.ok) return { ok: false, code: 'MISSING_FIELD', detail: mapped.detail, record };

  const report = generation === 'v2' ? mapped.report : { ...mapped.report, rawState: truncateUtf8(mapped.report.rawState, HINT_STATE_BYTES) };
  return {
    ok: true,
    generation,
    rule,
    notification: {
      ...report,
      msgId: null,
      dedupKey,
      status: generation === 'v2' ? 'accepted' : 'unverified',
      // A hint proves nothing: what is kept of it is bounded like a refused request.
      request: generation === 'v2' ? fields : boundedRequest(fields, HINT_KEPT_FIELDS),
      // The string to sign ends with the secret: it is never kept.
      signedText: null,
      signature,
    },
  };
}

/**
 * Hints of one order are one row per documented `status` (a repeat is counted whatever its
 * `updateTime`); an undocumented status is as good as PENDING, so it shares that row.
 */
function hintBucket(status: unknown): string {
  return typeof status === 'string' && (V3_STATUSES as readonly string[]).includes(status) ? status : 'PENDING';
}

/** Why a field cannot be taken as it is, or null. Never echoes a value (it goes to the log). */
function invalidField(fields: Record<string, unknown>, generation: 'v2' | 'v3'): string | null {
  for (const name of MONEY_FIELDS) {
    if (!isMoneyValue(fields[name])) return `${name} is not a number or a numeric string`;
  }
  const ref = fields.merOrderNo;
  if (ref !== undefined && ref !== null && ref !== '') {
    if ((typeof ref !== 'string' && typeof ref !== 'number') || !isOrderRef(String(ref))) return `merOrderNo must be ${ORDER_REF_RULE}`;
  }
  if (generation === 'v2') {
    const merged = mergedDecidingField(fields);
    if (merged !== null) return `${merged} appears inside another field of the string to sign`;
  }
  return null;
}

/**
 * StarPago signs `k=v&k=v…` without quoting, so `{"payMethod": "GCASH&realAmount=5"}` signs like
 * the two fields it hides: a genuine callback's field can be folded into the value before it and
 * disappear. A deciding field that is absent yet appears in the rendering (as `&name=` in a value,
 * a key or a nested object) is therefore refused rather than read as absent. One that is present
 * is unambiguous: keys are unique and sorted, so no re-split can add or move it.
 */
function mergedDecidingField(fields: Record<string, unknown>): string | null {
  const absent = DECIDING_FIELDS.filter((name) => !Object.hasOwn(fields, name));
  if (absent.length === 0) return null;
  const rendered = `&${renderedFields(fields)}`;
  return absent.find((name) => rendered.includes(`&${name}=`)) ?? null;
}
