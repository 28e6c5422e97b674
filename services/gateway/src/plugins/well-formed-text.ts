import { isUtf8 } from 'node:buffer';
import fp from 'fastify-plugin';
import { isWellFormedText, MALFORMED_TEXT, ParleyError } from '@parley/protocol';

/**
 * Refuses text that is not well-formed Unicode wherever a request carries it, before any route sees
 * it (ARCHITECTURE I9): undecodable percent-escapes in the path or query (which the parsers would turn
 * into U+FFFD), a JSON body that is not UTF-8, and lone surrogates (`\uDFFF` escapes) anywhere in the
 * body, query or path parameters. 400 REQUEST_INVALID. Frames and token claims are checked where
 * they are decoded (ws/frame-router.ts, plugins/auth.ts).
 */
export default fp(
  async (app) => {
    const defaultJson = app.getDefaultJsonParser('error', 'error');
    app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
      if (!isUtf8(body)) return done(new ParleyError('REQUEST_INVALID', 'A JSON body must be UTF-8'), undefined);
      void defaultJson(request, body.toString('utf8'), done);
    });
    app.addHook('onRequest', async (request) => {
      try {
        decodeURIComponent(request.url);
      } catch {
        throw new ParleyError('REQUEST_INVALID', 'The URL holds a percent-escape that is not UTF-8');
      }
    });
    app.addHook('preValidation', async (request) => {
      if (!isWellFormedText(request.params) || !isWellFormedText(request.query) || !isWellFormedText(request.body)) {
        throw new ParleyError('REQUEST_INVALID', MALFORMED_TEXT);
      }
    });
  },
  { name: 'well-formed-text' },
);
