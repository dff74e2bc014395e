import { isAbsentAmount } from '../../domain/amount.js';
import { fieldText, stringField } from '../../domain/field-text.js';
import type { StateReport } from '../../domain/provider.js';
import { toMinorUnits } from './amount.js';
import { v2State, v3State } from './states.js';

/** v2 bodies carry `orderStatus` and a `sign`; v3 bodies carry a `status` string and no signature. */
export type Generation = 'v2' | 'v3';

export type ReportResult = { ok: true; report: StateReport } | { ok: false; detail: string };

/**
 * A callback's or a query answer's fields mapped onto the service's. `paidAmount` is what was
 * actually paid (Bangladesh's v2 callbacks name it `realAmount`). `trxDate` is `updateTime`
 * (epoch milliseconds) as ISO 8601, or null when it is absent or not epoch milliseconds.
 */
export function toStateReport(kind: string, fields: Record<string, unknown>, generation: Generation): ReportResult {
  const orderRef = fieldText(fields.merOrderNo);
  if (orderRef === null || orderRef.trim() === '') return { ok: false, detail: 'merOrderNo is missing' };

  const stateField = generation === 'v2' ? 'orderStatus' : 'status';
  const raw = fields[stateField];
  const rawState = generation === 'v2' ? fieldText(raw) : stringField(raw);
  if (rawState === null || rawState.trim() === '') return { ok: false, detail: `${stateField} is missing` };

  const currency = stringField(fields.currency);
  const paid = isAbsentAmount(fields.paidAmount) ? fields.realAmount : fields.paidAmount;
  const paidAmount = isAbsentAmount(paid) ? null : toMinorUnits(paid, currency);
  // A paid amount given but unreadable makes the report's amounts unreadable: the requested amount
  // must not stand in for what was paid (an order with an expected amount is then flagged).
  const unreadablePaid = !isAbsentAmount(paid) && paidAmount === null;
  return {
    ok: true,
    report: {
      provider: 'starpago',
      kind,
      orderRef,
      rawState,
      state: generation === 'v2' ? v2State(raw) : v3State(raw),
      amount: unreadablePaid ? null : toMinorUnits(fields.amount, currency),
      paidAmount,
      currency,
      trxDate: epochMillisToIso(fields.updateTime),
      errorCode: null,
      errorMessage: typeof fields.message === 'string' && fields.message !== '' ? fields.message : null,
    },
  };
}

/** `updateTime` as received (number or text), or null: part of a v3 callback's and an answer's identity. */
export function updateTimeText(fields: Record<string, unknown>): string | null {
  return fieldText(fields.updateTime);
}

function epochMillisToIso(value: unknown): string | null {
  const text = fieldText(value);
  if (text === null || !/^\d{1,15}$/.test(text.trim())) return null;
  const date = new Date(Number(text));
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
