import type { Destination, DestinationFactory, DestinationOptions } from '../domain/destination.js';
import { createAmqpDestination } from './amqp.js';
import { createHttpDestination } from './http.js';
import { createNatsDestination } from './nats.js';
import { redactUrl } from './redact-url.js';

/** Destination types by URL scheme: adding one is a file plus a line here. */
export const DESTINATION_TYPES: Record<string, DestinationFactory> = {
  'http:': createHttpDestination,
  'https:': createHttpDestination,
  'amqp:': createAmqpDestination,
  'amqps:': createAmqpDestination,
  'nats:': createNatsDestination,
};

/**
 * The destinations of FORWARD_URLS, built once at start-up. A malformed URL throws an error naming
 * the variable and the URL with its credentials hidden.
 */
export function createDestinations(urls: readonly string[], options: DestinationOptions): Destination[] {
  const destinations = urls.map((text) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new Error('FORWARD_URLS: an entry is not a URL');
    }
    const factory = DESTINATION_TYPES[url.protocol];
    if (factory === undefined) throw new Error(`FORWARD_URLS: ${url.protocol}// destinations are not supported`);
    try {
      return factory(url, options);
    } catch (error) {
      // A factory's own message may already name the variable: it is said once.
      const reason = (error as Error).message.replace(/^FORWARD_URLS: /, '');
      throw new Error(`FORWARD_URLS: ${redactUrl(text)}: ${reason}`, { cause: error });
    }
  });
  // A destination is its URL without credentials: two entries naming the same one would get the
  // same event twice (and the outbox keys a delivery by event and destination).
  const seen = new Set<string>();
  for (const destination of destinations) {
    if (seen.has(destination.id)) throw new Error(`FORWARD_URLS: ${destination.id} is listed twice (credentials aside)`);
    seen.add(destination.id);
  }
  return destinations;
}
