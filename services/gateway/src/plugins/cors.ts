import fp from 'fastify-plugin';
import fastifyCors from '@fastify/cors';
import type { GatewayConfig } from '../config.js';

/**
 * CORS for REST, from the same allowlist as the WebSocket handshake (ALLOWED_ORIGINS): a listed
 * origin gets its own origin back, with credentials; `*` gets `*` (which browsers never combine with
 * credentials); any other origin gets no CORS headers, so its page cannot read the answer. A browser
 * client needs to read Retry-After and the rate-limit headers, which node served it, and a download's
 * name and range.
 */
export default fp<{ config: GatewayConfig }>(
  async (app, { config }) => {
    const any = config.allowedOrigins.includes('*');
    const common = {
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'range'],
      exposedHeaders: [
        'retry-after',
        'x-ratelimit-limit',
        'x-ratelimit-remaining',
        'x-ratelimit-reset',
        'x-parley-node',
        'content-disposition',
        'content-range',
        'accept-ranges',
      ],
      maxAge: 600,
    };
    await app.register(fastifyCors, {
      // The delegator's answer is the whole of a request's options.
      delegator: (request, done) => {
        const origin = request.headers.origin;
        const listed = origin !== undefined && config.allowedOrigins.includes(origin);
        done(null, { ...common, origin: listed ? origin : any ? '*' : false, credentials: listed });
      },
    });
  },
  { name: 'cors' },
);
