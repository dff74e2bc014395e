import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as oidc from 'openid-client';
import { z } from 'zod';
import { scopeOfEmail } from '../../auth/email-scope.js';
import type { Config } from '../../config/config.js';
import { AppError } from '../../domain/errors.js';
import { recordAudit } from '../../store/audit.js';
import type { Database } from '../../store/database.js';
import { createSession, saveSsoLogin, takeSsoLogin } from '../../store/sessions.js';
import { perClientLimit } from '../client-limit.js';
import { SESSION_TOKEN_PREFIX, digest } from '../ops/auth.js';

/** A console session lasts a working day; signing in again makes a new one. */
export const SESSION_TTL_MS = 8 * 3_600_000;

export interface SsoOptions {
  config: Config;
  db: Database;
}

const CallbackQuerySchema = z.object({ state: z.string().max(512).optional(), code: z.string().max(4096).optional(), error: z.string().max(200).optional() });

/**
 * Single sign-on for the console (OpenID Connect, authorization code with PKCE). The PKCE verifier
 * and nonce of a sign-in under way are kept server-side by the hash of its `state`, so no cookie is
 * needed. The callback verifies the ID token (issuer, audience, nonce, signature), maps the e-mail
 * address to a scope, and hands the console a session token inside the page it serves (never in a
 * URL, a cookie or a log): the page's own script moves it into this tab's sessionStorage.
 */
