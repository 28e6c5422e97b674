import fp from 'fastify-plugin';
import { errors, ParleyError, type ErrorCode } from '@parley/protocol';
import { STATUS_CODES } from 'node:http';

function body(code: ErrorCode, message?: string, statusCode: number = errors[code].status) {
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message: message ?? errors[code].message };
}

/** Every REST error leaves as `{statusCode, code, error, message}` with a catalogue code. */
export default fp(async (app) => {
  app.setErrorHandler((err, request, reply) => {
    if (err instanceof ParleyError) return reply.status(err.statusCode).send(body(err.code, err.message));
    const e = err as { validation?: unknown; statusCode?: number; code?: string; message: string };
    if (e.validation) return reply.status(400).send(body('REQUEST_INVALID', e.message));
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.status(413).send(body('REQUEST_TOO_LARGE'));
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return reply.status(e.statusCode).send(body('REQUEST_INVALID', e.message, e.statusCode));
    if (isUnavailable(err)) {
      request.log.warn({ err: e.message }, 'backing service unavailable');
      return reply.status(503).send(body('SERVICE_UNAVAILABLE'));
    }
    request.log.error({ err }, 'request failed');
    return reply.status(500).send(body('INTERNAL'));
  });
  app.setNotFoundHandler((_request, reply) => reply.status(404).send(body('REQUEST_NOT_FOUND')));
}, { name: 'errors' });

/** Redis or Postgres could not be reached (as opposed to a bug). */
export function isUnavailable(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string };
  return (
    e?.name === 'MaxRetriesPerRequestError' ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03'].includes(e?.code ?? '') ||
    /Connection is closed|Stream isn't writeable|connect ECONNREFUSED|Command timed out/.test(e?.message ?? '')
  );
}
