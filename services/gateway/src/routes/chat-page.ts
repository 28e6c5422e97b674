import { readFileSync, existsSync } from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';

const webDir = new URL('../web/', import.meta.url);
const files = {
  '/chat': { name: 'chat.html', type: 'text/html; charset=utf-8' },
  '/chat/chat.js': { name: 'chat.js', type: 'text/javascript; charset=utf-8' },
  '/chat/chat.css': { name: 'chat.css', type: 'text/css; charset=utf-8' },
} as const;

/** The page may load only its own files, and talk only to this origin (REST and the WebSocket). */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/**
 * GET /chat: the demo chat page (services/gateway/web, bundled by `npm run build:web` into
 * dist/web). Three small files, read once at start; a gateway built without them serves no page.
 * GET / sends a visitor to the page, or to the API documentation where there is no page.
 */
const chatPage: FastifyPluginAsync = async (app) => {
  const served = existsSync(new URL(files['/chat'].name, webDir));
  app.get('/', async (_request, reply) => reply.redirect(served ? '/chat' : '/docs', 302));
  if (!served) {
    app.log.warn('dist/web is missing (npm run build): /chat is not served');
    return;
  }
  for (const [path, { name, type }] of Object.entries(files)) {
    const body = readFileSync(new URL(name, webDir));
    app.get(path, async (_request, reply) =>
      reply.type(type).header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache').send(body),
    );
  }
};
export default chatPage;
