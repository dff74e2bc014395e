import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../../domain/errors.js';
import { ssoRoutes, type SsoOptions } from './sso.js';

/** dist/console (scripts/build-console.mjs), reached the same way from src/http/console and dist/http/console. */
export const CONSOLE_ASSETS_DIR = fileURLToPath(new URL('../../../dist/console', import.meta.url));

/** Only the service's own files: no inline script or style, no other origin, never framed. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

// The build writes a flat directory; anything else (slashes, dot-dot, odd characters) names no asset.
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9]+)+$/;
// esbuild's [name]-[hash] names change whenever their content does, so they can be cached for good.
const HASHED_NAME = /-[A-Z0-9]{8}\.(?:js|css)(?:\.map)?$/;

/**
 * The ops console: GET /console is the page, /console/<file> its script and stylesheet, all
 * read from `assetsDir`. The page itself holds no secret: it asks for the ops token and calls /ops.
 */
export async function consoleRoutes(app: FastifyInstance, options: { assetsDir?: string; sso?: SsoOptions }): Promise<void> {
  const assetsDir = options.assetsDir ?? CONSOLE_ASSETS_DIR;

  app.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', CONSOLE_CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
  });

  const send = async (name: string) => {
    const type = CONTENT_TYPES[path.extname(name)];
    if (!ASSET_NAME.test(name) || type === undefined) throw new AppError('NOT_FOUND');
    try {
      return { type, body: await readFile(path.join(assetsDir, name)) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const built = name !== 'index.html';
      throw new AppError('NOT_FOUND', `${name} not in ${assetsDir}`, built ? undefined : 'The console is not built: run npm run build.');
    }
  };

  if (options.sso !== undefined) await app.register(ssoRoutes, options.sso);

  app.get('/console', { schema: { hide: true } }, async (_request, reply) => {
    const page = await send('index.html');
    return reply.type(page.type).header('cache-control', 'no-cache').send(page.body);
  });

  app.get<{ Params: { '*': string } }>('/console/*', { schema: { hide: true } }, async (request, reply) => {
    const name = request.params['*'];
    if (name === '') return reply.redirect('/console', 301);
    const asset = await send(name);
    const cache = HASHED_NAME.test(name) ? 'public, max-age=31536000, immutable' : 'no-cache';
    return reply.type(asset.type).header('cache-control', cache).send(asset.body);
  });
}
