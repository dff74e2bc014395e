/** Query parameters that carry a credential, whatever the scheme. */
const SECRET_PARAMETER = /token|secret|password|passwd|key|sig|auth|credential/i;

/**
 * The URL as it may be shown, logged and stored: user name, password and credential-like query
 * parameters replaced by `***`. It is also the destination's identity, so rotating a password
 * keeps the destination (and its pending deliveries).
 */
export function redactUrl(text: string): string {
  const url = new URL(text);
  if (url.username !== '') url.username = '***';
  if (url.password !== '') url.password = '***';
  for (const name of [...url.searchParams.keys()]) {
    if (SECRET_PARAMETER.test(name)) url.searchParams.set(name, '***');
  }
  return url.toString().replaceAll('%2A%2A%2A', '***');
}
