import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors, ParleyError, type ErrorCode } from '@parley/protocol';
import { STATUS_CODES } from 'node:http';

function body(code: ErrorCode, message?: string, retryAfterMs?: number) {
  const statusCode = errors[code].status;
  return {
    statusCode,
    code,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message: message ?? errors[code].message,
    ...(retryAfterMs !== undefined ? { retry_after_ms: retryAfterMs } : {}),
  };
}

/**
 * Fastify's own refusals, as catalogue codes (with the catalogue's message: Fastify's echo the path).
 * Any other client error Fastify or a plugin raises is REQUEST_INVALID, 400: every status and code
 * the gateway answers is in the catalogue.
 */
const FASTIFY_ERRORS: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'REQUEST_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'REQUEST_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_TYPE: 'REQUEST_MEDIA_TYPE',
  FST_ERR_MAX_PARAM_LENGTH: 'REQUEST_URL_TOO_LONG',
  FST_ERR_BAD_URL: 'REQUEST_INVALID',
};

/**
 * A body refused before it was read whole (past HTTP_BODY_LIMIT_BYTES, say) is still on its way.
 * Fastify answers such a refusal with `Connection: close`, and a socket closed with bytes unread is
 * reset by the kernel: the client, or the load balancer between, may lose the 413 it was sent. So
 * the rest is read and thrown away (Node keeps the connection for the next request) up to this
 * many bytes; a body declared longer, or one that goes on past it, is cut off with its connection.
 */
const DISCARD_MAX_BYTES = 8 * 1024 * 1024;

function discardUnreadBody(request: FastifyRequest, reply: FastifyReply) {
  const raw = request.raw;
  if (raw.complete || Number(raw.headers['content-length']) > DISCARD_MAX_BYTES) return;
  reply.removeHeader('connection');
  let left = DISCARD_MAX_BYTES;
  raw.on('data', (chunk: Buffer) => {
    left -= chunk.length;
    if (left < 0) raw.socket.destroy();
  });
  raw.resume();
}

/** Answers any error with `{statusCode, code, error, message}` and a catalogue code; logs what is not the client's fault. */
export function sendError(err: unknown, request: FastifyRequest, reply: FastifyReply) {
  discardUnreadBody(request, reply);
  if (err instanceof ParleyError) {
    // A refusal that says when to come back says it as HTTP does too (whole seconds, rounded up).
    if (err.retryAfterMs !== undefined) reply.header('retry-after', Math.ceil(err.retryAfterMs / 1000));
    return reply.status(err.statusCode).send(body(err.code, err.message, err.retryAfterMs));
  }
  const e = err as { validation?: unknown; statusCode?: number; code?: string; message: string };
  if (e.validation) return reply.status(400).send(body('REQUEST_INVALID', e.message));
  const known = FASTIFY_ERRORS[e.code ?? ''];
  if (known) return reply.status(errors[known].status).send(body(known, known === 'REQUEST_INVALID' ? 'The URL is not well-formed' : undefined));
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return reply.status(400).send(body('REQUEST_INVALID', e.message));
  if (isUnavailable(err)) {
    request.log.warn({ err: e.message }, 'backing service unavailable');
    return sendError(new ParleyError('SERVICE_UNAVAILABLE'), request, reply);
  }
  request.log.error({ err }, 'request failed');
  return reply.status(500).send(body('INTERNAL'));
}

/** Every REST error leaves as `{statusCode, code, error, message}` with a catalogue code. */
export default fp(
  async (app) => {
    app.setErrorHandler((err, request, reply) => sendError(err, request, reply));
    app.setNotFoundHandler((_request, reply) => reply.status(404).send(body('REQUEST_NOT_FOUND')));
  },
  { name: 'errors' },
);

/**
 * Redis or Postgres could not be reached (as opposed to a bug), or Redis refused for a while: a
 * cluster between a master's failure and its replica's promotion (CLUSTERDOWN, TRYAGAIN, ioredis'
 * ClusterAllFailedError), a master without the replicas min-replicas-to-write asks for (NOREPLICAS),
 * a replica still loading or syncing (LOADING, MASTERDOWN, READONLY).
 */
export function isUnavailable(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string };
  return (
    e?.name === 'MaxRetriesPerRequestError' ||
    e?.name === 'ClusterAllFailedError' ||
    /^(NOREPLICAS|CLUSTERDOWN|TRYAGAIN|LOADING|MASTERDOWN|READONLY) /.test(e?.message ?? '') ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03'].includes(e?.code ?? '') ||
    // ioredis, while a Redis Cluster fails over: the slot's master is gone and the map not yet new.
    /Connection is closed|Stream isn't writeable|connect ECONNREFUSED|Command timed out|Too many Cluster redirections/.test(e?.message ?? '')
  );
}
