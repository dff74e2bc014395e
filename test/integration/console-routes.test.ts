import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP, consoleRoutes } from '../../src/http/console/routes.js';
import { registerErrorHandler } from '../../src/plugins/error-handler.js';

let assetsDir: string;
let app: FastifyInstance;

beforeAll(async () => {
  assetsDir = await mkdtemp(path.join(tmpdir(), 'console-assets-'));
  await writeFile(path.join(assetsDir, 'index.html'), '<!doctype html><title>Ops console</title>');
  await writeFile(path.join(assetsDir, 'app-ABCD1234.js'), 'console.log(1)');
  await writeFile(path.join(assetsDir, 'styles-ABCD1234.css'), 'body{}');
  await writeFile(path.join(tmpdir(), 'outside-console.txt'), 'secret');
  app = Fastify();
  registerErrorHandler(app);
  await app.register(consoleRoutes, { assetsDir });
});
afterAll(async () => {
  await app.close();
  await rm(assetsDir, { recursive: true, force: true });
  await rm(path.join(tmpdir(), 'outside-console.txt'), { force: true });
});

describe('GET /console', () => {
  it('serves the page with a CSP that allows only its own scripts, styles and connections', async () => {
    const response = await app.inject({ url: '/console' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.body).toContain('<title>Ops console</title>');
    expect(response.headers['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    expect(response.headers['cache-control']).toBe('no-cache');
  });

  it('serves hashed assets with their type, cached for good', async () => {
    const script = await app.inject({ url: '/console/app-ABCD1234.js' });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(script.body).toBe('console.log(1)');
    const styles = await app.inject({ url: '/console/styles-ABCD1234.css' });
    expect(styles.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(styles.headers['content-security-policy']).toBe(CONSOLE_CSP);
  });

  it('redirects /console/ to /console', async () => {
    const response = await app.inject({ url: '/console/' });
    expect(response.statusCode).toBe(301);
    expect(response.headers.location).toBe('/console');
  });

  it.each([
    ['a missing file', '/console/nope.js'],
    ['a path outside the directory', '/console/..%2Foutside-console.txt'],
    ['a nested path', '/console/a/b.js'],
    ['an unknown type', '/console/app-ABCD1234.exe'],
    ['a dot file', '/console/.env'],
  ])('answers 404 with the security headers for %s', async (_label, url) => {
    const response = await app.inject({ url });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'NOT_FOUND' });
    expect(response.body).not.toContain('secret');
    expect(response.headers['content-security-policy']).toBe(CONSOLE_CSP);
  });

  it('says the console is not built when its directory is empty', async () => {
    const bare = Fastify();
    registerErrorHandler(bare);
    await bare.register(consoleRoutes, { assetsDir: path.join(assetsDir, 'missing') });
    const response = await bare.inject({ url: '/console' });
    expect(response.statusCode).toBe(404);
    expect(response.json().message).toBe('The console is not built: run npm run build.');
    await bare.close();
  });
});
