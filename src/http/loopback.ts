/**
 * Callers on this machine: local tools, load tests and health probes. Rate limits exempt them;
 * behind a proxy on the same host, set TRUST_PROXY so that the real client is seen instead.
 */
export function isLoopback(ip: string): boolean {
  return ip === '::1' || /^(::ffff:)?127\./.test(ip);
}
