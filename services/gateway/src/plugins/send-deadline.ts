import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayConfig } from '../config.js';
import { sendTimedOut } from '../messages/send-deadline.js';
import { sendError } from './errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route writes a room event (a send, an edit…): it is answered within SEND_TIMEOUT_MS. */
    sendDeadline?: boolean;
  }
  interface FastifyRequest {
    /** Set once SEND_TIMEOUT_MS passed and the request was refused: what it ends with is not sent. */
    sendTimedOut: boolean;
  }
}

const deadlines = new WeakMap<FastifyRequest, NodeJS.Timeout>();

/**
 * A REST write is answered within SEND_TIMEOUT_MS of its arrival, whatever holds it (its hooks'
 * Redis calls, such as the rate limit's, included): then with sendTimedOut. Fastify's own
 * `handlerTimeout` is not used: Node ends a request once its body is read, which clears it.
 */
export default fp<{ config: GatewayConfig }>(
  async (app, { config }) => {
    app.decorateRequest('sendTimedOut', false);
    app.addHook('onRequest', async (request, reply) => {
      if (!request.routeOptions.config.sendDeadline) return;
      const timer = setTimeout(() => {
        if (reply.sent) return;
        request.sendTimedOut = true;
        sendError(sendTimedOut(), request, reply);
      }, config.sendTimeoutMs);
      deadlines.set(request, timer);
    });
    app.addHook('onResponse', async (request) => clearTimeout(deadlines.get(request)));
  },
  { name: 'send-deadline', dependencies: ['errors'] },
);

/**
 * Answers a REST write with its ack (201, or 200 for a DUPLICATE) once `work` ends, unless the
 * request was refused for SEND_TIMEOUT_MS meanwhile: then neither its ack nor its error is sent.
 */
export async function replyAck<R extends FastifyReply>(request: FastifyRequest, reply: R, work: Promise<{ duplicate: boolean }>): Promise<R | undefined> {
  try {
    const ack = await work;
    if (request.sendTimedOut) return undefined;
    return reply.status(ack.duplicate ? 200 : 201).send(ack) as R;
  } catch (err) {
    if (request.sendTimedOut) return undefined;
    throw err;
  }
}
