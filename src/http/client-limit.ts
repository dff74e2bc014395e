import ipaddr from 'ipaddr.js';
import type { FastifyRequest } from 'fastify';
import { isLoopback } from './loopback.js';

/**
 * What a client is counted as by the rate limits: its address as Fastify resolved it (the TCP peer,
 * or with TRUST_PROXY the first address past the trusted hops, so a forged X-Forwarded-For buys
 * nothing), and for IPv6 its /64, since one host commonly holds a whole /64.
 */
export function clientKey(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const address = ipaddr.parse(ip);
  if (address.kind() === 'ipv4') return address.toString();
  const v6 = address as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  return `${v6.parts
    .slice(0, 4)
    .map((part) => part.toString(16))
    .join(':')}::/64`;
}

/** @fastify/rate-limit options: `max` requests a minute per client; loopback callers are exempt. */
export function perClientLimit(max: number) {
  return {
    max,
    timeWindow: 60_000,
    keyGenerator: (request: FastifyRequest) => clientKey(request.ip),
    allowList: (request: FastifyRequest) => isLoopback(request.ip),
  };
}
