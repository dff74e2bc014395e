import type { KeyObject } from 'node:crypto';
import { stringField } from '../../domain/field-text.js';
import { clipForLog } from '../../domain/log-text.js';
import type { VerifyResult } from '../../domain/provider.js';
import { decodeBody, EnvelopeError, isPlainObject, parseJson, readEnvelope } from './envelope.js';
import { NotificationFieldError, toNotification, type NotificationKind, type StarpayNotification } from './notification.js';
import { checkSignature } from './signature.js';

export interface VerifyOptions {
  keys: readonly KeyObject[];
  mchId: string | undefined;
}

/** Everything between the raw body and a notification fit to store, in the contract's order of checks. */
export function verifyNotification(kind: NotificationKind, body: Buffer, options: VerifyOptions): VerifyResult {
  let text: string;
  let parsed: unknown;
  try {
    text = decodeBody(body);
    parsed = parseJson(text);
  } catch (error) {
    return { ok: false, code: 'INVALID_ENVELOPE', detail: (error as Error).message };
  }

  const record = { body: text, ...identify(parsed) };
  let envelope;
  try {
    envelope = readEnvelope(text, parsed);
  } catch (error) {
    if (!(error instanceof EnvelopeError)) throw error;
    return { ok: false, code: 'INVALID_ENVELOPE', detail: error.message, record };
  }

  // Fields are read before the signature is checked: a reference or an amount of the wrong form
  // is refused whether it was signed or not, and costs no RSA work.
  let notification: StarpayNotification;
  try {
    notification = toNotification(kind, envelope.request, envelope.signedText, envelope.signature ?? null);
  } catch (error) {
    if (!(error instanceof NotificationFieldError)) throw error;
    return { ok: false, code: error.code, detail: error.message, record };
  }

  const signature = checkSignature(envelope.signedText, envelope.signature, options.keys);
  if (!signature.ok) {
    const code = signature.reason === 'SIGNATURE_MISMATCH' ? 'SIGNATURE_INVALID' : signature.reason;
    return { ok: false, code, detail: signature.reason, record };
  }
  if (options.mchId !== undefined && notification.mchId !== null && notification.mchId !== options.mchId) {
    return { ok: false, code: 'MERCHANT_MISMATCH', detail: `mchId ${clipForLog(notification.mchId) ?? ''}`, record };
  }
  return { ok: true, notification };
}

/** Best-effort identification of a refused body for the forensic record. */
function identify(parsed: unknown): { request: unknown; orderRef: string | null; msgId: string | null } {
  const envelope: unknown = Array.isArray(parsed) && parsed.length === 1 ? parsed[0] : parsed;
  let request = isPlainObject(envelope) ? envelope.request : undefined;
  if (typeof request === 'string') {
    try {
      request = parseJson(request);
    } catch {
      // keep the string as it came
    }
  }
  const fields = isPlainObject(request) ? request : {};
  return {
    request: request ?? parsed,
    orderRef: stringField(fields.originalMsgId),
    msgId: stringField(fields.msgId),
  };
}
