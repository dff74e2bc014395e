import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export interface TestOidcProvider {
  /** The issuer URL (OIDC_ISSUER_URL). */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /**
   * Rewrites the ID token of the next token responses, as an attacker between the service and the
   * provider (or a provider answering for another client) would: undefined passes them on as they are.
   */
  tamperIdTokens(rewrite: ((idToken: string, key: KeyObject) => string) | undefined): void;
  close(): Promise<void>;
}

/**
 * A real OpenID Connect provider (oidc-provider) with its development login page: any login is
 * accepted and becomes the account's e-mail address. It signs ID tokens with a key made here.
 */
export async function startOidcProvider(options: { redirectUris: string[] }): Promise<TestOidcProvider> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-signing-key', alg: 'RS256', use: 'sig' };
  const server = createServer();
  // Another loopback address than the service's: cookies are per host, not per port, and the
  // tests check that the service's origin holds none.
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  const issuer = `http://127.0.0.2:${(server.address() as AddressInfo).port}`;
  const clientId = 'ops-console';
  const clientSecret = 'ops-console-client-secret-for-tests';
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: options.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['test-oidc-cookie-key'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    // The address in the ID token itself, as Google sends it.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub, email: sub, email_verified: true }) }),
  });
  const handle = provider.callback();
  let rewrite: ((idToken: string, key: KeyObject) => string) | undefined;
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (rewrite !== undefined && request.method === 'POST' && request.url?.startsWith('/token'))
      interceptTokenResponse(response, (idToken) => (rewrite as NonNullable<typeof rewrite>)(idToken, privateKey));
    handle(request, response);
  });
  return {
    issuer,
    clientId,
    clientSecret,
    tamperIdTokens: (next) => {
      rewrite = next;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The token response as it leaves the provider, with its id_token rewritten. */
function interceptTokenResponse(response: ServerResponse, rewrite: (idToken: string) => string): void {
  const end = response.end.bind(response) as (body?: unknown) => ServerResponse;
  response.end = ((body?: unknown) => {
    if (typeof body !== 'string' && !Buffer.isBuffer(body)) return end(body);
    const parsed = JSON.parse(body.toString()) as { id_token?: string };
    if (parsed.id_token !== undefined) parsed.id_token = rewrite(parsed.id_token);
    const text = JSON.stringify(parsed);
    response.setHeader('content-length', Buffer.byteLength(text));
    return end(text);
  }) as ServerResponse['end'];
}

/** A JWT's payload, changed, under its original signature: a forgery. */
export function withChangedClaims(idToken: string, change: Record<string, unknown>): string {
  const [header, payload, signature] = idToken.split('.') as [string, string, string];
  const claims = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), ...change };
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

/** The same claims changed and signed again with the provider's own key: genuine, but not for this use. */
export function resigned(idToken: string, change: Record<string, unknown>, key: KeyObject): string {
  const [header, body] = withChangedClaims(idToken, change).split('.') as [string, string];
  return `${header}.${body}.${sign('sha256', Buffer.from(`${header}.${body}`), key).toString('base64url')}`;
}
