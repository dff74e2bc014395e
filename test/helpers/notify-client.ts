import type { KeyObject } from 'node:crypto';
import { requestFields, signedBody } from './starpay.js';

export interface NotifyReply {
  status: number;
  body: string;
}

/** POSTs one notification over real HTTP; a connection-level failure resolves with status 0. */
export async function postNotification(baseUrl: string, kind: string, body: string): Promise<NotifyReply> {
  try {
    const response = await fetch(`${baseUrl}/notify/starpay/${kind}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    return { status: 0, body: String((error as Error).cause ?? error) };
  }
}

export function signedNotification(privateKey: KeyObject, overrides: Record<string, unknown> = {}): { ref: string; body: string } {
  const fields = requestFields(overrides);
  return { ref: fields.originalMsgId as string, body: signedBody(fields, privateKey) };
}
