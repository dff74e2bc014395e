import { Agent, request } from 'undici';
import type { Destination, DeliveryResult, OutboundEvent, DestinationOptions } from '../domain/destination.js';
import { parseRetryAfter } from '../domain/retry-policy.js';
import { inFlightDeliveries } from './in-flight.js';
import { redactUrl } from './redact-url.js';
import { webhookHeaders } from './webhook-signature.js';

/**
 * An http(s) destination: each event POSTed as a Standard Webhooks request (signed with the
 * secret), with explicit connect, header and body timeouts and an overall deadline. Any 2xx is
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
  const agent = new Agent({ connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const inFlight = inFlightDeliveries();

  async function post(event: OutboundEvent): Promise<DeliveryResult> {
    const headers: Record<string, string> = webhookHeaders(secret as string, event.id, Math.floor(Date.now() / 1000), event.body);
    if (authorization !== undefined) headers.authorization = authorization;
    if (event.traceparent !== undefined) headers.traceparent = event.traceparent;
    try {
      const response = await request(target, { method: 'POST', headers, body: event.body, dispatcher: agent, signal: AbortSignal.timeout(timeoutMs) });
      // Only the status matters; the body is drained so the connection can be reused.
      await response.body.dump({ limit: 64 * 1024 }).catch(() => {});
      const statusCode = response.statusCode;
      if (statusCode >= 200 && statusCode < 300) return { ok: true, statusCode };
      const retryAfter = response.headers['retry-after'];
      const retryAfterMs = parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter, Date.now());
      return { ok: false, statusCode, error: `HTTP ${statusCode}`, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
    } catch (error) {
      const err = error as Error;
      const timedOut = err.name === 'TimeoutError' || err.name === 'AbortError' || /timeout/i.test(err.message);
      return { ok: false, error: timedOut ? `timeout after ${timeoutMs} ms` : err.message };
    }
  }

  return {
    id: redactUrl(url.toString()),
    type: 'http',
    deliver: (event) => inFlight.run(() => post(event)),
    async close() {
      await inFlight.drain();
      await agent.close();
    },
  };
}
