import type { Destination, DeliveryResult, OutboundEvent, DestinationOptions } from '../domain/destination.js';
import { parseRetryAfter } from '../domain/retry-policy.js';
import { createOutboundClient } from '../net/outbound-http.js';
import { inFlightDeliveries } from './in-flight.js';
import { redactUrl } from './redact-url.js';
import { webhookHeaders } from './webhook-signature.js';

/**
 * An http(s) destination: each event POSTed as a Standard Webhooks request (signed with the
 * secret), through the one outbound HTTP client (timeouts, size cap, error wording). Any 2xx is
 * delivered. Redirects are not followed: a 3xx is a failed attempt like any other non-2xx.
 */
export function createHttpDestination(url: URL, options: DestinationOptions): Destination {
  const secret = options.webhookSecret;
  if (secret === undefined) throw new Error('FORWARD_SECRET is required for http(s) destinations');
  const { timeoutMs } = options;
  // Credentials in the URL travel as HTTP Basic authentication, never in the request line.
  const authorization =
    url.username === '' ? undefined : `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  const bare = new URL(url);
  bare.username = '';
  bare.password = '';
  const target = bare.toString();
  const client = createOutboundClient({ timeoutMs, maxAnswerBytes: 64 * 1024 });
  const inFlight = inFlightDeliveries();

  async function post(event: OutboundEvent): Promise<DeliveryResult> {
    const headers: Record<string, string> = webhookHeaders(secret as string, event.id, Math.floor(Date.now() / 1000), event.body);
    if (authorization !== undefined) headers.authorization = authorization;
    if (event.traceparent !== undefined) headers.traceparent = event.traceparent;
    // Only the status matters; the body is drained so the connection can be reused.
    const answer = await client.send(target, { method: 'POST', headers, body: event.body, read: 'discard' });
    if (!answer.ok) return { ok: false, error: answer.error };
    const statusCode = answer.status;
    if (statusCode >= 200 && statusCode < 300) return { ok: true, statusCode };
    const retryAfter = answer.headers['retry-after'];
    const retryAfterMs = parseRetryAfter(typeof retryAfter === 'string' ? retryAfter : retryAfter?.[0], Date.now());
    return { ok: false, statusCode, error: `HTTP ${statusCode}`, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }

  return {
    id: redactUrl(url.toString()),
    type: 'http',
    deliver: (event) => inFlight.run(() => post(event)),
    async close() {
      await inFlight.drain();
      await client.close();
    },
  };
}
