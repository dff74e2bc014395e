import type { KeyObject } from 'node:crypto';
import http from 'node:http';
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

/**
 * POSTs one notification on a connection of its own; `sent` resolves once the whole request is
 * in the connected socket's kernel buffer, `reply` with the answer (status 0 on a connection-level
 * failure).
 */
export function sendNotification(baseUrl: string, kind: string, body: string): { sent: Promise<void>; reply: Promise<NotifyReply> } {
  let markSent!: () => void;
  const sent = new Promise<void>((resolve) => (markSent = resolve));
  const reply = new Promise<NotifyReply>((resolve) => {
    const request = http.request(
      `${baseUrl}/notify/starpay/${kind}`,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', (error) => resolve({ status: 0, body: String(error) }));
      },
    );
    request.on('error', (error) => {
      markSent();
      resolve({ status: 0, body: String(error) });
    });
    // Written only once connected: before that, Node buffers it and reports it written all the same.
    request.once('socket', (socket) => socket.once('connect', () => request.end(body, () => markSent())));
  });
  return { sent, reply };
}

export function signedNotification(privateKey: KeyObject, overrides: Record<string, unknown> = {}): { ref: string; body: string } {
  const fields = requestFields(overrides);
  return { ref: fields.originalMsgId as string, body: signedBody(fields, privateKey) };
}