export async function ssoRoutes(app: FastifyInstance, options: SsoOptions): Promise<void> {
  const { config, db } = options;
  const settings = config.oidc;

  app.get('/console/sso', { schema: { hide: true } }, async () => ({ enabled: settings !== undefined }));

  // The script of the callback page: a file of its own, as the console's CSP allows no inline script.
  app.get('/console/sso/finish.js', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(FINISH_SCRIPT),
  );

  if (settings === undefined) return;
  // Each start stores a row: starts and callbacks are throttled per client like /ops.
  if (config.rateLimits.ops > 0) app.addHook('onRequest', app.rateLimit(perClientLimit(config.rateLimits.ops)));
  let discovered: Promise<oidc.Configuration> | undefined;
  const configuration = () => {
    discovered ??= discover(settings).catch((error: unknown) => {
      discovered = undefined; // asked again on the next sign-in
      throw new AppError('SSO_UNAVAILABLE', `OIDC discovery failed: ${(error as Error).message}`);
    });
    return discovered;
  };
  const redirectUri = (request: FastifyRequest) => `${config.publicUrl ?? `${request.protocol}://${request.host}`}/console/sso/callback`;

  app.get('/console/sso/start', { schema: { hide: true } }, async (request, reply) => {
    const oidcConfig = await configuration();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    await saveSsoLogin(db.prisma, { stateHash: digest(state), codeVerifier, nonce });
    const url = oidc.buildAuthorizationUrl(oidcConfig, {
      redirect_uri: redirectUri(request),
      scope: 'openid email',
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return reply.header('cache-control', 'no-store').redirect(url.href, 302);
  });

  // Why a sign-in failed goes to the log (never a token: the reasons are the library's and ours).
  app.addHook('onError', async (request, _reply, error) => {
    if (request.routeOptions.url === '/console/sso/callback' && error instanceof AppError) {
      request.log.warn({ code: error.code, reason: error.detail }, 'sign-in refused');
    }
  });

  app.get<{ Querystring: z.output<typeof CallbackQuerySchema> }>('/console/sso/callback', { schema: { hide: true } }, async (request, reply) => {
    const query = CallbackQuerySchema.safeParse(request.query);
    if (!query.success || query.data.state === undefined) throw new AppError('SIGN_IN_FAILED', 'callback without a state');
    if (query.data.error !== undefined) throw new AppError('SIGN_IN_FAILED', `the provider answered ${query.data.error}`);
    const login = await takeSsoLogin(db.prisma, digest(query.data.state));
    if (login === undefined) throw new AppError('SIGN_IN_FAILED', 'unknown, used or expired state');
    const oidcConfig = await configuration();
    const currentUrl = new URL(redirectUri(request));
    currentUrl.search = new URL(request.url, 'http://callback').search;
    let claims: Record<string, unknown> | undefined;
    try {
      const tokens = await oidc.authorizationCodeGrant(oidcConfig, currentUrl, {
        pkceCodeVerifier: login.codeVerifier,
        expectedState: query.data.state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
      const idToken = tokens.claims();
      claims = idToken;
      // Some providers put the address in the ID token (Google), others only in userinfo.
      if (idToken !== undefined && typeof idToken.email !== 'string') claims = await oidc.fetchUserInfo(oidcConfig, tokens.access_token, idToken.sub);
    } catch (error) {
      // The library's reason (bad signature, audience, nonce…), never the tokens themselves.
      throw new AppError('SIGN_IN_FAILED', `ID token refused: ${describeOidcError(error)}`);
    }
    const email = typeof claims?.email === 'string' && claims.email_verified !== false ? claims.email.toLowerCase() : undefined;
    if (email === undefined) throw new AppError('SIGN_IN_FAILED', 'the ID token carries no verified e-mail address');
    const scope = scopeOfEmail(email, settings);
    const audit = { actor: email, action: 'session.sign_in' as const, target: email, requestId: request.id, ip: request.ip };
    if (scope === undefined) {
      await db.prisma.$transaction((tx) => recordAudit(tx, { ...audit, status: 403, details: { error: 'SIGN_IN_REFUSED' } }));
      throw new AppError('SIGN_IN_REFUSED', 'address on neither OIDC_OPERATE_EMAILS nor OIDC_READ_EMAILS');
    }
    const token = `${SESSION_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    await createSession(
      db.prisma,
      { tokenHash: digest(token), email, scope, ttlMs: SESSION_TTL_MS },
      { ...audit, status: 200, details: { scope, validForHours: SESSION_TTL_MS / 3_600_000 } },
    );
    request.log.info({ actor: email, scope }, 'operator signed in');
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(finishPage(token));
  });
}

/** openid-client's message, code and the claim or cause it names: enough to tell a bad signature from a wrong audience. */
function describeOidcError(error: unknown): string {
  const { message, code, cause } = error as { message?: string; code?: string; cause?: unknown };
  const named = cause as { claim?: unknown; message?: unknown } | undefined;
  const detail = typeof named?.claim === 'string' ? `claim ${named.claim}` : typeof named?.message === 'string' ? named.message : undefined;
  return [message, code, detail].filter((part) => part !== undefined).join(': ');
}

async function discover(settings: NonNullable<Config['oidc']>): Promise<oidc.Configuration> {
  const issuer = new URL(settings.issuerUrl);
  const auth = settings.clientSecret === undefined ? oidc.None() : oidc.ClientSecretPost(settings.clientSecret);
  // The ID token's signature is checked against the issuer's keys, not only trusted for coming over TLS.
  const execute = [oidc.enableNonRepudiationChecks, ...(issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [])];
  return oidc.discovery(issuer, settings.clientId, undefined, auth, { execute });
}

/** The token is base64url (no character needs escaping in an attribute). */
function finishPage(token: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signing in…</title>
<meta name="ops-session" content="${token}">
<script src="/console/sso/finish.js"></script>
</head><body><p>Signing in…</p></body></html>
`;
}

/**
 * Keeps the session for this tab only if this tab started the sign-in (the console marks it in
 * sessionStorage before leaving for the provider): a callback link opened elsewhere, a login
 * forged by someone else, is revoked at once instead.
 */
const FINISH_SCRIPT = `(() => {
  const meta = document.querySelector('meta[name="ops-session"]');
  const token = meta === null ? null : meta.getAttribute('content');
  if (token === null) return;
  meta.remove();
  if (sessionStorage.getItem('sso-pending') === null) {
    fetch('/ops/session/sign-out', { method: 'POST', headers: { authorization: 'Bearer ' + token } }).finally(() => location.replace('/console#/signed-out'));
    return;
  }
  sessionStorage.removeItem('sso-pending');
  sessionStorage.setItem('ops-api-token', token);
  location.replace('/console');
})();
`;
