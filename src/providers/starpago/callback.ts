import type { Notification, Refusal } from '../../domain/provider.js';
import { BodyError, readFields } from './body.js';
import { toStateReport, updateTimeText } from './report.js';
import { verifySign, type EmptyValueRule } from './sign.js';

/** A refused callback; a failed v2 signature also says which rules were compared (never the secret). */
export type CallbackRefusal = Refusal & { sign?: { reason: string; rulesTried: EmptyValueRule[]; emptyFields: string[] } };

export type CallbackResult =
  | { ok: true; notification: Notification; generation: 'v2' | 'v3'; /** v2: the empty-value rule that verified. */ rule: EmptyValueRule | null }
  | CallbackRefusal;

/**
 * Reads a StarPago payin or payout callback (JSON, or a flat form body). A body with `sign` is v2
 * and must verify against the app secret before anything in it is trusted; a body without one is
 * a v3 hint, read but `unverified`: only a query answer may move its order.
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
  const orderRef = typeof fields.merOrderNo === 'string' ? fields.merOrderNo : typeof fields.merOrderNo === 'number' ? String(fields.merOrderNo) : null;
  const record = { body: text, request: fields, orderRef, msgId: null };
  const generation = Object.hasOwn(fields, 'sign') ? 'v2' : 'v3';

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
      return { ok: false, code: 'SIGNATURE_INVALID', detail: `${reason}; rules tried: ${rulesTried.join(', ') || 'none'}`, record, sign: { reason, rulesTried, emptyFields } };
    }
    // The verified sign is the SHA-256 of the string to sign: the callback's identity.
    dedupKey = `sha256:${check.sign}`;
    rule = check.rule;
    signature = check.sign;
  } else {
    const status = typeof fields.status === 'string' ? fields.status : '';
    dedupKey = `v3:${status}:${updateTimeText(fields) ?? ''}`;
  }

  const mapped = toStateReport(kind, fields, generation);
  if (!mapped.ok) return { ok: false, code: 'MISSING_FIELD', detail: mapped.detail, record };

  return {
    ok: true,
    generation,
    rule,
    notification: {
      ...mapped.report,
      msgId: null,
      dedupKey,
      status: generation === 'v2' ? 'accepted' : 'unverified',
      request: fields,
      // The string to sign ends with the secret: it is never kept.
      signedText: null,
      signature,
    },
  };
}
