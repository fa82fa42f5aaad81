import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

// The web console (apps/web, bundled by scripts/build.mjs into dist/web) served at /: its files,
// and index.html for every other path that is not the API's, so the console's own routes
// (/vms/…, /jobs/…) load on a reload or a pasted link. Nothing on the page comes from elsewhere,
// and its Content-Security-Policy says so: control planes may be air-gapped.

/** Paths that are the API's even when nothing answers them: a wrong /v1 path is a JSON 404, never the console. */
const API_PATHS = /^\/(v1|docs|docs-json|healthz|readyz|metrics)(\/|$)/;

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // xterm.js (the serial console) sets its terminal's styles in <style> elements it makes.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** dist/web beside the built API (dist/apps/api/src/web → dist/web), or under the checkout when the sources run (tests). */
export function findWebRoot(from = __dirname): string | undefined {
  return [resolve(from, '../../../../web'), resolve(from, '../../../../dist/web')].find((dir) => existsSync(join(dir, 'index.html')));
}

/**
 * Serves the console from `root` (default: findWebRoot()). Without a build the API runs as
 * ever and says so once; / then answers 404.
 */
export async function registerWebConsole(app: NestFastifyApplication, root: string | undefined = findWebRoot()): Promise<void> {
  const log = new Logger('WebConsole');
  if (!root || !existsSync(join(root, 'index.html'))) {
    log.warn(`web console not built (no ${root ? join(root, 'index.html') : 'dist/web/index.html'}): / answers 404; node scripts/build.mjs builds it`);
    return;
  }
  const fastify = app.getHttpAdapter().getInstance();
  // serve: false: no route of its own, only reply.sendFile (the Swagger UI registers another instance under /docs).
  await fastify.register(fastifyStatic, { root, serve: false, cacheControl: false, dotfiles: 'ignore' });
  fastify.get('/*', (req, reply) => {
    const path = req.url.split('?')[0] ?? '/';
    if (API_PATHS.test(path)) return reply.callNotFound();
    void reply.header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (path.startsWith('/assets/') || name.includes('.')) {
      let file: string;
      try {
        file = decodeURIComponent(path.slice(1));
      } catch {
        return reply.callNotFound();
      }
      // Vite puts a content hash in every /assets name: such a file never changes.
      void reply.header('cache-control', path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      return reply.sendFile(file);
    }
    void reply.header('cache-control', 'no-cache').header('content-security-policy', CSP).header('x-frame-options', 'DENY');
    return reply.sendFile('index.html');
  });
  log.log(`web console served at / from ${root}`);
}
